// The block compiler against the interpreter on what the ISA suites cannot show: self-modifying code inside
// a compiled (self-looping) block, instruction budgets cut anywhere, and a fault in the middle of a loop; and
// where a loop's per-iteration work was cut (compileLoop): flag fields kept pending until an exit or a fault reads
// them, the exit test re-read only after a call (a slow memory access) ran, a register-only loop without try.
import { describe, expect, it } from 'vitest';
import { flatMachine } from '../../bench/flat.js';
import { Jit } from '../../src/cpu/jit/jit.js';
import { STOP_BUDGET } from '../../src/cpu/exec.js';

const CODE = 0x100000;

function machine(code: number[], jit: Jit | null, regs: Record<number, number> = {}) {
  const f = flatMachine(8, true);
  // Looping blocks loop from their first call (the default leaves the first calls early: see WARM_EXITS).
  if (jit) jit.warmExits = 0;
  f.mem.writeBytes(CODE, Uint8Array.from(code));
  f.cpu.rip = CODE;
  f.cpu.setReg64(4, 0x300000);
  f.cpu.setReg64(6, 0x200000);
  for (const [r, v] of Object.entries(regs)) f.cpu.setReg64(Number(r), v);
  f.exec.jit = jit;
  return f;
}

/** Architectural state after run(): registers, flags, RIP, icount, the exception if any. */
function state(f: ReturnType<typeof machine>) {
  const c = f.cpu;
  return { r: [...c.r32], flags: c.getFlags(), rip: c.rip, icount: c.icount, lf: [...c.lf], halted: c.halted, exc: c.excVector };
}

/** Runs in slices of `slice` instructions until hlt, recording the state after each slice. */
function slices(code: number[], jit: Jit | null, slice: number, max = 2000, regs: Record<number, number> = {}) {
  const f = machine(code, jit, regs);
  const out = [];
  for (let n = 0; n < max && !f.cpu.halted; n++) {
    const why = f.exec.run(slice);
    out.push({ why, ...state(f) });
    if (why !== STOP_BUDGET) break;
  }
  return out;
}

// mov ecx,200; L: add eax,1 (83 C0 imm8); mov byte [rip-4], cl   (patches the imm8 of the add);
// add rbx,rax; dec ecx; jnz L; hlt
const smc = [0xB9, 200, 0, 0, 0,
  0x83, 0xC0, 0x01,
  0x88, 0x0D, 0xF9, 0xFF, 0xFF, 0xFF, // mov [rip-7], cl -> the add's imm8
  0x48, 0x01, 0xC3,
  0xFF, 0xC9,
  0x75, 0xF0,
  0xF4];

// mov ecx,3000; L: inc edx; and edx,1023; mov rax,[rsi+rdx*8]; imul rbx,rax,0x12345; shl rbx,3; add rbx,rdx;
// mov [rsi+rdx*8+8],rbx; lea rdi,[rbx+rax*2]; cmp edx,700; cmovz rsi,rdi; dec ecx; jnz L; hlt
// (after 700 iterations rsi points outside memory: the load, third in the compiled loop, faults).
const mixed = [0xB9, 0xB8, 0x0B, 0, 0,
  0xFF, 0xC2,
  0x81, 0xE2, 0xFF, 0x03, 0x00, 0x00,
  0x48, 0x8B, 0x04, 0xD6,
  0x48, 0x69, 0xD8, 0x45, 0x23, 0x01, 0x00,
  0x48, 0xC1, 0xE3, 0x03,
  0x48, 0x01, 0xD3,
  0x48, 0x89, 0x5C, 0xD6, 0x08,
  0x48, 0x8D, 0x3C, 0x43,
  0x81, 0xFA, 0xBC, 0x02, 0x00, 0x00,
  0x48, 0x0F, 0x44, 0xF7,
  0xFF, 0xC9,
  0x75, 0xCF,
  0xF4];

describe('block compiler vs interpreter', () => {
  it('self-modifying code inside a compiled loop: same results, same instruction counts', () => {
    for (const threshold of [0, 1, 3, 50]) {
      const jit = new Jit(threshold);
      const a = slices(smc, null, 1e6), b = slices(smc, jit, 1e6);
      expect(b).toEqual(a);
      // Every iteration rewrites the trace's page, so only low thresholds ever compile it.
      if (threshold <= 1) expect(jit.compiled).toBeGreaterThan(0);
      expect(a[a.length - 1]!.halted).toBe(true);
    }
  });

  it('budgets of every size stop at the same instruction as the interpreter', () => {
    for (const slice of [1, 2, 5, 7, 13, 100, 997]) {
      const jit = new Jit(2);
      expect(slices(mixed, jit, slice, 400)).toEqual(slices(mixed, null, slice, 400));
      expect(jit.compiled).toBeGreaterThan(0);
    }
  });

  it('a fault in the middle of a compiled loop leaves the interpreter state', () => {
    const a = machine(mixed, null), b = machine(mixed, new Jit(2));
    const faults: ReturnType<typeof state>[][] = [[], []];
    [a, b].forEach((f, n) => {
      f.exec.onException = (cpu) => { faults[n]!.push(state(f)); cpu.halted = true; };
      f.exec.run(1e7);
    });
    expect(faults[0]!.length).toBe(1);
    expect([13, 14]).toContain(faults[0]![0]!.exc);
    expect(faults[0]![0]!.rip).toBe(CODE + 13); // the load, after two instructions of the iteration
    expect(faults[1]).toEqual(faults[0]);
    expect(state(b)).toEqual(state(a));
  });
});

// mov ecx,500; L: add rax,rbx; shl rbx,3; xor rdx,rax; sub rbx,rdx; dec ecx; jnz L; adc rsi,rdi; hlt
// Every flag field is written several times an iteration and read only by jnz (ZF of dec) and, after the loop,
// by adc (CF, which dec keeps from sub) and the lazy-flag record itself.
const flagsAtExit = [0xB9, 0xF4, 0x01, 0, 0,
  0x48, 0x01, 0xD8,
  0x48, 0xC1, 0xE3, 0x03,
  0x48, 0x31, 0xC2,
  0x48, 0x29, 0xD3,
  0xFF, 0xC9,
  0x75, 0xEF,
  0x48, 0x11, 0xFE,
  0xF4];

// mov ecx,300; L: inc edx; shl rax,1; mov [rsi+rdx*8],rax; dec ecx; jnz L; hlt
const storing = [0xB9, 0x2C, 0x01, 0, 0,
  0xFF, 0xC2,
  0x48, 0xD1, 0xE0,
  0x48, 0x89, 0x04, 0xD6,
  0xFF, 0xC9,
  0x75, 0xF3,
  0xF4];

describe('compiled loops: pending flags and the exit test', () => {
  const REGS = { 0: 0x123456789, 3: 0x7fffffff0, 7: 0x5555 };
  it('a loop whose flags are read only at its exit: same states at every budget', () => {
    for (const slice of [1, 2, 3, 5, 6, 7, 13, 100, 997, 1e6]) {
      const jit = new Jit(2);
      expect(slices(flagsAtExit, jit, slice, 3000, REGS)).toEqual(slices(flagsAtExit, null, slice, 3000, REGS));
      expect(jit.compiled).toBeGreaterThan(0);
    }
  });

  it('a fault at a store after flag-setting instructions: the pending flags reach the state', () => {
    // rsi walks off the end of memory: the store of some iteration faults with the shift's and inc's flags live.
    const run = (jit: Jit | null) => {
      const f = machine(storing, jit, REGS);
      f.cpu.setReg64(6, 8 * 1024 * 1024 - 8 * 150);
      const faults: ReturnType<typeof state>[] = [];
      f.exec.onException = (cpu) => { faults.push(state(f)); cpu.halted = true; };
      f.exec.run(1e7);
      return { faults, end: state(f) };
    };
    const a = run(null), jit = new Jit(2), b = run(jit);
    expect(a.faults.length).toBe(1);
    expect(a.faults[0]!.rip).toBe(CODE + 10);
    expect(b).toEqual(a);
    expect(jit.compiled).toBeGreaterThan(0);
  });

  it('an event raised inside a slow memory access stops the loop at the same instruction', () => {
    const run = (jit: Jit | null, at: number) => {
      const f = machine(storing, jit, REGS);
      const mmu = f.cpu.mmu, write64 = mmu.write64.bind(mmu);
      let writes = 0;
      const seen: number[] = [];
      // Every store misses the TLB (slow path); the at-th raises an event, as an MMIO write to a device may.
      mmu.write64 = (lin: number, lo: number, hi: number) => {
        write64(lin, lo, hi);
        mmu.wTag.fill(NaN);
        if (++writes === at) f.exec.eventPending = true;
      };
      f.exec.onEvent = (cpu) => { seen.push(cpu.icount, cpu.rip); f.exec.eventPending = false; };
      f.exec.run(1e7);
      return { seen, end: state(f) };
    };
    for (const at of [1, 5, 77, 250]) {
      const a = run(null, at), jit = new Jit(2), b = run(jit, at);
      expect(a.seen.length).toBe(2);
      expect(b).toEqual(a);
      expect(jit.compiled).toBeGreaterThan(0);
    }
  });
});
