// Data movement: mov in all its integer forms, lea, movzx/movsx/movsxd, xchg, cbw family, moffs,
// lss/lfs/lgs (far pointer loads).
import type { Cpu } from '../cpu.js';
import type { Decoder } from '../decoder.js';
import { EA_64, type Insn } from '../insn.js';
import { ea, ea64, eaOffset, readMem, setReg, writeMem } from '../operands.js';
import { def0F, def1, def1Legacy } from '../optable.js';
import { loadSegmentRaw } from '../system/segments.js';
import { DS, ES, FS, GS, SS } from '../regs.js';
import { setImm, sizeIdx } from './alu.js';

const TWO32 = 4294967296;

// ---- mov r/m, reg and reg, r/m --------------------------------------------------------------
function movRmR8(cpu: Cpu, i: Insn): void {
  if (i.mem) cpu.mmu.write8(ea(cpu, i), cpu.r8[i.reg]);
  else cpu.r8[i.rm] = cpu.r8[i.reg];
}
function movRmR16(cpu: Cpu, i: Insn): void {
  if (i.mem) cpu.mmu.write16(ea(cpu, i), cpu.r16[4 * i.reg]);
  else cpu.r16[4 * i.rm] = cpu.r16[4 * i.reg];
}
function movRmR32(cpu: Cpu, i: Insn): void {
  const r = cpu.r32;
  if (i.mem) cpu.mmu.write32(ea(cpu, i), r[2 * i.reg]);
  else { r[2 * i.rm] = r[2 * i.reg]; r[2 * i.rm + 1] = 0; }
}
function movRmR64(cpu: Cpu, i: Insn): void {
  const r = cpu.r32;
  if (i.mem) cpu.mmu.write64(ea(cpu, i), r[2 * i.reg], r[2 * i.reg + 1]);
  else { r[2 * i.rm] = r[2 * i.reg]; r[2 * i.rm + 1] = r[2 * i.reg + 1]; }
}
function movRRm8(cpu: Cpu, i: Insn): void {
  cpu.r8[i.reg] = i.mem ? cpu.mmu.read8(ea(cpu, i)) : cpu.r8[i.rm];
}
function movRRm16(cpu: Cpu, i: Insn): void {
  cpu.r16[4 * i.reg] = i.mem ? cpu.mmu.read16(ea(cpu, i)) : cpu.r16[4 * i.rm];
}
function movRRm32(cpu: Cpu, i: Insn): void {
  const r = cpu.r32;
  r[2 * i.reg] = i.mem ? cpu.mmu.read32(ea(cpu, i)) : r[2 * i.rm];
  r[2 * i.reg + 1] = 0;
}
function movRRm64(cpu: Cpu, i: Insn): void {
  const r = cpu.r32;
  if (i.mem) {
    const lo = cpu.mmu.read64(ea(cpu, i));
    r[2 * i.reg] = lo;
    r[2 * i.reg + 1] = cpu.mmu.hi;
  } else {
    r[2 * i.reg] = r[2 * i.rm];
    r[2 * i.reg + 1] = r[2 * i.rm + 1];
  }
}
// The most frequent instructions of a real boot: mov between a register and memory with 64-bit addressing.
function movR64Ea64(cpu: Cpu, i: Insn): void {
  const r = cpu.r32;
  const lo = cpu.mmu.read64(ea64(cpu, i));
  r[2 * i.reg] = lo;
  r[2 * i.reg + 1] = cpu.mmu.hi;
}
function movEa64R64(cpu: Cpu, i: Insn): void {
  const r = cpu.r32;
  cpu.mmu.write64(ea64(cpu, i), r[2 * i.reg], r[2 * i.reg + 1]);
}
function movR32Ea64(cpu: Cpu, i: Insn): void {
  const r = cpu.r32;
  r[2 * i.reg] = cpu.mmu.read32(ea64(cpu, i));
  r[2 * i.reg + 1] = 0;
}
function movEa64R32(cpu: Cpu, i: Insn): void {
  cpu.mmu.write32(ea64(cpu, i), cpu.r32[2 * i.reg]);
}

// ---- mov r/m, imm / reg, imm ------------------------------------------------------------------
function movRmI(cpu: Cpu, i: Insn): void {
  if (i.mem) writeMem(cpu, ea(cpu, i), i.size, i.imm, i.immHi);
  else setReg(cpu, i.size, i.rm, i.imm, i.immHi);
}

// ---- lea ---------------------------------------------------------------------------------------
/** Low 32 bits of the offset, exact for 64-bit addressing too (each term of the sum stays below 2^36). */
function leaLow(cpu: Cpu, i: Insn): number {
  if (i.eaKind !== EA_64) return eaOffset(cpu, i);
  const r = cpu.r32;
  let a = i.disp;
  if (i.base >= 0) a += r[2 * i.base];
  if (i.index >= 0) a += r[2 * i.index] * i.scale;
  return a | 0;
}
function lea16(cpu: Cpu, i: Insn): void { cpu.r16[4 * i.reg] = leaLow(cpu, i); }
function lea32(cpu: Cpu, i: Insn): void { cpu.r32[2 * i.reg] = leaLow(cpu, i); cpu.r32[2 * i.reg + 1] = 0; }
/**
 * lea is arithmetic on full 64-bit values (compilers use it for x*3, x*9, hashing): sum the halves
 * separately, so the result is exact where a sum of doubles would round above 2^53.
 */
function lea64(cpu: Cpu, i: Insn): void {
  const r = cpu.r32;
  if (i.eaKind !== EA_64) {
    const v = eaOffset(cpu, i); // RIP-relative or 32-bit address size: exact as a double
    const lo = v | 0;
    r[2 * i.reg] = lo;
    r[2 * i.reg + 1] = Math.floor((v - (lo >>> 0)) / TWO32) | 0;
    return;
  }
  let lo = i.disp >>> 0, hi = i.disp < 0 ? -1 : 0;
  if (i.base >= 0) { lo += r[2 * i.base] >>> 0; hi += r[2 * i.base + 1]; }
  if (i.index >= 0) { lo += (r[2 * i.index] >>> 0) * i.scale; hi += r[2 * i.index + 1] * i.scale; }
  r[2 * i.reg] = lo | 0;
  r[2 * i.reg + 1] = (hi + Math.floor(lo / TWO32)) | 0;
}

// ---- movzx / movsx / movsxd ----------------------------------------------------------------
function srcByte(cpu: Cpu, i: Insn): number {
  return i.mem ? cpu.mmu.read8(ea(cpu, i)) : cpu.r8[i.rm];
}
function srcWord(cpu: Cpu, i: Insn): number {
  return i.mem ? cpu.mmu.read16(ea(cpu, i)) : cpu.r16[4 * i.rm];
}
function movzxB(cpu: Cpu, i: Insn): void { setReg(cpu, i.size, i.reg, srcByte(cpu, i), 0); }
function movzxW(cpu: Cpu, i: Insn): void { setReg(cpu, i.size, i.reg, srcWord(cpu, i), 0); }
function movsxB(cpu: Cpu, i: Insn): void {
  const v = (srcByte(cpu, i) << 24) >> 24;
  setReg(cpu, i.size, i.reg, i.size === 16 ? v & 0xffff : v, v >> 31);
}
function movsxW(cpu: Cpu, i: Insn): void {
  const v = (srcWord(cpu, i) << 16) >> 16;
  setReg(cpu, i.size, i.reg, i.size === 16 ? v & 0xffff : v, v >> 31);
}
function movsxd(cpu: Cpu, i: Insn): void {
  const v = i.mem ? cpu.mmu.read32(ea(cpu, i)) : cpu.r32[2 * i.rm];
  if (i.size === 64) { cpu.r32[2 * i.reg] = v; cpu.r32[2 * i.reg + 1] = v >> 31; }
  else setReg(cpu, i.size, i.reg, i.size === 16 ? v & 0xffff : v, 0);
}

// ---- xchg ---------------------------------------------------------------------------------------
function xchg(cpu: Cpu, i: Insn): void {
  const size = i.size;
  const regLo = size === 8 ? cpu.r8[i.reg] : size === 16 ? cpu.r16[4 * i.reg] : cpu.r32[2 * i.reg];
  const regHi = size === 64 ? cpu.r32[2 * i.reg + 1] : 0;
  if (i.mem) {
    const a = ea(cpu, i);
    const m = cpu.mmu;
    const lo = size === 8 ? m.rmw8(a) : size === 16 ? m.rmw16(a) : size === 32 ? m.rmw32(a) : m.rmw64(a);
    const hi = m.hi;
    writeMem(cpu, a, size, regLo, regHi);
    setReg(cpu, size, i.reg, lo, hi);
  } else {
    const lo = size === 8 ? cpu.r8[i.rm] : size === 16 ? cpu.r16[4 * i.rm] : cpu.r32[2 * i.rm];
    const hi = size === 64 ? cpu.r32[2 * i.rm + 1] : 0;
    setReg(cpu, size, i.rm, regLo, regHi);
    setReg(cpu, size, i.reg, lo, hi);
  }
}

function nop(_cpu: Cpu, _i: Insn): void {}

// ---- cbw/cwde/cdqe, cwd/cdq/cqo -------------------------------------------------------------
function cbw(cpu: Cpu, i: Insn): void {
  const r = cpu.r32;
  if (i.size === 16) cpu.r16[0] = ((cpu.r8[0] << 24) >> 24) & 0xffff;
  else if (i.size === 32) { r[0] = (cpu.r16[0] << 16) >> 16; r[1] = 0; }
  else r[1] = r[0] >> 31;
}
function cwd(cpu: Cpu, i: Insn): void {
  const r = cpu.r32;
  if (i.size === 16) cpu.r16[8] = (cpu.r16[0] & 0x8000) ? 0xffff : 0;
  else if (i.size === 32) { r[4] = r[0] >> 31; r[5] = 0; }
  else { const s = r[1] >> 31; r[4] = s; r[5] = s; }
}

// ---- mov with a moffs (A0-A3) ---------------------------------------------------------------------
function moffsAddr(cpu: Cpu, i: Insn): number {
  if (i.asize === 64) return i.immHi * TWO32 + (i.imm >>> 0) + cpu.segBase[i.seg];
  if (i.mode === 64) return (i.imm >>> 0) + cpu.segBase[i.seg];
  return ((i.imm >>> 0) + cpu.segBase[i.seg]) % TWO32;
}
function movAccMoffs(cpu: Cpu, i: Insn): void {
  const lo = readMem(cpu, moffsAddr(cpu, i), i.size);
  setReg(cpu, i.size, 0, lo, cpu.mmu.hi);
}
function movMoffsAcc(cpu: Cpu, i: Insn): void {
  writeMem(cpu, moffsAddr(cpu, i), i.size, i.size === 8 ? cpu.r8[0] : i.size === 16 ? cpu.r16[0] : cpu.r32[0], cpu.r32[1]);
}

// ---- lss / lfs / lgs: offset (operand size) then selector ---------------------------------------
function loadFarPointer(cpu: Cpu, i: Insn): void {
  const a = ea(cpu, i);
  const n = i.size >> 3;
  const lo = readMem(cpu, a, i.size);
  const hi = cpu.mmu.hi;
  const sel = cpu.mmu.read16(a + n);
  loadSegmentRaw(cpu, i.op, sel); // may fault: the register is written only afterwards
  setReg(cpu, i.size, i.reg, lo, hi);
}

const MOV_RM_R = [movRmR8, movRmR16, movRmR32, movRmR64];
const MOV_R_RM = [movRRm8, movRRm16, movRRm32, movRRm64];

def1(0x88, (d, i) => { d.modrm(i); d.byteRegs(i); i.size = 8; i.h = movRmR8; });
def1(0x89, (d, i) => {
  d.modrm(i); i.h = MOV_RM_R[sizeIdx(d)];
  if (i.eaKind === EA_64) i.h = d.osz === 64 ? movEa64R64 : d.osz === 32 ? movEa64R32 : i.h;
});
def1(0x8A, (d, i) => { d.modrm(i); d.byteRegs(i); i.size = 8; i.h = movRRm8; });
def1(0x8B, (d, i) => {
  d.modrm(i); i.h = MOV_R_RM[sizeIdx(d)];
  if (i.eaKind === EA_64) i.h = d.osz === 64 ? movR64Ea64 : d.osz === 32 ? movR32Ea64 : i.h;
});
def1(0xC6, (d, i) => {
  d.modrm(i);
  if (d.regField !== 0) return; // #UD (C6 F8 is xabort, not supported)
  d.byteRegs(i); i.size = 8; setImm(i, 8, d.imm8()); i.h = movRmI;
});
def1(0xC7, (d, i) => {
  d.modrm(i);
  if (d.regField !== 0) return;
  setImm(i, d.osz, d.immz()); i.h = movRmI;
});
for (let r = 0; r < 8; r++) {
  def1(0xB0 + r, (d, i) => { i.rm = d.byteReg(r | d.rexB); i.size = 8; setImm(i, 8, d.imm8()); i.h = movRmI; });
  def1(0xB8 + r, (d, i) => { i.rm = r | d.rexB; d.immv(i); i.h = movRmI; });
}
def1(0x8D, (d, i) => {
  d.modrm(i);
  if (!i.mem) return; // lea with a register operand is #UD
  i.h = d.pick(lea16, lea32, lea64);
});
def0F(0xB6, (d, i) => { d.modrm(i); if (!i.mem) i.rm = d.byteReg(i.rm); i.h = movzxB; });
def0F(0xB7, (d, i) => { d.modrm(i); i.h = movzxW; });
def0F(0xBE, (d, i) => { d.modrm(i); if (!i.mem) i.rm = d.byteReg(i.rm); i.h = movsxB; });
def0F(0xBF, (d, i) => { d.modrm(i); i.h = movsxW; });
def1(0x63, (d, i) => { d.modrm(i); i.h = movsxd; });
def1(0x86, (d, i) => { d.modrm(i); d.byteRegs(i); i.size = 8; i.h = xchg; d.lockable = true; });
def1(0x87, (d, i) => { d.modrm(i); i.h = xchg; d.lockable = true; });
/** F3 REX.B 90: pause on Intel, xchg r8, rAX on AMD (vendor.ts pauseIgnoresRexB); a rare encoding only. */
function pauseOrXchgR8(cpu: Cpu, i: Insn): void {
  if (!cpu.vendor.pauseIgnoresRexB) xchg(cpu, i);
  else pause(cpu);
}
/** A spin-wait hint: architecturally a nop, but it takes guest time (the board's hook says how much). */
function pause(cpu: Cpu): void {
  cpu.hooks.pause?.();
}
def1(0x90, (d, i) => {
  // 90 is nop (and pause with F3) unless REX.B makes it xchg r8, rax.
  if (d.rexB) { i.reg = 0; i.rm = 8; i.h = d.rep === 0xF3 ? pauseOrXchgR8 : xchg; return; }
  i.h = d.rep === 0xF3 ? pause : nop;
});
for (let r = 1; r < 8; r++) def1(0x90 + r, (d, i) => { i.reg = 0; i.rm = r | d.rexB; i.h = xchg; });
def1(0x98, (_d, i) => { i.h = cbw; });
def1(0x99, (_d, i) => { i.h = cwd; });
for (const op of [0xA0, 0xA1, 0xA2, 0xA3]) {
  def1(op, (d, i) => {
    if (d.asz === 64) { i.imm = d.imm32(); i.immHi = d.imm32(); }
    else if (d.asz === 32) i.imm = d.imm32();
    else i.imm = d.imm16();
    if (!(op & 1)) i.size = 8;
    i.h = op < 0xA2 ? movAccMoffs : movMoffsAcc;
  });
}
// les/lds (C4/C5) exist only outside 64-bit mode; with a register operand they would be VEX (no AVX here: #UD).
def1Legacy(0xC4, (d, i) => { d.modrm(i); if (!i.mem) return; i.op = ES; i.h = loadFarPointer; });
def1Legacy(0xC5, (d, i) => { d.modrm(i); if (!i.mem) return; i.op = DS; i.h = loadFarPointer; });
for (const [op, seg] of [[0xB2, SS], [0xB4, FS], [0xB5, GS]] as const) {
  // A register operand is #UD. With REX.W the offset is 64 bits (Intel; the host, AMD, would use 32).
  def0F(op, (d, i) => { d.modrm(i); if (!i.mem) return; i.op = seg; i.h = loadFarPointer; });
}
// Multi-byte nops and hint nops (0F 18-1F with ModRM); endbr64 and rdssp/incssp are F3 0F 1E / 0F AE forms.
for (let op = 0x19; op <= 0x1F; op++) def0F(op, (d, i) => { d.modrm(i); i.h = nop; });
def0F(0x18, (d, i) => { d.modrm(i); i.h = nop; });
def0F(0x0D, (d, i) => { d.modrm(i); i.h = nop; }); // prefetchw

export { nop };
export type { Decoder };
