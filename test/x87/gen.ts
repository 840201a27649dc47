// Seeded generators of interesting 80-bit operands, control words and integer/float memory operands.
export type V80 = [number, number, number];

export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  u32(): number {
    // xorshift32
    let x = this.s;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  int(n: number): number {
    return this.u32() % n;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
}

/** Significand with a random number of trailing zero bits (rounding ties become likely). */
function sig(r: Rng, j: number): [number, number] {
  let hi = r.u32();
  let lo = r.u32();
  const tz = r.int(4) === 0 ? 0 : r.int(64);
  if (tz >= 32) {
    lo = 0;
    hi = tz === 32 ? hi : ((hi >>> (tz - 32)) << (tz - 32)) >>> 0;
  } else if (tz > 0) lo = ((lo >>> tz) << tz) >>> 0;
  if (r.int(6) === 0) {
    // runs of ones/zeros around the rounding points
    const fill = r.int(2) ? 0xffffffff : 0;
    if (r.int(2)) lo = fill;
    else hi = ((hi & 0xffffff00) | (fill & 0xff)) >>> 0;
  }
  hi = j ? (hi | 0x80000000) >>> 0 : hi & 0x7fffffff;
  return [hi, lo];
}

export function special(r: Rng): V80 {
  const s = r.int(2) << 15;
  const [h, l] = sig(r, 1);
  switch (r.int(14)) {
    case 0: return [s, 0, 0];
    case 1: { const [dh, dl] = sig(r, 0); return [s, r.int(3) === 0 ? 0 : dh, dl || 1]; } // denormal
    case 2: return [s, h, l]; // pseudo-denormal
    case 3: return [s | 1, 0x80000000, 0]; // min normal
    case 4: return [s | 0x7ffe, 0xffffffff, 0xffffffff]; // max
    case 5: return [s | 0x7fff, 0x80000000, 0]; // inf
    case 6: return [s | 0x7fff, (h | 0xc0000000) >>> 0, l]; // qnan
    case 7: return [s | 0x7fff, ((h & 0xbfffffff) | 0x80000000) >>> 0, (h & 0x3fffffff) === 0 && l === 0 ? 1 : l]; // snan
    case 8: return [0xffff, 0xc0000000, 0]; // indefinite
    case 9: return [s | (1 + r.int(0x7ffe)), h & 0x7fffffff, l]; // unnormal
    case 10: return [s | 0x7fff, h & 0x7fffffff, r.int(2) ? 0 : l]; // pseudo-inf / pseudo-nan
    case 11: return [s | 0x3fff, 0x80000000, 0]; // 1.0
    case 12: return [s | (1 + r.int(70)), h, l]; // tiny normal
    default: return [s | (0x7ffe - r.int(70)), h, l]; // huge
  }
}

export function normal(r: Rng, spread = 70): V80 {
  const [h, l] = sig(r, 1);
  return [(r.int(2) << 15) | (0x3fff - spread + r.int(2 * spread + 1)), h, l];
}

export function anyValue(r: Rng): V80 {
  const k = r.int(10);
  if (k < 3) return special(r);
  if (k < 4) return [r.u32() & 0xffff, r.u32(), r.u32()];
  return normal(r, k < 8 ? 70 : 16000);
}

/** A second operand related to the first (cancellation, equal magnitudes, exponent gaps). */
export function partner(r: Rng, a: V80): V80 {
  switch (r.int(8)) {
    case 0: return [a[0] ^ 0x8000, a[1], a[2]];
    case 1: return [a[0], a[1], a[2]];
    case 2: {
      const e = a[0] & 0x7fff;
      const d = r.int(70) - 2;
      const ne = Math.min(0x7ffe, Math.max(1, e - d));
      const [h, l] = sig(r, 1);
      return [(a[0] & 0x8000) ^ (r.int(2) << 15) | ne, h, l];
    }
    case 3: return [a[0] ^ (r.int(2) << 15), a[1], (a[2] + (r.int(2) ? 1 : -1)) >>> 0];
    default: return anyValue(r);
  }
}

export function controlWord(r: Rng, unmaskedShare = 8): number {
  const rc = r.int(4);
  const pc = r.pick([0, 2, 3, 3, 1]);
  const masks = r.int(unmaskedShare) === 0 ? r.u32() & 0x3f : 0x3f;
  return 0x40 | (rc << 10) | (pc << 8) | masks;
}

export function f32Bits(r: Rng): number {
  const s = (r.int(2) << 31) >>> 0;
  switch (r.int(6)) {
    case 0: return (s | 0x7f800000 | r.int(0x800000)) >>> 0; // inf/nan
    case 1: return (s | r.int(0x800000)) >>> 0; // denormal/zero
    case 2: return s;
    default: return r.u32();
  }
}

export function f64Bits(r: Rng): [number, number] {
  const s = (r.int(2) << 31) >>> 0;
  switch (r.int(6)) {
    case 0: return [(s | 0x7ff00000 | r.int(0x100000)) >>> 0, r.int(3) ? r.u32() : 0];
    case 1: return [(s | r.int(0x100000)) >>> 0, r.u32()];
    case 2: return [s, 0];
    default: return [r.u32(), r.u32()];
  }
}

export function intBits(r: Rng): [number, number] {
  switch (r.int(5)) {
    case 0: return [r.int(2) ? 0xffffffff : 0, r.u32() >>> r.int(32)];
    case 1: return [r.pick([0x80000000, 0x7fffffff, 0, 0xffffffff]), r.pick([0, 1, 0xffffffff, 0x80000000])];
    default: return [r.u32() >>> r.int(32), r.u32()];
  }
}
