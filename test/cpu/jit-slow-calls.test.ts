// A new compiled block's first calls take the MMU's slow path for every memory access (compiler.ts SLOW_CALLS), so
// that V8 has type feedback for those paths when it optimises the block: the state is the interpreter's either way,
// and only the number of calls into the MMU differs.
import { describe, expect, it } from 'vitest';
import { Jit } from '../../src/cpu/jit/jit.js';
import { SLOW_CALLS } from '../../src/cpu/jit/compiler.js';
import { STOP_BUDGET } from '../../src/cpu/exec.js';
import { DATA, idle, machine } from './jit-guest.js';

const METHODS = ['read8', 'read16', 'read32', 'read64', 'write8', 'write16', 'write32', 'write64', 'rmw8', 'rmw16', 'rmw32', 'rmw64'];

/** Runs the idle loop; returns the final state and how often the MMU's access methods were called. */
function run(jit: Jit | null) {
  const { code, far } = idle(300);
  const f = machine(code, far, jit);
  let calls = 0;
  const mmu = f.cpu.mmu as unknown as Record<string, (...a: number[]) => number>;
  for (const name of METHODS) {
    const orig = mmu[name];
    if (typeof orig !== 'function') continue;
    mmu[name] = function (this: unknown, ...a: number[]) { calls++; return orig.apply(this, a); };
  }
  expect(f.exec.run(1e6)).not.toBe(STOP_BUDGET);
  const state = { r: [...f.cpu.r32], rip: f.cpu.rip, icount: f.cpu.icount, lf: [...f.cpu.lf], data: [...f.mem.u8.subarray(DATA, DATA + 64)] };
  return { state, calls };
}

function jitWith(slowCalls: number): Jit {
  const j = new Jit(2);
  j.warmExits = 0;
  j.slowCalls = slowCalls;
  j.regionsEnabled = false;
  return j;
}

describe('block compiler: slow memory paths first', () => {
  it('the first calls of each block go through the MMU, later ones hit the TLB inline; the results are the same', () => {
    const ref = run(null);
    const inline = run(jitWith(0)), slow = run(jitWith(3)), slower = run(jitWith(6));
    expect(inline.state).toEqual(ref.state);
    expect(slow.state).toEqual(ref.state);
    expect(slower.state).toEqual(ref.state);
    // Three more calls per block take the slow path: more MMU calls, and the compiled code still runs inline after.
    expect(slow.calls).toBeGreaterThan(inline.calls);
    expect(slower.calls).toBeGreaterThan(slow.calls);
    expect(slower.calls).toBeLessThan(ref.calls);
  });

  it('a Jit made with the default threshold starts blocks on the slow paths; one made with an explicit threshold does not', () => {
    expect(SLOW_CALLS).toBeGreaterThan(8);
    expect(new Jit().slowCalls).toBe(SLOW_CALLS);
    expect(new Jit(2).slowCalls).toBe(0);
  });
});
