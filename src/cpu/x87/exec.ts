// x87 instruction semantics on the X87 state, independent of decoding and memory access: the
// handlers in ops.ts fetch memory operands, call these, and write memory results. Stack faults,
// the masked/unmasked responses and C1 are handled here so every form behaves the same.
//
// Store-type instructions are split into prepare (compute the value into OUT, no state change)
// and commit (flags, pop), so that a page fault on the memory write leaves the FPU untouched.

import { f80ToBcd } from './bcd.js';
import * as F from './f80.js';
import { SW_C1, X87 } from './state.js';

const OUT = F.OUT;

// Arithmetic kinds = the ModRM reg field of D8/DC/DE/DA (com/comp are 2/3).
export const K_ADD = 0;
export const K_MUL = 1;
export const K_COM = 2;
export const K_COMP = 3;
/** A - B where A is ST(0) and B the other operand (register forms: B = ST(i), memory: B = m). */
export const K_SUB = 4;
/** B - A */
export const K_SUBR = 5;
export const K_DIV = 6;
export const K_DIVR = 7;

/** A op B per kind (A = ST(0), B = other). Result in OUT; returns f80 flags. */
function arith(kind: number, ase: number, ahi: number, alo: number, bse: number, bhi: number, blo: number, cw: number): number {
  switch (kind) {
    case K_ADD: return F.f80Add(ase, ahi, alo, bse, bhi, blo, cw, 0);
    case K_MUL: return F.f80Mul(ase, ahi, alo, bse, bhi, blo, cw);
    case K_SUB: return F.f80Add(ase, ahi, alo, bse, bhi, blo, cw, 1);
    case K_SUBR: return F.f80Add(bse, bhi, blo, ase, ahi, alo, cw, 1);
    case K_DIV: return F.f80Div(ase, ahi, alo, bse, bhi, blo, cw);
    default: return F.f80Div(bse, bhi, blo, ase, ahi, alo, cw);
  }
}

/** Swap the denormal mark's operand bits for the reversed kinds (B is the first f80 operand). */
function denMaskFor(kind: number): number {
  return kind === K_SUBR || kind === K_DIVR ? 1 : 2;
}

function writeIndefinite(x: X87, i: number): void {
  x.setSt(i, 0xffff, 0xc0000000, 0);
}

// ---- arithmetic -------------------------------------------------------------------------

/**
 * Register forms: D8 (dest ST0), DC (dest ST(i)), DE (dest ST(i), pop). Kinds 4..7 always mean
 * ST0-ST(i), ST(i)-ST0, ST0/ST(i), ST(i)/ST0 whatever the destination, as the encoding does.
 */
export function arithReg(x: X87, kind: number, i: number, toSti: boolean, pop: boolean): void {
  const p0 = x.phys(0);
  const pi = x.phys(i);
  const dst = toSti ? i : 0;
  if (x.empty[p0] || x.empty[pi]) {
    if (x.stackFault(false)) {
      writeIndefinite(x, dst);
      if (pop) x.pop();
    }
    return;
  }
  const f = arith(kind, x.se[p0], x.hi[p0], x.lo[p0], x.se[pi], x.hi[pi], x.lo[pi], x.cw);
  x.signal(f);
  if (f & F.FL_NORESULT) return;
  x.setSt(dst, OUT[0], OUT[1], OUT[2]);
  if (pop) x.pop();
}

/**
 * ST0 = ST0 op m, with the memory operand already converted to 80 bits (exactly; SNaN kept
 * signalling) and `den` = 1 when it was a float32/float64 denormal.
 */
export function arithMem(x: X87, kind: number, mse: number, mhi: number, mlo: number, den: number): void {
  const p0 = x.phys(0);
  if (x.empty[p0]) {
    if (x.stackFault(false)) writeIndefinite(x, 0);
    return;
  }
  F.markDenormal(den ? denMaskFor(kind) : 0);
  const f = arith(kind, x.se[p0], x.hi[p0], x.lo[p0], mse, mhi, mlo, x.cw);
  x.signal(f);
  if (f & F.FL_NORESULT) return;
  x.setSt(0, OUT[0], OUT[1], OUT[2]);
}

/** Single-operand ST0 operations. */
export const U_SQRT = 0;
export const U_RNDINT = 1;
export const U_CHS = 2;
export const U_ABS = 3;

export function unaryOp(x: X87, kind: number): void {
  const p0 = x.phys(0);
  if (x.empty[p0]) {
    if (x.stackFault(false)) writeIndefinite(x, 0);
    return;
  }
  const se = x.se[p0];
  if (kind === U_CHS || kind === U_ABS) {
    x.se[p0] = kind === U_CHS ? se ^ 0x8000 : se & 0x7fff;
    x.sw &= ~SW_C1;
    return;
  }
  const f = kind === U_SQRT ? F.f80Sqrt(se, x.hi[p0], x.lo[p0], x.cw) : F.f80RoundInt(se, x.hi[p0], x.lo[p0], x.cw);
  x.signal(f);
  if (f & F.FL_NORESULT) return;
  x.setSt(0, OUT[0], OUT[1], OUT[2]);
}

export function fscale(x: X87): void {
  const p0 = x.phys(0);
  const p1 = x.phys(1);
  if (x.empty[p0] || x.empty[p1]) {
    if (x.stackFault(false)) writeIndefinite(x, 0);
    return;
  }
  const f = F.f80Scale(x.se[p0], x.hi[p0], x.lo[p0], x.se[p1], x.hi[p1], x.lo[p1], x.cw);
  x.signal(f);
  if (f & F.FL_NORESULT) return;
  x.setSt(0, OUT[0], OUT[1], OUT[2]);
}

/** FPREM / FPREM1: ST0 = remainder of ST0 / ST1, quotient bits (or "incomplete") in C0-C3. */
export function fprem(x: X87, round: boolean): void {
  const p0 = x.phys(0);
  const p1 = x.phys(1);
  if (x.empty[p0] || x.empty[p1]) {
    x.sw &= ~F.FL_C2;
    if (x.stackFault(false)) writeIndefinite(x, 0);
    return;
  }
  const f = F.f80Prem(x.se[p0], x.hi[p0], x.lo[p0], x.se[p1], x.hi[p1], x.lo[p1], x.cw, round);
  x.signalKeepC1(f & 0x3f);
  if (f & (F.PREM_NO_Q | F.FL_NORESULT)) x.sw &= ~(F.FL_C1 | F.FL_C2);
  else x.sw = (x.sw & ~(F.FL_C0 | F.FL_C1 | F.FL_C2 | F.FL_C3)) | (f & (F.FL_C0 | F.FL_C1 | F.FL_C2 | F.FL_C3));
  if (f & F.FL_NORESULT) return;
  x.setSt(0, OUT[0], OUT[1], OUT[2]);
}

/** FXTRACT: ST0 = exponent, then push the significand. */
export function fxtract(x: X87): void {
  const p0 = x.phys(0);
  if (x.empty[p0]) {
    if (x.stackFault(false)) {
      writeIndefinite(x, 0);
      if (pushRoom(x)) x.push(0xffff, 0xc0000000, 0);
    }
    return;
  }
  if (!x.empty[(x.top - 1) & 7]) {
    if (x.stackFault(true)) {
      writeIndefinite(x, 0);
      x.push(0xffff, 0xc0000000, 0);
    }
    return;
  }
  const f = F.f80Extract(x.se[p0], x.hi[p0], x.lo[p0], x.cw);
  x.signal(f);
  if (f & F.FL_NORESULT) return;
  x.setSt(0, F.XT[0], F.XT[1], F.XT[2]);
  x.push(OUT[0], OUT[1], OUT[2]);
}

// ---- compares ---------------------------------------------------------------------------

/**
 * Compare ST0 with ST(i) (or with the value in (bse,bhi,blo) when i < 0). Sets IE/DE, clears C1
 * and returns the condition bits (FL_C0/C2/C3) for FCOMI-style callers; for FCOM-style callers
 * (`toCc`) also stores them in C0/C2/C3. Pops `pops` times afterwards. Returns -1 when an
 * unmasked stack fault happened (FCOMI then reports "unordered").
 */
export function compare(
  x: X87, i: number, bse: number, bhi: number, blo: number, den: number, quiet: boolean, toCc: boolean, pops: number,
): number {
  const p0 = x.phys(0);
  let cc: number;
  if (x.empty[p0] || (i >= 0 && x.empty[x.phys(i)])) {
    const masked = x.stackFault(false);
    x.sw &= ~SW_C1;
    cc = F.FL_C0 | F.FL_C2 | F.FL_C3; // "unordered", even when the fault is unmasked
    if (!masked) {
      if (toCc) x.setCc(cc);
      return -1; // ...but then nothing is popped
    }
  } else {
    if (i >= 0) {
      const pi = x.phys(i);
      bse = x.se[pi];
      bhi = x.hi[pi];
      blo = x.lo[pi];
    }
    F.markDenormal(den ? 2 : 0);
    const f = F.f80Compare(x.se[p0], x.hi[p0], x.lo[p0], bse, bhi, blo, x.cw, quiet);
    // FCOM* clear C1; FCOMI* leave it alone
    x.signalKeepC1(f & 0x3f);
    if (toCc) x.sw &= ~SW_C1;
    cc = f & (F.FL_C0 | F.FL_C2 | F.FL_C3);
    if (toCc) x.setCc(cc);
    if (!(f & ~x.cw & 0x3f)) for (let k = 0; k < pops; k++) x.pop(); // unmasked IE/DE: no pop
    return cc;
  }
  if (toCc) x.setCc(cc);
  for (let k = 0; k < pops; k++) x.pop();
  return cc;
}

export function fxam(x: X87): void {
  const p0 = x.phys(0);
  let cc: number;
  if (x.empty[p0]) cc = F.FXAM_EMPTY | (x.se[p0] & 0x8000 ? F.FL_C1 : 0);
  else cc = F.f80Examine(x.se[p0], x.hi[p0], x.lo[p0]);
  x.sw = (x.sw & ~(F.FL_C0 | F.FL_C1 | F.FL_C2 | F.FL_C3)) | cc;
}

// ---- loads ------------------------------------------------------------------------------

/** Stack-overflow check before a push; returns false when the push must not proceed normally. */
function pushRoom(x: X87): boolean {
  if (!x.empty[(x.top - 1) & 7]) {
    if (x.stackFault(true)) x.push(0xffff, 0xc0000000, 0);
    return false;
  }
  return true;
}

/** Push an 80-bit value loaded without conversion (FLD m80, FILD, constants). */
export function pushRaw(x: X87, se: number, hi: number, lo: number): void {
  if (!pushRoom(x)) return;
  x.sw &= ~SW_C1;
  x.push(se, hi, lo);
}

/** FLD m32 / m64: `f` is the conversion's flag word, the value is in OUT. */
export function pushConverted(x: X87, f: number): void {
  if (!pushRoom(x)) return;
  x.signal(f);
  if (f & F.FL_NORESULT) return;
  x.push(OUT[0], OUT[1], OUT[2]);
}

/** FLD ST(i). */
export function fldSt(x: X87, i: number): void {
  const pi = x.phys(i);
  if (x.empty[pi]) {
    // underflow reading ST(i); also an overflow when the push slot is full: underflow wins the C1
    if (x.stackFault(false)) x.push(0xffff, 0xc0000000, 0);
    return;
  }
  pushRaw(x, x.se[pi], x.hi[pi], x.lo[pi]);
}

export function fldConst(x: X87, k: number): void {
  if (!pushRoom(x)) return;
  F.f80Const(k, x.cw);
  x.sw &= ~SW_C1;
  x.push(OUT[0], OUT[1], OUT[2]);
}

// ---- stores -----------------------------------------------------------------------------
export const ST_F32 = 0;
export const ST_F64 = 1;
export const ST_F80 = 2;
export const ST_I16 = 3;
export const ST_I32 = 4;
export const ST_I64 = 5;
export const ST_I16T = 6; // FISTTP
export const ST_I32T = 7;
export const ST_I64T = 8;
export const ST_BCD = 9; // FBSTP: the 10-byte image in OUT like ST_F80

/**
 * Compute the memory image of ST0 for a store into OUT (f32/i16/i32 in OUT[2], f64/i64 in
 * OUT[1]:OUT[2], f80 as se:hi:lo). Returns the flag word; FL_NORESULT = do not write memory.
 * An empty ST0 yields the masked stack-fault response (the format's indefinite) or NORESULT.
 */
export function storePrepare(x: X87, fmt: number): number {
  const p0 = x.phys(0);
  if (x.empty[p0]) {
    if (!(x.cw & F.FL_IE)) return F.FL_IE | F.FL_NORESULT | STACK_FAULT;
    storeIndefinite(fmt);
    return F.FL_IE | STACK_FAULT;
  }
  const se = x.se[p0];
  const hi = x.hi[p0];
  const lo = x.lo[p0];
  switch (fmt) {
    case ST_F32: return F.f80ToF32(se, hi, lo, x.cw);
    case ST_F64: return F.f80ToF64(se, hi, lo, x.cw);
    case ST_F80: OUT[0] = se; OUT[1] = hi; OUT[2] = lo; return 0;
    case ST_I16: return F.f80ToInt(se, hi, lo, x.cw, 16, false);
    case ST_I32: return F.f80ToInt(se, hi, lo, x.cw, 32, false);
    case ST_I64: return F.f80ToInt(se, hi, lo, x.cw, 64, false);
    case ST_I16T: return F.f80ToInt(se, hi, lo, x.cw, 16, true);
    case ST_I32T: return F.f80ToInt(se, hi, lo, x.cw, 32, true);
    case ST_BCD: return f80ToBcd(se, hi, lo, x.cw);
    default: return F.f80ToInt(se, hi, lo, x.cw, 64, true);
  }
}

/** Internal marker in a storePrepare result: the IE came from an empty ST0. */
const STACK_FAULT = 0x20000;

function storeIndefinite(fmt: number): void {
  OUT[0] = 0;
  OUT[1] = 0;
  OUT[2] = 0;
  switch (fmt) {
    case ST_F32: OUT[2] = 0xffc00000; break;
    case ST_F64: OUT[1] = 0xfff80000; break;
    case ST_F80: case ST_BCD: OUT[0] = 0xffff; OUT[1] = 0xc0000000; break; // same bytes for both
    case ST_I16: case ST_I16T: OUT[2] = 0x8000; break;
    case ST_I32: case ST_I32T: OUT[2] = 0x80000000; break;
    default: OUT[1] = 0x80000000; break;
  }
}

/** After the memory write (or instead of it when NORESULT): flags, then the pop. */
export function storeCommit(x: X87, f: number, pop: boolean): void {
  if (f & STACK_FAULT) {
    if (x.stackFault(false) && pop) x.pop();
    return;
  }
  x.signal(f);
  if (f & F.FL_NORESULT) return;
  if (pop) x.pop();
}

/** FST/FSTP ST(i). */
export function fstSt(x: X87, i: number, pop: boolean): void {
  const p0 = x.phys(0);
  if (x.empty[p0]) {
    if (x.stackFault(false)) {
      writeIndefinite(x, i);
      if (pop) x.pop();
    }
    return;
  }
  x.sw &= ~SW_C1;
  x.setSt(i, x.se[p0], x.hi[p0], x.lo[p0]);
  if (pop) x.pop();
}

/** D9 D8+i (undocumented FSTP1): like FSTP ST(i), but with an empty ST0 it only pops, silently. */
export function fstp1(x: X87, i: number): void {
  if (!x.empty[x.phys(0)]) {
    fstSt(x, i, true);
  } else {
    x.sw &= ~SW_C1;
    x.pop();
  }
}

// ---- stack management -------------------------------------------------------------------

export function fxch(x: X87, i: number): void {
  const p0 = x.phys(0);
  const pi = x.phys(i);
  if (x.empty[p0] || x.empty[pi]) {
    if (!x.stackFault(false)) return;
    if (x.empty[p0]) writeIndefinite(x, 0);
    if (x.empty[pi]) writeIndefinite(x, i);
  } else {
    x.sw &= ~SW_C1;
  }
  const se = x.se[p0], hi = x.hi[p0], lo = x.lo[p0];
  x.se[p0] = x.se[pi]; x.hi[p0] = x.hi[pi]; x.lo[p0] = x.lo[pi];
  x.se[pi] = se; x.hi[pi] = hi; x.lo[pi] = lo;
}

/** FCMOVcc: copy ST(i) to ST0 when `cond` holds. */
export function fcmov(x: X87, i: number, cond: boolean): void {
  const p0 = x.phys(0);
  const pi = x.phys(i);
  if (x.empty[p0] || x.empty[pi]) {
    if (x.stackFault(false)) writeIndefinite(x, 0);
    return;
  }
  if (cond) x.setSt(0, x.se[pi], x.hi[pi], x.lo[pi]); // C1 is left alone (unlike most ops)
}

export function ffree(x: X87, i: number): void {
  x.empty[x.phys(i)] = 1;
  x.sw &= ~SW_C1; // documented as undefined; the hardware clears it
}

export function fincstp(x: X87): void {
  x.top = (x.top + 1) & 7;
  x.sw &= ~SW_C1;
}

export function fdecstp(x: X87): void {
  x.top = (x.top - 1) & 7;
  x.sw &= ~SW_C1;
}

/** FNCLEX: clears the exception flags, SF, ES and B (condition codes are kept). */
export function fnclex(x: X87): void {
  x.sw &= ~0x80ff;
}

// ---- transcendental approximations ---------------------------------------------------------
// Not used by the OSv kernel: implemented through doubles so programs that use them still run,
// with results that can differ from hardware in the last bits (and no exact flag reporting).

const D = new Float64Array(1);
const DU = new Uint32Array(D.buffer);

function st0AsDouble(x: X87, i: number): number {
  const p = x.phys(i);
  F.f80ToF64(x.se[p], x.hi[p], x.lo[p], x.cw & ~0xc00 | 0x3f);
  DU[0] = OUT[2];
  DU[1] = OUT[1];
  return D[0];
}

function setFromDouble(x: X87, i: number, v: number): void {
  D[0] = v;
  F.f80FromF64(DU[1], DU[0], 0x3f);
  x.setSt(i, OUT[0], OUT[1], OUT[2]);
}

export const T_F2XM1 = 0;
export const T_FYL2X = 1;
export const T_FPTAN = 2;
export const T_FPATAN = 3;
export const T_FSIN = 4;
export const T_FCOS = 5;
export const T_FSINCOS = 6;
export const T_FYL2XP1 = 7;

export function transcendental(x: X87, kind: number): void {
  const two = kind === T_FYL2X || kind === T_FPATAN || kind === T_FYL2XP1;
  if (x.empty[x.phys(0)] || (two && x.empty[x.phys(1)])) {
    if (x.stackFault(false)) writeIndefinite(x, two ? 1 : 0);
    if (two) x.pop();
    return;
  }
  const a = st0AsDouble(x, 0);
  x.sw &= ~(SW_C1 | F.FL_C2);
  if ((kind === T_FSIN || kind === T_FCOS || kind === T_FPTAN || kind === T_FSINCOS) && !(Math.abs(a) < 2 ** 63)) {
    // out of range (or NaN/inf, approximated the same way): operand unchanged, C2 = 1
    if (Math.abs(a) >= 2 ** 63) {
      x.sw |= F.FL_C2;
      return;
    }
  }
  switch (kind) {
    case T_F2XM1: setFromDouble(x, 0, Math.expm1(a * Math.LN2)); break;
    case T_FYL2X: setFromDouble(x, 1, st0AsDouble(x, 1) * Math.log2(a)); x.pop(); break;
    case T_FYL2XP1: setFromDouble(x, 1, (st0AsDouble(x, 1) * Math.log1p(a)) / Math.LN2); x.pop(); break;
    case T_FPATAN: setFromDouble(x, 1, Math.atan2(st0AsDouble(x, 1), a)); x.pop(); break;
    case T_FSIN: setFromDouble(x, 0, Math.sin(a)); break;
    case T_FCOS: setFromDouble(x, 0, Math.cos(a)); break;
    case T_FPTAN:
      setFromDouble(x, 0, Math.tan(a));
      if (pushRoom(x)) x.push(0x3fff, 0x80000000, 0);
      break;
    default: {
      // FSINCOS: ST0 = sin, then push cos
      setFromDouble(x, 0, Math.sin(a));
      if (pushRoom(x)) {
        D[0] = Math.cos(a);
        F.f80FromF64(DU[1], DU[0], 0x3f);
        x.push(OUT[0], OUT[1], OUT[2]);
      }
      break;
    }
  }
  x.sw |= F.FL_PE;
}
