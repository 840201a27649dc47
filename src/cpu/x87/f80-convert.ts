// Conversions between 80-bit values and the memory formats x87 loads/stores:
// float32, float64 (as two u32 halves), int16/int32/int64 (int64 as halves), raw 10-byte.

import {
  BIAS, CLS_INF, CLS_INVALID, CLS_QNAN, CLS_SNAN, CLS_ZERO, FL_DE, FL_IE, FL_NORESULT,
  FMT_F32, FMT_F64, M, OUT, RC_ZERO, U, UA, loadM, out80, outInf, outZero, packMag, roundInt64, roundPack,
  shrM, unpack,
} from './f80-core.js';

// ---- loads (exact; only NaN quieting / denormal reporting) ----

export function f80FromF32(bits: number, cw: number): number {
  const sign = bits >>> 31;
  const exp = (bits >>> 23) & 0xff;
  const frac = bits & 0x7fffff;
  if (exp === 0xff) {
    if (frac === 0) {
      outInf(sign);
      return 0;
    }
    const snan = (frac & 0x400000) === 0;
    if (snan && !(cw & FL_IE)) return FL_IE | FL_NORESULT;
    out80((sign << 15) | 0x7fff, (0xc0000000 | (frac << 8)) >>> 0, 0);
    return snan ? FL_IE : 0;
  }
  if (exp === 0) {
    if (frac === 0) {
      outZero(sign);
      return 0;
    }
    // The host loads a denormal even with DE unmasked (it only flags DE and ES): no suppressed result.
    packMag(sign, 0, frac, -126 - 23 + 63);
    return FL_DE;
  }
  out80((sign << 15) | (exp - 127 + BIAS), (0x80000000 | (frac << 8)) >>> 0, 0);
  return 0;
}

export function f80FromF64(hi: number, lo: number, cw: number): number {
  const sign = hi >>> 31;
  const exp = (hi >>> 20) & 0x7ff;
  const fh = hi & 0xfffff;
  if (exp === 0x7ff) {
    if ((fh | lo) === 0) {
      outInf(sign);
      return 0;
    }
    const snan = (fh & 0x80000) === 0;
    if (snan && !(cw & FL_IE)) return FL_IE | FL_NORESULT;
    out80((sign << 15) | 0x7fff, (0xc0000000 | (fh << 11) | (lo >>> 21)) >>> 0, (lo << 11) >>> 0);
    return snan ? FL_IE : 0;
  }
  if (exp === 0) {
    if ((fh | lo) === 0) {
      outZero(sign);
      return 0;
    }
    packMag(sign, fh, lo, -1022 - 52 + 63);
    return FL_DE;
  }
  out80(
    (sign << 15) | (exp - 1023 + BIAS),
    (0x80000000 | (fh << 11) | (lo >>> 21)) >>> 0,
    (lo << 11) >>> 0,
  );
  return 0;
}

/**
 * Widen a float32 memory operand of an arithmetic instruction (FADD m32...): exact, and unlike
 * FLD it keeps an SNaN signalling so the operation itself applies the NaN rules. Returns 1 when
 * the source was a denormal (pass it to markDenormal), else 0.
 */
export function f80WidenF32(bits: number): number {
  const exp = (bits >>> 23) & 0xff;
  const frac = bits & 0x7fffff;
  if (exp === 0xff && frac !== 0) {
    out80(((bits >>> 31) << 15) | 0x7fff, (0x80000000 | (frac << 8)) >>> 0, 0);
    return 0;
  }
  f80FromF32(bits, 0x3f);
  return exp === 0 && frac !== 0 ? 1 : 0;
}

export function f80WidenF64(hi: number, lo: number): number {
  const exp = (hi >>> 20) & 0x7ff;
  const fh = hi & 0xfffff;
  if (exp === 0x7ff && (fh | lo) !== 0) {
    out80(((hi >>> 31) << 15) | 0x7fff, (0x80000000 | (fh << 11) | (lo >>> 21)) >>> 0, (lo << 11) >>> 0);
    return 0;
  }
  f80FromF64(hi, lo, 0x3f);
  return exp === 0 && (fh | lo) !== 0 ? 1 : 0;
}

/** Signed 64-bit integer (two's complement halves) -> 80-bit, exact. */
export function f80FromI64(hi: number, lo: number): void {
  hi >>>= 0;
  lo >>>= 0;
  if ((hi | lo) === 0) {
    outZero(0);
    return;
  }
  const sign = hi >>> 31;
  if (sign) {
    // negate
    lo = (~lo + 1) >>> 0;
    hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0;
  }
  packMag(sign, hi, lo, 63);
}

export function f80FromI32(v: number): void {
  v |= 0;
  f80FromI64(v < 0 ? 0xffffffff : 0, v >>> 0);
}

// ---- stores (rounded per RC, PC ignored) ----

/** 80-bit -> float32 bits in OUT[2]. */
export function f80ToF32(se: number, hi: number, lo: number, cw: number): number {
  return toFloat(se, hi, lo, cw, FMT_F32);
}

/** 80-bit -> float64 bits in OUT[1] (high half), OUT[2] (low half). */
export function f80ToF64(se: number, hi: number, lo: number, cw: number): number {
  return toFloat(se, hi, lo, cw, FMT_F64);
}

function toFloat(se: number, hi: number, lo: number, cw: number, fmt: number): number {
  const cls = unpack(UA, se, hi, lo);
  const sign = se >>> 15;
  const f32 = fmt === FMT_F32;
  switch (cls) {
    case CLS_INVALID:
      if (!(cw & FL_IE)) return FL_IE | FL_NORESULT;
      setFloatOut(f32, 0xffc00000, 0xfff80000, 0);
      return FL_IE;
    case CLS_SNAN:
    case CLS_QNAN: {
      const snan = cls === CLS_SNAN;
      if (snan && !(cw & FL_IE)) return FL_IE | FL_NORESULT;
      if (f32) setFloatOut(true, ((sign << 31) | 0x7fc00000 | ((hi >>> 8) & 0x7fffff)) >>> 0, 0, 0);
      else
        setFloatOut(false, 0, ((sign << 31) | 0x7ff80000 | ((hi >>> 11) & 0xfffff)) >>> 0, ((hi << 21) | (lo >>> 11)) >>> 0);
      return snan ? FL_IE : 0;
    }
    case CLS_INF:
      setFloatOut(f32, ((sign << 31) | 0x7f800000) >>> 0, ((sign << 31) | 0x7ff00000) >>> 0, 0);
      return 0;
    case CLS_ZERO:
      setFloatOut(f32, (sign << 31) >>> 0, (sign << 31) >>> 0, 0);
      return 0;
  }
  // stores do not report DE for a denormal source
  loadM(U[UA + 3], U[UA + 4]);
  return roundPack(sign, U[UA + 2], f32 ? 24 : 53, fmt, cw, false);
}

function setFloatOut(f32: boolean, b32: number, hi64: number, lo64: number): void {
  OUT[0] = 0;
  if (f32) {
    OUT[1] = 0;
    OUT[2] = b32;
  } else {
    OUT[1] = hi64;
    OUT[2] = lo64;
  }
}

/**
 * 80-bit -> signed integer of `bits` (16/32/64) rounded per RC (or truncated for FISTTP).
 * Result in OUT[1]:OUT[2] (two's complement; 16/32-bit results sign-extended into OUT[2] only,
 * OUT[1] = sign fill). Out of range, NaN, infinity or unsupported -> IE and the integer indefinite.
 */
export function f80ToInt(se: number, hi: number, lo: number, cw: number, bits: number, truncate: boolean): number {
  const cls = unpack(UA, se, hi, lo);
  const sign = se >>> 15;
  if (cls === CLS_INVALID || cls === CLS_INF || cls === CLS_QNAN || cls === CLS_SNAN) return intIndefinite(cw, bits);
  if (cls === CLS_ZERO) {
    OUT[0] = OUT[1] = OUT[2] = 0;
    return 0;
  }
  let flags = 0; // no DE for a denormal source
  const e = U[UA + 2];
  if (e > 63) return flags | intIndefinite(cw, bits);
  loadM(U[UA + 3], U[UA + 4]);
  shrM(63 - e);
  const rc = truncate ? RC_ZERO : (cw >>> 10) & 3;
  flags |= roundInt64(sign, rc);
  let mh = M[0];
  let ml = M[1];
  // range check on the magnitude
  if (bits === 64) {
    if (mh > 0x80000000 || (mh === 0x80000000 && (ml !== 0 || !sign))) return intIndefinite(cw, bits);
  } else {
    const lim = bits === 32 ? 0x80000000 : 0x8000;
    if (mh !== 0 || ml > lim || (ml === lim && !sign)) return intIndefinite(cw, bits);
  }
  if (sign) {
    ml = (~ml + 1) >>> 0;
    mh = (~mh + (ml === 0 ? 1 : 0)) >>> 0;
  }
  OUT[0] = 0;
  OUT[1] = mh;
  OUT[2] = bits === 64 ? ml : bits === 32 ? ml : ml & 0xffff;
  return flags;
}

function intIndefinite(cw: number, bits: number): number {
  if (!(cw & FL_IE)) return FL_IE | FL_NORESULT;
  OUT[0] = 0;
  OUT[1] = bits === 64 ? 0x80000000 : 0;
  OUT[2] = bits === 64 ? 0 : bits === 32 ? 0x80000000 : 0x8000;
  return FL_IE;
}

// ---- raw 10-byte format ----

/** Load the 10-byte little-endian extended value at buf[off] into OUT. */
export function f80Load(buf: Uint8Array, off: number): void {
  OUT[2] = (buf[off] | (buf[off + 1] << 8) | (buf[off + 2] << 16) | (buf[off + 3] << 24)) >>> 0;
  OUT[1] = (buf[off + 4] | (buf[off + 5] << 8) | (buf[off + 6] << 16) | (buf[off + 7] << 24)) >>> 0;
  OUT[0] = buf[off + 8] | (buf[off + 9] << 8);
}

export function f80Store(buf: Uint8Array, off: number, se: number, hi: number, lo: number): void {
  buf[off] = lo & 0xff;
  buf[off + 1] = (lo >>> 8) & 0xff;
  buf[off + 2] = (lo >>> 16) & 0xff;
  buf[off + 3] = lo >>> 24;
  buf[off + 4] = hi & 0xff;
  buf[off + 5] = (hi >>> 8) & 0xff;
  buf[off + 6] = (hi >>> 16) & 0xff;
  buf[off + 7] = hi >>> 24;
  buf[off + 8] = se & 0xff;
  buf[off + 9] = (se >>> 8) & 0xff;
}
