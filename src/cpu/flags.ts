// Lazy arithmetic flags: an ALU instruction records its operands and result; CF..OF are computed only
// when something reads them (most results are never inspected, or only through ZF/CF by a jcc).
// State lives in one Int32Array so that every access stays monomorphic and allocation-free.
import { Fl } from './regs.js';

/**
 * Slots of cpu.lf. Hot code names them through this const enum, which tsc replaces by the numbers: V8 folds
 * literals, but loads an imported constant (or, in an inlined function, its module's own) at every use,
 * ~3 ns per flag-recording handler. The LF_* names below are for everything else.
 */
export const enum Lf {
  OP = 0, ALO = 1, AHI = 2, BLO = 3, BHI = 4, RLO = 5, RHI = 6, CIN = 7,
  /** Flags outside the six arithmetic ones (IF, DF, TF, IOPL, AC, ID...) and the always-one bit 1. */
  REST = 8,
  /** The six arithmetic flags when the op is Kind.NONE. */
  ARITH = 9,
  SIZE = 10,
}
export const LF_OP = Lf.OP, LF_ALO = Lf.ALO, LF_AHI = Lf.AHI, LF_BLO = Lf.BLO, LF_BHI = Lf.BHI, LF_RLO = Lf.RLO;
export const LF_RHI = Lf.RHI, LF_CIN = Lf.CIN, LF_REST = Lf.REST, LF_ARITH = Lf.ARITH, LF_SIZE = Lf.SIZE;

/** Operation kinds (a const enum for the reason above); the lazy op is kind << 2 | size index (0: 8, 1: 16, 2: 32, 3: 64 bits). */
export const enum Kind { NONE = 0, ADD = 1, ADC = 2, SUB = 3, SBB = 4, LOGIC = 5, INC = 6, DEC = 7 }
export const K_NONE = Kind.NONE, K_ADD = Kind.ADD, K_ADC = Kind.ADC, K_SUB = Kind.SUB, K_SBB = Kind.SBB;
export const K_LOGIC = Kind.LOGIC, K_INC = Kind.INC, K_DEC = Kind.DEC;

export function sizeIndex(bits: number): number {
  return bits === 64 ? 3 : bits === 32 ? 2 : bits === 16 ? 1 : 0;
}

const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let b = i, p = 1;
  while (b) { p ^= b & 1; b >>= 1; }
  PARITY[i] = p;
}

// Computed rather than looked up in module-level tables, for the reason given at Lf.
/** Value mask of size index sz (32 and 64 bits: all ones, applied to the low half). */
function mask(sz: number): number {
  return sz === 0 ? 0xff : sz === 1 ? 0xffff : -1;
}

function sign(v: number, sz: number): number {
  return (v >>> (sz === 0 ? 7 : sz === 1 ? 15 : 31)) & 1;
}

/** Unsigned a < b on the recorded size (64 bits compares the halves). */
function ltu(lf: Int32Array, aLo: number, aHi: number, bLo: number, bHi: number, sz: number): boolean {
  if (sz === 3) {
    const ah = aHi >>> 0, bh = bHi >>> 0;
    return ah < bh || (ah === bh && (aLo >>> 0) < (bLo >>> 0));
  }
  return ((aLo & mask(sz)) >>> 0) < ((bLo & mask(sz)) >>> 0);
}

export function getCF(lf: Int32Array): number {
  const op = lf[Lf.OP];
  const kind = op >> 2, sz = op & 3;
  switch (kind) {
    case Kind.NONE: return lf[Lf.ARITH] & Fl.CF;
    case Kind.ADD: return ltu(lf, lf[Lf.RLO], lf[Lf.RHI], lf[Lf.ALO], lf[Lf.AHI], sz) ? 1 : 0;
    case Kind.ADC:
      if (lf[Lf.CIN]) return ltu(lf, lf[Lf.ALO], lf[Lf.AHI], lf[Lf.RLO], lf[Lf.RHI], sz) ? 0 : 1;
      return ltu(lf, lf[Lf.RLO], lf[Lf.RHI], lf[Lf.ALO], lf[Lf.AHI], sz) ? 1 : 0;
    case Kind.SUB: return ltu(lf, lf[Lf.ALO], lf[Lf.AHI], lf[Lf.BLO], lf[Lf.BHI], sz) ? 1 : 0;
    case Kind.SBB:
      if (lf[Lf.CIN]) return ltu(lf, lf[Lf.BLO], lf[Lf.BHI], lf[Lf.ALO], lf[Lf.AHI], sz) ? 0 : 1;
      return ltu(lf, lf[Lf.ALO], lf[Lf.AHI], lf[Lf.BLO], lf[Lf.BHI], sz) ? 1 : 0;
    case Kind.LOGIC: return 0;
    default: return lf[Lf.CIN]; // INC/DEC keep the carry they found
  }
}

export function getZF(lf: Int32Array): number {
  const op = lf[Lf.OP];
  if (op < 4) return (lf[Lf.ARITH] & Fl.ZF) ? 1 : 0;
  const sz = op & 3;
  if (sz === 3) return (lf[Lf.RLO] | lf[Lf.RHI]) === 0 ? 1 : 0;
  return (lf[Lf.RLO] & mask(sz)) === 0 ? 1 : 0;
}

export function getSF(lf: Int32Array): number {
  const op = lf[Lf.OP];
  if (op < 4) return (lf[Lf.ARITH] & Fl.SF) ? 1 : 0;
  const sz = op & 3;
  return sz === 3 ? lf[Lf.RHI] >>> 31 : sign(lf[Lf.RLO], sz);
}

export function getOF(lf: Int32Array): number {
  const op = lf[Lf.OP];
  const kind = op >> 2, sz = op & 3;
  const hi = sz === 3;
  const a = hi ? lf[Lf.AHI] : lf[Lf.ALO];
  const b = hi ? lf[Lf.BHI] : lf[Lf.BLO];
  const r = hi ? lf[Lf.RHI] : lf[Lf.RLO];
  switch (kind) {
    case Kind.NONE: return (lf[Lf.ARITH] & Fl.OF) ? 1 : 0;
    case Kind.ADD: case Kind.ADC: case Kind.INC: return sign((a ^ r) & (b ^ r), sz);
    case Kind.SUB: case Kind.SBB: case Kind.DEC: return sign((a ^ b) & (a ^ r), sz);
    default: return 0;
  }
}

export function getPF(lf: Int32Array): number {
  if (lf[Lf.OP] < 4) return (lf[Lf.ARITH] & Fl.PF) ? 1 : 0;
  return PARITY[lf[Lf.RLO] & 0xff];
}

export function getAF(lf: Int32Array): number {
  const kind = lf[Lf.OP] >> 2;
  if (kind === Kind.NONE) return (lf[Lf.ARITH] & Fl.AF) ? 1 : 0;
  if (kind === Kind.LOGIC) return 0;
  return ((lf[Lf.ALO] ^ lf[Lf.BLO] ^ lf[Lf.RLO]) >> 4) & 1;
}

/** The six arithmetic flags as RFLAGS bits. */
export function arithFlags(lf: Int32Array): number {
  if (lf[Lf.OP] < 4) return lf[Lf.ARITH];
  return getCF(lf) | (getPF(lf) << 2) | (getAF(lf) << 4) | (getZF(lf) << 6) | (getSF(lf) << 7) | (getOF(lf) << 11);
}

/** Fl.SF Fl.ZF Fl.AF Fl.PF as RFLAGS bits (arithFlags without Fl.CF and Fl.OF, for instructions that keep only these). */
export function szapFlags(lf: Int32Array): number {
  const op = lf[Lf.OP];
  if (op < 4) return lf[Lf.ARITH] & (Fl.PF | Fl.AF | Fl.ZF | Fl.SF);
  // getPF, getAF, getZF and getSF written out: this runs for every multiply.
  const sz = op & 3, res = lf[Lf.RLO];
  let f = PARITY[res & 0xff] << 2;
  if ((op >> 2) !== Kind.LOGIC) f |= (lf[Lf.ALO] ^ lf[Lf.BLO] ^ res) & Fl.AF;
  if (sz === 3) {
    const hi = lf[Lf.RHI];
    if ((res | hi) === 0) f |= Fl.ZF;
    if (hi < 0) f |= Fl.SF;
  } else {
    if ((res & mask(sz)) === 0) f |= Fl.ZF;
    if (sign(res, sz)) f |= Fl.SF;
  }
  return f;
}

/** Fl.CF as an instruction that takes it in (inc/dec keep it) reads it: the common producers without a call. */
export function carryIn(lf: Int32Array): number {
  const kind = lf[Lf.OP] >> 2;
  if (kind === Kind.LOGIC) return 0;
  if (kind === Kind.INC || kind === Kind.DEC) return lf[Lf.CIN];
  return getCF(lf);
}

/** Replaces the arithmetic flags with explicit values (popf, sahf, shifts, mul...). */
export function setArithFlags(lf: Int32Array, bits: number): void {
  lf[Lf.OP] = Kind.NONE;
  lf[Lf.ARITH] = bits & Fl.ARITH;
}

/** Flags of a result computed elsewhere, for instructions that define Fl.CF/Fl.OF themselves (shifts, mul, bt...). */
export function resultFlags(lo: number, hi: number, bits: number): number {
  let f = PARITY[lo & 0xff] << 2;
  if (bits === 64) {
    if ((lo | hi) === 0) f |= Fl.ZF;
    if (hi < 0) f |= Fl.SF;
  } else {
    const m = bits === 32 ? lo : lo & mask(sizeIndex(bits));
    if (m === 0) f |= Fl.ZF;
    if ((lo >>> (bits - 1)) & 1) f |= Fl.SF;
  }
  return f;
}

export function parity(b: number): number {
  return PARITY[b & 0xff];
}

/** Evaluates condition code cc (0..15: o no b ae e ne be a s ns p np l ge le g). */
export function cond(lf: Int32Array, cc: number): boolean {
  const op = lf[Lf.OP];
  // Fast path: after cmp/sub the condition is a direct comparison of the operands.
  if ((op >> 2) === Kind.SUB && cc >= 2 && cc !== 10 && cc !== 11) {
    const sz = op & 3;
    let r: boolean;
    switch (cc >> 1) {
      case 1: r = ltu(lf, lf[Lf.ALO], lf[Lf.AHI], lf[Lf.BLO], lf[Lf.BHI], sz); break; // b
      case 2: r = sz === 3 ? (lf[Lf.RLO] | lf[Lf.RHI]) === 0 : (lf[Lf.RLO] & mask(sz)) === 0; break; // e
      case 3: r = ltu(lf, lf[Lf.ALO], lf[Lf.AHI], lf[Lf.BLO], lf[Lf.BHI], sz) || getZF(lf) === 1; break; // be
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
    const ah = lf[Lf.AHI], bh = lf[Lf.BHI];
    return ah < bh || (ah === bh && (lf[Lf.ALO] >>> 0) < (lf[Lf.BLO] >>> 0));
  }
  if (sz === 2) return lf[Lf.ALO] < lf[Lf.BLO];
  const sh = sz === 0 ? 24 : 16;
  return (lf[Lf.ALO] << sh) < (lf[Lf.BLO] << sh);
}

/**
 * Type feedback for every condition on every kind and size of recorded flags, collected once at load time on a
 * scratch array (so it changes no state). A cold boot meets condition codes and flag kinds one by one, after V8 has
 * optimised cond() and the jcc/setcc/cmov handlers that inline it on the first few: each new pair deoptimised them
 * ("insufficient type feedback", four times in a cold OSv hello). Values cover small and 32-bit-wide operands.
 */
function warmConditions(): void {
  const lf = new Int32Array(Lf.SIZE);
  const values = [0, 1, -1, 0x7fffffff, -0x80000000, 0x12345678];
  for (let kind = Kind.NONE; kind <= Kind.DEC; kind++) {
    for (let sz = 0; sz < 4; sz++) {
      for (let v = 0; v < values.length; v++) {
        lf.fill(values[v]!);
        lf[Lf.ALO] = values[(v + 1) % values.length]!;
        lf[Lf.OP] = (kind << 2) | sz;
        for (let cc = 0; cc < 16; cc++) { cond(lf, cc); getAF(lf); }
      }
    }
  }
}
warmConditions();
