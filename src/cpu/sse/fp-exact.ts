// Correctly rounded add/sub/mul/div/sqrt of finite or infinite doubles (already decoded from binary32 or
// binary64 operands, NaNs excluded) into a target format, built from error-free transformations:
// TwoSum for sums, Veltkamp/Dekker TwoProduct for products and for the residuals of div and sqrt.
// Operands and results travel in FX (see RX in fp-round.ts for why not as arguments/return values).
import { MX_IE, MX_PE, MX_RC, MX_ZE } from './mxcsr.js';
import { F64, type Fmt, RX, ilogbAt, roundFlags, roundTo, scaleAt } from './fp-round.js';

/** FX[0] = x, FX[1] = y (in), FX[2] = result (out; NaN means invalid: the caller writes the default NaN). */
export const FX = new Float64Array(3);
/** Flags raised by the last call of this module's operations. */
export let opFlags = 0;

const SPLIT = 134217729; // 2^27 + 1
const MIN_NORMAL64 = 2.2250738585072014e-308;
const MIN_NORMAL32 = 1.1754943508222875e-38;

/** Scratch for TwoProduct and operand normalisation (doubles never cross calls as arguments). */
const TP = new Float64Array(4);

/** TP[3] = exact error of TP[2] = RN(TP[0] * TP[1]), for values where nothing overflows or underflows. */
function twoProdErr(): void {
  const a = TP[0], b = TP[1], p = TP[2];
  const ca = SPLIT * a; const ah = ca - (ca - a); const al = a - ah;
  const cb = SPLIT * b; const bh = cb - (cb - b); const bl = b - bh;
  TP[3] = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
}

/** Normalises |FX[i]| into TP[j] = m in [1, 2), returning the exponent. */
function normAt(i: number, j: number): number {
  const e = ilogbAt(FX, i);
  TP[j] = Math.abs(FX[i]);
  scaleAt(TP, j, -e);
  return e;
}

/**
 * Sign-only stand-in (+-2^-200, far below half an ulp of a hi in [0.25, 4)) for a nonzero residual. A literal,
 * not an imported constant: mixing a loaded constant with computed doubles makes V8 box the result.
 */
function sticky(r: number): number { return r > 0 ? 6.223015277861142e-61 : r < 0 ? -6.223015277861142e-61 : 0; }

/** Rounds sign * (RX[0] + RX[1]) * 2^k through roundTo into FX[2]. */
function round(neg: boolean, k: number, f: Fmt, mx: number): void {
  roundTo(neg, k, f, mx);
  FX[2] = RX[2];
  opFlags = roundFlags;
}

/** FX[2] = FX[0] + FX[1] (subtraction: the caller negates FX[1]). */
export function add(f: Fmt, mx: number): void {
  const x = FX[0], y = FX[1];
  opFlags = 0;
  const s = x + y;
  if (s - s !== 0) { // infinite or NaN
    if (x - x !== 0 || y - y !== 0) {
      if (s !== s) opFlags = MX_IE; // inf - inf
      FX[2] = s;
      return;
    }
    // Finite operands overflowed under round-to-nearest: redo at half scale (both are huge, halving is exact).
    const xs = x * 0.5, ys = y * 0.5;
    const s2 = xs + ys;
    const bb = s2 - xs;
    const err = (xs - (s2 - bb)) + (ys - bb);
    RX[0] = Math.abs(s2); RX[1] = s2 < 0 ? -err : err;
  round(s2 < 0, 1, f, mx);
    return;
  }
  const bb = s - x;
  const err = (x - (s - bb)) + (y - bb);
  if (s === 0) {
    // An exact zero sum (sums of doubles that cancel are exact): -0 under round-down unless both operands
    // are +0; both -0 gives -0 in every mode, which JS already does.
    FX[2] = ((mx & MX_RC) >>> 13) === 1 && !(x === 0 && y === 0 && 1 / x > 0 && 1 / y > 0) ? -0 : s;
    return;
  }
  const a = Math.abs(s);
  if (f === F64) {
    if (a >= MIN_NORMAL64) {
      if (err === 0) { FX[2] = s; return; }
      if ((mx & MX_RC) === 0) { opFlags = MX_PE; FX[2] = s; return; }
    }
  } else if (err === 0 && a >= MIN_NORMAL32) {
    // An exact double sum rounds once to binary32; under round-to-nearest that is Math.fround.
    const r = Math.fround(s);
    if (r === s) { FX[2] = s; return; }
    if ((mx & MX_RC) === 0 && r - r === 0) { opFlags = MX_PE; FX[2] = r; return; }
  }
  RX[0] = a; RX[1] = s < 0 ? -err : err;
  round(s < 0, 0, f, mx);
}

function isNeg(v: number): boolean { return v < 0 || (v === 0 && 1 / v < 0); }

/** FX[2] = FX[0] * FX[1]. */
export function mul(f: Fmt, mx: number): void {
  const x = FX[0], y = FX[1];
  opFlags = 0;
  const neg = isNeg(x) !== isNeg(y);
  if (x - x !== 0 || y - y !== 0) { // an infinity
    if (x === 0 || y === 0) { opFlags = MX_IE; FX[2] = NaN; return; }
    FX[2] = neg ? -Infinity : Infinity;
    return;
  }
  if (x === 0 || y === 0) { FX[2] = neg ? -0 : 0; return; }
  if (f !== F64 && (mx & MX_RC) === 0) {
    // Binary32 operands have 24-bit significands: their double product is exact (and far from the double range's
    // ends), so Math.fround rounds it once, to nearest. A normal finite result raises no flag but PE. OSv's
    // scheduler multiplies floats at every context switch (thread_runtime).
    const q = x * y, r = Math.fround(q);
    if (Math.abs(q) >= MIN_NORMAL32 && r - r === 0) {
      if (r !== q) opFlags = MX_PE;
      FX[2] = r;
      return;
    }
  }
  const ex = normAt(0, 0), ey = normAt(1, 1);
  const p = TP[0] * TP[1];
  TP[2] = p;
  twoProdErr();
  const err = TP[3];
  const k = ex + ey;
  if (k > -1020 && k < 1020 && f === F64 && (mx & MX_RC) === 0) { // JS's own rounding, no range issues
    if (err !== 0) opFlags = MX_PE;
    FX[2] = x * y;
    return;
  }
  RX[0] = p; RX[1] = err;
  round(neg, k, f, mx);
}

/** FX[2] = FX[0] / FX[1]. */
export function div(f: Fmt, mx: number): void {
  const x = FX[0], y = FX[1];
  opFlags = 0;
  const neg = isNeg(x) !== isNeg(y);
  const xInf = x - x !== 0, yInf = y - y !== 0;
  if (xInf || yInf) {
    if (xInf && yInf) { opFlags = MX_IE; FX[2] = NaN; return; }
    FX[2] = xInf ? (neg ? -Infinity : Infinity) : neg ? -0 : 0;
    return;
  }
  if (y === 0) {
    if (x === 0) { opFlags = MX_IE; FX[2] = NaN; return; }
    opFlags = MX_ZE;
    FX[2] = neg ? -Infinity : Infinity;
    return;
  }
  if (x === 0) { FX[2] = neg ? -0 : 0; return; }
  const ex = normAt(0, 0), ey = normAt(1, 1);
  const mx1 = TP[0], my1 = TP[1];
  const q = mx1 / my1;
  const ph = q * my1;
  TP[0] = q; TP[2] = ph;
  twoProdErr();
  const r = (mx1 - ph) - TP[3]; // exact residual mx1 - q*my1
  const k = ex - ey;
  if (k > -1020 && k < 1020 && f === F64 && (mx & MX_RC) === 0) {
    if (r !== 0) opFlags = MX_PE;
    FX[2] = x / y;
    return;
  }
  RX[0] = q; RX[1] = sticky(r);
  round(neg, k, f, mx);
}

/** FX[2] = sqrt(FX[1]). */
export function sqrt(f: Fmt, mx: number): void {
  const x = FX[1];
  opFlags = 0;
  if (x === 0 || x === Infinity) { FX[2] = x; return; } // keeps the sign of -0
  if (x < 0) { opFlags = MX_IE; FX[2] = NaN; return; }
  let e = ilogbAt(FX, 1);
  if (e & 1) e -= 1;
  TP[0] = x;
  scaleAt(TP, 0, -e);
  const m = TP[0]; // [1, 4)
  const s = Math.sqrt(m);
  const ph = s * s;
  TP[0] = s; TP[1] = s; TP[2] = ph;
  twoProdErr();
  const r = (m - ph) - TP[3]; // exact residual m - s*s
  if (f === F64 && (mx & MX_RC) === 0) {
    if (r !== 0) opFlags = MX_PE;
    FX[2] = Math.sqrt(x);
    return;
  }
  RX[0] = s; RX[1] = sticky(r);
  round(false, e >> 1, f, mx);
}

/** FX[2] = the integer FX[0] + FX[1] (a high part hi*2^32 and an unsigned low part) rounded to format f. */
export function fromInt(f: Fmt, mx: number): void {
  const hiPart = FX[0], loPart = FX[1];
  opFlags = 0;
  const s = hiPart + loPart;
  if (s === 0) { FX[2] = 0; return; }
  const bb = s - hiPart;
  const err = (hiPart - (s - bb)) + (loPart - bb);
  if (err === 0 && (f === F64 || Math.fround(s) === s)) { FX[2] = s; return; }
  RX[0] = Math.abs(s); RX[1] = s < 0 ? -err : err;
  round(s < 0, 0, f, mx);
}

/** FX[2] = FX[0] rounded to an integral value under rc (0 nearest-even, 1 down, 2 up, 3 toward zero). */
export function roundToInt(rc: number): void {
  const x = FX[0];
  if (!(Math.abs(x) < 4503599627370496)) { FX[2] = x; return; } // >= 2^52 (or NaN): already integral
  let r: number;
  switch (rc) {
    case 0: r = Math.round(x); if (r - x === 0.5 && r % 2 !== 0) r -= 1; break; // Math.round ties up: make it even
    case 1: r = Math.floor(x); break;
    case 2: r = Math.ceil(x); break;
    default: r = Math.trunc(x); break;
  }
  FX[2] = r;
}
