// Flags (and a few results) the SDM calls "undefined": osvemu reproduces what the reference host (AMD EPYC,
// Zen) produces, measured with the strict differential test (test/cpu/host-undef.test.ts). Kept in one
// place so another host model could be matched by changing only this file.
import type { Cpu } from '../cpu.js';
import { arithFlags, setArithFlags } from '../flags.js';
import { AF, CF, Fl, OF, PF, SF, ZF } from '../regs.js';

/** mul/imul: CF/OF given; AMD leaves SF ZF AF PF as they were. */
export function mulFlags(old: number, cfof: number): number {
  return (old & (Fl.SF | Fl.ZF | Fl.AF | Fl.PF)) | cfof;
}

/** div/idiv: all six undefined. AMD keeps OF and CF, sets AF, clears SF ZF PF. */
export function divFlags(cpu: Cpu): void {
  setArithFlags(cpu.lf, (arithFlags(cpu.lf) & (OF | CF)) | AF);
}

/**
 * OF of shl/shr/sar for any count (the SDM defines count 1 only); `formula` is the count-1 definition.
 * AMD: shr gives MSB(r) ^ MSB-1(r) (the original MSB for a count of 1, 0 beyond); shl and sar the formula.
 * `rTop` is the result (its high half for 64-bit operands), `bits` 32 for 64-bit operands.
 */
export function shiftOF(isShr: boolean, c: number, formula: number, rTop: number, bits: number): number {
  if (isShr && c > 1) return ((rTop >>> (bits - 1)) ^ (rTop >>> (bits - 2))) & 1;
  return formula;
}

/** AF of shl/shr/sar with a non-zero count: AMD sets it. */
export const SHIFT_AF = AF;

/**
 * OF of shld/shrd for any count. AMD: shld MSB(r) ^ CF, shrd MSB(r) ^ MSB-1(r); 16-bit shld by 16 gives CF,
 * by 17..31 MSB(r) ^ source bit 31-c.
 */
export function shldOF(right: boolean, c: number, size: number, msb: number, msb1: number, cf: number, s: number): number {
  if (right) return msb ^ msb1;
  if (size === 16 && c >= 16) return c === 16 ? cf : msb ^ ((s >>> (31 - c)) & 1);
  return msb ^ cf;
}

/** AF of shld/shrd with a non-zero count: AMD sets it. */
export const SHLD_AF = AF;

/**
 * 16-bit shld/shrd by 17..31 (result undefined in the SDM): AMD shifts the 48-bit dest:src:src (shld) or
 * src:src:dest (shrd) and clears CF.
 */
export function shld16Wide(right: boolean, d: number, s: number, c: number): number {
  if (!right) return Math.floor((d * 4294967296 + s * 65536 + s) / 2 ** (32 - c)) % 65536;
  return Math.floor((s * 4294967296 + s * 65536 + d) / 2 ** c) % 65536;
}

/** bt/bts/btr/btc: CF given; AMD leaves ZF OF SF AF PF. */
export function btFlags(old: number, cf: number): number {
  return (old & ~CF) | cf;
}

/**
 * bsf/bsr: ZF = source was zero; CF OF SF AF PF undefined. AMD EPYC family 0x19 model 1 (Zen 3, the model CPUID
 * names) leaves them as they were; other AMD hosts (an earlier one, and family 0x19 model 0x11) set PF from the
 * index and clear the rest, which test/cpu/host-undef.test.ts accepts on such hosts.
 */
export function bitScanFlags(old: number, zero: boolean): number {
  return (old & ~ZF) | (zero ? ZF : 0);
}

/** tzcnt/lzcnt: CF (source zero) and ZF (count zero) defined; AMD keeps OF and clears SF AF PF. */
export function countFlags(old: number, cf: number, n: number): number {
  return (old & OF) | cf | (n === 0 ? ZF : 0);
}

/** bswap of a 16-bit register (undefined in the SDM): AMD clears it. */
export function bswap16(v: number): number {
  void v;
  return 0;
}
