// Stack pushes and pops for each stack width: RSP in 64-bit mode, ESP in 32-bit code, SP in 16-bit code
// (osvemu ties the stack width to the code mode, which is what OSv's boot and trampoline code use).
// Stack accesses are SS-segment accesses: in 64-bit mode a non-canonical stack address raises #SS(0), not
// #GP(0), and it is checked for the whole access before paging (so a push straddling the canonical boundary
// is #SS even when the lower page is not mapped).
import type { Cpu } from './cpu.js';
import { raise } from './exceptions.js';
import { readMem, writeMem } from './operands.js';
import { Seg, VEC_SS } from './regs.js';

// Numbers as a const enum, written into the code by tsc (these helpers are inlined into other modules'
// handlers, where a module constant would be loaded at each use: see flags.ts Lf).
const enum N {
  TWO32 = 4294967296,
  CANON = 140737488355328, // 2^47
}

/**
 * Linear address of an n-byte stack access at stack-pointer value `sp` (a number of the current stack width;
 * 64-bit values signed, as getSp returns them). Raises #SS(0) for a non-canonical access in 64-bit mode.
 */
export function stackLin(cpu: Cpu, sp: number, n: number): number {
  if (cpu.mode === 64) {
    if (sp < -N.CANON || sp > N.CANON - n) raise(cpu, VEC_SS, 0);
    return sp;
  }
  if (cpu.mode === 32) return ((sp >>> 0) + cpu.segBase[Seg.SS]) % N.TWO32;
  return (sp & 0xffff) + cpu.segBase[Seg.SS];
}

/** `sp + delta` wrapped to the stack width (64-bit values stay plain signed numbers). */
export function spAdd(cpu: Cpu, sp: number, delta: number): number {
  if (cpu.mode === 64) return sp + delta;
  if (cpu.mode === 32) return (sp + delta) >>> 0;
  return (sp + delta) & 0xffff;
}

/** Pushes `size` bits (16/32/64); 64-bit values as halves. */
export function push(cpu: Cpu, size: number, lo: number, hi: number): void {
  const r = cpu.r32;
  const n = size >> 3;
  if (cpu.mode === 64) {
    const spLo = (r[8] >>> 0) - n;
    const spHi = spLo < 0 ? (r[9] - 1) | 0 : r[9];
    const a = spHi * N.TWO32 + (spLo >>> 0);
    if (a < -N.CANON || a > N.CANON - n) raise(cpu, VEC_SS, 0);
    writeMem(cpu, a, size, lo, hi);
    r[8] = spLo | 0;
    r[9] = spHi;
  } else if (cpu.mode === 32) {
    const sp = (r[8] - n) >>> 0;
    writeMem(cpu, (sp + cpu.segBase[Seg.SS]) % N.TWO32, size, lo, hi);
    r[8] = sp | 0;
  } else {
    const sp = (cpu.r16[16] - n) & 0xffff;
    writeMem(cpu, sp + cpu.segBase[Seg.SS], size, lo, hi);
    cpu.r16[16] = sp;
  }
}

/** Checks that a push of `size` bits would not fault (#SS, #PF), without changing anything. */
export function probePush(cpu: Cpu, size: number): void {
  const n = size >> 3;
  const sp = spAdd(cpu, getSp(cpu), -n);
  cpu.mmu.probeWrite(stackLin(cpu, sp, n), n);
}

/** Pops `size` bits; the high half of a 64-bit pop is left in cpu.mmu.hi. */
export function pop(cpu: Cpu, size: number): number {
  const v = peek(cpu, size, 0);
  const hi = cpu.mmu.hi;
  adjustSp(cpu, size >> 3);
  cpu.mmu.hi = hi;
  return v;
}

/** Reads the stack `offset` bytes above the top without popping. */
export function peek(cpu: Cpu, size: number, offset: number): number {
  const r = cpu.r32;
  if (cpu.mode === 64) {
    const a = r[9] * N.TWO32 + (r[8] >>> 0) + offset;
    if (a < -N.CANON || a > N.CANON - (size >> 3)) raise(cpu, VEC_SS, 0);
    return readMem(cpu, a, size);
  }
  if (cpu.mode === 32) return readMem(cpu, ((r[8] >>> 0) + offset + cpu.segBase[Seg.SS]) % N.TWO32, size);
  return readMem(cpu, ((cpu.r16[16] + offset) & 0xffff) + cpu.segBase[Seg.SS], size);
}

/** Adds `n` (may be negative) to the stack pointer of the current width. */
export function adjustSp(cpu: Cpu, n: number): void {
  const r = cpu.r32;
  if (cpu.mode === 64) {
    const lo = (r[8] >>> 0) + n;
    if (lo > 0xffffffff) r[9] = (r[9] + 1) | 0;
    else if (lo < 0) r[9] = (r[9] - 1) | 0;
    r[8] = lo | 0;
  } else if (cpu.mode === 32) {
    r[8] = (r[8] + n) | 0;
  } else {
    cpu.r16[16] = (cpu.r16[16] + n) & 0xffff;
  }
}

/** Stack pointer as a number in the current width (for enter/leave and frame checks). */
export function getSp(cpu: Cpu): number {
  const r = cpu.r32;
  if (cpu.mode === 64) return r[9] * N.TWO32 + (r[8] >>> 0);
  if (cpu.mode === 32) return r[8] >>> 0;
  return cpu.r16[16];
}

/** Sets the stack pointer of the current width from a value getSp/spAdd produced (exact in 64-bit mode). */
export function setSp(cpu: Cpu, v: number): void {
  const r = cpu.r32;
  if (cpu.mode === 64) { r[8] = v | 0; r[9] = Math.floor(v / N.TWO32) | 0; }
  else if (cpu.mode === 32) r[8] = v | 0;
  else cpu.r16[16] = v;
}
