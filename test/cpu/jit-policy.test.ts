// Which traces the block compiler compiles (jit.ts Jit.minInsns): short traces stay interpreted unless they loop
// on their own or a region through them is found; long traces compile at the threshold. Results are the
// interpreter's whatever is compiled.
import { describe, expect, it } from 'vitest';
import { flatMachine } from '../../bench/flat.js';
import { Jit } from '../../src/cpu/jit/jit.js';
import { STOP_BUDGET } from '../../src/cpu/exec.js';

const CODE = 0x100000;
const FAR = 0x108000;
const DATA = 0x200000;

function run(code: number[], far: number[], jit: Jit | null) {
  const f = flatMachine(8, true);
  f.mem.writeBytes(CODE, Uint8Array.from(code));
  if (far.length) f.mem.writeBytes(FAR, Uint8Array.from(far));
  f.cpu.rip = CODE;
  f.cpu.setReg64(4, 0x300000);
  f.cpu.setReg64(6, DATA);
  f.exec.jit = jit;
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

function rel32(at: number, len: number, to: number): number[] {
  const d = (to - (at + len)) | 0;
  return [d & 0xff, (d >> 8) & 0xff, (d >> 16) & 0xff, (d >>> 24) & 0xff];
}

/** OSv's idle poll in miniature (as in jit-region.test.ts): every trace of the loop is shorter than 8 instructions. */
function idle(n: number): { code: number[]; far: number[] } {
  const code = [0xB9, n & 0xff, (n >> 8) & 0xff, 0, 0];
  const L = code.length;
  code.push(0x48, 0x89, 0xF7); // mov rdi, rsi
  code.push(0xE8, ...rel32(CODE + code.length, 5, FAR));
  code.push(0x48, 0x83, 0x7E, 0x10, 0x00); // cmp qword [rsi+16], 0
  code.push(0x75, 0x00); const jne = code.length - 1;
  code.push(0x83, 0xE9, 0x01); // sub ecx, 1
  code.push(0x75, (L - (code.length + 2)) & 0xff);
  code[jne] = code.length - (jne + 1);
  code.push(0xF4);
  const far = [0x55, 0x48, 0x89, 0xE5, 0x53, 0x48, 0x8B, 0x47, 0x08, 0x48, 0x85, 0xC0, 0x75, 0x05,
    0x48, 0x83, 0x47, 0x18, 0x03, 0x5B, 0x5D, 0xC3];
  return { code, far };
}

describe('block compiler policy: short traces', () => {
  it('short traces that do not loop stay interpreted; with minInsns 0 they compile', () => {
    const { code, far } = idle(6); // 6 runs: past the threshold (2), short of a region look (2 x 5)
    const ref = run(code, far, null);
    const kept = jitOf(8), all = jitOf(0);
    expect(run(code, far, kept)).toEqual(ref);
    expect(run(code, far, all)).toEqual(ref);
    expect(kept.compiled).toBe(0);
    expect(all.compiled).toBeGreaterThan(0);
  });

  it('a loop through short traces still becomes a region once they have run regionFactor x threshold times', () => {
    const { code, far } = idle(300);
    const jit = jitOf(8);
    expect(run(code, far, jit)).toEqual(run(code, far, null));
    expect(jit.regions).toBeGreaterThan(0);
    // Only the region's head was compiled (its own block is what runs when the region does not apply).
    expect(jit.compiled).toBe(1);
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
