// The eight classic ALU operations (add or adc sbb and sub xor cmp, plus test) on 8/16/32/64-bit
// values, recording lazy flags. 64-bit values come as halves; the result's high half is left in lf[LF_RHI].
import {
  getCF, K_ADC, K_ADD, K_LOGIC, K_SBB, K_SUB, LF_AHI, LF_ALO, LF_BHI, LF_BLO, LF_CIN, LF_OP, LF_RHI, LF_RLO,
} from '../flags.js';

export const OP_ADD = 0, OP_OR = 1, OP_ADC = 2, OP_SBB = 3, OP_AND = 4, OP_SUB = 5, OP_XOR = 6, OP_CMP = 7, OP_TEST = 8;

/** Operations whose result is not written back. */
export function discards(op: number): boolean {
  return op >= OP_CMP;
}

const MASKS = [0xff, 0xffff];

/** 8- or 16-bit ALU (sz 0 or 1); operands zero-extended. */
export function aluSmall(lf: Int32Array, op: number, sz: number, a: number, b: number): number {
  const mask = MASKS[sz];
  let r: number, kind: number;
  switch (op) {
    case OP_ADD: r = a + b; kind = K_ADD; break;
    case OP_OR: r = a | b; kind = K_LOGIC; break;
    case OP_ADC: { const c = getCF(lf); lf[LF_CIN] = c; r = a + b + c; kind = K_ADC; break; }
    case OP_SBB: { const c = getCF(lf); lf[LF_CIN] = c; r = a - b - c; kind = K_SBB; break; }
    case OP_AND: case OP_TEST: r = a & b; kind = K_LOGIC; break;
    case OP_XOR: r = a ^ b; kind = K_LOGIC; break;
    default: r = a - b; kind = K_SUB; break;
  }
  r &= mask;
  lf[LF_OP] = (kind << 2) | sz;
  lf[LF_ALO] = a;
  lf[LF_BLO] = b;
  lf[LF_RLO] = r;
  return r;
}

export function alu32(lf: Int32Array, op: number, a: number, b: number): number {
  let r: number, kind: number;
  switch (op) {
    case OP_ADD: r = (a + b) | 0; kind = K_ADD; break;
    case OP_OR: r = a | b; kind = K_LOGIC; break;
    case OP_ADC: { const c = getCF(lf); lf[LF_CIN] = c; r = (a + b + c) | 0; kind = K_ADC; break; }
    case OP_SBB: { const c = getCF(lf); lf[LF_CIN] = c; r = (a - b - c) | 0; kind = K_SBB; break; }
    case OP_AND: case OP_TEST: r = a & b; kind = K_LOGIC; break;
    case OP_XOR: r = a ^ b; kind = K_LOGIC; break;
    default: r = (a - b) | 0; kind = K_SUB; break;
  }
  lf[LF_OP] = (kind << 2) | 2;
  lf[LF_ALO] = a;
  lf[LF_BLO] = b;
  lf[LF_RLO] = r;
  return r;
}

export function alu64(lf: Int32Array, op: number, aLo: number, aHi: number, bLo: number, bHi: number): number {
  let lo: number, hi: number, kind: number;
  switch (op) {
    case OP_ADD: case OP_ADC: {
      const c = op === OP_ADC ? getCF(lf) : 0;
      lf[LF_CIN] = c;
      const s = (aLo >>> 0) + (bLo >>> 0) + c;
      lo = s | 0;
      hi = (aHi + bHi + (s > 0xffffffff ? 1 : 0)) | 0;
      kind = op === OP_ADC ? K_ADC : K_ADD;
      break;
    }
    case OP_SBB: case OP_SUB: case OP_CMP: {
      const c = op === OP_SBB ? getCF(lf) : 0;
      lf[LF_CIN] = c;
      const s = (aLo >>> 0) - (bLo >>> 0) - c;
      lo = s | 0;
      hi = (aHi - bHi - (s < 0 ? 1 : 0)) | 0;
      kind = op === OP_SBB ? K_SBB : K_SUB;
      break;
    }
    case OP_OR: lo = aLo | bLo; hi = aHi | bHi; kind = K_LOGIC; break;
    case OP_XOR: lo = aLo ^ bLo; hi = aHi ^ bHi; kind = K_LOGIC; break;
    default: lo = aLo & bLo; hi = aHi & bHi; kind = K_LOGIC; break;
  }
  lf[LF_OP] = (kind << 2) | 3;
  lf[LF_ALO] = aLo;
  lf[LF_AHI] = aHi;
  lf[LF_BLO] = bLo;
  lf[LF_BHI] = bHi;
  lf[LF_RLO] = lo;
  lf[LF_RHI] = hi;
  return lo;
}
