// Stack pushes and pops for each stack width: RSP in 64-bit mode, ESP in 32-bit code, SP in 16-bit code
// (osvemu ties the stack width to the code mode, which is what OSv's boot and trampoline code use).
import type { Cpu } from './cpu.js';
import { readMem, writeMem } from './operands.js';
import { SS } from './regs.js';

const TWO32 = 4294967296;

/** Pushes `size` bits (16/32/64); 64-bit values as halves. */
export function push(cpu: Cpu, size: number, lo: number, hi: number): void {
  const r = cpu.r32;
  const n = size >> 3;
  if (cpu.mode === 64) {
    const spLo = (r[8] >>> 0) - n;
    const spHi = spLo < 0 ? (r[9] - 1) | 0 : r[9];
    writeMem(cpu, spHi * TWO32 + (spLo >>> 0), size, lo, hi);
    r[8] = spLo | 0;
    r[9] = spHi;
  } else if (cpu.mode === 32) {
    const sp = (r[8] - n) >>> 0;
    writeMem(cpu, (sp + cpu.segBase[SS]) % TWO32, size, lo, hi);
    r[8] = sp | 0;
  } else {
    const sp = (cpu.r16[16] - n) & 0xffff;
    writeMem(cpu, sp + cpu.segBase[SS], size, lo, hi);
    cpu.r16[16] = sp;
  }
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
  if (cpu.mode === 64) return readMem(cpu, r[9] * TWO32 + (r[8] >>> 0) + offset, size);
  if (cpu.mode === 32) return readMem(cpu, ((r[8] >>> 0) + offset + cpu.segBase[SS]) % TWO32, size);
  return readMem(cpu, ((cpu.r16[16] + offset) & 0xffff) + cpu.segBase[SS], size);
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
  if (cpu.mode === 64) return r[9] * TWO32 + (r[8] >>> 0);
  if (cpu.mode === 32) return r[8] >>> 0;
  return cpu.r16[16];
}
