// Core of the software 80-bit extended-precision unit: operand classification,
// unpacking to a normalised form, and the single rounding/packing routine every
// arithmetic result funnels through (so PC/RC/overflow/underflow behave identically
// for add, mul, div, sqrt, scale and the float32/float64 stores).
//
// Allocation-free by construction: all intermediates live in module-level typed
// arrays and `let`s. Values cross the API as plain numbers: an 80-bit value is
// (se: u16 sign+exponent, hi: u32 significand bits 63..32, lo: u32 bits 31..0).
// Results are written to OUT; functions return a flag word using the x87 status
// word bit positions (see FL_*), so the caller can OR them into FSW directly.

export const FL_IE = 0x0001;
export const FL_DE = 0x0002;
export const FL_ZE = 0x0004;
export const FL_OE = 0x0008;
export const FL_UE = 0x0010;
export const FL_PE = 0x0020;
export const FL_C0 = 0x0100;
export const FL_C1 = 0x0200;
export const FL_C2 = 0x0400;
export const FL_C3 = 0x4000;
/** Not an FSW bit: the destination must be left unmodified (unmasked exception). */
export const FL_NORESULT = 0x10000;

/** Result of the last operation: [se, hi, lo] (or [0, hi, lo] for integer/float64 results). */
export const OUT = new Uint32Array(3);

export const CLS_ZERO = 0;
export const CLS_DENORMAL = 1; // includes pseudo-denormals (exp 0, J=1)
export const CLS_NORMAL = 2;
export const CLS_INF = 3;
export const CLS_QNAN = 4;
export const CLS_SNAN = 5;
export const CLS_INVALID = 6; // unnormal, pseudo-NaN, pseudo-infinity

export const RC_NEAREST = 0;
export const RC_DOWN = 1;
export const RC_UP = 2;
export const RC_ZERO = 3;

export const BIAS = 16383;
export const EMIN = 1 - BIAS; // exponent of the smallest normal
export const EMAX = BIAS;
/** Bias adjustment applied to register results when OE/UE are unmasked. */
const BIAS_ADJUST = 24576;

export function classify(se: number, hi: number, lo: number): number {
  const exp = se & 0x7fff;
  if (exp === 0) return (hi | lo) === 0 ? CLS_ZERO : CLS_DENORMAL;
  const j = hi >>> 31;
  if (exp === 0x7fff) {
    if (j === 0) return CLS_INVALID;
    if ((hi & 0x7fffffff) === 0 && lo === 0) return CLS_INF;
    return hi & 0x40000000 ? CLS_QNAN : CLS_SNAN;
  }
  return j ? CLS_NORMAL : CLS_INVALID;
}

/** Precision (significand bits) selected by the PC field of a control word. */
export function pcBits(cw: number): number {
  const pc = (cw >>> 8) & 3;
  return pc === 0 ? 24 : pc === 2 ? 53 : 64; // PC=1 is reserved; hardware treats it as 64
}

// ---- unpacked operands ----------------------------------------------------
// U[base+0]=class, +1=sign, +2=unbiased exponent of the (normalised) top bit,
// +3=significand hi, +4=significand lo (top bit set for finite non-zero).
export const U = new Float64Array(10);
export const UA = 0;
export const UB = 5;

export function unpack(base: number, se: number, hi: number, lo: number): number {
  const cls = classify(se, hi, lo);
  U[base] = cls;
  U[base + 1] = se >>> 15;
  let e = (se & 0x7fff) - BIAS;
  if (cls === CLS_DENORMAL) {
    e = EMIN - normalize64(hi, lo);
    hi = NRM[0];
    lo = NRM[1];
  }
  U[base + 2] = e;
  U[base + 3] = hi >>> 0;
  U[base + 4] = lo >>> 0;
  return cls;
}

// A float32/float64 memory operand that was a denormal is a normal number once widened, but the
// instruction must still report DE: the handler marks it here right before the operation
// (bit 0 = first operand, bit 1 = second), and the operation consumes the mark.
let denMark = 0;

export function markDenormal(mask: number): void {
  denMark = mask;
}

export function takeDenMark(): number {
  const m = denMark;
  denMark = 0;
  return m;
}

// ---- wide significand scratch ---------------------------------------------
/** 128-bit working significand, M[0] most significant. */
export const M = new Uint32Array(4);
/** Non-zero when bits below M[3] were discarded. */
let sticky = 0;

export function getSticky(): number {
  return sticky;
}

export function setSticky(v: number): void {
  sticky = v ? 1 : 0;
}

export function loadM(hi: number, lo: number): void {
  M[0] = hi;
  M[1] = lo;
  M[2] = 0;
  M[3] = 0;
  sticky = 0;
}

/** Shift M right by n bits, folding lost bits into sticky. */
export function shrM(n: number): void {
  if (n <= 0) return;
  if (n >= 128) {
    if ((M[0] | M[1] | M[2] | M[3]) !== 0) sticky = 1;
    M[0] = M[1] = M[2] = M[3] = 0;
    return;
  }
  const w = n >>> 5;
  const b = n & 31;
  for (let i = 4 - w; i < 4; i++) if (M[i] !== 0) sticky = 1;
  if (b !== 0 && M[3 - w] << (32 - b) !== 0) sticky = 1;
  for (let i = 3; i >= 0; i--) {
    const s = i - w;
    if (s < 0) {
      M[i] = 0;
    } else if (b === 0) {
      M[i] = M[s];
    } else {
      M[i] = (M[s] >>> b) | (s > 0 ? M[s - 1] << (32 - b) : 0);
    }
  }
}

/** Shift M left by n bits (n < 128); bits shifted in are zero. */
export function shlM(n: number): void {
  if (n <= 0) return;
  const w = n >>> 5;
  const b = n & 31;
  for (let i = 0; i < 4; i++) {
    const s = i + w;
    if (s > 3) {
      M[i] = 0;
    } else if (b === 0) {
      M[i] = M[s];
    } else {
      M[i] = (M[s] << b) | (s < 3 ? M[s + 1] >>> (32 - b) : 0);
    }
  }
}

/** Leading-zero count of M (128 if zero). */
export function clzM(): number {
  for (let i = 0; i < 4; i++) if (M[i] !== 0) return i * 32 + Math.clz32(M[i]);
  return 128;
}

export function isZeroM(): boolean {
  return (M[0] | M[1] | M[2] | M[3]) === 0 && sticky === 0;
}

// ---- rounding ---------------------------------------------------------------
let inexact = 0;

/** Rounding decision for keeping the top p bits of M (1 = increment). Non-mutating; sets `inexact`. */
function roundDecide(p: number, sign: number, rc: number): number {
  const w = p >>> 5;
  const b = 31 - (p & 31);
  let half = 0;
  let rest = sticky;
  if (w < 4) {
    half = (M[w] >>> b) & 1;
    if (b !== 0 && M[w] << (32 - b) !== 0) rest = 1;
    for (let i = w + 1; i < 4; i++) if (M[i] !== 0) rest = 1;
  }
  inexact = half | rest;
  if (inexact === 0) return 0;
  switch (rc) {
    case RC_NEAREST: {
      if (!half) return 0;
      if (rest) return 1;
      const lsb = b === 31 ? M[w - 1] & 1 : (M[w] >>> (b + 1)) & 1;
      return lsb;
    }
    case RC_DOWN:
      return sign;
    case RC_UP:
      return sign ^ 1;
    default:
      return 0;
  }
}

/** True when the top p bits of M are all ones (so an increment carries out). */
function keptAllOnes(p: number): boolean {
  if (p >= 32) {
    if (M[0] !== 0xffffffff) return false;
    const r = p - 32;
    if (r === 32) return M[1] === 0xffffffff;
    return M[1] >>> (32 - r) === (0xffffffff >>> (32 - r));
  }
  return M[0] >>> (32 - p) === (0xffffffff >>> (32 - p));
}

/** Truncate M to its top p bits and add `inc` ulp; returns 1 on carry out of bit 127. */
function applyRound(p: number, inc: number): number {
  // clear discarded bits in the 64-bit field (only M[0], M[1] are consumed afterwards)
  if (p < 32) {
    M[0] = (M[0] >>> (32 - p)) << (32 - p);
    M[1] = 0;
  } else if (p < 64) {
    M[1] = (M[1] >>> (64 - p)) << (64 - p);
  }
  M[2] = 0;
  M[3] = 0;
  if (!inc) return 0;
  if (p <= 32) {
    const v = M[0] + 2 ** (32 - p);
    M[0] = v >>> 0;
    return v >= 4294967296 ? 1 : 0;
  }
  const v1 = M[1] + 2 ** (64 - p);
  M[1] = v1 >>> 0;
  if (v1 < 4294967296) return 0;
  const v0 = M[0] + 1;
  M[0] = v0 >>> 0;
  return v0 >= 4294967296 ? 1 : 0;
}

/**
 * Round M at the 2^0 position of a 64-bit integer held in M[0]:M[1] (caller has aligned it);
 * returns FL_PE / FL_C1 as appropriate. Used by FIST and FRNDINT.
 */
export function roundInt64(sign: number, rc: number): number {
  const inc = roundDecide(64, sign, rc);
  const flags = (inexact ? FL_PE : 0) | (inc ? FL_C1 : 0);
  applyRound(64, inc);
  return flags;
}

// ---- packing ---------------------------------------------------------------
/** Destination formats for roundPack. */
export const FMT_F80 = 0;
export const FMT_F64 = 1;
export const FMT_F32 = 2;

/**
 * Round the normalised value (-1)^sign * M * 2^(e-127) (M[0] bit 31 is the 2^e bit) to
 * p significand bits in the exponent range of `fmt`, honouring RC and the exception masks
 * of `cw`, and write the encoded result to OUT. `regDest` selects the x87 register-destination
 * response to unmasked OE/UE (bias adjustment) versus the memory one (no store).
 * Tininess is detected after rounding (with unbounded exponent), as the x87 does.
 */
export function roundPack(sign: number, e: number, p: number, fmt: number, cw: number, regDest: boolean): number {
  const rc = (cw >>> 10) & 3;
  const bias = fmt === FMT_F80 ? BIAS : fmt === FMT_F64 ? 1023 : 127;
  const emin = 1 - bias;
  const emax = bias;
  let flags = 0;

  // tininess after rounding with unbounded exponent
  let tiny = e < emin;
  if (tiny && e === emin - 1 && keptAllOnes(p) && roundDecide(p, sign, rc)) tiny = false;

  if (tiny && !(cw & FL_UE)) {
    // unmasked underflow
    if (!regDest) return FL_UE | FL_NORESULT;
    if (e + BIAS_ADJUST < emin) {
      // beyond what the bias adjustment can represent (only FSCALE gets here): signed zero
      packFinite(sign, 0, fmt, true);
      return FL_UE | FL_PE;
    }
    e += BIAS_ADJUST;
    flags |= FL_UE;
    tiny = false;
  }

  let shift = 0;
  if (tiny) shift = emin - e;
  if (shift > 0) shrM(shift);
  const inc = roundDecide(p, sign, rc);
  const wasInexact = inexact;
  if (applyRound(p, inc)) {
    M[0] = 0x80000000;
    M[1] = 0;
    e += 1;
  }
  if (wasInexact) {
    flags |= FL_PE;
    if (tiny) flags |= FL_UE;
  }
  if (inc) flags |= FL_C1;

  if (shift === 0 && e > emax) {
    if (!(cw & FL_OE)) {
      if (!regDest) return FL_OE | FL_NORESULT;
      if (e - BIAS_ADJUST > emax) {
        // beyond what the bias adjustment can represent (only FSCALE gets here): infinity, any RC
        packSpecialInf(sign, fmt);
        return FL_OE | FL_PE | FL_C1;
      }
      e -= BIAS_ADJUST;
      flags |= FL_OE;
    } else {
      // masked overflow: infinity or the largest finite value, depending on RC and sign
      flags |= FL_OE | FL_PE;
      const toInf = rc === RC_NEAREST || (rc === RC_UP && !sign) || (rc === RC_DOWN && sign);
      if (toInf) {
        flags |= FL_C1;
        packSpecialInf(sign, fmt);
      } else {
        flags &= ~FL_C1;
        // largest finite with p significand bits
        M[0] = 0xffffffff;
        M[1] = 0xffffffff;
        M[2] = 0;
        M[3] = 0;
        applyRound(p, 0);
        packFinite(sign, emax + bias, fmt);
      }
      return flags;
    }
  }

  let biased: number;
  if (shift > 0) biased = M[0] >>> 31 ? 1 : 0;
  else biased = e + bias;
  packFinite(sign, biased, fmt);
  return flags;
}

/** Encode sign, biased exponent and the 64-bit field M[0]:M[1] (explicit J bit) into OUT. */
function packFinite(sign: number, biased: number, fmt: number, zero = false): void {
  if (zero) M[0] = M[1] = 0;
  if (fmt === FMT_F80) {
    OUT[0] = (sign << 15) | biased;
    OUT[1] = M[0];
    OUT[2] = M[1];
  } else if (fmt === FMT_F64) {
    // drop J; fraction = bits 62..11 of the field
    OUT[0] = 0;
    OUT[1] = ((sign << 31) | (biased << 20) | ((M[0] >>> 11) & 0xfffff)) >>> 0;
    OUT[2] = ((M[0] << 21) | (M[1] >>> 11)) >>> 0;
  } else {
    OUT[0] = 0;
    OUT[1] = 0;
    OUT[2] = ((sign << 31) | (biased << 23) | ((M[0] >>> 8) & 0x7fffff)) >>> 0;
  }
}

function packSpecialInf(sign: number, fmt: number): void {
  if (fmt === FMT_F80) {
    OUT[0] = (sign << 15) | 0x7fff;
    OUT[1] = 0x80000000;
    OUT[2] = 0;
  } else if (fmt === FMT_F64) {
    OUT[0] = 0;
    OUT[1] = ((sign << 31) | 0x7ff00000) >>> 0;
    OUT[2] = 0;
  } else {
    OUT[0] = 0;
    OUT[1] = 0;
    OUT[2] = ((sign << 31) | 0x7f800000) >>> 0;
  }
}

// ---- common results -------------------------------------------------------
export function outIndefinite(): void {
  OUT[0] = 0xffff;
  OUT[1] = 0xc0000000;
  OUT[2] = 0;
}

export function outZero(sign: number): void {
  OUT[0] = sign << 15;
  OUT[1] = 0;
  OUT[2] = 0;
}

export function outInf(sign: number): void {
  OUT[0] = (sign << 15) | 0x7fff;
  OUT[1] = 0x80000000;
  OUT[2] = 0;
}

export function out80(se: number, hi: number, lo: number): void {
  OUT[0] = se;
  OUT[1] = hi >>> 0;
  OUT[2] = lo >>> 0;
}

/** Normalised significand from normalize64: [hi, lo], bit 63 set. */
const NRM = new Uint32Array(2);

/** Shifts a non-zero 64-bit significand (hi, lo) left until bit 63 is set, into NRM; returns the shift. */
function normalize64(hi: number, lo: number): number {
  let shift = 0;
  if (hi === 0) {
    hi = lo;
    lo = 0;
    shift = 32;
  }
  const n = Math.clz32(hi);
  if (n !== 0) {
    hi = (hi << n) | (lo >>> (32 - n));
    lo = lo << n;
  }
  NRM[0] = hi;
  NRM[1] = lo;
  return shift + n;
}

/**
 * A non-zero 64-bit magnitude (hi, lo) whose bit 63 has unbiased exponent `e`, normalised into OUT as an
 * 80-bit value (exact).
 */
export function packMag(sign: number, hi: number, lo: number, e: number): void {
  const n = normalize64(hi, lo);
  out80((sign << 15) | (e - n + BIAS), NRM[0], NRM[1]);
}

/** Pack an unpacked finite operand (from U) through roundPack (for PC rounding of a passthrough). */
export function roundUnpacked(base: number, p: number, cw: number): number {
  loadM(U[base + 3], U[base + 4]);
  return roundPack(U[base + 1], U[base + 2], p, FMT_F80, cw, true);
}

/**
 * x87 NaN propagation for two-operand instructions (at least one operand is a NaN).
 * Writes the quieted winner to OUT and returns FL_IE if any operand was an SNaN.
 */
export function propagateNaN2(
  ase: number, ahi: number, alo: number, acls: number,
  bse: number, bhi: number, blo: number, bcls: number,
): number {
  const aNan = acls === CLS_QNAN || acls === CLS_SNAN;
  const bNan = bcls === CLS_QNAN || bcls === CLS_SNAN;
  const flags = acls === CLS_SNAN || bcls === CLS_SNAN ? FL_IE : 0;
  let useA: boolean;
  if (aNan && bNan) {
    if (acls !== bcls) {
      useA = acls === CLS_QNAN; // a QNaN beats an SNaN
    } else {
      // larger significand wins
      const ah = ahi & 0x3fffffff;
      const bh = bhi & 0x3fffffff;
      if (ah !== bh) useA = ah > bh;
      else if (alo !== blo) useA = alo >>> 0 > blo >>> 0;
      else useA = (ase & 0x8000) === 0 || (bse & 0x8000) !== 0 ? true : false;
    }
  } else {
    useA = aNan;
  }
  if (useA) out80(ase, (ahi | 0x40000000) >>> 0, alo);
  else out80(bse, (bhi | 0x40000000) >>> 0, blo);
  return flags;
}

export function isNaNCls(cls: number): boolean {
  return cls === CLS_QNAN || cls === CLS_SNAN;
}
