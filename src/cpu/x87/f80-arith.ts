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
  mul32(alo, blo);
  const ll = PR[0];
  const lh = PR[1];
  mul32(ahi, blo);
  const m1l = PR[0];
  const m1h = PR[1];
  mul32(alo, bhi);
  const m2l = PR[0];
  const m2h = PR[1];
  mul32(ahi, bhi);
  const pLo = PR[0];
  const pHi = PR[1];
  // word 1 = lh + m1l + m2l; word 2 = m1h + m2h + pLo + carry; word 3 = pHi + carry (all sums exact doubles)
  const w1 = lh + m1l + m2l;
  const c1 = Math.floor(w1 / 4294967296);
  const w2 = m1h + m2h + pLo + c1;
  const c2 = Math.floor(w2 / 4294967296);
  M[3] = ll;
  M[2] = w1 >>> 0;
  M[1] = w2 >>> 0;
  M[0] = (pHi + c2) >>> 0;
  setSticky(0);
}

// product halves of mul32: a typed array, because module-level `let`s holding values beyond the
// small-integer range would allocate a heap number on every write
const PR = new Uint32Array(2);

/** PR[1]:PR[0] = a * b for u32 a, b (exact, via 16-bit partial products). */
function mul32(a: number, b: number): void {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const p00 = a0 * b0;
  const mid = a0 * b1 + a1 * b0 + (p00 >>> 16); // < 2^34
  PR[0] = ((mid & 0xffff) << 16) | (p00 & 0xffff);
  PR[1] = a1 * b1 + Math.floor(mid / 65536);
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
  let q0 = 0;
  let q1 = 0;
  let q2 = 0;
  for (let i = 0; i < 67; i++) {
    let bit = 0;
    if (rh > bhi || (rh === bhi && rl >= blo)) {
      let l = rl - blo;
      let h = rh - bhi;
      if (l < 0) {
        l += 4294967296;
        h -= 1;
      }
      rh = h;
      rl = l;
      bit = 1;
    }
    if (i < 32) q0 = (q0 << 1) | bit;
    else if (i < 64) q1 = (q1 << 1) | bit;
    else q2 = (q2 << 1) | bit;
    rh = rh * 2 + (rl >>> 31);
    rl = (rl << 1) >>> 0;
  }
  M[0] = q0 >>> 0;
  M[1] = q1 >>> 0;
  M[2] = (q2 << 29) >>> 0;
  M[3] = 0;
  setSticky(rh !== 0 || rl !== 0 ? 1 : 0);
}

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
 * Root of the significand, digit by digit: the radicand sig * 2^odd is a value in [1,4) whose
 * bits are consumed two at a time; 67 root bits land in M (top bit = 2^0 of the root), sticky =
 * remainder != 0. Remainder, root and trial (< 2^70) are (high: exact double, low: u32) pairs.
 */
function sqrtSig(hi: number, lo: number, odd: number): void {
  // radicand stream as 3 words, left-aligned: 2 integer bits, then the fraction
  let s0: number;
  let s1: number;
  let s2: number;
  if (odd) {
    s0 = hi;
    s1 = lo;
    s2 = 0;
  } else {
    s0 = hi >>> 1;
    s1 = ((hi << 31) | (lo >>> 1)) >>> 0;
    s2 = (lo << 31) >>> 0;
  }
  let remH = 0;
  let remL = 0;
  let rootH = 0;
  let rootL = 0;
  let q0 = 0;
  let q1 = 0;
  let q2 = 0;
  for (let i = 0; i < 67; i++) {
    // next two radicand bits
    const two = s0 >>> 30;
    s0 = ((s0 << 2) | (s1 >>> 30)) >>> 0;
    s1 = ((s1 << 2) | (s2 >>> 30)) >>> 0;
    s2 = (s2 << 2) >>> 0;
    remH = remH * 4 + (remL >>> 30);
    remL = (((remL << 2) >>> 0) | two) >>> 0;
    // trial = root * 4 + 1
    const tH = rootH * 4 + (rootL >>> 30);
    const tL = (((rootL << 2) >>> 0) | 1) >>> 0;
    let bit = 0;
    if (remH > tH || (remH === tH && remL >= tL)) {
      let l = remL - tL;
      let h = remH - tH;
      if (l < 0) {
        l += 4294967296;
        h -= 1;
      }
      remH = h;
      remL = l;
      bit = 1;
    }
    rootH = rootH * 2 + (rootL >>> 31);
    rootL = (((rootL << 1) >>> 0) | bit) >>> 0;
    if (i < 32) q0 = (q0 << 1) | bit;
    else if (i < 64) q1 = (q1 << 1) | bit;
    else q2 = (q2 << 1) | bit;
  }
  M[0] = q0 >>> 0;
  M[1] = q1 >>> 0;
  M[2] = (q2 << 29) >>> 0;
  M[3] = 0;
  setSticky(remH !== 0 || remL !== 0 ? 1 : 0);
}
