// Path regions (src/cpu/jit/region.ts): hot traces whose links lead on without coming back to the head within the
// loop limits are compiled as one straight region. Against the interpreter: every budget cut, a branch in the
// path going either way, and a fault in the middle of a path.
import { describe, expect, it } from 'vitest';
import type { Jit } from '../../src/cpu/jit/jit.js';
import { CODE, jitOf, rel32, slices } from './jit-guest.js';

const STRIDE = 32;
const at = (k: number) => CODE + 16 + STRIDE * k;

/**
 * mov ecx,N at CODE, then a ring of `n` traces STRIDE bytes apart (more than a loop region holds): trace k is
 * `body(k)` and a jmp to trace k+1; the last one counts ecx down, jumps back to trace 0, and halts at the end.
 */
function ring(n: number, iters: number, body: (k: number) => number[]): number[] {
  const code = new Array<number>(16 + STRIDE * n + 32).fill(0x90);
  code.splice(0, 5, 0xB9, iters & 0xff, (iters >> 8) & 0xff, 0, 0);
  code.splice(5, 5, 0xE9, ...rel32(CODE + 5, 5, at(0)));
  for (let k = 0; k < n; k++) {
    const b = body(k);
    const off = 16 + STRIDE * k;
    const tail = k < n - 1
      ? [0xE9, ...rel32(at(k) + b.length, 5, at(k + 1))]
      : [0x83, 0xE9, 0x01, 0x0F, 0x85, ...rel32(at(k) + b.length + 3, 6, at(0)), 0xF4];
    code.splice(off, b.length + tail.length, ...b, ...tail);
  }
  return code;
}

/** Compiles after 2 runs, looks for regions 10 runs later, compiles a path at once, loops inside from the first call. */
function pathJit(): Jit {
  const j = jitOf(2);
  j.pathWait = 0;
  return j;
}

const add = [0x48, 0x83, 0xC0, 0x01]; // add rax, 1

describe('path regions vs interpreter', () => {
  it('a ring of 20 traces (no loop region) runs as paths: same states at every budget', () => {
    // Trace 1 stores rax, trace 2 loads it back into rbx, the others add.
    const code = ring(20, 60, (k) => k === 1 ? [...add, 0x48, 0x89, 0x46, 0x08] : k === 2 ? [0x48, 0x8B, 0x5E, 0x08, ...add] : add);
    for (const slice of [1, 2, 5, 7, 16, 33, 1e6]) {
      const jit = pathJit();
      const b = slices(code, [], jit, slice, 20_000);
      expect(b, `slice ${slice}`).toEqual(slices(code, [], null, slice, 20_000));
      expect(b[b.length - 1]!.halted).toBe(true);
      if (slice >= 16) expect(jit.paths, `slice ${slice}`).toBeGreaterThan(0);
    }
    const off = jitOf(2);
    off.pathsEnabled = false;
    slices(code, [], off, 1e6);
    expect(off.paths).toBe(0);
  });

  it('a branch in the path that goes either way leaves the path exactly', () => {
    // Trace 4: test eax, 8; je +5 (over an add): the path was found one way, later runs go the other.
    const code = ring(20, 80, (k) => k === 4 ? [...add, 0xA9, 0x08, 0, 0, 0, 0x74, 0x04, ...add] : add);
    for (const slice of [3, 9, 1e6]) {
      const jit = pathJit();
      expect(slices(code, [], jit, slice, 20_000), `slice ${slice}`).toEqual(slices(code, [], null, slice, 20_000));
      expect(jit.paths).toBeGreaterThan(0);
    }
  });

  it('a fault in the middle of a path leaves the interpreter state', () => {
    // Trace 5: imul rdi, rax, 4096; mov rdx, [rsi+rdi]: past 8 MiB (rax >= 1536, the 77th time round) it faults.
    const code = ring(20, 200, (k) => k === 5 ? [...add, 0x48, 0x69, 0xF8, 0x00, 0x10, 0x00, 0x00, 0x48, 0x8B, 0x14, 0x3E] : add);
    for (const slice of [7, 1e6]) {
      const jit = pathJit();
      const b = slices(code, [], jit, slice, 20_000);
      expect(b, `slice ${slice}`).toEqual(slices(code, [], null, slice, 20_000));
      expect(b[b.length - 1]!.fault).toBe(true);
      expect(b[b.length - 1]!.exc).toBe(14);
      expect(jit.paths).toBeGreaterThan(0);
    }
  });
});
