// Seeded operand generators for the SSE differential tests: edge cases plus random bit patterns biased
// toward the interesting regions (exponent extremes, close exponents, NaN payloads, midpoints).

export class Rng {
  private s: number;
  constructor(seed: number) { this.s = (seed >>> 0) || 1; }
  /** Uniform 32-bit unsigned integer (xorshift32). */
  u32(): number {
    let x = this.s;
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    this.s = x;
    return x;
  }
  int(n: number): number { return this.u32() % n; }
  pick<T>(xs: readonly T[]): T { return xs[this.int(xs.length)]; }
}

/** A binary64 as [lo, hi] words. */
export type W64 = [number, number];

export const EDGE64: W64[] = [
  [0, 0], [0, 0x80000000], [1, 0], [1, 0x80000000], [0xffffffff, 0x000fffff], [0xffffffff, 0x800fffff],
  [0, 0x00100000], [0, 0x80100000], [1, 0x00100000], [0xffffffff, 0x7fefffff], [0xffffffff, 0xffefffff],
  [0, 0x3ff00000], [0, 0xbff00000], [1, 0x3ff00000], [0, 0x3ff80000], [0, 0x40000000], [0, 0x7fe00000],
  [0, 0x7ff00000], [0, 0xfff00000], [0, 0x7ff80000], [0, 0xfff80000], [1, 0x7ff80000], [0x1234, 0xfffabcde],
  [1, 0x7ff00000], [0, 0x7ff40000], [0xdead, 0xfff00001], [0, 0x00080000], [0, 0x3ca00000], [0, 0x43300000],
  [0, 0x41e00000], [0xffc00000, 0x41dfffff], [0, 0xc1e00000], [0x00200000, 0xc1e00000], [0, 0x43e00000], [0, 0xc3e00000],
  [0x400, 0x43dfffff], [0, 0x3fe00000], [0, 0x3ff40000], [0, 0x3ff80000], [0, 0x40040000], [0, 0xbfe00000],
  [0xe0000000, 0x380fffff], [0, 0x36a00000], [0, 0x47efffff], [0xf0000000, 0x47efffff], [0, 0x36900000],
];

export const EDGE32: number[] = [
  0, 0x80000000, 1, 0x80000001, 0x007fffff, 0x807fffff, 0x00800000, 0x80800000, 0x7f7fffff, 0xff7fffff,
  0x3f800000, 0xbf800000, 0x3f800001, 0x3fc00000, 0x40000000, 0x7f000000, 0x7f800000, 0xff800000,
  0x7fc00000, 0xffc00000, 0x7fc00001, 0xffd0abcd, 0x7f800001, 0x7fa00000, 0xff812345, 0x00400000,
  0x33800000, 0x4b000000, 0x4f000000, 0xcf000000, 0x4effffff, 0x5f000000, 0xdf000000, 0x5effffff,
  0x3f000000, 0x3fa00000, 0x40200000, 0xbf000000, 0x34000000, 0x0c000000, 0x00000003, 0x7effffff,
];

/** Random binary64: mixes uniform bits, exponent extremes and small-mantissa values. */
export function rand64(r: Rng): W64 {
  const kind = r.int(10);
  const sign = r.int(2) ? 0x80000000 : 0;
  let exp: number;
  switch (kind) {
    case 0: return r.pick(EDGE64).slice() as W64;
    case 1: exp = r.int(60); break; // subnormal / tiny
    case 2: exp = 0x7ff - 1 - r.int(60); break; // huge
    case 3: exp = 1023 + r.int(80) - 40; break; // near 1
    case 4: exp = 0; break;
    case 5: exp = 0x7ff; break;
    default: exp = r.int(0x800);
  }
  let hi = sign | (exp << 20) | (r.u32() & 0xfffff);
  let lo = r.u32();
  if (r.int(4) === 0) lo &= 0xffff0000 << r.int(16); // short mantissas make exact results and ties likely
  if (r.int(8) === 0) { hi &= 0xfff00000 | (0xfffff << r.int(20)); lo = 0; }
  return [lo >>> 0, hi >>> 0];
}

export function rand32(r: Rng): number {
  const kind = r.int(10);
  const sign = r.int(2) ? 0x80000000 : 0;
  let exp: number;
  switch (kind) {
    case 0: return r.pick(EDGE32);
    case 1: exp = r.int(30); break;
    case 2: exp = 0xff - 1 - r.int(30); break;
    case 3: exp = 127 + r.int(40) - 20; break;
    case 4: exp = 0; break;
    case 5: exp = 0xff; break;
    default: exp = r.int(0x100);
  }
  let m = r.u32() & 0x7fffff;
  if (r.int(4) === 0) m &= 0x7fffff << r.int(23);
  return (sign | (exp << 23) | m) >>> 0;
}

/** A second operand related to the first (close exponent, or exponent chosen to reach over/underflow). */
export function related64(r: Rng, a: W64): W64 {
  const b = rand64(r);
  const ea = (a[1] >>> 20) & 0x7ff;
  let eb: number;
  switch (r.int(4)) {
    case 0: eb = ea + r.int(7) - 3; break;
    case 1: eb = ea + r.int(120) - 60; break;
    case 2: eb = 2046 - ea + r.int(9) - 4; break; // products/quotients near the range limits
    default: eb = ea - 1023 + r.int(9) - 4 + (r.int(2) ? 1023 : -1023 + 1023); break;
  }
  if (eb < 0 || eb > 0x7fe) return b;
  b[1] = ((b[1] & 0x800fffff) | (eb << 20)) >>> 0;
  return b;
}

export function related32(r: Rng, a: number): number {
  const b = rand32(r);
  const ea = (a >>> 23) & 0xff;
  let eb: number;
  switch (r.int(3)) {
    case 0: eb = ea + r.int(7) - 3; break;
    case 1: eb = ea + r.int(60) - 30; break;
    default: eb = 254 - ea + r.int(9) - 4; break;
  }
  if (eb < 0 || eb > 0xfe) return b;
  return ((b & 0x807fffff) | (eb << 23)) >>> 0;
}

/** MXCSR values under test: all masks set, each rounding mode, FTZ/DAZ combinations. */
export function mxcsrVariants(): number[] {
  const out: number[] = [];
  for (let rc = 0; rc < 4; rc++) for (const fd of [0, 0x8000, 0x40, 0x8040]) out.push(0x1f80 | (rc << 13) | fd);
  return out;
}
