// Lane arithmetic of the packed-integer instructions. Each function combines the destination register
// (cpu.xmm views, at register index n) with the source operand staged in the scratch S slot and writes the
// destination in place. Sub-operation selectors are fixed at decode time (Insn.op).
import type { Cpu } from '../cpu.js';
import { S, T, W, WU16, WU8 } from './sse-state.js';

export const I_ADD = 0, I_SUB = 1, I_ADDS = 2, I_ADDUS = 3, I_SUBS = 4, I_SUBUS = 5, I_CMPEQ = 6, I_CMPGT = 7;
export const I_MINU = 8, I_MAXU = 9, I_MINS = 10, I_MAXS = 11, I_AVG = 12, I_MULLO = 13, I_MULHI = 14;
export const I_MULHU = 15, I_ABS = 16;

const SB = 4 * S; // byte offset of the staged source
const SW = 2 * S; // 16-bit-word offset of the staged source

const sx8 = (v: number) => (v << 24) >> 24;
const sx16 = (v: number) => (v << 16) >> 16;
const sat8 = (v: number) => (v > 127 ? 127 : v < -128 ? -128 : v);
const sat16 = (v: number) => (v > 32767 ? 32767 : v < -32768 ? -32768 : v);
const satU8 = (v: number) => (v > 255 ? 255 : v < 0 ? 0 : v);
const satU16 = (v: number) => (v > 65535 ? 65535 : v < 0 ? 0 : v);

export function bytesOp(cpu: Cpu, n: number, op: number): void {
  const x = cpu.xmmU8, d = 16 * n;
  for (let k = 0; k < 16; k++) {
    const a = x[d + k], b = WU8[SB + k];
    let r: number;
    switch (op) {
      case I_ADD: r = a + b; break;
      case I_SUB: r = a - b; break;
      case I_ADDS: r = sat8(sx8(a) + sx8(b)); break;
      case I_ADDUS: r = satU8(a + b); break;
      case I_SUBS: r = sat8(sx8(a) - sx8(b)); break;
      case I_SUBUS: r = satU8(a - b); break;
      case I_CMPEQ: r = a === b ? 0xff : 0; break;
      case I_CMPGT: r = sx8(a) > sx8(b) ? 0xff : 0; break;
      case I_MINU: r = a < b ? a : b; break;
      case I_MAXU: r = a > b ? a : b; break;
      case I_MINS: r = sx8(a) < sx8(b) ? a : b; break;
      case I_MAXS: r = sx8(a) > sx8(b) ? a : b; break;
      case I_AVG: r = (a + b + 1) >> 1; break;
      default: r = Math.abs(sx8(b)); break; // I_ABS
    }
    x[d + k] = r;
  }
}

export function wordsOp(cpu: Cpu, n: number, op: number): void {
  const x = cpu.xmmU16, d = 8 * n;
  for (let k = 0; k < 8; k++) {
    const a = x[d + k], b = WU16[SW + k];
    let r: number;
    switch (op) {
      case I_ADD: r = a + b; break;
      case I_SUB: r = a - b; break;
      case I_ADDS: r = sat16(sx16(a) + sx16(b)); break;
      case I_ADDUS: r = satU16(a + b); break;
      case I_SUBS: r = sat16(sx16(a) - sx16(b)); break;
      case I_SUBUS: r = satU16(a - b); break;
      case I_CMPEQ: r = a === b ? 0xffff : 0; break;
      case I_CMPGT: r = sx16(a) > sx16(b) ? 0xffff : 0; break;
      case I_MINU: r = a < b ? a : b; break;
      case I_MAXU: r = a > b ? a : b; break;
      case I_MINS: r = sx16(a) < sx16(b) ? a : b; break;
      case I_MAXS: r = sx16(a) > sx16(b) ? a : b; break;
      case I_AVG: r = (a + b + 1) >> 1; break;
      case I_MULLO: r = Math.imul(a, b); break;
      case I_MULHI: r = (sx16(a) * sx16(b)) >> 16; break;
      case I_MULHU: r = (a * b) >>> 16; break;
      default: r = Math.abs(sx16(b)); break; // I_ABS
    }
    x[d + k] = r;
  }
}

export function dwordsOp(cpu: Cpu, n: number, op: number): void {
  const x = cpu.xmm, d = 4 * n;
  for (let k = 0; k < 4; k++) {
    const a = x[d + k], b = W[S + k];
    let r: number;
    switch (op) {
      case I_ADD: r = (a + b) | 0; break;
      case I_SUB: r = (a - b) | 0; break;
      case I_CMPEQ: r = a === b ? -1 : 0; break;
      case I_CMPGT: r = a > b ? -1 : 0; break;
      case I_MINU: r = (a >>> 0) < (b >>> 0) ? a : b; break;
      case I_MAXU: r = (a >>> 0) > (b >>> 0) ? a : b; break;
      case I_MINS: r = a < b ? a : b; break;
      case I_MAXS: r = a > b ? a : b; break;
      case I_MULLO: r = Math.imul(a, b); break;
      default: r = Math.abs(b) | 0; break; // I_ABS
    }
    x[d + k] = r;
  }
}

export function qwordsOp(cpu: Cpu, n: number, op: number): void {
  const x = cpu.xmm;
  for (let k = 0; k < 4; k += 2) {
    const d = 4 * n + k;
    const al = x[d], ah = x[d + 1], bl = W[S + k], bh = W[S + k + 1];
    switch (op) {
      case I_ADD: {
        const lo = (al >>> 0) + (bl >>> 0);
        x[d] = lo | 0; x[d + 1] = (ah + bh + (lo > 0xffffffff ? 1 : 0)) | 0;
        break;
      }
      case I_SUB: {
        const borrow = (al >>> 0) < (bl >>> 0) ? 1 : 0;
        x[d] = (al - bl) | 0; x[d + 1] = (ah - bh - borrow) | 0;
        break;
      }
      case I_CMPEQ: { const m = al === bl && ah === bh ? -1 : 0; x[d] = m; x[d + 1] = m; break; }
      default: { // I_CMPGT, signed
        const m = ah > bh || (ah === bh && (al >>> 0) > (bl >>> 0)) ? -1 : 0;
        x[d] = m; x[d + 1] = m;
      }
    }
  }
}

/** Unsigned 32x32 -> 64-bit product; low half returned, high half in mulHi. */
export let mulHi = 0;
export function mulU32(a: number, b: number): number {
  a >>>= 0; b >>>= 0;
  const al = a & 0xffff, ah = a >>> 16, bl = b & 0xffff, bh = b >>> 16;
  const ll = al * bl, lh = al * bh, hl = ah * bl;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  mulHi = (ah * bh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) | 0;
  return Math.imul(a, b);
}

/** pmuludq (signed = false) / pmuldq (signed = true): dwords 0 and 2 into two 64-bit products. */
export function pmuludq(cpu: Cpu, n: number, signed: boolean): void {
  const x = cpu.xmm, d = 4 * n;
  for (let k = 0; k < 4; k += 2) {
    const a = x[d + k], b = W[S + k];
    const lo = mulU32(a, b);
    let hi = mulHi;
    if (signed) { // two's-complement correction of the unsigned product
      if (a < 0) hi = (hi - b) | 0;
      if (b < 0) hi = (hi - a) | 0;
    }
    x[d + k] = lo; x[d + k + 1] = hi;
  }
}

export function pmaddwd(cpu: Cpu, n: number): void {
  const x = cpu.xmm, h = cpu.xmmU16, d = 8 * n;
  for (let k = 0; k < 4; k++) {
    const p = sx16(h[d + 2 * k]) * sx16(WU16[SW + 2 * k]) + sx16(h[d + 2 * k + 1]) * sx16(WU16[SW + 2 * k + 1]);
    x[4 * n + k] = p | 0;
  }
}

export function psadbw(cpu: Cpu, n: number): void {
  const b = cpu.xmmU8, x = cpu.xmm, d = 16 * n;
  for (let q = 0; q < 2; q++) {
    let sum = 0;
    for (let k = 0; k < 8; k++) sum += Math.abs(b[d + 8 * q + k] - WU8[SB + 8 * q + k]);
    x[4 * n + 2 * q] = sum; x[4 * n + 2 * q + 1] = 0;
  }
}

// ---- logic ----
export const L_AND = 0, L_ANDN = 1, L_OR = 2, L_XOR = 3;
export function logicOp(cpu: Cpu, n: number, op: number): void {
  const x = cpu.xmm, d = 4 * n;
  for (let k = 0; k < 4; k++) {
    const a = x[d + k], b = W[S + k];
    x[d + k] = op === L_AND ? a & b : op === L_ANDN ? ~a & b : op === L_OR ? a | b : a ^ b;
  }
}

// ---- shifts: by an immediate or by the 64-bit count in the source's low quadword ----
export const SH_SRL = 0, SH_SRA = 1, SH_SLL = 2;

/** Shift count from the staged source: low 64 bits, saturated to 255. */
export function stagedCount(): number {
  return W[S + 1] !== 0 || (W[S] >>> 0) > 255 ? 255 : W[S];
}

export function shiftWords(cpu: Cpu, n: number, kind: number, c: number): void {
  const x = cpu.xmmU16, d = 8 * n;
  for (let k = 0; k < 8; k++) {
    const v = x[d + k];
    if (kind === SH_SRA) x[d + k] = sx16(v) >> (c > 15 ? 15 : c);
    else if (c > 15) x[d + k] = 0;
    else x[d + k] = kind === SH_SRL ? v >>> c : v << c;
  }
}

export function shiftDwords(cpu: Cpu, n: number, kind: number, c: number): void {
  const x = cpu.xmm, d = 4 * n;
  for (let k = 0; k < 4; k++) {
    const v = x[d + k];
    if (kind === SH_SRA) x[d + k] = v >> (c > 31 ? 31 : c);
    else if (c > 31) x[d + k] = 0;
    else x[d + k] = kind === SH_SRL ? v >>> c : v << c;
  }
}

export function shiftQwords(cpu: Cpu, n: number, kind: number, c: number): void {
  const x = cpu.xmm;
  for (let k = 0; k < 4; k += 2) {
    const d = 4 * n + k;
    const lo = x[d], hi = x[d + 1];
    if (c > 63) { x[d] = 0; x[d + 1] = 0; }
    else if (c === 0) { /* unchanged */ }
    else if (kind === SH_SRL) {
      if (c >= 32) { x[d] = hi >>> (c - 32); x[d + 1] = 0; }
      else { x[d] = (lo >>> c) | (hi << (32 - c)); x[d + 1] = hi >>> c; }
    } else if (c >= 32) { x[d + 1] = lo << (c - 32); x[d] = 0; }
    else { x[d + 1] = (hi << c) | (lo >>> (32 - c)); x[d] = lo << c; }
  }
}

/** psrldq (right = true) / pslldq by c bytes. */
export function shiftBytes(cpu: Cpu, n: number, right: boolean, c: number): void {
  const b = cpu.xmmU8, d = 16 * n;
  for (let k = 0; k < 16; k++) WU8[4 * T + k] = b[d + k];
  for (let k = 0; k < 16; k++) {
    const from = right ? k + c : k - c;
    b[d + k] = from >= 0 && from < 16 ? WU8[4 * T + from] : 0;
  }
}

// ---- packs and unpacks ----
export const P_SSWB = 0, P_USWB = 1, P_SSDW = 2, P_USDW = 3;
/** Packs the destination's then the source's elements with saturation into the destination. */
export function pack(cpu: Cpu, n: number, kind: number): void {
  const x = cpu.xmm, d = 4 * n;
  for (let k = 0; k < 4; k++) W[T + k] = x[d + k];
  if (kind === P_SSWB || kind === P_USWB) {
    const b = cpu.xmmU8, db = 16 * n;
    for (let k = 0; k < 16; k++) {
      const w = sx16(k < 8 ? WU16[2 * T + k] : WU16[SW + k - 8]);
      b[db + k] = kind === P_SSWB ? sat8(w) : satU8(w);
    }
  } else {
    const h = cpu.xmmU16, dh = 8 * n;
    for (let k = 0; k < 8; k++) {
      const v = k < 4 ? W[T + k] : W[S + k - 4];
      h[dh + k] = kind === P_SSDW ? sat16(v) : satU16(v);
    }
  }
}

/** punpckl/h: interleaves elements of `size` bytes from the low (high = false) or high halves. */
export function unpack(cpu: Cpu, n: number, size: number, high: boolean): void {
  const b = cpu.xmmU8, d = 16 * n;
  for (let k = 0; k < 16; k++) WU8[4 * T + k] = b[d + k];
  const base = high ? 8 : 0;
  let o = 0;
  for (let e = 0; e < 8 / size; e++) {
    for (let k = 0; k < size; k++) b[d + o++] = WU8[4 * T + base + e * size + k];
    for (let k = 0; k < size; k++) b[d + o++] = WU8[SB + base + e * size + k];
  }
}

// ---- shuffles ----
export function pshufd(cpu: Cpu, n: number, imm: number): void {
  const x = cpu.xmm, d = 4 * n;
  const a = W[S + (imm & 3)], b = W[S + ((imm >> 2) & 3)], c = W[S + ((imm >> 4) & 3)], e = W[S + ((imm >> 6) & 3)];
  x[d] = a; x[d + 1] = b; x[d + 2] = c; x[d + 3] = e;
}

/** pshuflw (high = false) / pshufhw: shuffles four words of one half, copies the other half. */
export function pshufw4(cpu: Cpu, n: number, imm: number, high: boolean): void {
  const h = cpu.xmmU16, d = 8 * n;
  const src = SW + (high ? 4 : 0), keep = SW + (high ? 0 : 4), o = high ? 4 : 0, ko = high ? 0 : 4;
  const w0 = WU16[src + (imm & 3)], w1 = WU16[src + ((imm >> 2) & 3)];
  const w2 = WU16[src + ((imm >> 4) & 3)], w3 = WU16[src + ((imm >> 6) & 3)];
  for (let k = 0; k < 4; k++) h[d + ko + k] = WU16[keep + k];
  h[d + o] = w0; h[d + o + 1] = w1; h[d + o + 2] = w2; h[d + o + 3] = w3;
}

export function pshufb(cpu: Cpu, n: number): void {
  const b = cpu.xmmU8, d = 16 * n;
  for (let k = 0; k < 16; k++) WU8[4 * T + k] = b[d + k];
  for (let k = 0; k < 16; k++) {
    const s = WU8[SB + k];
    b[d + k] = (s & 0x80) !== 0 ? 0 : WU8[4 * T + (s & 15)];
  }
}

/**
 * palignr: bytes imm..imm+15 of the 32-byte concatenation destination:source (source low). The staged source
 * (words S..S+3) is followed by a copy of the destination (T..T+3) and zeros, so the concatenation is
 * contiguous in the scratch buffer. Hot in memcpy: whole-dword shifts copy words.
 */
export function palignr(cpu: Cpu, n: number, imm: number): void {
  const x = cpu.xmm, d = 4 * n;
  W[T] = x[d]; W[T + 1] = x[d + 1]; W[T + 2] = x[d + 2]; W[T + 3] = x[d + 3];
  W[T + 4] = 0; W[T + 5] = 0; W[T + 6] = 0; W[T + 7] = 0;
  if (imm >= 32) { x[d] = 0; x[d + 1] = 0; x[d + 2] = 0; x[d + 3] = 0; return; }
  if ((imm & 3) === 0) {
    const w = S + (imm >> 2);
    x[d] = W[w]; x[d + 1] = W[w + 1]; x[d + 2] = W[w + 2]; x[d + 3] = W[w + 3];
    return;
  }
  const b = cpu.xmmU8, db = 16 * n, base = SB + imm;
  for (let k = 0; k < 16; k++) b[db + k] = WU8[base + k];
}

// ---- SSSE3 horizontal and sign operations ----
export const H_ADDW = 0, H_ADDD = 1, H_ADDSW = 2, H_SUBW = 3, H_SUBD = 4, H_SUBSW = 5;

/** phadd/phsub: pairs of the destination fill the low half, pairs of the source the high half. */
export function horizontal(cpu: Cpu, n: number, op: number): void {
  const x = cpu.xmm, d = 4 * n;
  for (let k = 0; k < 4; k++) W[T + k] = x[d + k];
  if (op === H_ADDD || op === H_SUBD) {
    for (let k = 0; k < 4; k++) {
      const base = k < 2 ? T + 2 * k : S + 2 * (k - 2);
      const a = W[base], b = W[base + 1];
      x[d + k] = op === H_ADDD ? (a + b) | 0 : (a - b) | 0;
    }
    return;
  }
  const h = cpu.xmmU16, dh = 8 * n;
  for (let k = 0; k < 8; k++) {
    const base = k < 4 ? 2 * T + 2 * k : SW + 2 * (k - 4);
    const a = sx16(WU16[base]), b = sx16(WU16[base + 1]);
    let r = op === H_ADDW || op === H_ADDSW ? a + b : a - b;
    if (op === H_ADDSW || op === H_SUBSW) r = sat16(r);
    h[dh + k] = r;
  }
}

/** psignb/w/d (size in bytes): negate, keep or zero each destination element by the source's sign. */
export function psign(cpu: Cpu, n: number, size: number): void {
  if (size === 4) {
    const x = cpu.xmm, d = 4 * n;
    for (let k = 0; k < 4; k++) { const s = W[S + k]; x[d + k] = s < 0 ? -x[d + k] | 0 : s === 0 ? 0 : x[d + k]; }
  } else if (size === 2) {
    const h = cpu.xmmU16, d = 8 * n;
    for (let k = 0; k < 8; k++) { const s = sx16(WU16[SW + k]); h[d + k] = s < 0 ? -h[d + k] : s === 0 ? 0 : h[d + k]; }
  } else {
    const b = cpu.xmmU8, d = 16 * n;
    for (let k = 0; k < 16; k++) { const s = sx8(WU8[SB + k]); b[d + k] = s < 0 ? -b[d + k] : s === 0 ? 0 : b[d + k]; }
  }
}

/** pmaddubsw: unsigned destination bytes times signed source bytes, adjacent pairs added with saturation. */
export function pmaddubsw(cpu: Cpu, n: number): void {
  const b = cpu.xmmU8, h = cpu.xmmU16, d = 16 * n;
  for (let k = 0; k < 8; k++) {
    const p = b[d + 2 * k] * sx8(WU8[SB + 2 * k]) + b[d + 2 * k + 1] * sx8(WU8[SB + 2 * k + 1]);
    h[8 * n + k] = sat16(p);
  }
}

/** pmulhrsw: rounded high half of the signed 16x16 products, scaled: ((a*b >> 14) + 1) >> 1. */
export function pmulhrsw(cpu: Cpu, n: number): void {
  const h = cpu.xmmU16, d = 8 * n;
  for (let k = 0; k < 8; k++) h[d + k] = (((sx16(h[d + k]) * sx16(WU16[SW + k])) >> 14) + 1) >> 1;
}

/** phminposuw: the minimum unsigned word of the source and its index; the rest of the destination is zeroed. */
export function phminposuw(cpu: Cpu, n: number): void {
  let min = WU16[SW], idx = 0;
  for (let k = 1; k < 8; k++) if (WU16[SW + k] < min) { min = WU16[SW + k]; idx = k; }
  const x = cpu.xmm, d = 4 * n;
  x[d] = min | (idx << 16); x[d + 1] = 0; x[d + 2] = 0; x[d + 3] = 0;
}

/** pblendvb (size 1) / blendvps (4) / blendvpd (8): source element where xmm0's element has its top bit set. */
export function blendv(cpu: Cpu, n: number, size: number): void {
  const b = cpu.xmmU8, d = 16 * n;
  for (let e = 0; e < 16; e += size) {
    if ((b[e + size - 1] & 0x80) !== 0) for (let k = 0; k < size; k++) b[d + e + k] = WU8[SB + e + k];
  }
}

/** mpsadbw: eight sums of absolute differences of 4-byte windows (destination offset imm[2]*4, source block imm[1:0]*4). */
export function mpsadbw(cpu: Cpu, n: number, imm: number): void {
  const b = cpu.xmmU8, d = 16 * n;
  for (let k = 0; k < 16; k++) WU8[4 * T + k] = b[d + k];
  const dOff = 4 * T + ((imm >> 2) & 1) * 4, sOff = SB + (imm & 3) * 4;
  const h = cpu.xmmU16;
  for (let k = 0; k < 8; k++) {
    let sum = 0;
    for (let j = 0; j < 4; j++) sum += Math.abs(WU8[dOff + k + j] - WU8[sOff + j]);
    h[8 * n + k] = sum;
  }
}
