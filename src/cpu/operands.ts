// Effective addresses and operand access shared by the instruction handlers. Small functions that V8
// inlines into the handlers; the ModRM form was fixed at decode time.
import type { Cpu } from './cpu.js';
import { Ea, Insn } from './insn.js';
import { Seg, SS, VEC_GP, VEC_SS } from './regs.js';

// Numbers as a const enum, written into the code by tsc: these functions are inlined into handlers of other
// modules, where V8 would load a module constant at each use (see flags.ts Lf).
const enum N {
  TWO32 = 4294967296,
  CANON = 140737488355328, // 2^47
  /** 2^52: below it the double sum of base + index*scale + disp is exact. */
  EXACT = 4503599627370496,
}

/**
 * Run-loop hook for a faulting instruction (RIP already rewound, registers as before it): the MMU reports a
 * non-canonical address as #GP(0), but when the memory operand is SS-based (rsp/rbp base) the hardware raises
 * #SS(0). Fixed up here so that only the exception path pays. (push/pop/call/ret/enter/leave check their
 * implicit stack accesses themselves, see stack.ts.)
 */
export function stackSegmentFault(cpu: Cpu, i: Insn): void {
  if (cpu.excVector !== VEC_GP || cpu.excError !== 0 || !i.mem || i.seg !== SS || i.eaKind !== Ea.B64) return;
  const a = ea(cpu, i);
  // An access that starts canonical can still straddle 2^47 (operands are at most 16 bytes here).
  if (a > N.CANON - 16 || a < -N.CANON) cpu.excVector = VEC_SS;
}


/**
 * A 64-bit effective address whose double sum reached 2^52: the hardware adds modulo 2^64, so a huge index
 * can wrap back to a valid address. Recomputed from 32-bit halves and returned as the signed 64-bit value
 * (exact whenever the result is canonical; a non-canonical result only has to stay non-canonical).
 */
export function wrapEa64(disp: number, bh: number, bl: number, xh: number, xl: number, scale: number, seg: number): number {
  const s = scale === 8 ? 3 : scale === 4 ? 2 : scale === 2 ? 1 : 0;
  const sxl = (xl << s) >>> 0;
  const sxh = s === 0 ? xh : (xh << s) | (xl >>> (32 - s));
  const segLo = seg - Math.floor(seg / N.TWO32) * N.TWO32;
  const lo = (disp >>> 0) + (bl >>> 0) + sxl + segLo;
  const carry = Math.floor(lo / N.TWO32);
  const hi = ((disp < 0 ? -1 : 0) + bh + sxh + Math.floor(seg / N.TWO32) + carry) | 0;
  return hi * N.TWO32 + (lo >>> 0);
}

/** `a` (the double sum of the same parts) when it is exact, else the wrapped sum (for compiled blocks). */
export function exactEa64(a: number, disp: number, bh: number, bl: number, xh: number, xl: number, scale: number, seg: number): number {
  return a < N.EXACT && a > -N.EXACT ? a : wrapEa64(disp, bh, bl, xh, xl, scale, seg);
}

/**
 * ea() of an EA_64 operand (64-bit addressing, so 64-bit mode): ES CS SS DS have base 0 there, so only an
 * FS or GS override adds a segment base. Hot handlers chosen for EA_64 operands call this directly.
 */
export function ea64(cpu: Cpu, i: Insn): number {
  const r = cpu.r32;
  let a = i.disp;
  const b = i.base, x = i.index;
  if (b >= 0) a += r[2 * b + 1] * N.TWO32 + (r[2 * b] >>> 0);
  if (x >= 0) a += (r[2 * x + 1] * N.TWO32 + (r[2 * x] >>> 0)) * i.scale;
  if (i.seg >= Seg.FS) a += cpu.segBase[i.seg];
  if (a < N.EXACT && a > -N.EXACT) return a;
  return wrapEa64(i.disp, b >= 0 ? r[2 * b + 1] : 0, b >= 0 ? r[2 * b] : 0, x >= 0 ? r[2 * x + 1] : 0, x >= 0 ? r[2 * x] : 0, x >= 0 ? i.scale : 1, cpu.segBase[i.seg]);
}

/**
 * Linear address of the instruction's memory operand. Kept this small so that V8 inlines it (with ea64) into the
 * generic handlers: 64-bit addressing is nearly every memory operand of a long-mode kernel, the rest go out of line.
 */
export function ea(cpu: Cpu, i: Insn): number {
  return i.eaKind === Ea.B64 ? ea64(cpu, i) : eaOther(cpu, i);
}

/** ea() of the operands other than EA_64. */
function eaOther(cpu: Cpu, i: Insn): number {
  const r = cpu.r32;
  switch (i.eaKind) {
    case Ea.RIP:
      if (i.index === -2) return ((cpu.rip + i.disp) >>> 0) + cpu.segBase[i.seg];
      return cpu.rip + i.disp + cpu.segBase[i.seg];
    case Ea.B32L: {
      let a = i.disp;
      if (i.base >= 0) a += r[2 * i.base];
      if (i.index >= 0) a += r[2 * i.index] * i.scale;
      return (a >>> 0) + cpu.segBase[i.seg];
    }
    case Ea.B32: {
      let a = i.disp;
      if (i.base >= 0) a += r[2 * i.base];
      if (i.index >= 0) a += r[2 * i.index] * i.scale;
      return (a + cpu.segBase[i.seg]) >>> 0;
    }
    case Ea.B16: {
      let a = i.disp;
      if (i.base >= 0) a += cpu.r16[4 * i.base];
      if (i.index >= 0) a += cpu.r16[4 * i.index];
      return (a & 0xffff) + cpu.segBase[i.seg];
    }
    default:
      return 0;
  }
}

/** The offset part of the effective address (lea): no segment base, truncated to the address size. */
export function eaOffset(cpu: Cpu, i: Insn): number {
  const r = cpu.r32;
  let a = i.disp;
  switch (i.eaKind) {
    case Ea.RIP:
      return cpu.rip + i.disp;
    case Ea.B16:
      if (i.base >= 0) a += cpu.r16[4 * i.base];
      if (i.index >= 0) a += cpu.r16[4 * i.index];
      return a & 0xffff;
    case Ea.B64: {
      const b = i.base, x = i.index;
      if (b >= 0) a += r[2 * b + 1] * N.TWO32 + (r[2 * b] >>> 0);
      if (x >= 0) a += (r[2 * x + 1] * N.TWO32 + (r[2 * x] >>> 0)) * i.scale;
      if (a < N.EXACT && a > -N.EXACT) return a;
      return wrapEa64(i.disp, b >= 0 ? r[2 * b + 1] : 0, b >= 0 ? r[2 * b] : 0, x >= 0 ? r[2 * x + 1] : 0, x >= 0 ? r[2 * x] : 0, x >= 0 ? i.scale : 1, 0);
    }
    default:
      if (i.base >= 0) a += r[2 * i.base];
      if (i.index >= 0) a += r[2 * i.index] * i.scale;
      return a >>> 0;
  }
}

// Register writes with the x86-64 rules: 32-bit writes clear the high half, 8/16-bit writes merge.
export function setR32(cpu: Cpu, n: number, v: number): void {
  cpu.r32[2 * n] = v;
  cpu.r32[2 * n + 1] = 0;
}

export function setR64(cpu: Cpu, n: number, lo: number, hi: number): void {
  cpu.r32[2 * n] = lo;
  cpu.r32[2 * n + 1] = hi;
}

/** Splits a number holding a 64-bit value (exact integers only) into the register's halves. */
export function setR64Num(cpu: Cpu, n: number, v: number): void {
  cpu.r32[2 * n] = v | 0;
  cpu.r32[2 * n + 1] = Math.floor(v / N.TWO32) | 0;
}

/** Register write by operand size; `reg` is a byte offset for size 8. */
export function setReg(cpu: Cpu, size: number, reg: number, lo: number, hi: number): void {
  switch (size) {
    case 8: cpu.r8[reg] = lo; return;
    case 16: cpu.r16[4 * reg] = lo; return;
    case 32: cpu.r32[2 * reg] = lo; cpu.r32[2 * reg + 1] = 0; return;
    default: cpu.r32[2 * reg] = lo; cpu.r32[2 * reg + 1] = hi;
  }
}

/** Register read by operand size (zero-extended for 8/16; 32-bit as int32); high half in cpu.mmu.hi for 64. */
export function getReg(cpu: Cpu, size: number, reg: number): number {
  switch (size) {
    case 8: return cpu.r8[reg];
    case 16: return cpu.r16[4 * reg];
    case 32: return cpu.r32[2 * reg];
    default: cpu.mmu.hi = cpu.r32[2 * reg + 1]; return cpu.r32[2 * reg];
  }
}

/** Reads the r/m operand at the given address (memory) or register; 64-bit high half left in cpu.mmu.hi. */
export function readRm(cpu: Cpu, i: Insn, size: number): number {
  if (!i.mem) return getReg(cpu, size, i.rm);
  const a = ea(cpu, i);
  return readMem(cpu, a, size);
}

export function readMem(cpu: Cpu, a: number, size: number): number {
  const m = cpu.mmu;
  switch (size) {
    case 8: return m.read8(a);
    case 16: return m.read16(a);
    case 32: return m.read32(a);
    default: return m.read64(a);
  }
}

export function writeMem(cpu: Cpu, a: number, size: number, lo: number, hi: number): void {
  const m = cpu.mmu;
  switch (size) {
    case 8: m.write8(a, lo); return;
    case 16: m.write16(a, lo); return;
    case 32: m.write32(a, lo); return;
    default: m.write64(a, lo, hi);
  }
}

export function writeRm(cpu: Cpu, i: Insn, size: number, lo: number, hi: number): void {
  if (!i.mem) setReg(cpu, size, i.rm, lo, hi);
  else writeMem(cpu, ea(cpu, i), size, lo, hi);
}

/** Masks a value to the operand size (8/16 zero-extended, 32 as int32). */
export function trunc(v: number, size: number): number {
  return size === 8 ? v & 0xff : size === 16 ? v & 0xffff : v | 0;
}

/** Reads memory for read-modify-write: the page is checked writable first, so the write cannot fault later. */
export function rmwMem(cpu: Cpu, a: number, size: number): number {
  const m = cpu.mmu;
  switch (size) {
    case 8: return m.rmw8(a);
    case 16: return m.rmw16(a);
    case 32: return m.rmw32(a);
    default: return m.rmw64(a);
  }
}
