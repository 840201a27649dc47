// Trace links within one page survive TLB flushes (chain.ts linkedAt): after a flush the run loop looks the next
// trace up through the TLB once, and from there links that stay on the page hold, because the page translates as
// it did when they were made. OSv reloads CR3 for every TLB shootdown (thousands per second of guest time in
// tst-huge and tst-threadcomplete), and each flush used to unlink all code. A flush by the running code itself (a
// remapped code page) still makes the next trace be looked up.
import { describe, expect, it } from 'vitest';
import { Cpu } from '../../src/cpu/cpu.js';
import { Exec } from '../../src/cpu/exec.js';
import { CODE, RAX, RBX, RCX, TestMachine } from './machine.js';

const PT0 = 0x4000; // TestMachine's first page table: the PTE of linear page p is at PT0 + 8 * p
const OTHER = 0x300000;
/** Room for a copy of TestMachine's tables (PML4, PDPT, PD, two PTs at 0x1000..0x5fff). */
const TABLES2 = 0x200000;
const ENTRY = 0x20000;

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

/** A second vCPU of m's machine (same memory and code cache), in the same state as m's first, CR3 optional. */
function secondVcpu(m: TestMachine, cr3 = m.cpu.cr3): { cpu: Cpu; exec: Exec; lookups: () => number } {
  const cpu = new Cpu(m.mem);
  const a = m.cpu;
  cpu.cr0 = a.cr0; cpu.cr4 = a.cr4; cpu.efer = a.efer; cpu.cr3 = cr3; cpu.cpl = 0;
  cpu.segAttr.set(a.segAttr);
  cpu.updateMode();
  const exec = new Exec(cpu, m.cache);
  let n = 0;
  const e = exec as unknown as { jumpTrace: (lin: number, gen: number) => unknown };
  const jumpTrace = e.jumpTrace.bind(exec);
  e.jumpTrace = (lin, gen) => { n++; return jumpTrace(lin, gen); };
  return { cpu, exec, lookups: () => n };
}

describe('trace links across vCPUs', () => {
  // Links belong to the address space, not to the vCPU that made them: two vCPUs running the same kernel code
  // (OSv's tests on -c 2) used to find each other's links stale at every quantum.
  it('a vCPU follows the links another made in the same address space', () => {
    const m = new TestMachine();
    m.mem.writeBytes(CODE, Uint8Array.from([...fourTraces(50), 0xcc]));
    m.cpu.rip = CODE;
    m.cpu.excVector = -1;
    m.exec.run(10_000);
    expect(m.reg(RAX)).toBe(300n);
    const b = secondVcpu(m);
    b.cpu.rip = CODE;
    b.cpu.r32[2 * RCX] = 0;
    b.cpu.excVector = -1;
    b.exec.run(10_000);
    expect(b.cpu.r32[2 * RAX]).toBe(300);
    // Its first trace and the int3 after the loop are looked up; the loop's 200 trace changes follow links.
    expect(b.lookups()).toBeLessThanOrEqual(3);
  });

  it('a vCPU in another address space runs its own mapping of a linear page that a link leads to', () => {
    const m = new TestMachine();
    // ENTRY (mapped alike in both spaces): jmp CODE. CODE: add rax, 1; int3 -- the copy at OTHER adds 0x10.
    const rel = CODE - (ENTRY + 5);
    m.mem.writeBytes(ENTRY, Uint8Array.from([0xe9, rel & 0xff, (rel >> 8) & 0xff, (rel >> 16) & 0xff, (rel >> 24) & 0xff]));
    m.mem.writeBytes(CODE, Uint8Array.from([0x48, 0x83, 0xc0, 0x01, 0xcc]));
    m.mem.writeBytes(OTHER, Uint8Array.from([0x48, 0x83, 0xc0, 0x10, 0xcc]));
    // A second set of tables (a copy of the first at TABLES2) that maps CODE's page to OTHER.
    const dv = m.mem.dv;
    for (let b = 0; b < 5 * 4096; b += 4) dv.setInt32(TABLES2 + b, dv.getInt32(0x1000 + b, true), true);
    dv.setInt32(TABLES2, (TABLES2 + 0x1000) | 3, true); // PML4 -> the PDPT copy
    dv.setInt32(TABLES2 + 0x1000, (TABLES2 + 0x2000) | 3, true); // PDPT -> the PD copy
    dv.setInt32(TABLES2 + 0x2000, (TABLES2 + 0x3000) | 3, true); // PD -> the first PT copy
    dv.setInt32(TABLES2 + 0x3000 + 8 * (CODE >>> 12), OTHER | 3, true);
    const from = (cpu: Cpu, exec: Exec) => { cpu.rip = ENTRY; cpu.excVector = -1; exec.run(1000); };
    for (let round = 0; round < 3; round++) from(m.cpu, m.exec);
    expect(m.reg(RAX)).toBe(3n);
    const b = secondVcpu(m, TABLES2);
    from(b.cpu, b.exec);
    from(b.cpu, b.exec);
    expect(b.cpu.r32[2 * RAX]).toBe(0x20);
    // And back on the first vCPU, the link (now made in the other space) is not followed either.
    from(m.cpu, m.exec);
    expect(m.reg(RAX)).toBe(4n);
  });

  it('a flush on one vCPU gives every vCPU of the machine a new TLB epoch', () => {
    const m = new TestMachine();
    const b = secondVcpu(m);
    const e0 = m.cpu.mmu.epoch;
    expect(b.cpu.mmu.epoch).toBe(e0);
    b.cpu.mmu.flush();
    expect(m.cpu.mmu.epoch).not.toBe(e0);
    expect(m.cpu.mmu.epoch).toBe(b.cpu.mmu.epoch);
    m.cpu.mmu.invlpg(CODE);
    expect(b.cpu.mmu.epoch).toBe(m.cpu.mmu.epoch);
  });
});
