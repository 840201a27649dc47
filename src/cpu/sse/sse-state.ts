// Shared plumbing of the SSE handlers: availability checks (#UD/#NM), operand staging, 128-bit memory
// access with the legacy-SSE alignment rule, and committing MXCSR exception flags (#XM).
//
// Operands are staged in a private 16-word scratch buffer that the floating-point unit (SseFp) addresses
// by word index: D = copy of the destination register, S = source operand, T = result. Handlers copy the
// result back to cpu.xmm only once nothing can fault any more, so a faulting instruction changes nothing.
import type { Cpu } from '../cpu.js';
import { raise, raiseGP, raiseUD } from '../exceptions.js';
import type { Insn } from '../insn.js';
import { ea } from '../operands.js';
import { CR0_EM, CR0_TS, CR4_OSFXSR, CR4_OSXMMEXCPT, VEC_NM, VEC_XM } from '../regs.js';
import { SseFp } from './fp.js';
import { recordedExceptions, unmaskedExceptions } from './mxcsr.js';

const buffer = new ArrayBuffer(64);
export const fp = new SseFp(buffer);
/** Scratch words (signed view; fp.u32 is the unsigned view of the same words). */
export const W = fp.i32;
export const WU8 = new Uint8Array(buffer);
export const WU16 = new Uint16Array(buffer);
/** Word offsets of the staged destination copy, source operand and result (words 12-15: extra scratch).
 * palignr relies on T following S directly. */
export const D = 0, S = 4, T = 8;

/** SSE instructions need CR0.EM = 0 and CR4.OSFXSR = 1 (#UD) and CR0.TS = 0 (#NM). */
export function sseCheck(cpu: Cpu): void {
  if ((cpu.cr0 & (CR0_EM | CR0_TS)) !== 0 || (cpu.cr4 & CR4_OSFXSR) === 0) {
    if ((cpu.cr0 & CR0_EM) !== 0 || (cpu.cr4 & CR4_OSFXSR) === 0) raiseUD(cpu);
    raise(cpu, VEC_NM);
  }
}

/** Linear address of a 16-byte memory operand; #GP(0) when `aligned` and it is not 16-byte aligned. */
export function ea128(cpu: Cpu, i: Insn, aligned: boolean): number {
  const a = ea(cpu, i);
  if (aligned && (a & 15) !== 0) raiseGP(cpu, 0);
  return a;
}

/** Stages the 128-bit xmm/m128 operand in S. Legacy SSE requires alignment except for the "u" moves. */
export function src128(cpu: Cpu, i: Insn, aligned: boolean): void {
  if (i.mem) {
    const a = ea128(cpu, i, aligned);
    const m = cpu.mmu;
    W[S] = m.read64(a); W[S + 1] = m.hi;
    W[S + 2] = m.read64(a + 8); W[S + 3] = m.hi;
  } else {
    const x = cpu.xmm, r = 4 * i.rm;
    W[S] = x[r]; W[S + 1] = x[r + 1]; W[S + 2] = x[r + 2]; W[S + 3] = x[r + 3];
  }
}

/** Stages the low 64 bits of xmm/m64 in S[0..1]. */
export function src64(cpu: Cpu, i: Insn): void {
  if (i.mem) {
    const m = cpu.mmu;
    W[S] = m.read64(ea(cpu, i)); W[S + 1] = m.hi;
  } else {
    const x = cpu.xmm, r = 4 * i.rm;
    W[S] = x[r]; W[S + 1] = x[r + 1];
  }
}

/** Stages the low 32 bits of xmm/m32 in S[0]. */
export function src32(cpu: Cpu, i: Insn): void {
  W[S] = i.mem ? cpu.mmu.read32(ea(cpu, i)) : cpu.xmm[4 * i.rm];
}

/** Copies xmm register n into D. */
export function stageDst(cpu: Cpu, n: number): void {
  const x = cpu.xmm, r = 4 * n;
  W[D] = x[r]; W[D + 1] = x[r + 1]; W[D + 2] = x[r + 2]; W[D + 3] = x[r + 3];
}

/** Copies `words` result words from T into xmm register n. */
export function commitT(cpu: Cpu, n: number, words: number): void {
  const x = cpu.xmm, r = 4 * n;
  for (let k = 0; k < words; k++) x[r + k] = W[T + k];
}

/** Writes 16 bytes; the whole range is probed first so a fault on the second page writes nothing. */
export function store128(cpu: Cpu, a: number, w0: number, w1: number, w2: number, w3: number): void {
  const m = cpu.mmu;
  if ((a & 0xfff) > 0xff0) m.probeWrite(a, 16);
  m.write64(a, w0, w1);
  m.write64(a + 8, w2, w3);
}

/**
 * Records the exception flags raised by an instruction's lanes in MXCSR; raises #XM (or #UD when
 * CR4.OSXMMEXCPT is clear) if one is unmasked, before any destination is written.
 */
export function commitFlags(cpu: Cpu, flags: number): void {
  const mx = cpu.mxcsr;
  const rec = recordedExceptions(mx, flags);
  cpu.mxcsr = mx | rec;
  if (unmaskedExceptions(mx, rec) !== 0) {
    if ((cpu.cr4 & CR4_OSXMMEXCPT) === 0) raiseUD(cpu);
    raise(cpu, VEC_XM);
  }
}
