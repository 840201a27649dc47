// FADD/FSUB/FMUL/FDIV/FSQRT on 80-bit values, exact to the last bit under every PC/RC.
// Special operands are resolved first (invalid formats, NaNs, infinities, zeros), then the
// finite path computes a 128-bit-plus-sticky significand in M and calls roundPack.

import {
  CLS_DENORMAL, CLS_INF, CLS_INVALID, CLS_ZERO, FL_DE, FL_IE, FL_NORESULT, FL_ZE, FMT_F80,
  M, RC_DOWN, U, UA, UB, clzM, getSticky, isNaNCls, takeDenMark, loadM, outIndefinite, outInf, outZero, pcBits,
  propagateNaN2, roundPack, setSticky, shlM, shrM, unpack,
} from './f80-core.js';

/**
 * Shared prologue of two-operand ops: classifies both operands, handles invalid formats
 * and NaNs. Returns -1 when the caller should continue with the numeric path (flags so far
 * in `preFlags`), otherwise the final flag word (OUT already written or NORESULT).
 */
let preFlags = 0;
function prologue2(
  ase: number, ahi: number, alo: number, bse: number, bhi: number, blo: number, cw: number, div = false,
): number {
  const mark = takeDenMark();
  const ac = unpack(UA, ase, ahi, alo);
  const bc = unpack(UB, bse, bhi, blo);
  if (ac === CLS_INVALID || bc === CLS_INVALID) return invalid(cw);
  if (isNaNCls(ac) || isNaNCls(bc)) {
    const f = propagateNaN2(ase, ahi, alo, ac, bse, bhi, blo, bc);
    if (f && !(cw & FL_IE)) return f | FL_NORESULT;
    return f;
  }
  preFlags = ac === CLS_DENORMAL || bc === CLS_DENORMAL || mark !== 0 ? FL_DE : 0;
  if (div && bc === CLS_ZERO) preFlags = 0; // denormal / 0 reports only ZE
  if (preFlags && !(cw & FL_DE)) return FL_DE | FL_NORESULT;
  return -1;
}

/** Invalid operation: masked -> QNaN indefinite. */
export function invalid(cw: number): number {
  if (!(cw & FL_IE)) return FL_IE | FL_NORESULT;
  outIndefinite();
  return FL_IE;
}

/** a + b (negB=1 computes a - b). */
export function f80Add(
  ase: number, ahi: number, alo: number, bse: number, bhi: number, blo: number, cw: number, negB: number,
): number {
  const r = prologue2(ase, ahi, alo, bse, bhi, blo, cw);
  if (r >= 0) return r;
  let flags = preFlags;
  const ac = U[UA];
  const bc = U[UB];
  const as = U[UA + 1];
  const bs = U[UB + 1] ^ negB;
  if (ac === CLS_INF || bc === CLS_INF) {
    if (ac === CLS_INF && bc === CLS_INF && as !== bs) return flags | invalid(cw);
    outInf(ac === CLS_INF ? as : bs);
    return flags;
  }
  const p = pcBits(cw);
  if (ac === CLS_ZERO && bc === CLS_ZERO) {
    outZero(as === bs ? as : ((cw >>> 10) & 3) === RC_DOWN ? 1 : 0);
    return flags;
  }
  if (bc === CLS_ZERO) {
    loadM(U[UA + 3], U[UA + 4]);
    return flags | roundPack(as, U[UA + 2], p, FMT_F80, cw, true);
  }
  if (ac === CLS_ZERO) {
    loadM(U[UB + 3], U[UB + 4]);
    return flags | roundPack(bs, U[UB + 2], p, FMT_F80, cw, true);
  }
  // order by magnitude: X is the larger
  let xb = UA;
  let yb = UB;
  let xs = as;
  let ys = bs;
  const ae = U[UA + 2];
  const be = U[UB + 2];
  if (be > ae || (be === ae && (U[UB + 3] > U[UA + 3] || (U[UB + 3] === U[UA + 3] && U[UB + 4] > U[UA + 4])))) {
    xb = UB;
    yb = UA;
    xs = bs;
    ys = as;
  }
  const e = U[xb + 2];
  const d = e - U[yb + 2];
  // Y aligned into M (with sticky jammed into the lowest bit, which lies far below the rounding point)
  loadM(U[yb + 3], U[yb + 4]);
  shrM(d);
  const y0 = M[0], y1 = M[1], y2 = M[2];
  let y3 = M[3];
  if (getSticky()) y3 = (y3 | 1) >>> 0;
  const x0 = U[xb + 3], x1 = U[xb + 4];
  let ee = e;
  if (xs === ys) {
    let c = y3;
    M[3] = c >>> 0;
    c = y2 + Math.floor(c / 4294967296);
    M[2] = c >>> 0;
    c = x1 + y1 + Math.floor(c / 4294967296);
    M[1] = c >>> 0;
    c = x0 + y0 + (c >= 4294967296 ? 1 : 0);
    M[0] = c >>> 0;
    setSticky(0);
    if (c >= 4294967296) {
      shrM(1);
      M[0] = (M[0] | 0x80000000) >>> 0;
      ee += 1;
    }
  } else {
    // X - Y, X >= Y
    let borrow = 0;
    let v = 0 - y3;
    M[3] = v >>> 0;
    borrow = v < 0 ? 1 : 0;
    v = 0 - y2 - borrow;
    M[2] = v >>> 0;
    borrow = v < 0 ? 1 : 0;
    v = x1 - y1 - borrow;
    M[1] = v >>> 0;
    borrow = v < 0 ? 1 : 0;
    v = x0 - y0 - borrow;
    M[0] = v >>> 0;
    setSticky(0);
    const n = clzM();
    if (n === 128) {
      outZero(((cw >>> 10) & 3) === RC_DOWN ? 1 : 0);
      return flags;
    }
    shlM(n);
    ee -= n;
  }
  return flags | roundPack(xs, ee, p, FMT_F80, cw, true);
}

// 16-bit limbs of the operands for the exact 64x64 product
const LA = new Float64Array(4);
const LB = new Float64Array(4);
const P = new Float64Array(8);

export function f80Mul(ase: number, ahi: number, alo: number, bse: number, bhi: number, blo: number, cw: number): number {
  const r = prologue2(ase, ahi, alo, bse, bhi, blo, cw);
  if (r >= 0) return r;
  const flags = preFlags;
  const ac = U[UA];
  const bc = U[UB];
  const s = U[UA + 1] ^ U[UB + 1];
  if (ac === CLS_INF || bc === CLS_INF) {
    if (ac === CLS_ZERO || bc === CLS_ZERO) return flags | invalid(cw);
    outInf(s);
    return flags;
  }
  if (ac === CLS_ZERO || bc === CLS_ZERO) {
    outZero(s);
    return flags;
  }
  mul64(U[UA + 3], U[UA + 4], U[UB + 3], U[UB + 4]);
  let e = U[UA + 2] + U[UB + 2];
  if (M[0] >>> 31) e += 1;
  else shlM(1);
  return flags | roundPack(s, e, pcBits(cw), FMT_F80, cw, true);
}

/** M = (ahi:alo) * (bhi:blo), exact 128-bit product; sticky cleared. */
export function mul64(ahi: number, alo: number, bhi: number, blo: number): void {
  LA[0] = alo & 0xffff; LA[1] = alo >>> 16; LA[2] = ahi & 0xffff; LA[3] = ahi >>> 16;
  LB[0] = blo & 0xffff; LB[1] = blo >>> 16; LB[2] = bhi & 0xffff; LB[3] = bhi >>> 16;
  P.fill(0);
  for (let i = 0; i < 4; i++) {
    const a = LA[i];
    if (a === 0) continue;
    for (let j = 0; j < 4; j++) P[i + j] += a * LB[j];
  }
  let carry = 0;
  for (let k = 0; k < 8; k++) {
    const v = P[k] + carry;
    const low = v % 65536;
    P[k] = low;
    carry = (v - low) / 65536;
  }
  M[3] = (P[0] + P[1] * 65536) >>> 0;
  M[2] = (P[2] + P[3] * 65536) >>> 0;
  M[1] = (P[4] + P[5] * 65536) >>> 0;
  M[0] = (P[6] + P[7] * 65536) >>> 0;
  setSticky(0);
}

export function f80Div(ase: number, ahi: number, alo: number, bse: number, bhi: number, blo: number, cw: number): number {
  const r = prologue2(ase, ahi, alo, bse, bhi, blo, cw, true);
  if (r >= 0) return r;
  const flags = preFlags;
  const ac = U[UA];
  const bc = U[UB];
  const s = U[UA + 1] ^ U[UB + 1];
  if (ac === CLS_INF) {
    if (bc === CLS_INF) return flags | invalid(cw);
    outInf(s);
    return flags;
  }
  if (bc === CLS_INF) {
    outZero(s);
    return flags;
  }
  if (bc === CLS_ZERO) {
    if (ac === CLS_ZERO) return flags | invalid(cw);
    if (!(cw & FL_ZE)) return flags | FL_ZE | FL_NORESULT;
    outInf(s);
    return flags | FL_ZE;
  }
  if (ac === CLS_ZERO) {
    outZero(s);
    return flags;
  }
  let e = U[UA + 2] - U[UB + 2];
  div64(U[UA + 3], U[UA + 4], U[UB + 3], U[UB + 4]);
  if (!(M[0] >>> 31)) {
    shlM(1);
    e -= 1;
  }
  return flags | roundPack(s, e, pcBits(cw), FMT_F80, cw, true);
}

/**
 * M = top quotient bits of (a / b) for normalised 64-bit a, b: 67 quotient bits starting at
 * the 2^0 position placed at M[0] bit 31 (so M[0] bit 31 may be 0 when a < b), sticky = remainder != 0.
 * Restoring division, one bit per step; remainder kept as rh (up to 33 bits, exact in a double) : rl.
 */
export function div64(ahi: number, alo: number, bhi: number, blo: number): void {
  let rh = ahi;
  let rl = alo;
  M[0] = M[1] = M[2] = M[3] = 0;
  for (let i = 0; i < 67; i++) {
    if (rh > bhi || (rh === bhi && rl >= blo)) {
      let l = rl - blo;
      let h = rh - bhi;
      if (l < 0) {
        l += 4294967296;
        h -= 1;
      }
      rh = h;
      rl = l;
      const w = i >>> 5;
      M[w] = (M[w] | (1 << (31 - (i & 31)))) >>> 0;
    }
    rh = rh * 2 + (rl >>> 31);
    rl = (rl * 2) % 4294967296;
  }
  setSticky(rh !== 0 || rl !== 0 ? 1 : 0);
}

// digit-by-digit square root state: 96-bit remainder / root / trial as 3 u32 limbs, most significant first
const REM = new Float64Array(3);
const ROOT = new Float64Array(3);

export function f80Sqrt(ase: number, ahi: number, alo: number, cw: number): number {
  const ac = unpack(UA, ase, ahi, alo);
  if (ac === CLS_INVALID) return invalid(cw);
  if (isNaNCls(ac)) {
    const f = propagateNaN2(ase, ahi, alo, ac, ase, ahi, alo, ac);
    if (f && !(cw & FL_IE)) return f | FL_NORESULT;
    return f;
  }
  const s = U[UA + 1];
  if (ac === CLS_ZERO) {
    outZero(s);
    return 0;
  }
  if (s) return invalid(cw); // negative: IE only, DE not reported
  const flags = ac === CLS_DENORMAL ? FL_DE : 0;
  if (flags && !(cw & FL_DE)) return FL_DE | FL_NORESULT;
  if (ac === CLS_INF) {
    outInf(0);
    return flags;
  }
  let e = U[UA + 2];
  // radicand m in [1,4) with an even exponent; m as integer = sig (64 bits) << (e odd ? 1 : 0)
  const odd = e & 1; // works for negative e too (two's complement)
  e = (e - odd) / 2;
  sqrtSig(U[UA + 3], U[UA + 4], odd);
  return flags | roundPack(0, e, pcBits(cw), FMT_F80, cw, true);
}

/**
 * Root of the significand: radicand = sig * 2^(odd) interpreted as a value in [1,4) with 63
 * (resp. 62) fraction bits; produces 67 root bits into M (top bit = 2^0 of the root) and sticky.
 */
function sqrtSig(hi: number, lo: number, odd: number): void {
  // Radicand bits consumed two at a time from the most significant end. The radicand as a bit
  // string is: [odd ? 0 : ''] ... we build a 2-bit-aligned stream: value = sig * 2^odd, which has
  // its integer part in the top 2 bits when aligned as 66 bits: bits = (sig << odd) in a 66-bit
  // field whose top 2 bits are the integer part.
  REM[0] = REM[1] = REM[2] = 0;
  ROOT[0] = ROOT[1] = ROOT[2] = 0;
  M[0] = M[1] = M[2] = M[3] = 0;
  // Bit k (0 = most significant) of the 66-bit radicand field: field = sig << (1 + odd) >> 1 ...
  // Simpler: field bit k equals sig bit (63 - (k - 1 + odd))... define via a function.
  for (let i = 0; i < 67; i++) {
    const b1 = radBit(hi, lo, odd, 2 * i);
    const b0 = radBit(hi, lo, odd, 2 * i + 1);
    // REM = REM * 4 + (b1b0)
    shl3(REM, 2);
    REM[2] += b1 * 2 + b0;
    // trial = ROOT * 4 + 1
    const t0 = ROOT[0], t1 = ROOT[1], t2 = ROOT[2];
    shl3(ROOT, 2);
    ROOT[2] += 1;
    if (cmp3(REM, ROOT) >= 0) {
      sub3(REM, ROOT);
      ROOT[0] = t0; ROOT[1] = t1; ROOT[2] = t2;
      shl3(ROOT, 1);
      ROOT[2] += 1;
      const w = i >>> 5;
      M[w] = (M[w] | (1 << (31 - (i & 31)))) >>> 0;
    } else {
      ROOT[0] = t0; ROOT[1] = t1; ROOT[2] = t2;
      shl3(ROOT, 1);
    }
  }
  setSticky(REM[0] !== 0 || REM[1] !== 0 || REM[2] !== 0 ? 1 : 0);
}

/** Bit k of the radicand stream: a field whose first two bits are the integer part of sig*2^odd. */
function radBit(hi: number, lo: number, odd: number, k: number): number {
  // sig has its binary point after bit 63. With odd=0, the integer part "0J": stream = 0, sig bits...
  // With odd=1, the integer part is the top two bits of sig: stream = sig bits...
  const idx = odd ? k : k - 1; // index into sig bits from the top (0 = bit 63)
  if (idx < 0 || idx > 63) return 0;
  return idx < 32 ? (hi >>> (31 - idx)) & 1 : (lo >>> (63 - idx)) & 1;
}

function shl3(a: Float64Array, n: number): void {
  const m = 2 ** n;
  let v = a[2] * m;
  a[2] = v % 4294967296;
  let c = (v - a[2]) / 4294967296;
  v = a[1] * m + c;
  a[1] = v % 4294967296;
  c = (v - a[1]) / 4294967296;
  a[0] = (a[0] * m + c) % 4294967296;
}

function cmp3(a: Float64Array, b: Float64Array): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] > b[i] ? 1 : -1;
  return 0;
}

function sub3(a: Float64Array, b: Float64Array): void {
  let borrow = 0;
  for (let i = 2; i >= 0; i--) {
    let v = a[i] - b[i] - borrow;
    if (v < 0) {
      v += 4294967296;
      borrow = 1;
    } else borrow = 0;
    a[i] = v;
  }
}

