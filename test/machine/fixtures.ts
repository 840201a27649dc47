// Small ELF files built with the machine's gcc/ld at test time, shaped like OSv's kernel: one
// PT_LOAD whose physical address differs from its virtual one (vaddr 0x40200000, paddr 0x200000),
// the ELF header inside that segment, and a Xen PHYS32_ENTRY note.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function have(tool: string, args: string[] = ['--version']): boolean {
  try {
    execFileSync(tool, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const HAVE_GCC = have('gcc');

export interface KernelOptions {
  /** Size of the note's value: 4 or 8 bytes; 0 = no PVH note at all. */
  noteDesc?: 4 | 8 | 0;
  /** Owner of the entry note (to check that only "Xen" counts). */
  noteOwner?: string;
  /** Bytes of bss after the data. */
  bss?: number;
  /** Physical load address (virtual is this + 0x40000000). */
  paddr?: number;
}

const KERNEL_ASM = (o: Required<KernelOptions>): string => `
    .code32
    .text
    .globl _start
_start:
    hlt
    .globl pvh_entry
    .type pvh_entry, @function
pvh_entry:
    mov $0x12345678, %eax
    hlt
    .size pvh_entry, .-pvh_entry
    .globl thread_main_c
    .type thread_main_c, @function
thread_main_c:
    .fill 64, 1, 0x90
    ret
    .size thread_main_c, .-thread_main_c
asm_label:
    .fill 16, 1, 0x90
    .globl tail_fn
    .type tail_fn, @function
tail_fn:
    ret
    .data
    .globl data_mark
data_mark:
    .ascii "DATAMARK"
    .bss
    .lcomm big, ${o.bss}
${
  o.noteDesc === 0
    ? ''
    : `
    .pushsection .note.Xen, "a", @note
    .balign 4
    .long ${o.noteOwner.length + 1}, ${o.noteDesc}, 18
    .asciz "${o.noteOwner}"
    .balign 4
    ${o.noteDesc === 8 ? '.quad' : '.long'} pvh_entry - 0x40000000
    .balign 4
    .popsection
    .pushsection .note.other, "a", @note
    .balign 4
    .long 4, 4, 1
    .asciz "Foo"
    .long 0xdeadbeef
    .popsection`
}
`;

const LINKER_SCRIPT = (paddr: number): string => `
ENTRY(_start)
PHDRS { text PT_LOAD FILEHDR PHDRS; note PT_NOTE; }
SECTIONS {
  . = 0x${(paddr + 0x40000000).toString(16)} + SIZEOF_HEADERS;
  .text : AT(ADDR(.text) - 0x40000000) { *(.text) } :text
  .note : { *(.note.Xen) *(.note.other) } :text :note
  .data : { *(.data) } :text
  .bss : { *(.bss) } :text
}
`;

function inTmp<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'osvemu-elf-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A tiny PVH-bootable "kernel" (see KERNEL_ASM). */
export function buildKernel(opts: KernelOptions = {}): Uint8Array {
  const o: Required<KernelOptions> = { noteDesc: 8, noteOwner: 'Xen', bss: 0x3000, paddr: 0x200000, ...opts };
  return inTmp((dir) => {
    writeFileSync(join(dir, 'k.S'), KERNEL_ASM(o));
    writeFileSync(join(dir, 'k.ld'), LINKER_SCRIPT(o.paddr));
    execFileSync(
      'gcc',
      ['-nostdlib', '-static', '-no-pie', '-Wl,-T,k.ld', '-Wl,--build-id=none', '-Wl,-z,noexecstack', '-o', 'k.elf', 'k.S'],
      { cwd: dir, stdio: 'pipe' },
    );
    return new Uint8Array(readFileSync(join(dir, 'k.elf')));
  });
}

/** A shared object stripped to its .dynsym, like loader-stripped.elf. */
export function buildStrippedShared(): Uint8Array {
  return inTmp((dir) => {
    writeFileSync(
      join(dir, 's.c'),
      `int counter;\nint helper(int x) { return x * 3 + counter; }\nint exported_fn(int x) { int s = 0; for (int i = 0; i < x; i++) s += helper(i); return s; }\n`,
    );
    execFileSync('gcc', ['-O1', '-shared', '-fPIC', '-nostdlib', '-Wl,--build-id=none', '-o', 's.so', 's.c'], { cwd: dir, stdio: 'pipe' });
    execFileSync('strip', ['--strip-all', 's.so'], { cwd: dir, stdio: 'pipe' });
    return new Uint8Array(readFileSync(join(dir, 's.so')));
  });
}

/** A 32-bit object built with gcc -m32, or null when the machine cannot. */
export function build32(): Uint8Array | null {
  try {
    return inTmp((dir) => {
      writeFileSync(join(dir, 't.c'), 'int f(void) { return 1; }\n');
      execFileSync('gcc', ['-m32', '-c', '-o', 't.o', 't.c'], { cwd: dir, stdio: 'pipe' });
      return new Uint8Array(readFileSync(join(dir, 't.o')));
    });
  } catch {
    return null;
  }
}

/** Byte-level edits on a copy of a little-endian file. */
export function patched(src: Uint8Array, edits: (dv: DataView, b: Uint8Array) => void): Uint8Array {
  const b = new Uint8Array(src);
  edits(new DataView(b.buffer), b);
  return b;
}
