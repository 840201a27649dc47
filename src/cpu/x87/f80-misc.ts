// FCOM/FUCOM/FTST ordering, FXAM classification, FRNDINT, FSCALE and the FLDxx constants.

import {
  BIAS, CLS_DENORMAL, CLS_INF, CLS_INVALID, CLS_NORMAL, CLS_QNAN, CLS_SNAN, CLS_ZERO,
  FL_C0, FL_C1, FL_C2, FL_C3, FL_DE, FL_IE, FL_NORESULT, FMT_F80, M, OUT, U, UA, UB, isNaNCls, loadM,
  out80, outIndefinite, outInf, outZero, packMag, propagateNaN2, roundInt64, roundPack, shrM, takeDenMark, unpack,
} from './f80-core.js';

/**
 * Compare a with b. Returns the condition codes (C3/C2/C0 in FSW positions: a>b none, a<b C0,
 * equal C3, unordered C3|C2|C0) plus IE/DE. `quiet` (FUCOM*) raises IE only for SNaNs and
 * unsupported formats; FCOM* raises it for any NaN. The hardware sets the condition codes
 * even when the raised exception is unmasked.
 */
export function f80Compare(
  ase: number, ahi: number, alo: number, bse: number, bhi: number, blo: number, _cw: number, quiet: boolean,
): number {
  const mark = takeDenMark();
  const ac = unpack(UA, ase, ahi, alo);
  const bc = unpack(UB, bse, bhi, blo);
  let flags = 0;
  if (ac === CLS_INVALID || bc === CLS_INVALID || isNaNCls(ac) || isNaNCls(bc)) {
    if (ac === CLS_INVALID || bc === CLS_INVALID || ac === CLS_SNAN || bc === CLS_SNAN || !quiet) flags = FL_IE;
    return flags | FL_C0 | FL_C2 | FL_C3;
  }
  if (ac === CLS_DENORMAL || bc === CLS_DENORMAL || mark !== 0) {
    flags = FL_DE;
  }
  const ord = order(ac, bc);
  return flags | (ord === 0 ? FL_C3 : ord < 0 ? FL_C0 : 0);
}

/** Sign of a - b for ordered (non-NaN) unpacked operands in U[UA], U[UB]. */
function order(ac: number, bc: number): number {
  const az = ac === CLS_ZERO;
  const bz = bc === CLS_ZERO;
  if (az && bz) return 0;
  const as = U[UA + 1];
  const bs = U[UB + 1];
  if (az) return bs ? 1 : -1;
  if (bz) return as ? -1 : 1;
  if (as !== bs) return as ? -1 : 1;
  const m = magOrder(ac, bc);
  return as ? -m : m;
}

function magOrder(ac: number, bc: number): number {
  if (ac === CLS_INF || bc === CLS_INF) return ac === bc ? 0 : ac === CLS_INF ? 1 : -1;
  for (let i = 2; i < 5; i++) {
    const x = U[UA + i];
    const y = U[UB + i];
    if (x !== y) return x > y ? 1 : -1;
  }
  return 0;
}

/** FXAM condition codes for a non-empty register (C1 = sign). */
export function f80Examine(se: number, hi: number, lo: number): number {
  const c1 = se & 0x8000 ? FL_C1 : 0;
  switch (classifyOnly(se, hi, lo)) {
    case CLS_ZERO:
      return c1 | FL_C3;
    case CLS_DENORMAL:
      return c1 | FL_C3 | FL_C2;
    case CLS_NORMAL:
      return c1 | FL_C2;
    case CLS_INF:
      return c1 | FL_C2 | FL_C0;
    case CLS_QNAN:
    case CLS_SNAN:
      return c1 | FL_C0;
    default:
      return c1; // unsupported
  }
}

/** FXAM code for an empty register. */
export const FXAM_EMPTY = FL_C3 | FL_C0;

function classifyOnly(se: number, hi: number, lo: number): number {
  return unpack(UA, se, hi, lo);
}

/** Single-operand NaN/unsupported prologue: returns -1 to continue with a finite/inf/zero operand. */
function prologue1(se: number, hi: number, lo: number, cls: number, cw: number): number {
  if (cls === CLS_INVALID) {
    if (!(cw & FL_IE)) return FL_IE | FL_NORESULT;
    outIndefinite();
    return FL_IE;
  }
  if (isNaNCls(cls)) {
    const f = propagateNaN2(se, hi, lo, cls, se, hi, lo, cls);
    if (f && !(cw & FL_IE)) return f | FL_NORESULT;
    return f;
  }
  return -1;
}

/** FRNDINT: round to an integral value per RC (PC does not apply). */
export function f80RoundInt(se: number, hi: number, lo: number, cw: number): number {
  const cls = unpack(UA, se, hi, lo);
  const r = prologue1(se, hi, lo, cls, cw);
  if (r >= 0) return r;
  const sign = se >>> 15;
  if (cls === CLS_ZERO || cls === CLS_INF) {
    out80(se, hi, lo);
    return 0;
  }
  let flags = 0;
  if (cls === CLS_DENORMAL) {
    if (!(cw & FL_DE)) return FL_DE | FL_NORESULT;
    flags = FL_DE;
  }
  const e = U[UA + 2];
  if (e >= 63) {
    out80(se, hi, lo);
    return flags;
  }
  loadM(U[UA + 3], U[UA + 4]);
  shrM(63 - e);
  flags |= roundInt64(sign, (cw >>> 10) & 3);
  const mh = M[0];
  const ml = M[1];
  if ((mh | ml) === 0) {
    outZero(sign);
    return flags;
  }
  packMag(sign, mh, ml, 63);
  return flags;
}

/** FSCALE: a * 2^trunc(b). */
export function f80Scale(ase: number, ahi: number, alo: number, bse: number, bhi: number, blo: number, cw: number): number {
  const ac = unpack(UA, ase, ahi, alo);
  const bc = unpack(UB, bse, bhi, blo);
  if (ac === CLS_INVALID || bc === CLS_INVALID) {
    if (!(cw & FL_IE)) return FL_IE | FL_NORESULT;
    outIndefinite();
    return FL_IE;
  }
  if (isNaNCls(ac) || isNaNCls(bc)) {
    const f = propagateNaN2(ase, ahi, alo, ac, bse, bhi, blo, bc);
    if (f && !(cw & FL_IE)) return f | FL_NORESULT;
    return f;
  }
  let flags = ac === CLS_DENORMAL || bc === CLS_DENORMAL ? FL_DE : 0;
  if (flags && !(cw & FL_DE)) return FL_DE | FL_NORESULT;
  const as = U[UA + 1];
  const bs = U[UB + 1];
  if (bc === CLS_INF) {
    if ((ac === CLS_ZERO && !bs) || (ac === CLS_INF && bs)) {
      if (!(cw & FL_IE)) return flags | FL_IE | FL_NORESULT;
      outIndefinite();
      return flags | FL_IE;
    }
    if (ac === CLS_ZERO || (bs && ac !== CLS_INF)) outZero(as);
    else outInf(as);
    return flags;
  }
  if (ac === CLS_ZERO) {
    outZero(as);
    return flags;
  }
  if (ac === CLS_INF) {
    outInf(as);
    return flags;
  }
  // trunc(b), clamped: anything beyond +-2^17 already over/underflows every operand
  let n = 0;
  if (bc !== CLS_ZERO) {
    const be = U[UB + 2];
    if (be >= 17) n = 1 << 17;
    else if (be >= 0) n = Math.floor(U[UB + 3] / 2 ** (31 - be));
    if (bs) n = -n;
  }
  loadM(U[UA + 3], U[UA + 4]);
  return flags | roundPack(as, U[UA + 2] + n, 64, FMT_F80, cw, true);
}

// ---- constants: 64-bit significand plus the next 32 bits for RC-dependent rounding (no flags, C1 stays 0) ----
export const CONST_ONE = 0;
export const CONST_L2T = 1;
export const CONST_L2E = 2;
export const CONST_PI = 3;
export const CONST_LG2 = 4;
export const CONST_LN2 = 5;
export const CONST_ZERO = 6;

// [se, hi, lo, extra]
const CONSTS = new Uint32Array([
  0x3fff, 0x80000000, 0x00000000, 0,
  0x4000, 0xd49a784b, 0xcd1b8afe, 0x492bf6ff,
  0x3fff, 0xb8aa3b29, 0x5c17f0bb, 0xbe87fed0,
  0x4000, 0xc90fdaa2, 0x2168c234, 0xc4c6628b,
  0x3ffd, 0x9a209a84, 0xfbcff798, 0x8f8959ac,
  0x3ffe, 0xb17217f7, 0xd1cf79ab, 0xc9e3b398,
  0x0000, 0x00000000, 0x00000000, 0,
]);

/**
 * Load constant `k` rounded per RC into OUT. The hardware keeps 66-bit constants and rounds
 * them; neither C1 nor any exception flag reports the rounding.
 */
export function f80Const(k: number, cw: number): number {
  const b = k * 4;
  const se = CONSTS[b];
  let hi = CONSTS[b + 1];
  let lo = CONSTS[b + 2];
  const extra = CONSTS[b + 3];
  const rc = (cw >>> 10) & 3;
  let up = 0;
  if (extra !== 0) {
    // nearest: correctly rounded (none of these constants is near a tie); directed: by sign (all positive)
    if (rc === 0) up = extra >>> 31;
    else if (rc === 2) up = 1;
  }
  if (up) {
    const v = lo + 1;
    lo = v >>> 0;
    if (v >= 4294967296) hi = (hi + 1) >>> 0;
  }
  out80(se, hi, lo);
  return 0;
}


/** In an f80Prem result: no quotient was computed (NaN/invalid): C1, C2 = 0, C0 and C3 unchanged. */
export const PREM_NO_Q = 0x40000;

/**
 * FPREM (round=false, truncating quotient) / FPREM1 (round=true, IEEE remainder) of a by b.
 * Exact. Returns IE/DE/UE plus the condition codes: C2 = 1 when only a partial reduction was done
 * (exponent difference >= 64), else C0/C3/C1 = quotient bits 2/1/0.
 */
export function f80Prem(
  ase: number, ahi: number, alo: number, bse: number, bhi: number, blo: number, cw: number, round: boolean,
): number {
  const ac = unpack(UA, ase, ahi, alo);
  const bc = unpack(UB, bse, bhi, blo);
  if (ac === CLS_INVALID || bc === CLS_INVALID) return invalidOp(cw) | PREM_NO_Q;
  if (isNaNCls(ac) || isNaNCls(bc)) {
    const f = propagateNaN2(ase, ahi, alo, ac, bse, bhi, blo, bc);
    return (f && !(cw & FL_IE) ? f | FL_NORESULT : f) | PREM_NO_Q;
  }
  if (ac === CLS_INF || bc === CLS_ZERO) return invalidOp(cw) | PREM_NO_Q;
  const flags = ac === CLS_DENORMAL || bc === CLS_DENORMAL ? FL_DE : 0;
  if (flags && !(cw & FL_DE)) return FL_DE | FL_NORESULT;
  if (ac === CLS_ZERO) {
    out80(ase, ahi, alo);
    return flags;
  }
  if (bc === CLS_INF) return flags | passThrough(cw);
  const as = U[UA + 1];
  const ea = U[UA + 2];
  const eb = U[UB + 2];
  const d = ea - eb;
  if (d < 0 && !(round && d === -1)) return flags | passThrough(cw);
  const partial = d >= 64;
  // quotient bits computed: all of them, or N for a partial step (N = 32..63, as the hardware)
  const n = partial ? 32 + (d & 31) : d;
  const bh = U[UB + 3];
  const bl = U[UB + 4];
  let rh = U[UA + 3];
  let rl = U[UA + 4];
  let q = 0;
  if (n >= 0) {
    for (let i = 0; i <= n; i++) {
      q = (q * 2) % 8;
      if (rh > bh || (rh === bh && rl >= bl)) {
        let l = rl - bl;
        let h = rh - bh;
        if (l < 0) {
          l += 4294967296;
          h -= 1;
        }
        rh = h;
        rl = l;
        q |= 1;
      }
      if (i < n) {
        rh = rh * 2 + (rl >>> 31);
        rl = (rl * 2) % 4294967296;
      }
    }
  } else {
    // FPREM1 with a/b in [0.5, 1): the quotient rounds to 0 or 1; R stays a, scaled to b's exponent by 1/2
  }
  let sign = as;
  // remainder = R * 2^(eb - 63 + (d - n)) (for n = -1: R = a's significand at exponent ea - 63)
  let rexp = n >= 0 ? eb - 63 + (d - n) : ea - 63;
  if (round && !partial) {
    // compare 2R with B (R scaled to b's exponent): for n = -1, R is at half of b's scale
    let twoRh: number;
    let twoRl: number;
    if (n >= 0) {
      twoRh = rh * 2 + (rl >>> 31);
      twoRl = (rl * 2) % 4294967296;
    } else {
      twoRh = rh;
      twoRl = rl;
    }
    const cmp = twoRh > bh || (twoRh === bh && twoRl > bl) ? 1 : twoRh === bh && twoRl === bl ? 0 : -1;
    if (cmp > 0 || (cmp === 0 && q & 1)) {
      // R := B - R (at b's scale), sign flips, quotient + 1
      if (n < 0) {
        // R is at exponent ea - 63 = eb - 64: bring B to that scale (B*2 - R), one more bit
        let l = bl * 2;
        let h = bh * 2 + Math.floor(l / 4294967296);
        l %= 4294967296;
        l -= rl;
        h -= rh;
        if (l < 0) {
          l += 4294967296;
          h -= 1;
        }
        rh = h;
        rl = l;
      } else {
        let l = bl - rl;
        let h = bh - rh;
        if (l < 0) {
          l += 4294967296;
          h -= 1;
        }
        rh = h;
        rl = l;
      }
      sign ^= 1;
      q = (q + 1) % 8;
    }
  }
  const cc = partial ? FL_C2 : (q & 4 ? FL_C0 : 0) | (q & 2 ? FL_C3 : 0) | (q & 1 ? FL_C1 : 0);
  if (rh === 0 && rl === 0) {
    outZero(as);
    return flags | cc;
  }
  // normalise R (up to 65 bits when rh >= 2^32) into M and pack exactly (denormal if needed)
  if (rh >= 4294967296) {
    rl = ((rl >>> 1) | ((rh % 2) * 0x80000000)) >>> 0;
    rh = Math.floor(rh / 2);
    rexp += 1;
  }
  loadM(rh, rl);
  let lz = Math.clz32(M[0]);
  if (M[0] === 0) lz = 32 + Math.clz32(M[1]);
  if (lz) {
    M[0] = lz >= 32 ? (M[1] << (lz - 32)) >>> 0 : ((M[0] << lz) | (M[1] >>> (32 - lz))) >>> 0;
    M[1] = lz >= 32 ? 0 : (M[1] << lz) >>> 0;
  }
  // exact, so packing never rounds: a tiny remainder is a denormal, or UE + bias adjust when unmasked
  const f = roundPack(sign, rexp + 63 - lz, 64, FMT_F80, cw | 0x2f, true);
  return flags | (f & FL_UE_BIT) | cc;
}

const FL_UE_BIT = 0x10;

/**
 * The dividend (in U[UA]) returned unchanged in value: re-packed, so a pseudo-denormal gets
 * exponent 1 and a denormal takes the unmasked-underflow path (UE, bias adjust) like a result.
 */
function passThrough(cw: number): number {
  loadM(U[UA + 3], U[UA + 4]);
  return roundPack(U[UA + 1], U[UA + 2], 64, FMT_F80, cw | 0x2f, true) & FL_UE_BIT;
}

function invalidOp(cw: number): number {
  if (!(cw & FL_IE)) return FL_IE | FL_NORESULT;
  outIndefinite();
  return FL_IE;
}

/**
 * FXTRACT: writes the significand (exponent 0x3fff, sign kept) to OUT and returns flags; the
 * exponent value is left in XT (se, hi, lo) for the caller to place in ST(1).
 */
export const XT = new Uint32Array(3);

export function f80Extract(se: number, hi: number, lo: number, cw: number): number {
  const cls = unpack(UA, se, hi, lo);
  if (cls === CLS_INVALID) {
    const f = invalidOp(cw);
    XT[0] = 0xffff; XT[1] = 0xc0000000; XT[2] = 0;
    return f;
  }
  if (isNaNCls(cls)) {
    const f = propagateNaN2(se, hi, lo, cls, se, hi, lo, cls);
    XT[0] = OUT[0]; XT[1] = OUT[1]; XT[2] = OUT[2];
    return f && !(cw & FL_IE) ? f | FL_NORESULT : f;
  }
  if (cls === CLS_INF) {
    XT[0] = 0x7fff; XT[1] = 0x80000000; XT[2] = 0;
    out80(se, hi, lo);
    return 0;
  }
  if (cls === CLS_ZERO) {
    if (!(cw & 0x4)) return 0x4 | FL_NORESULT;
    XT[0] = 0xffff; XT[1] = 0x80000000; XT[2] = 0; // -inf
    out80(se, hi, lo);
    return 0x4;
  }
  const flags = cls === CLS_DENORMAL ? FL_DE : 0;
  if (flags && !(cw & FL_DE)) return FL_DE | FL_NORESULT;
  // exponent as an exact 80-bit integer value
  const e = U[UA + 2];
  if (e === 0) {
    XT[0] = 0; XT[1] = 0; XT[2] = 0;
  } else {
    const m = Math.abs(e);
    const n = Math.clz32(m);
    XT[0] = (e < 0 ? 0x8000 : 0) | (BIAS + 31 - n);
    XT[1] = (m << n) >>> 0;
    XT[2] = 0;
  }
  out80((se & 0x8000) | BIAS, U[UA + 3], U[UA + 4]);
  return flags;
}
