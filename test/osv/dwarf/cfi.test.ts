// The CFI unwinder on real gcc-built stacks: a static host program dumps its registers and stack
// at a known point together with glibc's backtrace(); osvemu's unwinder, run offline on the dump,
// must find the same return addresses (.eh_frame), the same functions from .debug_frame alone, and
// the same functions by the frame-pointer chain when there is no CFI at all.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ElfFile } from '../../../src/machine/elf.js';
import { CallFrameInfo, REG_RIP, REG_RSP, unwind, type RegisterSet } from '../../../src/osv/dwarf/cfi.js';
import { tempDir } from './native.js';

const SRC = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'stackdump.c');

interface Dump {
  elf: ElfFile;
  backtrace: number[];
  regs: RegisterSet;
  stackLo: number;
  stack: Uint8Array;
}

const run = promisify(execFile);

/** Builds and runs one variant (asynchronously: a busy machine makes static links slow). */
async function build(name: string, flags: string[]): Promise<Dump> {
  const dir = tempDir();
  const exe = path.join(dir, name);
  await run('gcc', [...flags, '-static', '-o', exe, SRC]);
  const out = path.join(dir, `${name}.bin`);
  await run(exe, [out]);
  const b = readFileSync(out);
  const u64 = (o: number) => Number(b.readBigUint64LE(o));
  const nb = u64(0);
  const stackLo = u64(8);
  const len = u64(16);
  const backtrace = Array.from({ length: nb }, (_, i) => u64(24 + i * 8));
  const ro = 24 + nb * 8;
  const regs: RegisterSet = Array.from({ length: 17 }, (_, i) => u64(ro + i * 8) || undefined);
  return { elf: ElfFile.parse(readFileSync(exe)), backtrace, regs, stackLo, stack: b.subarray(ro + 17 * 8, ro + 17 * 8 + len) };
}

function memory(d: Dump) {
  return (a: number, n: number) => (a >= d.stackLo && a + n <= d.stackLo + d.stack.length ? d.stack.subarray(a - d.stackLo, a - d.stackLo + n) : undefined);
}

const fname = (elf: ElfFile, pc: number, ret: boolean) => elf.symbolAt(ret ? pc - 1 : pc)?.symbol.name ?? '?';

describe('CFI unwinder on a dumped gcc stack', () => {
  let eh: Dump;
  let expectedNames: string[];
  beforeAll(async () => {
    eh = await build('sd-eh', ['-O2', '-g']);
    // glibc's backtrace() starts in leaf() itself (after its call); main and libc's start follow.
    expectedNames = ['leaf', ...eh.backtrace.slice(1).map((pc) => fname(eh.elf, pc, true))];
    expect(expectedNames).toContain('main');
    expect(expectedNames.filter((n) => n === 'f3').length).toBeGreaterThanOrEqual(1);
  });

  const upToMain = (names: string[]) => names.slice(0, names.indexOf('main') + 1);

  it('.eh_frame: the same return addresses as glibc backtrace(), to the outermost frame', () => {
    const cfi = CallFrameInfo.fromElf(eh.elf);
    expect(cfi.size).toBeGreaterThan(100);
    const frames = unwind(eh.regs, memory(eh), cfi);
    expect(frames[0]!.pc).toBe(eh.regs[REG_RIP]);
    expect(frames.slice(1).map((f) => f.pc)).toEqual(eh.backtrace.slice(1));
    expect(frames.every((f, i) => i === 0 || f.how === 'cfi')).toBe(true);
    // The CFA of frame 0 is where its return address sits + 8.
    expect(frames[0]!.cfa! - 8).toBeGreaterThan(eh.regs[REG_RSP]!);
  });

  it('.debug_frame only (-fno-asynchronous-unwind-tables -g): the same functions', async () => {
    const d = await build('sd-debug', ['-O2', '-g', '-fno-asynchronous-unwind-tables', '-fno-unwind-tables']);
    expect(d.elf.section('.debug_frame')).toBeDefined();
    const frames = unwind(d.regs, memory(d), CallFrameInfo.fromElf(d.elf));
    expect(upToMain(frames.map((f, i) => fname(d.elf, f.pc, i > 0)))).toEqual(upToMain(expectedNames));
  });

  it('no CFI for the program (-fno-omit-frame-pointer, -g0): the rbp chain finds the same functions', async () => {
    const d = await build('sd-fp', ['-O2', '-fno-omit-frame-pointer', '-fno-asynchronous-unwind-tables', '-fno-unwind-tables']);
    const frames = unwind(d.regs, memory(d), CallFrameInfo.fromElf(d.elf));
    const names = frames.map((f, i) => fname(d.elf, f.pc, i > 0));
    expect(upToMain(names)).toEqual(upToMain(expectedNames));
    expect(frames[1]!.how).toBe('frame-pointer');
    // Without CFI nothing beyond rbp/rsp/rip is claimed for callers.
    expect(frames[1]!.regs.filter((v) => v !== undefined).length).toBeLessThanOrEqual(3);
  });

  it('stops at unreadable memory and at maxFrames', () => {
    const cfi = CallFrameInfo.fromElf(eh.elf);
    expect(unwind(eh.regs, () => undefined, cfi).length).toBe(1);
    expect(unwind(eh.regs, memory(eh), cfi, { maxFrames: 3 }).length).toBe(3);
  });
});
