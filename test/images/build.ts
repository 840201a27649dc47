// Builds osvemu's own guest images (images/) with the machine's gcc/binutils
// into build/images/. make compares source mtimes with the outputs, so a
// build that is up to date costs one make invocation.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const IMAGES_SRC = path.join(ROOT, 'images');
export const IMAGES_OUT = path.join(ROOT, 'build', 'images');

/** Bare-metal guests: each prints PASS/FAIL lines and "DONE n passed m failed" to port 0xE9. */
export const BARE_IMAGES = ['boot64', 'paging', 'interrupts', 'realmode', 'syscall', 'fpu', 'smp', 'cpuid', 'timers', 'highmem', 'spinwait', 'idlepoll', 'mmxspin', 'clockspin'] as const;
/** The OSv-shaped kernel (with DWARF) and its stripped copy. */
export const OSVLIKE_IMAGES = ['osvlike', 'osvlike-stripped'] as const;
/** Guests that drive the virtio devices (images/virtio). */
export const VIRTIO_IMAGES = ['virtio', 'virtionet'] as const;
export const ALL_IMAGES: readonly string[] = [...BARE_IMAGES, ...OSVLIKE_IMAGES, ...VIRTIO_IMAGES];

export type ImageName = (typeof BARE_IMAGES)[number] | (typeof OSVLIKE_IMAGES)[number] | (typeof VIRTIO_IMAGES)[number];

function runMake(targets: string[]): void {
  try {
    execFileSync('make', ['-s', '-C', IMAGES_SRC, `OUT=${IMAGES_OUT}`, ...targets], {
      stdio: ['ignore', 'pipe', 'pipe'],
      encoding: 'utf8',
    });
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string; message: string };
    const detail = (err.stderr || err.stdout || err.message).trim().split('\n').slice(-20).join('\n');
    throw new Error(`building ${targets.map((t) => path.basename(t)).join(', ')} failed:\n${detail}`);
  }
}

/** Builds one image if its sources changed and returns the ELF's absolute path. */
export function buildImage(name: string): string {
  if (!ALL_IMAGES.includes(name)) {
    throw new Error(`unknown image "${name}" (known: ${ALL_IMAGES.join(', ')})`);
  }
  const out = path.join(IMAGES_OUT, `${name}.elf`);
  runMake([out]);
  return out;
}

/** Builds every image (one make run) and returns name -> path. */
export function buildAllImages(): Map<string, string> {
  const outs = ALL_IMAGES.map((n) => path.join(IMAGES_OUT, `${n}.elf`));
  runMake(outs);
  return new Map(ALL_IMAGES.map((n, i) => [n, outs[i]!]));
}

/** True when make, gcc, g++ and objcopy are on PATH (a fresh machine has them). */
export function toolchainAvailable(): boolean {
  try {
    for (const tool of ['make', 'gcc', 'g++', 'objcopy']) {
      execFileSync(tool, ['--version'], { stdio: 'ignore' });
    }
    return true;
  } catch {
    return false;
  }
}

export interface ElfSummary {
  entry: bigint;
  loads: { vaddr: bigint; paddr: bigint; filesz: bigint; memsz: bigint; offset: bigint }[];
  /** Physical 32-bit entry from the "Xen" note of type 18 (XEN_ELFNOTE_PHYS32_ENTRY), if any. */
  pvhEntry: bigint | undefined;
  sections: string[];
}

/** Reads what the image tests check from an ELF64 file (cold code: BigInt is fine). */
export function readElf(file: string): ElfSummary {
  const b = readFileSync(file);
  if (b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2 || b[5] !== 1) {
    throw new Error(`${file}: not a little-endian ELF64 file`);
  }
  const phoff = Number(b.readBigUInt64LE(0x20));
  const shoff = Number(b.readBigUInt64LE(0x28));
  const phentsize = b.readUInt16LE(0x36);
  const phnum = b.readUInt16LE(0x38);
  const shentsize = b.readUInt16LE(0x3a);
  const shnum = b.readUInt16LE(0x3c);
  const shstrndx = b.readUInt16LE(0x3e);
  const loads: ElfSummary['loads'] = [];
  let pvhEntry: bigint | undefined;
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    const type = b.readUInt32LE(p);
    const offset = b.readBigUInt64LE(p + 8);
    const vaddr = b.readBigUInt64LE(p + 16);
    const paddr = b.readBigUInt64LE(p + 24);
    const filesz = b.readBigUInt64LE(p + 32);
    const memsz = b.readBigUInt64LE(p + 40);
    if (type === 1) loads.push({ vaddr, paddr, filesz, memsz, offset });
    if (type === 4) {
      let n = Number(offset);
      const end = n + Number(filesz);
      while (n + 12 <= end) {
        const namesz = b.readUInt32LE(n);
        const descsz = b.readUInt32LE(n + 4);
        const ntype = b.readUInt32LE(n + 8);
        const name = b.subarray(n + 12, n + 12 + namesz).toString('latin1').replace(/\0+$/, '');
        const desc = n + 12 + ((namesz + 3) & ~3);
        if (name === 'Xen' && ntype === 18) {
          pvhEntry = descsz >= 8 ? b.readBigUInt64LE(desc) : BigInt(b.readUInt32LE(desc));
        }
        n = desc + ((descsz + 3) & ~3);
      }
    }
  }
  const sections: string[] = [];
  if (shoff && shnum) {
    const strOff = Number(b.readBigUInt64LE(shoff + shstrndx * shentsize + 0x18));
    for (let i = 0; i < shnum; i++) {
      const nameOff = b.readUInt32LE(shoff + i * shentsize);
      const endName = b.indexOf(0, strOff + nameOff);
      sections.push(b.subarray(strOff + nameOff, endName).toString('latin1'));
    }
  }
  return { entry: b.readBigUInt64LE(0x18), loads, pvhEntry, sections };
}
