// A tiny PVH kernel built at test time (gcc/as + ld): 32-bit flat code, no paging, virtual = physical,
// with labels the debugger tests stop at. It ends by writing 0 to the debug-exit port (status 1).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ASM = `
    .code32
    .text
    .globl _start
_start:
pvh_entry:
    mov $stack_top, %esp
    movl $0, counter
again:
    mov $3, %ecx
l1:
    incl counter
    mov counter, %eax
    sub $1, %ecx
    jnz l1
after_loop:
    mov $buf, %edi
    mov $64, %ecx
    mov $0x41, %al
    cld
    rep stosb
after_stos:
    nop
    nop
    mov $0, %al
    out %al, $0xf4
    hlt
handler:
    nop
    nop

    .pushsection .note.Xen, "a", @note
    .balign 4
    .long 4, 4, 18
    .asciz "Xen"
    .balign 4
    .long pvh_entry
    .balign 4
    .popsection

    .data
    .balign 4096
counter: .long 0
    .balign 4096
pad: .fill 256, 1, 0
buf: .fill 256, 1, 0
other: .fill 16, 1, 0
    .balign 16
stack: .fill 4096, 1, 0
stack_top:
`;

const LD = `
ENTRY(_start)
PHDRS { text PT_LOAD FILEHDR PHDRS; note PT_NOTE; }
SECTIONS {
  . = 0x200000 + SIZEOF_HEADERS;
  .text : { *(.text) } :text
  .note : { *(.note.Xen) } :text :note
  .data : { *(.data) } :text
}
`;

export interface Tiny {
  elf: Uint8Array;
  sym: Record<string, number>;
}

/** Builds the kernel; null when the host toolchain cannot. */
export function buildTiny(): Tiny | null {
  const dir = mkdtempSync(join(tmpdir(), 'osvemu-gdb-'));
  try {
    writeFileSync(join(dir, 'k.S'), ASM);
    writeFileSync(join(dir, 'k.ld'), LD);
    execFileSync('gcc', ['-nostdlib', '-static', '-no-pie', '-Wl,-T,k.ld', '-Wl,--build-id=none', '-Wl,-z,noexecstack', '-o', 'k.elf', 'k.S'],
      { cwd: dir, stdio: 'pipe' });
    const sym: Record<string, number> = {};
    for (const line of execFileSync('nm', ['k.elf'], { cwd: dir, encoding: 'utf8' }).split('\n')) {
      const m = /^([0-9a-f]+) \w (\w+)$/.exec(line.trim());
      if (m) sym[m[2]] = parseInt(m[1], 16);
    }
    return { elf: new Uint8Array(readFileSync(join(dir, 'k.elf'))), sym };
  } catch {
    return null;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
