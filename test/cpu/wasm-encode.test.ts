// The wasm writer (src/cpu/jit/wasm/encode.ts): constants of every width come back from V8 as written, locals of
// several types are declared as used, and modules validate.
import { describe, expect, it } from 'vitest';
import { encodeModule, FnBody, Op, sleb32, sleb64, uleb, WT } from '../../src/cpu/jit/wasm/encode.js';

const mem = new WebAssembly.Memory({ initial: 1, maximum: 1 });
const i32 = new Int32Array(mem.buffer);

/** Runs a module of one function () -> i32 built by `fill`, with the memory above. */
function run(fill: (f: FnBody) => void): number {
  const f = new FnBody(0);
  fill(f);
  const bytes = encodeModule({ types: [[[], [WT.I32]]], memoryPages: 1, funcs: [{ type: 0, body: f }] });
  expect(WebAssembly.validate(bytes)).toBe(true);
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { m: { mem } });
  return (inst.exports.f0 as () => number)();
}

const HALVES: [number, number][] = [
  [0, 0], [1, 0], [-1, -1], [63, 0], [64, 0], [-64, -1], [-65, -1], [0x7fffffff, 0], [0x80000000 | 0, 0],
  [0, 1], [0, -1], [0, 0x80000000 | 0], [-1, 0x7fffffff], [0x12345678, 0x9abcdef0 | 0], [0xfedcba98 | 0, 0x01234567],
  [0x40, 0], [0x3f, 0], [-0x40, -1], [-0x41, -1], [0, 0x40000000], [0xffffffff | 0, 0x3fffffff],
];

describe('wasm writer', () => {
  it('writes 64-bit constants from halves exactly (stored and read back as halves)', () => {
    for (const [lo, hi] of HALVES) {
      run((f) => f.i32(0).i64(lo, hi).mem(Op.i64_store, 3, 8).i32(0));
      expect([i32[2], i32[3]]).toEqual([lo | 0, hi | 0]);
    }
    // Random pairs as well.
    let s = 12345;
    const rnd = () => (s = (Math.imul(s, 1103515245) + 12345) | 0);
    for (let k = 0; k < 200; k++) {
      const lo = rnd(), hi = k % 3 === 0 ? (lo < 0 ? -1 : 0) : rnd();
      run((f) => f.i32(0).i64(lo, hi).mem(Op.i64_store, 3, 8).i32(0));
      expect([i32[2], i32[3]]).toEqual([lo, hi]);
    }
  });

  it('writes 32-bit constants and large memory offsets', () => {
    for (const v of [0, 1, -1, 63, 64, -64, -65, 0x7fffffff, -0x80000000, 123456789]) expect(run((f) => f.i32(v))).toBe(v);
    i32[4000] = 0x5a5a;
    expect(run((f) => f.i32(0).mem(Op.i32_load, 2, 16000))).toBe(0x5a5a);
  });

  it('writes 64-bit float constants exactly', () => {
    const f64 = new Float64Array(mem.buffer);
    for (const x of [0, -0, 1.5, -(2 ** 47), 2 ** 52 + 7, 4503599627370496 + 3, Number.MAX_VALUE, Number.MIN_VALUE]) {
      run((f) => f.i32(0).f64(x).mem(Op.f64_store, 3, 8).i32(0));
      expect(Object.is(f64[1], x)).toBe(true);
    }
  });

  it('declares locals of several types in order after the parameters', () => {
    expect(run((f) => {
      const a = f.local(WT.I32), b = f.local(WT.I64), c = f.local(WT.I64), d = f.local(WT.I32);
      expect([a, b, c, d]).toEqual([0, 1, 2, 3]);
      f.i32(5).set(a).i64(7, 0).set(b).get(b).i64(1, 0).op(Op.i64_add).set(c).i32(2).set(d);
      f.get(c).op(Op.i32_wrap_i64).get(a).op(Op.i32_add).get(d).op(Op.i32_mul); // (8 + 5) * 2
    })).toBe(26);
  });

  it('encodes LEB128 as the spec gives it', () => {
    const u: number[] = [];
    uleb(u, 624485);
    expect(u).toEqual([0xe5, 0x8e, 0x26]);
    const s: number[] = [];
    sleb32(s, -123456);
    expect(s).toEqual([0xc0, 0xbb, 0x78]);
    const s64: number[] = [];
    sleb64(s64, -123456, -1);
    expect(s64).toEqual([0xc0, 0xbb, 0x78]);
  });
});
