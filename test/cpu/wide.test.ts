// The 128-bit multiply/divide helpers against BigInt.
import { describe, expect, it } from 'vitest';
import { divS128, divU128, imul64Overflows, mul64Lo, mulHiU32, mulS32, mulS64, mulU32, mulU64, W } from '../../src/cpu/ops/wide.js';

const M64 = (1n << 64n) - 1n;
const lo32 = (v: bigint) => Number(BigInt.asIntN(32, v));
const hi32 = (v: bigint) => Number(BigInt.asIntN(32, v >> 32n));
const w128 = () => (BigInt(W[3] >>> 0) << 96n) | (BigInt(W[2] >>> 0) << 64n) | (BigInt(W[1] >>> 0) << 32n) | BigInt(W[0] >>> 0);
const w64 = (k: number) => (BigInt(W[k + 1] >>> 0) << 32n) | BigInt(W[k] >>> 0);

let seed = 12345;
function rnd32(): bigint {
  seed = (Math.imul(seed, 1103515245) + 12345) | 0;
  const a = seed >>> 0;
  seed = (Math.imul(seed, 1103515245) + 12345) | 0;
  return BigInt(((a << 16) ^ (seed >>> 0)) >>> 0);
}
const EDGE = [0n, 1n, 2n, 3n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 0xfffffffffffffn, 0x10000000000000n,
  0x7fffffffffffffffn, 0x8000000000000000n, 0xfffffffffffffffen, M64];
function rnd64(): bigint {
  const k = Number(rnd32() % 4n);
  if (k === 0) return EDGE[Number(rnd32() % BigInt(EDGE.length))]!;
  if (k === 1) return rnd32();
  if (k === 2) return (rnd32() << 32n) | rnd32();
  return ((rnd32() & 0xfffffn) << 32n) | rnd32(); // below 2^52 (the double fast path)
}

describe('128-bit arithmetic helpers', () => {
  it('mulU64 / mulS64 match BigInt', () => {
    for (let n = 0; n < 4000; n++) {
      const a = rnd64(), b = rnd64();
      mulU64(lo32(a), hi32(a), lo32(b), hi32(b));
      expect(w128()).toBe(a * b);
      mulS64(lo32(a), hi32(a), lo32(b), hi32(b));
      expect(w128()).toBe(BigInt.asUintN(128, BigInt.asIntN(64, a) * BigInt.asIntN(64, b)));
    }
  });

  it('mulU32 / mulS32 match BigInt', () => {
    for (let n = 0; n < 4000; n++) {
      const a = rnd64() & 0xffffffffn, b = rnd64() & 0xffffffffn;
      mulU32(lo32(a), lo32(b));
      expect(w64(0)).toBe(a * b);
      mulS32(lo32(a), lo32(b));
      expect(w64(0)).toBe(BigInt.asUintN(64, BigInt.asIntN(32, a) * BigInt.asIntN(32, b)));
    }
  });

  it('mulHiU32 matches BigInt on both sides of its exact-double shortcut (2^53)', () => {
    const sides = [0n, 1n, 0x1fffffn, 0x200000n, 0x12345n, 0xffffn, 0x10000n, 0x7fffffffn, 0x80000000n, 0xffffffffn];
    const pairs: [bigint, bigint][] = [];
    for (const a of sides) for (const b of sides) pairs.push([a, b]);
    for (let n = 0; n < 4000; n++) pairs.push([rnd64() & 0xffffffffn, (n & 1 ? rnd32() & 0x3fffffn : rnd32())]);
    for (const [a, b] of pairs) expect(mulHiU32(Number(a), Number(b)), `${a} * ${b}`).toBe(Number((a * b) >> 32n));
  });

  it('mul64Lo gives the low 64 bits and imul64Overflows the signed overflow, also next to +-2^63', () => {
    const S63 = 1n << 63n;
    const pairs: [bigint, bigint][] = [[S63 - 1n, 1n], [-S63, 1n], [-S63, -1n], [1n << 31n, 1n << 32n], [-(1n << 31n), 1n << 32n],
      [(1n << 31n) - 1n, (1n << 32n) + 1n], [3037000499n, 3037000499n], [3037000500n, 3037000500n], [-3037000500n, 3037000499n]];
    // Products within a few units of +-2^63, where the double estimate cannot decide.
    for (let n = 0; n < 2000; n++) {
      const b = BigInt.asIntN(64, rnd64() & 0xffffffffn) | 1n;
      const a = (S63 / (b < 0n ? -b : b)) + BigInt(n % 5) - 2n;
      pairs.push([n & 2 ? -a : a, b]);
    }
    for (let n = 0; n < 4000; n++) pairs.push([BigInt.asIntN(64, rnd64()), BigInt.asIntN(64, rnd64())]);
    for (const [a, b] of pairs) {
      const au = BigInt.asUintN(64, a), bu = BigInt.asUintN(64, b);
      const p = a * b;
      const of = imul64Overflows(lo32(au), hi32(au), lo32(bu), hi32(bu));
      expect(of, `${a} * ${b}`).toBe(p !== BigInt.asIntN(64, p));
      const lo = mul64Lo(lo32(au), hi32(au), lo32(bu), hi32(bu));
      expect((BigInt(W[1]! >>> 0) << 32n) | BigInt(lo >>> 0), `${a} * ${b}`).toBe(BigInt.asUintN(64, p));
    }
  });

  it('divU128 matches BigInt, and refuses zero divisors and quotient overflow', () => {
    for (let n = 0; n < 4000; n++) {
      const d = rnd64();
      // Mostly dividends whose quotient fits (high part below the divisor), sometimes anything.
      let hi = rnd64();
      if (n % 4 !== 0 && d !== 0n) hi %= d;
      const lo = rnd64();
      const ok = divU128(lo32(lo), hi32(lo), lo32(hi), hi32(hi), lo32(d), hi32(d));
      const nn = (hi << 64n) | lo;
      if (d === 0n || nn / d > M64) { expect(ok).toBe(false); continue; }
      expect(ok).toBe(true);
      expect(w64(0)).toBe(nn / d);
      expect(w64(2)).toBe(nn % d);
    }
  });

  it('divS128 matches BigInt (truncation, remainder sign, -2^127 edge cases, overflow)', () => {
    const cases: [bigint, bigint][] = [[-(1n << 63n), -1n], [-(1n << 63n), 1n], [(1n << 63n) - 1n, -1n], [-(1n << 64n), 2n],
      [-(1n << 64n), -2n], [-(1n << 127n), -(1n << 63n)], [7n, -2n], [-7n, 2n], [-7n, -2n], [0n, -5n], [-(1n << 63n) * 2n - 1n, 2n]];
    for (let n = 0; n < 4000; n++) {
      const d = BigInt.asIntN(64, rnd64());
      let q = BigInt.asIntN(64, rnd64());
      if (n % 3 === 0) q = BigInt.asIntN(128, (rnd64() << 64n) | rnd64()) / (d === 0n ? 1n : d);
      const r = d === 0n ? 0n : BigInt.asIntN(64, rnd64()) % d;
      let nn = q * d + r;
      if ((nn < 0n) !== (r < 0n) && r !== 0n) nn = q * d - r; // keep the remainder's sign that of the dividend
      cases.push([BigInt.asIntN(128, nn), d]);
    }
    for (const [nn, d] of cases) {
      const u = BigInt.asUintN(128, nn), du = BigInt.asUintN(64, d);
      const ok = divS128(lo32(u), hi32(u), lo32(u >> 64n), hi32(u >> 64n), lo32(du), hi32(du));
      if (d === 0n) { expect(ok).toBe(false); continue; }
      const q = nn / d; // BigInt division truncates toward zero, like idiv
      if (q > (1n << 63n) - 1n || q < -(1n << 63n)) { expect(ok, `${nn} / ${d}`).toBe(false); continue; }
      expect(ok, `${nn} / ${d}`).toBe(true);
      expect(BigInt.asIntN(64, w64(0))).toBe(q);
      expect(BigInt.asIntN(64, w64(2))).toBe(nn % d);
    }
  });
});
