// SSE4.2 packed string compares (pcmpestri/pcmpestrm/pcmpistri/pcmpistrm), Intel SDM vol. 2 4.1.
// imm8: [1:0] element format (unsigned/signed bytes/words), [3:2] aggregation (equal any, ranges, equal each,
// equal ordered), [5:4] polarity, [6] index/mask selection. Operand a = xmm1 (ModRM.reg), b = xmm2/m128.
import type { Cpu } from '../cpu.js';
import { S, W, WU16, WU8 } from './sse-state.js';

/** Results of the last pcmp*str* evaluation: IntRes2 bits and the flags (CF ZF SF OF; AF PF clear). */
export let strRes = 0;
export let strFlags = 0;

function elem(cpu: Cpu, fromA: boolean, n: number, k: number, fmt: number): number {
  let v: number;
  if (fmt & 1) v = fromA ? cpu.xmmU16[8 * n + k] : WU16[2 * S + k];
  else v = fromA ? cpu.xmmU8[16 * n + k] : WU8[4 * S + k];
  if (fmt & 2) v = fmt & 1 ? (v << 16) >> 16 : (v << 24) >> 24;
  return v;
}

/** Implicit length: index of the first zero element, or the element count. */
export function implicitLength(cpu: Cpu, fromA: boolean, n: number, fmt: number): number {
  const count = fmt & 1 ? 8 : 16;
  for (let k = 0; k < count; k++) if (elem(cpu, fromA, n, k, fmt) === 0) return k;
  return count;
}

/** Explicit length from a register value (lo, hi halves; 64-bit when `wide`): |value| saturated to the count. */
export function explicitLength(lo: number, hi: number, wide: boolean, fmt: number): number {
  const count = fmt & 1 ? 8 : 16;
  if (wide && hi !== 0 && hi !== -1) return count;
  let v = wide ? hi * 4294967296 + (lo >>> 0) : lo | 0;
  if (v < 0) v = -v;
  return v > count ? count : v;
}

/** Evaluates the comparison of xmm register `na` with the staged source (S) for lengths la, lb. */
export function pcmpstr(cpu: Cpu, na: number, la: number, lb: number, imm: number): void {
  const fmt = imm & 3, agg = (imm >> 2) & 3, pol = (imm >> 4) & 3;
  const count = fmt & 1 ? 8 : 16;
  let res1 = 0;
  for (let j = 0; j < count; j++) {
    let bit = false;
    switch (agg) {
      case 0: { // equal any: b[j] is one of a[0..la)
        if (j < lb) {
          const b = elem(cpu, false, na, j, fmt);
          for (let i = 0; i < la && !bit; i++) bit = elem(cpu, true, na, i, fmt) === b;
        }
        break;
      }
      case 1: { // ranges: a[i] <= b[j] <= a[i+1] for some valid pair
        if (j < lb) {
          const b = elem(cpu, false, na, j, fmt);
          for (let i = 0; i + 1 < la && !bit; i += 2) bit = elem(cpu, true, na, i, fmt) <= b && b <= elem(cpu, true, na, i + 1, fmt);
        }
        break;
      }
      case 2: { // equal each: a[j] == b[j]; both invalid counts as equal
        const va = j < la, vb = j < lb;
        bit = va && vb ? elem(cpu, true, na, j, fmt) === elem(cpu, false, na, j, fmt) : !va && !vb;
        break;
      }
      default: { // equal ordered: a (needle) matches b (haystack) starting at j; past a's end always matches
        bit = true;
        for (let i = 0; i + j < count && bit; i++) {
          if (i >= la) break;
          if (i + j >= lb) { bit = false; break; }
          bit = elem(cpu, true, na, i, fmt) === elem(cpu, false, na, i + j, fmt);
        }
      }
    }
    if (bit) res1 |= 1 << j;
  }
  const all = (1 << count) - 1;
  let res2 = res1;
  if (pol === 1) res2 = ~res1 & all;
  else if (pol === 3) res2 = res1 ^ ((1 << lb) - 1);
  strRes = res2;
  strFlags = (res2 !== 0 ? 0x01 : 0) | (lb < count ? 0x40 : 0) | (la < count ? 0x80 : 0) | ((res2 & 1) !== 0 ? 0x800 : 0);
}

/** pcmp*stri's index: lowest (or highest, imm bit 6) set bit of IntRes2, or the element count if none. */
export function strIndex(imm: number): number {
  const count = imm & 1 ? 8 : 16;
  if (strRes === 0) return count;
  if (imm & 0x40) return 31 - Math.clz32(strRes);
  return 31 - Math.clz32(strRes & -strRes);
}

/** pcmp*strm's mask into xmm0: IntRes2 as bits, or (imm bit 6) expanded to whole elements. */
export function strMask(cpu: Cpu, imm: number): void {
  const x = cpu.xmm;
  if ((imm & 0x40) === 0) { x[0] = strRes; x[1] = 0; x[2] = 0; x[3] = 0; return; }
  if (imm & 1) for (let k = 0; k < 8; k++) cpu.xmmU16[k] = (strRes >> k) & 1 ? 0xffff : 0;
  else for (let k = 0; k < 16; k++) cpu.xmmU8[k] = (strRes >> k) & 1 ? 0xff : 0;
}
