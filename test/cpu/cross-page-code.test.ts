// An instruction that runs from the end of one page into the next is decoded once and cached (CodeCache.addCross)
// while its tail's page holds code, maps where it did and is not written; before, it was decoded again at every
// run (OSv's TCP stack has one in a hot path: 80,000 decodes in 100 M instructions of tst-tcp-listen).
import { describe, expect, it } from 'vitest';
import { Jit } from '../../src/cpu/jit/jit.js';
import { CODE, RAX, RCX, TestMachine } from './machine.js';

const AT = CODE + 0xffe; // add rax, imm8 (48 83 c0 ib): its last two bytes are on the next page
const IMM = AT + 3;
const OTHER = 0x200000; // a physical page the next linear page is mapped to instead

/** mov ecx, n; nops up to AT; L: add rax, 1; dec ecx; jnz L; int3 (the add's bytes are split 2 + 2). */
function program(n: number): number[] {
  const p = [0xb9, n & 0xff, (n >> 8) & 0xff, 0, 0];
  while (CODE + p.length < AT) p.push(0x90);
  p.push(0x48, 0x83, 0xc0, 0x01, 0xff, 0xc9, 0x75, 0xf8);
  return p;
}

function machine(jit: Jit | null): TestMachine {
  const m = new TestMachine();
  m.exec.jit = jit;
  return m;
}

/** Runs the loop n times from the top again (rax keeps counting). */
function again(m: TestMachine, n: number): number {
  m.setReg(RCX, n);
  m.cpu.rip = AT;
  return m.resume();
}

describe('page-crossing instructions', () => {
  it('are decoded once while nothing changes', () => {
    const m = machine(null);
    expect(m.run(program(100))).toBe(3);
    expect(m.reg(RAX)).toBe(100n);
    m.cpu.rip = AT;
    const t = m.exec.peekTrace()!;
    expect(t.n).toBe(1);
    expect(t.insns[0]!.len).toBe(4);
    expect(again(m, 50)).toBe(3);
    expect(m.reg(RAX)).toBe(150n);
    m.cpu.rip = AT;
    expect(m.exec.peekTrace()).toBe(t);
  });

  it('run as written after a write to their tail, or with their tail page mapped elsewhere', () => {
    for (const jit of [null, new Jit(2)]) {
      const m = machine(jit);
      expect(m.run(program(100))).toBe(3);
      m.cpu.rip = AT;
      const t = m.exec.peekTrace()!;
      // The immediate is on the second page.
      m.cpu.mmu.write8(IMM, 5);
      expect(again(m, 10)).toBe(3);
      expect(m.reg(RAX)).toBe(150n);
      m.cpu.rip = AT;
      expect(m.exec.peekTrace()).not.toBe(t);
      // The same linear page, another physical page with another immediate.
      m.mem.writeBytes(OTHER, m.mem.bytes(CODE + 0x1000, 4096));
      m.mem.write8(OTHER + 1, 7);
      m.map(CODE + 0x1000, OTHER);
      expect(again(m, 10)).toBe(3);
      expect(m.reg(RAX)).toBe(220n);
      // And back.
      m.map(CODE + 0x1000, CODE + 0x1000);
      expect(again(m, 10)).toBe(3);
      expect(m.reg(RAX)).toBe(270n);
    }
  });

  it('compiled and interpreted retire the same instructions', () => {
    const run = (jit: Jit | null) => {
      const m = machine(jit);
      m.run(program(5000));
      again(m, 3000);
      return { rax: m.reg(RAX), icount: m.cpu.icount, rip: m.cpu.rip };
    };
    const jit = new Jit(2);
    expect(run(jit)).toEqual(run(null));
    expect(jit.compiled).toBeGreaterThan(0);
  });
});
