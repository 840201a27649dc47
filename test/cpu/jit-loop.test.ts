// Compiled loops (compiler.ts compileLoop) against the interpreter where their per-iteration work was cut: flag
// fields kept pending until an exit or a fault reads them, the exit test made once per call unless a call (a
// slow memory access) ran, and a register-only loop compiled without try/catch.
import { describe, expect, it } from 'vitest';
import { flatMachine } from '../../bench/flat.js';
import { Jit } from '../../src/cpu/jit/jit.js';
import { STOP_BUDGET } from '../../src/cpu/exec.js';

const CODE = 0x100000;

function machine(code: number[], jit: Jit | null) {
  const f = flatMachine(8, true);
  if (jit) jit.warmExits = 0;
  f.mem.writeBytes(CODE, Uint8Array.from(code));
  f.cpu.rip = CODE;
  f.cpu.setReg64(0, 0x123456789);
  f.cpu.setReg64(3, 0x7fffffff0);
  f.cpu.setReg64(4, 0x300000);
  f.cpu.setReg64(6, 0x200000);
  f.cpu.setReg64(7, 0x5555);
  f.exec.jit = jit;
  return f;
}

function state(f: ReturnType<typeof machine>) {
  const c = f.cpu;
  return { r: [...c.r32], flags: c.getFlags(), rip: c.rip, icount: c.icount, lf: [...c.lf], halted: c.halted, exc: c.excVector };
}

function slices(code: number[], jit: Jit | null, slice: number, max = 3000) {
  const f = machine(code, jit);
  const out = [];
  for (let n = 0; n < max && !f.cpu.halted; n++) {
    const why = f.exec.run(slice);
    out.push({ why, ...state(f) });
    if (why !== STOP_BUDGET) break;
  }
  return out;
}

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
  it('a loop whose flags are read only at its exit: same states at every budget', () => {
    for (const slice of [1, 2, 3, 5, 6, 7, 13, 100, 997, 1e6]) {
      const jit = new Jit(2);
      expect(slices(flagsAtExit, jit, slice)).toEqual(slices(flagsAtExit, null, slice));
      expect(jit.compiled).toBeGreaterThan(0);
    }
  });

  it('a fault at a store after flag-setting instructions: the pending flags reach the state', () => {
    // rsi walks off the end of memory: the store of some iteration faults with the shift's and inc's flags live.
    const run = (jit: Jit | null) => {
      const f = machine(storing, jit);
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
      const f = machine(storing, jit);
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
