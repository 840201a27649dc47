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

/** 2^e, exact, for e in [-1074, 1023]. */
export function pow2(e: number): number { return POW2[e + 1074]; }

/** x * 2^e, exact whenever the result is representable (intermediate steps stay representable). */
export function ldexp(x: number, e: number): number {
  while (e > 1023) { x *= POW2[1074 + 1023]; e -= 1023; }
  while (e < -1022) { x *= POW2[1074 - 1022]; e += 1022; }
  return x * POW2[e + 1074];
}

const scratch = new Float64Array(1);
const scratchHi = new Uint32Array(scratch.buffer);

/** floor(log2 |x|) for finite nonzero x (denormals included). */
export function ilogb(x: number): number {
  scratch[0] = x;
  let e = (scratchHi[1] >>> 20) & 0x7ff;
  if (e === 0) {
    scratch[0] = x * POW2[1074 + 64];
    e = ((scratchHi[1] >>> 20) & 0x7ff) - 64;
  }
  return e - 1023;
}

/** Sign-only stand-in for a nonzero error term far below half an ulp of a hi in [0.25, 4). */
export const STICKY = POW2[1074 - 200];

/** Flags (MX_PE/UE/OE) raised by the last roundTo call. */
export let roundFlags = 0;

// Set by roundQ: whether the value was not already a multiple of q.
let qInexact = false;

/**
 * Rounds the magnitude hi + lo (hi > 0, |lo| <= ulp(hi)/2, |lo| = ulp(hi)/2 only if lo is the exact error)
 * to a multiple of the power of two q >= ulp(hi), for a value of sign `neg` under rounding mode rc.
 */
function roundQ(hi: number, lo: number, q: number, neg: boolean, rc: number): number {
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
  if (cls === 0) { qInexact = false; return base; }
  qInexact = true;
  let up: boolean;
  switch (rc) {
    case RC_NEAREST: up = cls === 3 || (cls === 2 && (base / q) % 2 === 1); break;
    case RC_DOWN: up = neg; break;
    case RC_UP: up = !neg; break;
    default: up = false; break;
  }
  return up ? base + q : base;
}

/** Result of an overflow for sign `neg` under rounding mode rc: infinity or the largest finite value. */
function overflowValue(neg: boolean, rc: number, f: Fmt): number {
  const toInf = rc === RC_NEAREST || (rc === RC_UP && !neg) || (rc === RC_DOWN && neg);
  const mag = toInf ? Infinity : f.max;
  return neg ? -mag : mag;
}

/**
 * Rounds (-1)^neg * (hi + lo) * 2^k to format f under mxcsr (RC, FTZ, UM) and returns the result as a double
 * exactly representable in f. hi must be positive and finite, lo as described for roundQ. Sets roundFlags.
 * Tininess is detected after rounding, as x86 SSE does.
 */
export function roundTo(neg: boolean, hi: number, lo: number, k: number, f: Fmt, mxcsr: number): number {
  const rc = (mxcsr >>> MX_RC_SHIFT) & 3;
  const eh = ilogb(hi);
  hi = ldexp(hi, -eh);
  if (lo !== 0) {
    const l = ldexp(lo, -eh);
    lo = l !== 0 ? l : lo > 0 ? STICKY : -STICKY;
  }
  let e = eh + k;
  if (hi === 1 && lo < 0) { hi = 2; lo *= 2; e -= 1; } // the exact value lies in the binade below
  // Rounding with an unbounded exponent decides overflow and (after-rounding) tininess.
  const p1 = f.p - 1;
  const m = roundQ(hi, lo, POW2[1074 - p1], neg, rc);
  let inexact = qInexact;
  const er = m === 2 ? e + 1 : e;
  if (er > f.emax) {
    // Unmasked overflow traps without a result; PE then reports whether the exponent-wrapped result is inexact.
    roundFlags = (mxcsr & MX_OM) === 0 ? (inexact ? MX_OE | MX_PE : MX_OE) : MX_OE | MX_PE;
    return overflowValue(neg, rc, f);
  }
  if (er >= f.emin) {
    roundFlags = inexact ? MX_PE : 0;
    const v = ldexp(m, e);
    return neg ? -v : v;
  }
  // Tiny. Unmasked underflow traps without a result; PE then reports whether the exponent-wrapped result is inexact.
  if ((mxcsr & MX_UM) === 0) {
    roundFlags = inexact ? MX_UE | MX_PE : MX_UE;
    return neg ? -0 : 0;
  }
  // With FTZ the result is a signed zero.
  if ((mxcsr & MX_FTZ) !== 0) {
    roundFlags = MX_UE | MX_PE;
    return neg ? -0 : 0;
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
    v = ldexp(roundQ(hi, lo, POW2[1074 + shift], neg, rc), e);
    inexact = qInexact;
  }
  roundFlags = inexact ? MX_UE | MX_PE : 0;
  return neg ? -v : v;
}
