// Lazy arithmetic flags: an ALU instruction records its operands and result; CF..OF are computed only
// when something reads them (most results are never inspected, or only through ZF/CF by a jcc).
// State lives in one Int32Array so that every access stays monomorphic and allocation-free.
import { AF, ARITH_FLAGS, CF, OF, PF, SF, ZF } from './regs.js';

export const LF_OP = 0, LF_ALO = 1, LF_AHI = 2, LF_BLO = 3, LF_BHI = 4, LF_RLO = 5, LF_RHI = 6, LF_CIN = 7;
/** Flags outside the six arithmetic ones (IF, DF, TF, IOPL, AC, ID...) and the always-one bit 1. */
export const LF_REST = 8;
/** The six arithmetic flags when LF_OP is K_NONE. */
export const LF_ARITH = 9;
export const LF_SIZE = 10;

// Operation kinds; the lazy op is kind << 2 | size index (0: 8, 1: 16, 2: 32, 3: 64 bits).
export const K_NONE = 0, K_ADD = 1, K_ADC = 2, K_SUB = 3, K_SBB = 4, K_LOGIC = 5, K_INC = 6, K_DEC = 7;

export function sizeIndex(bits: number): number {
  return bits === 64 ? 3 : bits === 32 ? 2 : bits === 16 ? 1 : 0;
}

const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let b = i, p = 1;
  while (b) { p ^= b & 1; b >>= 1; }
  PARITY[i] = p;
}

const MASK = [0xff, 0xffff, -1, -1];
const SIGN_SHIFT = [7, 15, 31, 31];

function sign(v: number, sz: number): number {
  return (v >>> SIGN_SHIFT[sz]) & 1;
}

/** Unsigned a < b on the recorded size (64 bits compares the halves). */
function ltu(lf: Int32Array, aLo: number, aHi: number, bLo: number, bHi: number, sz: number): boolean {
  if (sz === 3) {
    const ah = aHi >>> 0, bh = bHi >>> 0;
    return ah < bh || (ah === bh && (aLo >>> 0) < (bLo >>> 0));
  }
  return ((aLo & MASK[sz]) >>> 0) < ((bLo & MASK[sz]) >>> 0);
}

export function getCF(lf: Int32Array): number {
  const op = lf[LF_OP];
  const kind = op >> 2, sz = op & 3;
  switch (kind) {
    case K_NONE: return lf[LF_ARITH] & CF;
    case K_ADD: return ltu(lf, lf[LF_RLO], lf[LF_RHI], lf[LF_ALO], lf[LF_AHI], sz) ? 1 : 0;
    case K_ADC:
      if (lf[LF_CIN]) return ltu(lf, lf[LF_ALO], lf[LF_AHI], lf[LF_RLO], lf[LF_RHI], sz) ? 0 : 1;
      return ltu(lf, lf[LF_RLO], lf[LF_RHI], lf[LF_ALO], lf[LF_AHI], sz) ? 1 : 0;
    case K_SUB: return ltu(lf, lf[LF_ALO], lf[LF_AHI], lf[LF_BLO], lf[LF_BHI], sz) ? 1 : 0;
    case K_SBB:
      if (lf[LF_CIN]) return ltu(lf, lf[LF_BLO], lf[LF_BHI], lf[LF_ALO], lf[LF_AHI], sz) ? 0 : 1;
      return ltu(lf, lf[LF_ALO], lf[LF_AHI], lf[LF_BLO], lf[LF_BHI], sz) ? 1 : 0;
    case K_LOGIC: return 0;
    default: return lf[LF_CIN]; // INC/DEC keep the carry they found
  }
}

export function getZF(lf: Int32Array): number {
  const op = lf[LF_OP];
  if (op < 4) return (lf[LF_ARITH] & ZF) ? 1 : 0;
  const sz = op & 3;
  if (sz === 3) return (lf[LF_RLO] | lf[LF_RHI]) === 0 ? 1 : 0;
  return (lf[LF_RLO] & MASK[sz]) === 0 ? 1 : 0;
}

export function getSF(lf: Int32Array): number {
  const op = lf[LF_OP];
  if (op < 4) return (lf[LF_ARITH] & SF) ? 1 : 0;
  const sz = op & 3;
  return sz === 3 ? lf[LF_RHI] >>> 31 : sign(lf[LF_RLO], sz);
}

export function getOF(lf: Int32Array): number {
  const op = lf[LF_OP];
  const kind = op >> 2, sz = op & 3;
  const hi = sz === 3;
  const a = hi ? lf[LF_AHI] : lf[LF_ALO];
  const b = hi ? lf[LF_BHI] : lf[LF_BLO];
  const r = hi ? lf[LF_RHI] : lf[LF_RLO];
  switch (kind) {
    case K_NONE: return (lf[LF_ARITH] & OF) ? 1 : 0;
    case K_ADD: case K_ADC: case K_INC: return sign((a ^ r) & (b ^ r), sz);
    case K_SUB: case K_SBB: case K_DEC: return sign((a ^ b) & (a ^ r), sz);
    default: return 0;
  }
}

export function getPF(lf: Int32Array): number {
  if (lf[LF_OP] < 4) return (lf[LF_ARITH] & PF) ? 1 : 0;
  return PARITY[lf[LF_RLO] & 0xff];
}

export function getAF(lf: Int32Array): number {
  const kind = lf[LF_OP] >> 2;
  if (kind === K_NONE) return (lf[LF_ARITH] & AF) ? 1 : 0;
  if (kind === K_LOGIC) return 0;
  return ((lf[LF_ALO] ^ lf[LF_BLO] ^ lf[LF_RLO]) >> 4) & 1;
}

/** The six arithmetic flags as RFLAGS bits. */
export function arithFlags(lf: Int32Array): number {
  if (lf[LF_OP] < 4) return lf[LF_ARITH];
  return getCF(lf) | (getPF(lf) << 2) | (getAF(lf) << 4) | (getZF(lf) << 6) | (getSF(lf) << 7) | (getOF(lf) << 11);
}

/** Replaces the arithmetic flags with explicit values (popf, sahf, shifts, mul...). */
export function setArithFlags(lf: Int32Array, bits: number): void {
  lf[LF_OP] = K_NONE;
  lf[LF_ARITH] = bits & ARITH_FLAGS;
}

/** Flags of a result computed elsewhere, for instructions that define CF/OF themselves (shifts, mul, bt...). */
export function resultFlags(lo: number, hi: number, bits: number): number {
  let f = PARITY[lo & 0xff] << 2;
  if (bits === 64) {
    if ((lo | hi) === 0) f |= ZF;
    if (hi < 0) f |= SF;
  } else {
    const m = bits === 32 ? lo : lo & MASK[sizeIndex(bits)];
    if (m === 0) f |= ZF;
    if ((lo >>> (bits - 1)) & 1) f |= SF;
  }
  return f;
}

export function parity(b: number): number {
  return PARITY[b & 0xff];
}

/** Evaluates condition code cc (0..15: o no b ae e ne be a s ns p np l ge le g). */
export function cond(lf: Int32Array, cc: number): boolean {
  const op = lf[LF_OP];
  // Fast path: after cmp/sub the condition is a direct comparison of the operands.
  if ((op >> 2) === K_SUB && cc >= 2 && cc !== 10 && cc !== 11) {
    const sz = op & 3;
    let r: boolean;
    switch (cc >> 1) {
      case 1: r = ltu(lf, lf[LF_ALO], lf[LF_AHI], lf[LF_BLO], lf[LF_BHI], sz); break; // b
      case 2: r = sz === 3 ? (lf[LF_RLO] | lf[LF_RHI]) === 0 : (lf[LF_RLO] & MASK[sz]) === 0; break; // e
      case 3: r = ltu(lf, lf[LF_ALO], lf[LF_AHI], lf[LF_BLO], lf[LF_BHI], sz) || getZF(lf) === 1; break; // be
      case 4: r = getSF(lf) === 1; break; // s
      case 6: r = lts(lf, sz); break; // l
      default: r = lts(lf, sz) || getZF(lf) === 1; break; // le
    }
    return (cc & 1) ? !r : r;
  }
  let r: boolean;
  switch (cc >> 1) {
    case 0: r = getOF(lf) === 1; break;
    case 1: r = getCF(lf) === 1; break;
    case 2: r = getZF(lf) === 1; break;
    case 3: r = getCF(lf) === 1 || getZF(lf) === 1; break;
    case 4: r = getSF(lf) === 1; break;
    case 5: r = getPF(lf) === 1; break;
    case 6: r = getSF(lf) !== getOF(lf); break;
    default: r = getZF(lf) === 1 || getSF(lf) !== getOF(lf); break;
  }
  return (cc & 1) ? !r : r;
}

/** Signed a < b for a recorded subtraction. */
function lts(lf: Int32Array, sz: number): boolean {
  if (sz === 3) {
    const ah = lf[LF_AHI], bh = lf[LF_BHI];
    return ah < bh || (ah === bh && (lf[LF_ALO] >>> 0) < (lf[LF_BLO] >>> 0));
  }
  if (sz === 2) return lf[LF_ALO] < lf[LF_BLO];
  const sh = sz === 0 ? 24 : 16;
  return (lf[LF_ALO] << sh) < (lf[LF_BLO] << sh);
}
