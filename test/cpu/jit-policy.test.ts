// Which traces the block compiler compiles (jit.ts Jit.minInsns): short traces compile at regionFactor x threshold
// runs unless they loop on their own; long traces compile at the threshold. Results are the
// interpreter's whatever is compiled.
import { describe, expect, it } from 'vitest';
import { Jit } from '../../src/cpu/jit/jit.js';
import { STOP_BUDGET } from '../../src/cpu/exec.js';
import { DATA, idle, machine } from './jit-guest.js';

function run(code: number[], far: number[], jit: Jit | null) {
  const f = machine(code, far, jit);
  // One run() call: trace links (and so regions) form within it.
  expect(f.exec.run(1e6)).not.toBe(STOP_BUDGET);
  return { r: [...f.cpu.r32], rip: f.cpu.rip, icount: f.cpu.icount, lf: [...f.cpu.lf], data: [...f.mem.u8.subarray(DATA, DATA + 64)] };
}

function jitOf(minInsns: number): Jit {
  const j = new Jit(2);
  j.minInsns = minInsns;
  j.warmExits = 0;
  return j;
}

describe('block compiler policy: short traces', () => {
  it('short traces run fewer than regionFactor x threshold times stay interpreted; with minInsns 0 they compile', () => {
    const { code, far } = idle(6); // 6 runs: past the threshold (2), short of a region look (2 x 5)
    const ref = run(code, far, null);
    const kept = jitOf(8), all = jitOf(0);
    expect(run(code, far, kept)).toEqual(ref);
    expect(run(code, far, all)).toEqual(ref);
    expect(kept.compiled).toBe(0);
    expect(all.compiled).toBeGreaterThan(0);
  });

  it('short traces compile after regionFactor x threshold runs, and a loop through them becomes a region', () => {
    const { code, far } = idle(300);
    const jit = jitOf(8);
    expect(run(code, far, jit)).toEqual(run(code, far, null));
    expect(jit.regions).toBeGreaterThan(0);
    expect(jit.compiled).toBeGreaterThan(0);
  });

  it('a short self-loop and a long trace compile at the threshold', () => {
    // mov ecx,6; L: 8 x add eax,1; jmp M; M: sub ecx,1; jne L; mov ecx,50; S: sub ecx,1; jne S; hlt
    const code = [0xB9, 6, 0, 0, 0];
    const L = code.length;
    for (let k = 0; k < 8; k++) code.push(0x83, 0xC0, 0x01);
    code.push(0xEB, 0x00);
    code.push(0x83, 0xE9, 0x01, 0x75, (L - (code.length + 5)) & 0xff);
    code.push(0xB9, 50, 0, 0, 0);
    const S = code.length;
    code.push(0x83, 0xE9, 0x01, 0x75, (S - (code.length + 5)) & 0xff, 0xF4);
    const jit = jitOf(8);
    expect(run(code, [], jit)).toEqual(run(code, [], null));
    // The 9-instruction trace and the 2-instruction self-loop; not the short `sub; jne L` trace (6 runs).
    expect(jit.compiled).toBe(2);
  });

  it('a Jit made with the default threshold keeps short traces out; one made with an explicit threshold does not', () => {
    expect(new Jit().minInsns).toBeGreaterThan(1);
    expect(new Jit(2).minInsns).toBe(0);
  });
});
