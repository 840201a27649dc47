// Exact rounding of a real value, given as an unevaluated sum hi + lo scaled by 2^k, to binary32 or binary64
// under an MXCSR rounding mode, with IEEE flags. Pure double arithmetic: JS doubles round to nearest only,
// so the callers supply hi = RN(exact) and lo = the exact error (or just its sign as a tiny "sticky" value)
// and this module does the directed rounding, tininess, overflow and flush-to-zero decisions itself.
import { MX_FTZ, MX_OE, MX_OM, MX_PE, MX_RC_SHIFT, MX_UE, MX_UM, RC_DOWN, RC_NEAREST, RC_UP } from './mxcsr.js';

/** Target format parameters. */
export interface Fmt { readonly p: number; readonly emin: number; readonly emax: number; readonly max: number }

/** 2^e for e in [-1074, 1023] at index e + 1074. */
const POW2 = new Float64Array(2098);
{
  let v = 1;
  for (let e = 0; e <= 1023; e++) { POW2[e + 1074] = v; v *= 2; }
  v = 1;
  for (let e = 0; e >= -1074; e--) { POW2[e + 1074] = v; v /= 2; }
}

export const F64: Fmt = { p: 53, emin: -1022, emax: 1023, max: (2 - POW2[1074 - 52]) * POW2[1074 + 1023] };
export const F32: Fmt = { p: 24, emin: -126, emax: 127, max: (2 - POW2[1074 - 23]) * POW2[1074 + 127] };


// The helpers below take and return doubles through typed-array slots: a double passed to or returned from
// a call V8 does not inline is boxed as a heap number, i.e. an allocation per floating-point instruction.

/** a[i] *= 2^e, exact whenever the result is representable (intermediate steps stay representable). */
export function scaleAt(a: Float64Array, i: number, e: number): void {
  let x = a[i];
  while (e > 1023) { x *= POW2[1074 + 1023]; e -= 1023; }
  while (e < -1022) { x *= POW2[1074 - 1022]; e += 1022; }
  a[i] = x * POW2[e + 1074];
}

const scratch = new Float64Array(1);
const scratchHi = new Uint32Array(scratch.buffer);

/** floor(log2 |a[i]|) for a finite nonzero a[i] (denormals included). */
export function ilogbAt(a: Float64Array, i: number): number {
  scratch[0] = a[i];
  let e = (scratchHi[1] >>> 20) & 0x7ff;
  if (e === 0) {
    scratch[0] = a[i] * POW2[1074 + 64];
    e = ((scratchHi[1] >>> 20) & 0x7ff) - 64;
  }
  return e - 1023;
}

/** Flags (MX_PE/UE/OE) raised by the last roundTo call. */
export let roundFlags = 0;

/**
 * roundTo's operands and result, passed in a typed array rather than as arguments: doubles crossing a
 * non-inlined call are boxed as heap numbers, which would allocate on every floating-point instruction.
 * RX[0] = hi, RX[1] = lo (in), RX[2] = rounded result (out), RX[3] = roundQ's result.
 */
export const RX = new Float64Array(4);

// Set by roundQ: whether the value was not already a multiple of q.
let qInexact = false;

/**
 * Rounds the magnitude hi + lo (RX[0], RX[1]; hi > 0, |lo| <= ulp(hi)/2, |lo| = ulp(hi)/2 only if lo is the
 * exact error) to a multiple of q = 2^qExp >= ulp(hi), for a value of sign `neg` under rounding mode rc.
 * The result goes to RX[3], inexactness to qInexact.
 */
function roundQ(qExp: number, neg: boolean, rc: number): void {
  const hi = RX[0], lo = RX[1], q = POW2[1074 + qExp];
  const rem = hi % q; // exact
  let base = hi - rem; // exact: clears the bits below q
  const half = q * 0.5;
  // cls: 0 exact, 1 below the midpoint, 2 at the midpoint, 3 above it (of the interval [base, base + q)).
  let cls: number;
  if (rem === 0) {
    if (lo === 0) cls = 0;
    else if (lo > 0) cls = lo === half ? 2 : 1;
    else { base -= q; cls = lo === -half ? 2 : 3; }
  } else if (rem < half) cls = 1;
  else if (rem === half) cls = lo === 0 ? 2 : lo > 0 ? 3 : 1;
  else cls = 3;
  qInexact = cls !== 0;
  let up: boolean;
  switch (cls === 0 ? -1 : rc) {
    case RC_NEAREST: up = cls === 3 || (cls === 2 && (base / q) % 2 === 1); break;
    case RC_DOWN: up = neg; break;
    case RC_UP: up = !neg; break;
    default: up = false; break;
  }
  RX[3] = up ? base + q : base;
}

/**
 * Rounds (-1)^neg * (hi + lo) * 2^k, hi = RX[0] and lo = RX[1], to format f under mxcsr (RC, FTZ, UM) and
 * stores the result, a double exactly representable in f, in RX[2]. hi must be positive and finite, lo as
 * described for roundQ (RX[0..1] are clobbered). Sets roundFlags.
 * Tininess is detected after rounding, as x86 SSE does.
 */
export function roundTo(neg: boolean, k: number, f: Fmt, mxcsr: number): void {
  const rc = (mxcsr >>> MX_RC_SHIFT) & 3;
  const eh = ilogbAt(RX, 0);
  scaleAt(RX, 0, -eh);
  const lo0 = RX[1];
  if (lo0 !== 0) {
    scaleAt(RX, 1, -eh);
    if (RX[1] === 0) RX[1] = lo0 > 0 ? 6.223015277861142e-61 : -6.223015277861142e-61; // keep a sticky bit (2^-200)
  }
  let hi = RX[0], lo = RX[1];
  let e = eh + k;
  if (hi === 1 && lo < 0) { hi = 2; lo *= 2; e -= 1; } // the exact value lies in the binade below
  RX[0] = hi; RX[1] = lo;
  // Rounding with an unbounded exponent decides overflow and (after-rounding) tininess.
  const p1 = f.p - 1;
  roundQ(-p1, neg, rc);
  let inexact = qInexact;
  const er = RX[3] === 2 ? e + 1 : e;
  if (er > f.emax) {
    // Unmasked overflow traps without a result; PE then reports whether the exponent-wrapped result is inexact.
    roundFlags = (mxcsr & MX_OM) === 0 ? (inexact ? MX_OE | MX_PE : MX_OE) : MX_OE | MX_PE;
    const toInf = rc === RC_NEAREST || (rc === RC_UP && !neg) || (rc === RC_DOWN && neg);
    RX[2] = toInf ? (neg ? -Infinity : Infinity) : neg ? -f.max : f.max;
    return;
  }
  if (er >= f.emin) {
    roundFlags = inexact ? MX_PE : 0;
    scaleAt(RX, 3, e);
    RX[2] = neg ? -RX[3] : RX[3];
    return;
  }
  // Tiny. Unmasked underflow traps without a result; PE then reports whether the exponent-wrapped result is inexact.
  if ((mxcsr & MX_UM) === 0) {
    roundFlags = inexact ? MX_UE | MX_PE : MX_UE;
    RX[2] = neg ? -0 : 0;
    return;
  }
  // With FTZ the result is a signed zero.
  if ((mxcsr & MX_FTZ) !== 0) {
    roundFlags = MX_UE | MX_PE;
    RX[2] = neg ? -0 : 0;
    return;
  }
  // Round again at the fixed quantum 2^(emin - p1) of the subnormal range, relative to hi's binade 2^e.
  const shift = f.emin - p1 - e;
  let v: number;
  if (shift > 60) {
    // Far below the smallest subnormal: only the direction matters.
    inexact = true;
    const away = (rc === RC_UP && !neg) || (rc === RC_DOWN && neg);
    v = away ? POW2[1074 + f.emin - p1] : 0;
  } else {
    roundQ(shift, neg, rc);
    scaleAt(RX, 3, e);
    v = RX[3];
    inexact = qInexact;
  }
  roundFlags = inexact ? MX_UE | MX_PE : 0;
  RX[2] = neg ? -v : v;
}
