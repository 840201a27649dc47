// Compiled blocks chained through an indirect jump with more successors than a trace's two links (a jump table:
// OSv's small memcpy and memset switch on the size, 16 ways): chainFrom takes the successor from the run loop's jump
// cache instead of going back to the run loop, which found it there and rewrote the link at every change. The cache
// holds only while the TLB epoch, the decoded code and the mode are those it was filled in.
import { describe, expect, it } from 'vitest';
import { chainJit, countLookups } from './jit-guest.js';
import { CODE, DATA, RBX, RCX, RDI, RSI, TestMachine } from './machine.js';

const FAR = 0x20000; // the jump targets' linear page
const OTHER = 0x300000; // a physical page FAR is remapped to
const PT0 = 0x4000; // TestMachine's first page table: the PTE of linear page p is at PT0 + 8 * p

const le32 = (v: number) => [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff];
const rel32 = (at: number, len: number, to: number) => le32((to - (at + len)) | 0);

/**
 * CODE: L: lea edx, [rcx + 1]; shr edx, 1; and edx, 3; mov rdx, [DATA + rdx*8]; jmp rdx (two iterations a target)
 *       B: (optional: mov [PTE of FAR], rdi; mov cr3, rsi) dec ecx; jnz L; int3
 * FAR + 16k: add rbx, step * (k + 1); jmp B (k = 0..3), and the same at OTHER with step 10.
 */
function program(m: TestMachine, step: number, remapInLoop: boolean): void {
  const head = [0x8d, 0x51, 0x01, 0xd1, 0xea, 0x83, 0xe2, 0x03, 0x48, 0x8b, 0x14, 0xd5, ...le32(DATA), 0xff, 0xe2];
  const b = CODE + head.length;
  // mov [PT0 + 8 * (FAR >> 12)], rdi; mov cr3, rsi: the guest remaps FAR itself and flushes, in the chain.
  const remap = remapInLoop ? [0x48, 0x89, 0x3c, 0x25, ...le32(PT0 + 8 * (FAR >>> 12)), 0x0f, 0x22, 0xde] : [];
  const tail = [...remap, 0xff, 0xc9, 0x75, (-(head.length + remap.length + 4)) & 0xff, 0xcc];
  m.mem.writeBytes(CODE, Uint8Array.from([...head, ...tail]));
  for (const [page, s] of [[FAR, step], [OTHER, 10]]) {
    for (let k = 0; k < 4; k++) {
      const at = FAR + 16 * k;
      m.mem.writeBytes(page + 16 * k, Uint8Array.from([0x48, 0x83, 0xc3, s * (k + 1), 0xe9, ...rel32(at + 4, 5, b)]));
    }
  }
  for (let k = 0; k < 4; k++) m.mem.dv.setInt32(DATA + 8 * k, FAR + 16 * k, true);
}

function machine(compiled: boolean): { m: TestMachine; lookups: () => number } {
  const m = new TestMachine();
  if (compiled) m.exec.jit = chainJit();
  return { m, lookups: countLookups(m.exec) };
}

function run(m: TestMachine, iterations: number): void {
  m.setReg(RCX, iterations);
  m.cpu.rip = CODE;
  m.cpu.excVector = -1;
  m.exec.run(1_000_000);
}

describe('compiled blocks after an indirect jump of four successors', () => {
  it('chain without going back to the run loop, and retire what the interpreter does', () => {
    const results = [false, true].map((compiled) => {
      const { m, lookups } = machine(compiled);
      program(m, 1, false);
      run(m, 400);
      return { rbx: m.reg(RBX), icount: m.cpu.icount, rip: m.cpu.rip, lookups: lookups() };
    });
    expect(results[0].rbx).toBe(100n * 10n);
    expect({ ...results[1], lookups: 0 }).toEqual({ ...results[0], lookups: 0 });
    // The interpreter looks every change of target up; compiled, the chain takes them from the cache.
    expect(results[0].lookups).toBeGreaterThan(150);
    expect(results[1].lookups).toBeLessThan(40);
  });

  it.each([false, true])('after the guest remaps the targets\' page and reloads CR3 in the chain, run the new page (compiled: %s)', (compiled) => {
    const { m } = machine(compiled);
    program(m, 1, true);
    // Each iteration writes FAR's PTE (rdi) and reloads CR3 (rsi): the same mapping first, then OTHER.
    m.setReg(RSI, m.cpu.cr3);
    m.setReg(RDI, FAR | 3);
    run(m, 200);
    expect(m.reg(RBX)).toBe(50n * 10n);
    m.setReg(RDI, OTHER | 3);
    run(m, 200);
    // The first iteration (target 0) still jumps to FAR as mapped before its own remap; the other 199 to OTHER, the
    // second to the same target as the first, whose trace the jump cache held from before the remap.
    expect(m.reg(RBX)).toBe(500n + 1n + 10n * 499n);
  });

  it('the chain does not take a trace from the jump cache after a TLB flush or a code write until the run loop renews it', () => {
    const m = new TestMachine();
    program(m, 1, false);
    const exec = m.exec as unknown as { jumpTrace(lin: number, gen: number): unknown };
    const target = FAR + 16;
    m.cpu.rip = target;
    const t = exec.jumpTrace(target, m.cache.gen);
    expect(t).not.toBeNull();
    expect(m.exec.jumpCached(target, m.cache.gen)).toBe(t);
    m.cpu.mmu.flush();
    expect(m.exec.jumpCached(target, m.cache.gen)).toBeNull();
    expect(exec.jumpTrace(target, m.cache.gen)).not.toBeNull();
    expect(m.exec.jumpCached(target, m.cache.gen)).not.toBeNull();
    m.mem.write8(FAR + 20, 0x90); // a write to decoded code: a new cache generation
    expect(m.exec.jumpCached(target, m.cache.gen)).toBeNull();
  });
});
