// The eight classic ALU operations (add or adc sbb and sub xor cmp, plus test) on 8/16/32/64-bit
// values, recording lazy flags. 64-bit values come as halves; the result's high half is left in lf[Lf.RHI].
import { getCF, Kind, Lf } from '../flags.js';

/** The ALU operations (ModRM reg field order, then test): a const enum so that tsc writes the numbers (see flags.ts Lf). */
export const enum AluOp { ADD = 0, OR = 1, ADC = 2, SBB = 3, AND = 4, SUB = 5, XOR = 6, CMP = 7, TEST = 8 }
export const OP_ADD = AluOp.ADD, OP_OR = AluOp.OR, OP_ADC = AluOp.ADC, OP_SBB = AluOp.SBB, OP_AND = AluOp.AND;
export const OP_SUB = AluOp.SUB, OP_XOR = AluOp.XOR, OP_CMP = AluOp.CMP, OP_TEST = AluOp.TEST;

/** Operations whose result is not written back. */
export function discards(op: number): boolean {
  return op >= AluOp.CMP;
}

/** 8- or 16-bit ALU (sz 0 or 1); operands zero-extended. */
export function aluSmall(lf: Int32Array, op: number, sz: number, a: number, b: number): number {
  const mask = sz === 0 ? 0xff : 0xffff;
  let r: number, kind: number;
  switch (op) {
    case AluOp.ADD: r = a + b; kind = Kind.ADD; break;
    case AluOp.OR: r = a | b; kind = Kind.LOGIC; break;
    case AluOp.ADC: { const c = getCF(lf); lf[Lf.CIN] = c; r = a + b + c; kind = Kind.ADC; break; }
    case AluOp.SBB: { const c = getCF(lf); lf[Lf.CIN] = c; r = a - b - c; kind = Kind.SBB; break; }
    case AluOp.AND: case AluOp.TEST: r = a & b; kind = Kind.LOGIC; break;
    case AluOp.XOR: r = a ^ b; kind = Kind.LOGIC; break;
    default: r = a - b; kind = Kind.SUB; break;
  }
  r &= mask;
  lf[Lf.OP] = (kind << 2) | sz;
  lf[Lf.ALO] = a;
  lf[Lf.BLO] = b;
  lf[Lf.RLO] = r;
  return r;
}

export function alu32(lf: Int32Array, op: number, a: number, b: number): number {
  let r: number, kind: number;
  switch (op) {
    case AluOp.ADD: r = (a + b) | 0; kind = Kind.ADD; break;
    case AluOp.OR: r = a | b; kind = Kind.LOGIC; break;
    case AluOp.ADC: { const c = getCF(lf); lf[Lf.CIN] = c; r = (a + b + c) | 0; kind = Kind.ADC; break; }
    case AluOp.SBB: { const c = getCF(lf); lf[Lf.CIN] = c; r = (a - b - c) | 0; kind = Kind.SBB; break; }
    case AluOp.AND: case AluOp.TEST: r = a & b; kind = Kind.LOGIC; break;
    case AluOp.XOR: r = a ^ b; kind = Kind.LOGIC; break;
    default: r = (a - b) | 0; kind = Kind.SUB; break;
  }
  lf[Lf.OP] = (kind << 2) | 2;
  lf[Lf.ALO] = a;
  lf[Lf.BLO] = b;
  lf[Lf.RLO] = r;
  return r;
}

export function alu64(lf: Int32Array, op: number, aLo: number, aHi: number, bLo: number, bHi: number): number {
  let lo: number, hi: number, kind: number;
  switch (op) {
    case AluOp.ADD: case AluOp.ADC: {
      const c = op === AluOp.ADC ? getCF(lf) : 0;
      lf[Lf.CIN] = c;
      const s = (aLo >>> 0) + (bLo >>> 0) + c;
      lo = s | 0;
      hi = (aHi + bHi + (s > 0xffffffff ? 1 : 0)) | 0;
      kind = op === AluOp.ADC ? Kind.ADC : Kind.ADD;
      break;
    }
    case AluOp.SBB: case AluOp.SUB: case AluOp.CMP: {
      const c = op === AluOp.SBB ? getCF(lf) : 0;
      lf[Lf.CIN] = c;
      const s = (aLo >>> 0) - (bLo >>> 0) - c;
      lo = s | 0;
      hi = (aHi - bHi - (s < 0 ? 1 : 0)) | 0;
      kind = op === AluOp.SBB ? Kind.SBB : Kind.SUB;
      break;
    }
    case AluOp.OR: lo = aLo | bLo; hi = aHi | bHi; kind = Kind.LOGIC; break;
    case AluOp.XOR: lo = aLo ^ bLo; hi = aHi ^ bHi; kind = Kind.LOGIC; break;
    default: lo = aLo & bLo; hi = aHi & bHi; kind = Kind.LOGIC; break;
  }
  lf[Lf.OP] = (kind << 2) | 3;
  lf[Lf.ALO] = aLo;
  lf[Lf.AHI] = aHi;
  lf[Lf.BLO] = bLo;
  lf[Lf.BHI] = bHi;
  lf[Lf.RLO] = lo;
  lf[Lf.RHI] = hi;
  return lo;
}
