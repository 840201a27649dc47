// Correctly rounded add/sub/mul/div/sqrt of finite or infinite doubles (already decoded from binary32 or
// binary64 operands, NaNs excluded) into a target format, built from error-free transformations:
// TwoSum for sums, Veltkamp/Dekker TwoProduct for products and for the residuals of div and sqrt.
import { MX_IE, MX_PE, MX_RC, MX_ZE } from './mxcsr.js';
import { F64, type Fmt, STICKY, ilogb, ldexp, roundFlags, roundTo } from './fp-round.js';

/** Flags raised by the last call of this module's operations. */
export let opFlags = 0;
/** Returned by the operations for an invalid operation: the caller writes the default NaN. */
export const INVALID = NaN;

const SPLIT = 134217729; // 2^27 + 1
const MIN_NORMAL64 = 2.2250738585072014e-308;

/** Exact error of p = RN(a * b) for a, b in a range where nothing overflows or underflows. */
function twoProdErr(a: number, b: number, p: number): number {
  const ca = SPLIT * a; const ah = ca - (ca - a); const al = a - ah;
  const cb = SPLIT * b; const bh = cb - (cb - b); const bl = b - bh;
  return ((ah * bh - p) + ah * bl + al * bh) + al * bl;
}

/** Fast path is valid: binary64 target, round to nearest (JS's own mode). */
function nearest64(f: Fmt, mx: number): boolean { return f === F64 && (mx & MX_RC) === 0; }

export function add(x: number, y: number, f: Fmt, mx: number): number {
  opFlags = 0;
  const s = x + y;
  if (s - s !== 0) { // infinite or NaN
    if (x - x !== 0 || y - y !== 0) {
      if (s !== s) { opFlags = MX_IE; return INVALID; } // inf - inf
      return s;
    }
    // Finite operands overflowed under round-to-nearest: redo at half scale (both are huge, halving is exact).
    const xs = x * 0.5, ys = y * 0.5;
    const s2 = xs + ys;
    const bb = s2 - xs;
    const err = (xs - (s2 - bb)) + (ys - bb);
    const r = roundTo(s2 < 0, Math.abs(s2), s2 < 0 ? -err : err, 1, f, mx);
    opFlags = roundFlags;
    return r;
  }
  const bb = s - x;
  const err = (x - (s - bb)) + (y - bb);
  if (s === 0) {
    if (err !== 0) { // cannot happen for sums of doubles, kept for safety
      const r = roundTo(err < 0, Math.abs(err), 0, 0, f, mx); opFlags = roundFlags; return r;
    }
    // Exact zero sum: -0 under round-down unless both operands are +0; both -0 gives -0 in every mode.
    if (((mx & MX_RC) >>> 13) === 1) return (x === 0 && y === 0 && 1 / x > 0 && 1 / y > 0) ? 0 : -0;
    return s;
  }
  const a = Math.abs(s);
  if (f === F64) {
    if (a >= MIN_NORMAL64) {
      if (err === 0) return s;
      if ((mx & MX_RC) === 0) { opFlags = MX_PE; return s; }
    }
  } else if (err === 0 && Math.fround(s) === s && a >= 1.1754943508222875e-38) return s;
  const r = roundTo(s < 0, a, s < 0 ? -err : err, 0, f, mx);
  opFlags = roundFlags;
  return r;
}

export function mul(x: number, y: number, f: Fmt, mx: number): number {
  opFlags = 0;
  const neg = (x < 0 || (x === 0 && 1 / x < 0)) !== (y < 0 || (y === 0 && 1 / y < 0));
  if (x - x !== 0 || y - y !== 0) { // an infinity
    if (x === 0 || y === 0) { opFlags = MX_IE; return INVALID; }
    return neg ? -Infinity : Infinity;
  }
  if (x === 0 || y === 0) return neg ? -0 : 0;
  const ex = ilogb(x), ey = ilogb(y);
  const mx1 = ldexp(Math.abs(x), -ex), my1 = ldexp(Math.abs(y), -ey);
  const p = mx1 * my1;
  const err = twoProdErr(mx1, my1, p);
  const k = ex + ey;
  if (k > -1020 && k < 1020 && nearest64(f, mx)) {
    if (err !== 0) opFlags = MX_PE;
    return x * y;
  }
  const r = roundTo(neg, p, err, k, f, mx);
  opFlags = roundFlags;
  return r;
}

export function div(x: number, y: number, f: Fmt, mx: number): number {
  opFlags = 0;
  const neg = (x < 0 || (x === 0 && 1 / x < 0)) !== (y < 0 || (y === 0 && 1 / y < 0));
  const xInf = x - x !== 0, yInf = y - y !== 0;
  if (xInf || yInf) {
    if (xInf && yInf) { opFlags = MX_IE; return INVALID; }
    if (xInf) return neg ? -Infinity : Infinity;
    return neg ? -0 : 0;
  }
  if (y === 0) {
    if (x === 0) { opFlags = MX_IE; return INVALID; }
    opFlags = MX_ZE;
    return neg ? -Infinity : Infinity;
  }
  if (x === 0) return neg ? -0 : 0;
  const ex = ilogb(x), ey = ilogb(y);
  const mx1 = ldexp(Math.abs(x), -ex), my1 = ldexp(Math.abs(y), -ey);
  const q = mx1 / my1;
  const ph = q * my1;
  const r = (mx1 - ph) - twoProdErr(q, my1, ph); // exact residual mx1 - q*my1
  const k = ex - ey;
  if (k > -1020 && k < 1020 && nearest64(f, mx)) {
    if (r !== 0) opFlags = MX_PE;
    return x / y;
  }
  const res = roundTo(neg, q, r > 0 ? STICKY : r < 0 ? -STICKY : 0, k, f, mx);
  opFlags = roundFlags;
  return res;
}

export function sqrt(x: number, f: Fmt, mx: number): number {
  opFlags = 0;
  if (x === 0) return x; // keeps the sign of -0
  if (x < 0) { opFlags = MX_IE; return INVALID; }
  if (x === Infinity) return x;
  let e = ilogb(x);
  if (e & 1) e -= 1;
  const m = ldexp(x, -e); // [1, 4)
  const s = Math.sqrt(m);
  const ph = s * s;
  const r = (m - ph) - twoProdErr(s, s, ph); // exact residual m - s*s
  if (nearest64(f, mx)) {
    if (r !== 0) opFlags = MX_PE;
    return Math.sqrt(x);
  }
  const res = roundTo(false, s, r > 0 ? STICKY : r < 0 ? -STICKY : 0, e / 2, f, mx);
  opFlags = roundFlags;
  return res;
}

/** Rounds an integer-valued double sum hi*2^32 + lo (exactly representable pair) to format f. */
export function fromInt(hiPart: number, loPart: number, f: Fmt, mx: number): number {
  opFlags = 0;
  const s = hiPart + loPart;
  if (s === 0) return 0;
  const bb = s - hiPart;
  const err = (hiPart - (s - bb)) + (loPart - bb);
  if (err === 0 && (f === F64 || Math.fround(s) === s)) return s;
  const r = roundTo(s < 0, Math.abs(s), s < 0 ? -err : err, 0, f, mx);
  opFlags = roundFlags;
  return r;
}

/** Rounds x to an integer-valued double under rounding mode rc (0 nearest-even, 1 down, 2 up, 3 zero). */
export function roundToInt(x: number, rc: number): number {
  if (!(Math.abs(x) < 4503599627370496)) return x; // >= 2^52: already an integer
  switch (rc) {
    case 0: {
      const r = Math.round(x); // ties toward +inf; fix to ties-to-even
      return (r - x === 0.5 && r % 2 !== 0) ? r - 1 : r;
    }
    case 1: return Math.floor(x);
    case 2: return Math.ceil(x);
    default: return Math.trunc(x);
  }
}
