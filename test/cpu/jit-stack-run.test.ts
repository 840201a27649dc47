// Runs of pushes and pops in compiled code (compiler.ts stackRun): one stack-page test for the whole run, then
// every store or load and one RSP update. These loops move RSP down 4 bytes an iteration so that the runs start on
// the stack page, then straddle the page below (the run's test must fail and each instruction take its own path),
// then lie below it (and, climbing, runs whose top slots are on the next page); against the interpreter, with the
// page below mapped elsewhere and not mapped at all (a #PF in the middle of a run of pushes, with the pushes before
// it done and RSP where they left it), and with the page above in the write TLB too (a run at a block's start looks
// its own page up there).
import { describe, expect, it } from 'vitest';
import { Jit } from '../../src/cpu/jit/jit.js';
import { RAX, RBX, RCX, RDI, RSI, RSP, TestMachine } from './machine.js';

const STACK = 0x201000;     // identity-mapped; the page below is remapped or unmapped
const BELOW_PHYS = 0x380000;

// mov ecx, N; L: push rax; push rbx; push rsi; push rdi; pop rdi; pop rsi; pop rbx; pop rbx; sub rsp, 4 (or add);
// add rax, rdi; inc rsi; dec ecx; jnz L. The pop run pops into rbx twice (the later value stays); the loop's
// trace holds both runs. Climbing, a run's lowest slot is on the stack page (the page below, where the last
// accesses went) while its highest is already on the next one.
const loop = (n: number, up = false) => [0xb9, n, 0, 0, 0,
  0x50, 0x53, 0x56, 0x57, 0x5f, 0x5e, 0x5b, 0x5b, 0x48, 0x83, up ? 0xc4 : 0xec, 0x04, 0x48, 0x01, 0xf8, 0x48, 0xff, 0xc6, 0xff, 0xc9, 0x75, 0xea];

// mov [STACK + 0x1008], rax: puts the page above the stack into the write TLB before the loop.
const touchAbove = [0x48, 0x89, 0x04, 0x25, ...[0, 1, 2, 3].map((j) => ((STACK + 0x1008) >>> (8 * j)) & 0xff)];

function run(compiled: boolean, below: 'mapped' | 'unmapped', n: number, up = false, above = false) {
  const m = new TestMachine();
  if (below === 'mapped') m.map(STACK - 0x1000, BELOW_PHYS); else m.unmap(STACK - 0x1000);
  const jit = compiled ? new Jit(0) : null;
  if (jit) jit.warmExits = 0;
  m.exec.jit = jit;
  m.setReg(RAX, 0x1111222233334444n);
  m.setReg(RBX, 0x5555666677778888n);
  m.setReg(RSI, 0x0123456789abcdefn);
  m.setReg(RDI, 0x7eadbeef0badf00dn);
  m.setReg(RSP, up ? STACK - 0x40 : STACK + 0x40);
  const vector = m.run([...(above ? touchAbove : []), ...loop(n, up)]);
  const mem = (phys: number) => [...m.mem.u8.subarray(phys, phys + 4096)];
  return {
    vector, rip: m.cpu.rip, addr: m.cpu.excAddr, icount: m.cpu.icount,
    regs: [RAX, RBX, RCX, RSI, RDI, RSP].map((r) => m.reg(r)), below: mem(BELOW_PHYS), stack: mem(STACK),
    above: mem(STACK + 0x1000),
    compiled: jit?.compiled ?? 0,
  };
}

describe('compiled runs of pushes and pops', () => {
  it('runs on the stack page, straddling the page below (mapped elsewhere), and below it: same state', () => {
    for (const n of [3, 12, 16, 17, 20, 40]) {
      const a = run(false, 'mapped', n), b = run(true, 'mapped', n);
      expect(b.compiled).toBeGreaterThan(0);
      expect({ ...b, compiled: 0 }, `${n} iterations`).toEqual({ ...a, compiled: 0 });
      expect(a.vector).toBe(3); // the int3 after the loop
    }
    // 40 iterations: the pushes reached the page below.
    expect(run(false, 'mapped', 40).below.some((x) => x !== 0)).toBe(true);
  });

  it('climbing from the page below onto the stack page: runs whose top slots are on the next page', () => {
    for (const n of [8, 10, 12, 16, 30]) {
      const a = run(false, 'mapped', n, true), b = run(true, 'mapped', n, true);
      expect({ ...b, compiled: 0 }, `${n} iterations`).toEqual({ ...a, compiled: 0 });
      expect(a.vector).toBe(3);
    }
  });

  it('a run at the block\'s start takes its page from the write TLB, not the neighbouring page there too', () => {
    // The block's stack page is not known before its first stack access: the run looks its page up (runFill).
    for (const n of [3, 12, 40]) {
      const a = run(false, 'mapped', n, false, true), b = run(true, 'mapped', n, false, true);
      expect(b.compiled).toBeGreaterThan(0);
      expect({ ...b, compiled: 0 }, `${n} iterations`).toEqual({ ...a, compiled: 0 });
      expect(a.vector).toBe(3);
    }
  });

  it('a push in the middle of a run faults (#PF) with the pushes before it done', () => {
    const a = run(false, 'unmapped', 40), b = run(true, 'unmapped', 40);
    expect(a.vector).toBe(14);
    expect(b.compiled).toBeGreaterThan(0);
    expect({ ...b, compiled: 0 }).toEqual({ ...a, compiled: 0 });
    // RSP is 8 above the faulting slot: the run's earlier pushes are done (not all four undone, not all done).
    const rsp = Number(a.regs[5]!);
    expect(rsp).toBeGreaterThanOrEqual(STACK);
    expect(rsp - 0x20).toBeLessThan(STACK);
    expect(a.addr).toBe(rsp - 8);
  });
});
