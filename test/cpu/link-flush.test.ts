// Trace links within one page survive TLB flushes (chain.ts linkEpochOk): after a flush the run loop looks the next
// trace up through the TLB once, and from there links that stay on the page hold, because the page translates as
// it did when they were made. OSv reloads CR3 for every TLB shootdown (thousands per second of guest time in
// tst-huge and tst-threadcomplete), and each flush used to unlink all code. A flush by the running code itself (a
// remapped code page) still makes the next trace be looked up.
import { describe, expect, it } from 'vitest';
import { CODE, RAX, RBX, RCX, TestMachine } from './machine.js';

const PT0 = 0x4000; // TestMachine's first page table: the PTE of linear page p is at PT0 + 8 * p
const OTHER = 0x300000;

/** mov ecx, n; L: add rax, 1; jmp A; A: add rax, 2; jmp B; B: add rax, 3; jmp C; C: dec ecx; jnz L; int3. */
function fourTraces(n: number): number[] {
  return [0xb9, n & 0xff, (n >> 8) & 0xff, 0, 0,
    0x48, 0x83, 0xc0, 0x01, 0xeb, 0x00,
    0x48, 0x83, 0xc0, 0x02, 0xeb, 0x00,
    0x48, 0x83, 0xc0, 0x03, 0xeb, 0x00,
    0xff, 0xc9, 0x75, 0xe8];
}

describe('trace links and TLB flushes', () => {
  it('links within a page are followed after a flush once the first trace was looked up again', () => {
    const run = (flush: boolean) => {
      const m = new TestMachine();
      m.mem.writeBytes(CODE, Uint8Array.from([...fourTraces(500), 0xcc]));
      m.cpu.rip = CODE;
      m.cpu.excVector = -1;
      let lookups = 0;
      const exec = m.exec as unknown as { jumpTrace: (lin: number, gen: number) => unknown };
      const jumpTrace = exec.jumpTrace.bind(m.exec);
      exec.jumpTrace = (lin, gen) => { lookups++; return jumpTrace(lin, gen); };
      let runs = 0;
      m.exec.run(100);
      lookups = 0;
      while (m.cpu.excVector === -1 && runs < 1000) {
        if (flush) m.cpu.mmu.flush();
        m.exec.run(40);
        runs++;
      }
      return { rax: m.reg(RAX), icount: m.cpu.icount, rip: m.cpu.rip, lookups, runs };
    };
    const plain = run(false), flushed = run(true);
    expect(flushed.rax).toBe(3000n);
    expect({ ...flushed, lookups: 0 }).toEqual({ ...plain, lookups: 0 });
    // One lookup per run() (its first trace), not one per trace of the loop (four).
    expect(flushed.runs).toBeGreaterThan(50);
    expect(flushed.lookups).toBeLessThanOrEqual(flushed.runs + 2);
  });

  it('a flush by the running code after remapping its own page fetches the next trace from the new page', () => {
    // L: add rax, 1; mov cr3, rbx; add rax, 0x10; dec ecx; jnz L; int3 -- the copy at OTHER adds 0x20 instead.
    const code = [0x48, 0x83, 0xc0, 0x01, 0x0f, 0x22, 0xdb, 0x48, 0x83, 0xc0, 0x10, 0xff, 0xc9, 0x75, 0xf1, 0xcc];
    const m = new TestMachine();
    m.mem.writeBytes(CODE, Uint8Array.from(code));
    m.mem.writeBytes(OTHER, Uint8Array.from(code));
    m.mem.write8(OTHER + 10, 0x20);
    m.setReg(RBX, m.cpu.cr3);
    m.setReg(RCX, 5);
    m.cpu.rip = CODE;
    expect(m.exec.run(10_000)).toBeGreaterThan(0);
    expect(m.reg(RAX)).toBe(5n * 0x11n);
    // Remapped without a flush: the TLB may keep the old page until the guest's own mov cr3 (which ends its trace).
    m.mem.dv.setInt32(PT0 + 8 * (CODE >>> 12), OTHER | 3, true);
    m.setReg(RCX, 3);
    m.cpu.rip = CODE;
    m.cpu.excVector = -1;
    m.exec.run(10_000);
    expect(m.reg(RAX)).toBe(5n * 0x11n + 3n * 0x21n);
  });
});
