// Deterministic PRNG and value generators biased toward edge cases (test code: bigint is fine here).

/** sfc32: small, fast, good enough for test-case generation, reproducible from one 32-bit seed. */
export class Rng {
  private a: number; private b: number; private c: number; private d: number;
  constructor(readonly seed: number) {
    this.a = 0x9e3779b9; this.b = 0x243f6a88; this.c = 0xb7e15162; this.d = seed >>> 0;
    for (let i = 0; i < 15; i++) this.u32();
  }
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }
  /** Integer in [0, n). */
  int(n: number): number { return Math.floor((this.u32() / 4294967296) * n); }
  /** Integer in [lo, hi]. */
  range(lo: number, hi: number): number { return lo + this.int(hi - lo + 1); }
  chance(p: number): boolean { return this.u32() / 4294967296 < p; }
  pick<T>(xs: readonly T[]): T { return xs[this.int(xs.length)]!; }
  u64(): bigint { return (BigInt(this.u32()) << 32n) | BigInt(this.u32()); }
  bytes(out: Uint8Array): void {
    if (out.length >= 256 && (out.byteOffset & 3) === 0) {
      // Large fills (the data page): an inline xorshift32 stream seeded from this generator, 4 bytes per step.
      const w = new Uint32Array(out.buffer, out.byteOffset, out.length >>> 2);
      let x = this.u32() | 1;
      for (let k = 0; k < w.length; k++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; w[k] = x; }
      for (let k = w.length * 4; k < out.length; k++) out[k] = this.u32() & 0xff;
      return;
    }
    let i = 0;
    for (; i + 4 <= out.length; i += 4) {
      const v = this.u32();
      out[i] = v & 0xff; out[i + 1] = (v >>> 8) & 0xff; out[i + 2] = (v >>> 16) & 0xff; out[i + 3] = v >>> 24;
    }
    for (; i < out.length; i++) out[i] = this.u32() & 0xff;
  }
}

/** Stable 32-bit hash of a string (FNV-1a), used to derive per-form seeds. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 0x01000193); }
  return h >>> 0;
}

const M64 = (1n << 64n) - 1n;

const EDGE_CACHE = new Map<number, bigint[]>();
/** Edge values of one width, as unsigned bigint of that width. */
export function edgesOf(bits: number): bigint[] {
  let e = EDGE_CACHE.get(bits);
  if (!e) { e = computeEdges(bits); EDGE_CACHE.set(bits, e); }
  return e;
}
function computeEdges(bits: number): bigint[] {
  const m = (1n << BigInt(bits)) - 1n;
  const sign = 1n << BigInt(bits - 1);
  return [0n, 1n, 2n, m, m - 1n, sign - 1n, sign, sign + 1n, sign - 2n, (m / 3n), (m / 3n) * 2n, 0x10n, 0x0fn, 0x80n, 0xffn, 0x100n]
    .map((v) => v & m);
}

const WIDTHS = [8, 16, 32, 64];

/** A 64-bit integer: random, small, or an edge value of a random width (upper bits random, zero or sign-filled). */
export function intValue(rng: Rng): bigint {
  const r = rng.int(10);
  if (r < 4) return rng.u64();
  if (r < 6) { const v = BigInt(rng.range(-20, 20)); return v & M64; }
  const bits = rng.pick(WIDTHS);
  const e = rng.pick(edgesOf(bits));
  if (bits === 64) return e;
  const low = (1n << BigInt(bits)) - 1n;
  switch (rng.int(3)) {
    case 0: return e;
    case 1: return (rng.u64() & ~low & M64) | e;
    default: return e & (1n << BigInt(bits - 1)) ? (M64 & ~low) | e : e;
  }
}

/** Shift/rotate counts: the interesting masked counts plus random bytes (upper bits must be ignored). */
export function countValue(rng: Rng): bigint {
  if (rng.chance(0.25)) return BigInt(rng.int(256)) | (rng.u64() & ~0xffn & M64);
  return BigInt(rng.pick([0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 0xff, rng.int(64), rng.int(64)]));
}

// ---------- floating point ----------

function f64bits(x: number): bigint { const b = new DataView(new ArrayBuffer(8)); b.setFloat64(0, x, true); return b.getBigUint64(0, true); }
function f32bits(x: number): number { const b = new DataView(new ArrayBuffer(4)); b.setFloat32(0, x, true); return b.getUint32(0, true); }

const F64_EDGES: bigint[] = [
  0n, 1n << 63n, // ±0
  1n, (1n << 63n) | 1n, 0x000fffffffffffffn, 0x800fffffffffffffn, // denormals
  0x0010000000000000n, 0x8010000000000000n, // min normal
  0x7fefffffffffffffn, 0xffefffffffffffffn, // max
  0x7ff0000000000000n, 0xfff0000000000000n, // inf
  0x7ff8000000000000n, 0xfff8000000000000n, 0x7ff8000000000123n, // qNaN
  0x7ff0000000000001n, 0xfff4000000000000n, // sNaN
  f64bits(1), f64bits(-1), f64bits(0.5), f64bits(1.5), f64bits(2.5), f64bits(-2.5), f64bits(3), f64bits(0.1),
  f64bits(2 ** 31), f64bits(2 ** 31 - 0.5), f64bits(-(2 ** 31)), f64bits(-(2 ** 31) - 1), f64bits(-(2 ** 31) - 0.5),
  f64bits(2 ** 63), f64bits(-(2 ** 63)), f64bits(2 ** 63 - 1024), f64bits(2 ** 52), f64bits(2 ** 53 + 2), f64bits(1e300), f64bits(1e-310),
  f64bits(2 ** 15), f64bits(-(2 ** 15) - 1), f64bits(65535.5),
];
const F32_EDGES: number[] = [
  0, 0x80000000, 1, 0x80000001, 0x007fffff, 0x807fffff, 0x00800000, 0x80800000, 0x7f7fffff, 0xff7fffff,
  0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000, 0x7fc00123, 0x7f800001, 0xffa00000,
  f32bits(1), f32bits(-1), f32bits(0.5), f32bits(1.5), f32bits(2.5), f32bits(-2.5), f32bits(0.1), f32bits(3),
  f32bits(2 ** 31), f32bits(-(2 ** 31)), f32bits(2 ** 31 - 128), f32bits(2 ** 63), f32bits(-(2 ** 63)), f32bits(2 ** 24 + 2), f32bits(1e38),
];

/** A double as its 64 bits: edge value, "nice" number, or random (random mantissas round both ways). */
export function f64Value(rng: Rng): bigint {
  const r = rng.int(10);
  if (r < 4) return rng.pick(F64_EDGES);
  if (r < 6) return f64bits((rng.int(2001) - 1000) / rng.pick([1, 2, 4, 8, 10, 3]));
  if (r < 8) { // random mantissa, moderate exponent
    const exp = BigInt(1023 + rng.range(-70, 70));
    return (BigInt(rng.int(2)) << 63n) | (exp << 52n) | (rng.u64() & 0xfffffffffffffn);
  }
  return rng.u64();
}

export function f32Value(rng: Rng): number {
  const r = rng.int(10);
  if (r < 4) return rng.pick(F32_EDGES) >>> 0;
  if (r < 6) return f32bits((rng.int(2001) - 1000) / rng.pick([1, 2, 4, 8, 10, 3]));
  if (r < 8) return ((rng.int(2) << 31) | ((127 + rng.range(-30, 30)) << 23) | (rng.u32() & 0x7fffff)) >>> 0;
  return rng.u32();
}

const EDGE_BYTES = [0, 0xff, 0x7f, 0x80, 1, 0, 0xff];

/** Fills 16 bytes with lanes of the given kind. */
const XMM_SCRATCH = new Uint8Array(16);
const XMM_DV = new DataView(XMM_SCRATCH.buffer);

export function fillXmm(rng: Rng, out: Uint8Array, kind: 'int' | 'ps' | 'pd' | 'bytes'): void {
  if (kind !== 'bytes') { fillLanes(rng, kind); out.set(XMM_SCRATCH); return; }
  rng.bytes(out);
  const n = rng.int(8);
  for (let i = 0; i < n; i++) out[rng.int(16)] = EDGE_BYTES[rng.int(EDGE_BYTES.length)]!;
}

function fillLanes(rng: Rng, kind: 'int' | 'ps' | 'pd'): void {
  const dv = XMM_DV;
  switch (kind) {
    case 'pd': for (let i = 0; i < 2; i++) dv.setBigUint64(8 * i, f64Value(rng), true); break;
    case 'ps': for (let i = 0; i < 4; i++) dv.setUint32(4 * i, f32Value(rng), true); break;
    default: for (let i = 0; i < 2; i++) dv.setBigUint64(8 * i, intValue(rng), true); break;
  }
}

/** An 80-bit x87 value (10 bytes LE), classes weighted toward valid operands unless `wild`. */
export function f80Value(rng: Rng, wild = false, out: Uint8Array = new Uint8Array(10)): Uint8Array {
  const sign = rng.int(2) << 15;
  let exp: number; let hi: number; let lo = rng.u32(); // mantissa = hi:lo, hi bit 31 = explicit integer bit J
  const r = rng.u32();
  const cls = wild ? rng.int(10) : [0, 0, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6][rng.int(12)]!;
  switch (cls) {
    case 0: exp = 16383 + rng.range(-80, 80); hi = (r | 0x80000000) >>> 0; break; // normal
    case 1: { // exactly representable "nice" numbers (and integers for frndint/fist)
      const x = (rng.int(4001) - 2000) / rng.pick([1, 2, 4, 3]);
      out.set(f64ToF80(f64bits(x)));
      return out;
    }
    case 2: exp = 0; hi = 0; lo = 0; break; // zero
    case 3: exp = 0; hi = r & 0x7fffffff; break; // denormal
    case 4: exp = 0x7fff; hi = 0x80000000; lo = 0; break; // inf
    case 5: exp = 0x7fff; hi = (0xc0000000 | (rng.chance(0.5) ? 0 : r & 0x3fffffff)) >>> 0; if (hi === 0xc0000000 && rng.chance(0.5)) lo = 0; break; // qnan
    case 6: exp = 0x7fff; hi = (0x80000000 | (r & 0x3fffffff)) >>> 0; if ((hi & 0x3fffffff) === 0 && lo === 0) lo = 1; break; // snan
    case 7: exp = rng.range(1, 0x7ffe); hi = r & 0x7fffffff; break; // unnormal (invalid operand)
    case 8: exp = 0; hi = (r | 0x80000000) >>> 0; break; // pseudo-denormal
    default: exp = rng.int(0x8000); hi = r; break; // anything
  }
  for (let i = 0; i < 4; i++) { out[i] = (lo >>> (8 * i)) & 0xff; out[4 + i] = (hi >>> (8 * i)) & 0xff; }
  out[8] = exp & 0xff; out[9] = ((sign | exp) >>> 8) & 0xff;
  return out;
}

export function f64ToF80(bits: bigint): Uint8Array {
  const out = new Uint8Array(10);
  const dv = new DataView(out.buffer);
  const sign = Number(bits >> 63n) << 15;
  const e = Number((bits >> 52n) & 0x7ffn);
  const f = bits & 0xfffffffffffffn;
  let exp: number; let mant: bigint;
  if (e === 0 && f === 0n) { exp = 0; mant = 0n; } else if (e === 0x7ff) { exp = 0x7fff; mant = (1n << 63n) | (f << 11n); } else if (e === 0) {
    // denormal double: normalize
    let m = f; let ex = 1 - 1023;
    while (!(m & (1n << 52n))) { m <<= 1n; ex--; }
    exp = ex + 16383; mant = m << 11n;
  } else { exp = e - 1023 + 16383; mant = (1n << 63n) | (f << 11n); }
  dv.setBigUint64(0, mant, true);
  dv.setUint16(8, sign | exp, true);
  return out;
}
