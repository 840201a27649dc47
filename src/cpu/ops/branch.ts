// Control transfer and the stack: jcc/jmp/call/ret/loop/jrcxz, push/pop, enter/leave, pushf/popf,
// setcc/cmovcc, inc/dec/neg/not (which share the FE/FF/F6/F7 groups with branches and mul/div).
import type { Cpu } from '../cpu.js';
import type { Decoder } from '../decoder.js';
import type { Insn } from '../insn.js';
import { nonCanonical } from '../mmu.js';
import { cond, getCF, Kind, Lf } from '../flags.js';
import { ea, readMem, readRm, rmwMem, setReg, writeMem } from '../operands.js';
import { def0F, def1, def1Legacy } from '../optable.js';
import { adjustSp, getSp, peek, pop, probePush, push, setSp, spAdd, stackLin } from '../stack.js';
import { AC, ARITH_FLAGS, DF, ID, IF, IOPL, NT, RBP, RF, TF } from '../regs.js';
import { raiseGP } from '../exceptions.js';
import { decodeTestImm, sizeIdx } from './alu.js';
import { GROUP3_EXT } from './group3.js';

const TWO32 = 4294967296;

/**
 * A call's target is checked after its return-address push could fault (the host reports #PF/#SS for the push
 * first): a non-canonical 64-bit target raises #GP(0) at the call, RSP unchanged; whether the return address
 * was written first depends on the vendor (vendor.ts callNonCanonicalWritesReturn).
 */
function checkCallTarget(cpu: Cpu, i: Insn, target: number): void {
  if (i.mode === 64 && nonCanonical(target)) {
    if (cpu.vendor.callNonCanonicalWritesReturn) {
      // Intel: the return address is written below RSP, then #GP; RSP keeps its value.
      const sp = getSp(cpu);
      push(cpu, i.size, ripLo(cpu), ripHi(cpu));
      setSp(cpu, sp);
    } else probePush(cpu, i.size);
    raiseGP(cpu, 0);
  }
}

/** Sets RIP to `target` truncated to the operand size outside 64-bit mode. */
function jumpTo(cpu: Cpu, i: Insn, target: number): void {
  if (i.mode === 64) {
    if (nonCanonical(target)) raiseGP(cpu, 0);
    cpu.rip = target;
  } else cpu.rip = i.size === 16 ? target & 0xffff : target >>> 0;
}

function ripLo(cpu: Cpu): number { return cpu.rip | 0; }
function ripHi(cpu: Cpu): number { return Math.floor(cpu.rip / TWO32) | 0; }

// ---- jumps ------------------------------------------------------------------------------------
function jcc(cpu: Cpu, i: Insn): void {
  if (cond(cpu.lf, i.op)) jumpTo(cpu, i, cpu.rip + i.imm);
}
function jmpRel(cpu: Cpu, i: Insn): void { jumpTo(cpu, i, cpu.rip + i.imm); }
function callRel(cpu: Cpu, i: Insn): void {
  checkCallTarget(cpu, i, cpu.rip + i.imm);
  push(cpu, i.size, ripLo(cpu), ripHi(cpu));
  jumpTo(cpu, i, cpu.rip + i.imm);
}
/** Indirect target: exact for canonical values; a non-canonical one only needs to compare as such. */
function targetRm(cpu: Cpu, i: Insn): number {
  const lo = readRm(cpu, i, i.size);
  if (i.size === 64) return cpu.mmu.hi * TWO32 + (lo >>> 0);
  return i.size === 32 ? lo >>> 0 : lo;
}
function jmpRm(cpu: Cpu, i: Insn): void { jumpTo(cpu, i, targetRm(cpu, i)); }
function callRm(cpu: Cpu, i: Insn): void {
  const t = targetRm(cpu, i);
  checkCallTarget(cpu, i, t);
  push(cpu, i.size, ripLo(cpu), ripHi(cpu));
  jumpTo(cpu, i, t);
}
function ret(cpu: Cpu, i: Insn): void {
  // Read and check the target before RSP moves: a #GP for a non-canonical return address leaves RSP alone.
  const lo = peek(cpu, i.size, 0);
  const t = i.size === 64 ? cpu.mmu.hi * TWO32 + (lo >>> 0) : i.size === 32 ? lo >>> 0 : lo;
  if (i.mode === 64 && nonCanonical(t)) raiseGP(cpu, 0); // at the ret, RSP unchanged
  adjustSp(cpu, (i.size >> 3) + i.imm);
  cpu.rip = t;
}
/** The count register of loop/jrcxz by address size; returns its new value after decrementing if asked. */
function countReg(cpu: Cpu, i: Insn, dec: boolean): boolean {
  const r = cpu.r32;
  if (i.asize === 64) {
    if (dec) { const lo = r[2] - 1; if (r[2] === 0) r[3] = (r[3] - 1) | 0; r[2] = lo | 0; }
    return (r[2] | r[3]) !== 0;
  }
  if (i.asize === 32) {
    if (dec) { r[2] = (r[2] - 1) | 0; if (i.mode === 64) r[3] = 0; }
    return r[2] !== 0;
  }
  if (dec) cpu.r16[4] = (cpu.r16[4] - 1) & 0xffff;
  return cpu.r16[4] !== 0;
}
function loop(cpu: Cpu, i: Insn): void {
  const nz = countReg(cpu, i, true);
  let take = nz;
  if (i.op === 0) take = nz && !cond(cpu.lf, 4); // loopne
  else if (i.op === 1) take = nz && cond(cpu.lf, 4); // loope
  if (take) jumpTo(cpu, i, cpu.rip + i.imm);
}
function jrcxz(cpu: Cpu, i: Insn): void {
  if (!countReg(cpu, i, false)) jumpTo(cpu, i, cpu.rip + i.imm);
}

// ---- push / pop ------------------------------------------------------------------------------
function pushReg(cpu: Cpu, i: Insn): void {
  const r = cpu.r32;
  push(cpu, i.size, i.size === 16 ? cpu.r16[4 * i.reg] : r[2 * i.reg], r[2 * i.reg + 1]);
}
function popReg(cpu: Cpu, i: Insn): void {
  const lo = pop(cpu, i.size);
  setReg(cpu, i.size, i.reg, lo, cpu.mmu.hi);
}
function pushImm(cpu: Cpu, i: Insn): void { push(cpu, i.size, i.imm, i.imm >> 31); }
function pushRm(cpu: Cpu, i: Insn): void {
  const lo = readRm(cpu, i, i.size);
  push(cpu, i.size, lo, cpu.mmu.hi);
}
function popRm(cpu: Cpu, i: Insn): void {
  // The address is computed after RSP is incremented (pop [rsp] semantics).
  const lo = pop(cpu, i.size);
  const hi = cpu.mmu.hi;
  if (i.mem) {
    try {
      writeMem(cpu, ea(cpu, i), i.size, lo, hi);
    } catch (e) {
      adjustSp(cpu, -(i.size >> 3));
      throw e;
    }
  } else setReg(cpu, i.size, i.rm, lo, hi);
}
/** The frame pointer (RBP/EBP/BP) as a stack-pointer value of the current width. */
function getBp(cpu: Cpu): number {
  const r = cpu.r32;
  if (cpu.mode === 64) return r[2 * RBP + 1] * TWO32 + (r[2 * RBP] >>> 0);
  if (cpu.mode === 32) return r[2 * RBP] >>> 0;
  return cpu.r16[4 * RBP];
}
function setBp(cpu: Cpu, v: number): void {
  const r = cpu.r32;
  if (cpu.mode === 64) { r[2 * RBP] = v | 0; r[2 * RBP + 1] = Math.floor(v / TWO32) | 0; }
  else if (cpu.mode === 32) r[2 * RBP] = v | 0;
  else cpu.r16[4 * RBP] = v;
}

// ---- pusha / popa (16- and 32-bit code only) ------------------------------------------------------
function pusha(cpu: Cpu, i: Insn): void {
  const n = i.size >> 3;
  const sp0 = getSp(cpu);
  // Every slot is checked before the first store, so a fault leaves memory and the stack pointer unchanged.
  for (let k = 1; k <= 8; k++) cpu.mmu.probeWrite(stackLin(cpu, spAdd(cpu, sp0, -k * n), n), n);
  for (let k = 0; k < 8; k++) {
    const v = k === 4 ? sp0 : i.size === 16 ? cpu.r16[4 * k] : cpu.r32[2 * k];
    writeMem(cpu, stackLin(cpu, spAdd(cpu, sp0, -(k + 1) * n), n), i.size, v, 0);
  }
  setSp(cpu, spAdd(cpu, sp0, -8 * n));
}
const popaVals = new Int32Array(8);
function popa(cpu: Cpu, i: Insn): void {
  const n = i.size >> 3;
  const sp0 = getSp(cpu);
  // All eight loads first (any may fault), then the registers; the saved ESP slot is skipped.
  for (let k = 0; k < 8; k++) popaVals[k] = readMem(cpu, stackLin(cpu, spAdd(cpu, sp0, (7 - k) * n), n), i.size);
  for (let k = 0; k < 8; k++) if (k !== 4) setReg(cpu, i.size, k, popaVals[k], 0);
  setSp(cpu, spAdd(cpu, sp0, 8 * n));
}

function leave(cpu: Cpu, i: Insn): void {
  // rsp = rbp; rbp = pop -- read first (#SS for a non-canonical rbp, #PF), then commit both registers.
  const n = i.size >> 3;
  const bp = getBp(cpu);
  const lo = readMem(cpu, stackLin(cpu, bp, n), i.size);
  const hi = cpu.mmu.hi;
  setSp(cpu, spAdd(cpu, bp, n));
  setReg(cpu, i.size, RBP, lo, hi);
}

/**
 * enter: the pushes go to memory first and the registers are committed last, after a write probe of the new
 * stack top, so a #PF/#SS leaves RSP and RBP unchanged (the host keeps the bytes already pushed, and so do we).
 */
function enter(cpu: Cpu, i: Insn): void {
  const size = i.size, n = size >> 3;
  const level = i.imm2 & 31;
  const r = cpu.r32;
  const m = cpu.mmu;
  let sp = spAdd(cpu, getSp(cpu), -n);
  writeMem(cpu, stackLin(cpu, sp, n), size, size === 16 ? cpu.r16[4 * RBP] : r[2 * RBP], r[2 * RBP + 1]);
  const frame = sp;
  if (level > 0) {
    let bp = getBp(cpu);
    for (let k = 1; k < level; k++) {
      bp = spAdd(cpu, bp, -n);
      const v = readMem(cpu, stackLin(cpu, bp, n), size);
      const vhi = m.hi;
      sp = spAdd(cpu, sp, -n);
      writeMem(cpu, stackLin(cpu, sp, n), size, v, vhi);
    }
    sp = spAdd(cpu, sp, -n);
    writeMem(cpu, stackLin(cpu, sp, n), size, size === 16 ? frame & 0xffff : frame | 0, Math.floor(frame / TWO32) | 0);
  }
  const top = spAdd(cpu, sp, -i.imm);
  m.probeWrite(stackLin(cpu, top, 1), 1);
  setBp(cpu, frame); // the whole frame pointer of the stack width, whatever the operand size (SDM)
  setSp(cpu, top);
}

// ---- flags register ----------------------------------------------------------------------------
function pushf(cpu: Cpu, i: Insn): void {
  const f = cpu.getFlags() & ~(RF | (1 << 17)); // RF and VM read as 0 in the pushed image
  push(cpu, i.size, i.size === 16 ? f & 0xffff : f, 0);
}
function popf(cpu: Cpu, i: Insn): void {
  const v = pop(cpu, i.size);
  // What CPL 0 may change; at CPL 3 IF and IOPL are kept (IOPL 0).
  let mask = ARITH_FLAGS | TF | DF | NT | AC | ID | IF | IOPL;
  if (cpu.cpl > 0) mask &= ~(IOPL | IF);
  if (i.size === 16) mask &= 0xffff;
  const old = cpu.getFlags();
  cpu.setFlags((old & ~mask) | (v & mask));
}

// ---- setcc / cmovcc ----------------------------------------------------------------------------
function setcc(cpu: Cpu, i: Insn): void {
  const v = cond(cpu.lf, i.op) ? 1 : 0;
  if (i.mem) cpu.mmu.write8(ea(cpu, i), v);
  else cpu.r8[i.rm] = v;
}
function cmovcc(cpu: Cpu, i: Insn): void {
  const lo = readRm(cpu, i, i.size);
  const hi = cpu.mmu.hi;
  if (cond(cpu.lf, i.op)) setReg(cpu, i.size, i.reg, lo, hi);
  else if (i.size === 32) cpu.r32[2 * i.reg + 1] = 0; // the 32-bit destination is zero-extended either way
}

// ---- inc / dec / neg / not ---------------------------------------------------------------------
function incdec(cpu: Cpu, i: Insn): void {
  const size = i.size;
  const lf = cpu.lf;
  const cf = getCF(lf);
  const a = i.mem ? ea(cpu, i) : 0;
  const lo = i.mem ? rmwMem(cpu, a, size) : size === 8 ? cpu.r8[i.rm] : size === 16 ? cpu.r16[4 * i.rm] : cpu.r32[2 * i.rm];
  const hi = i.mem ? cpu.mmu.hi : cpu.r32[2 * i.rm + 1];
  const dec = i.op === 1;
  let rlo: number, rhi = 0;
  const sz = sizeIdx2(size);
  if (size === 64) {
    rlo = dec ? (lo - 1) | 0 : (lo + 1) | 0;
    rhi = dec ? (lo === 0 ? (hi - 1) | 0 : hi) : (lo === -1 ? (hi + 1) | 0 : hi);
  } else {
    rlo = dec ? lo - 1 : lo + 1;
    rlo = size === 8 ? rlo & 0xff : size === 16 ? rlo & 0xffff : rlo | 0;
  }
  lf[Lf.OP] = ((dec ? Kind.DEC : Kind.INC) << 2) | sz;
  lf[Lf.ALO] = lo; lf[Lf.AHI] = size === 64 ? hi : 0;
  lf[Lf.BLO] = 1; lf[Lf.BHI] = 0;
  lf[Lf.RLO] = rlo; lf[Lf.RHI] = rhi;
  lf[Lf.CIN] = cf;
  if (i.mem) writeMem(cpu, a, size, rlo, rhi);
  else setReg(cpu, size, i.rm, rlo, rhi);
}
function sizeIdx2(size: number): number { return size === 64 ? 3 : size === 32 ? 2 : size === 16 ? 1 : 0; }

function negnot(cpu: Cpu, i: Insn): void {
  const size = i.size;
  const a = i.mem ? ea(cpu, i) : 0;
  const lo = i.mem ? rmwMem(cpu, a, size) : size === 8 ? cpu.r8[i.rm] : size === 16 ? cpu.r16[4 * i.rm] : cpu.r32[2 * i.rm];
  const hi = i.mem ? cpu.mmu.hi : cpu.r32[2 * i.rm + 1];
  let rlo: number, rhi = 0;
  if (i.op === 2) { // not
    rlo = size === 8 ? ~lo & 0xff : size === 16 ? ~lo & 0xffff : ~lo;
    rhi = ~hi;
  } else { // neg: 0 - v
    const lf = cpu.lf;
    if (size === 64) {
      rlo = (-lo) | 0;
      rhi = (~hi + (lo === 0 ? 1 : 0)) | 0;
    } else {
      rlo = size === 8 ? (-lo) & 0xff : size === 16 ? (-lo) & 0xffff : (-lo) | 0;
    }
    lf[Lf.OP] = (Kind.SUB << 2) | sizeIdx2(size);
    lf[Lf.ALO] = 0; lf[Lf.AHI] = 0;
    lf[Lf.BLO] = lo; lf[Lf.BHI] = size === 64 ? hi : 0;
    lf[Lf.RLO] = rlo; lf[Lf.RHI] = rhi;
  }
  if (i.mem) writeMem(cpu, a, size, rlo, rhi);
  else setReg(cpu, size, i.rm, rlo, rhi);
}

// ---- decoding ----------------------------------------------------------------------------------
/** Operand size of near branches and stack operations: 64-bit by default in long mode. */
function stackSize(d: Decoder): number {
  // REX.W wins over 66 (gcc emits `66 66 48 e8` for calls to __tls_get_addr).
  if (d.mode === 64) return d.p66 && !d.rexW ? 16 : 64;
  return d.osz;
}

/** Near call/ret in 64-bit mode always move 8 bytes (Intel ignores 66 there, as iced decodes it). */
function nearBranchSize(d: Decoder): number {
  return d.mode === 64 ? 64 : d.osz;
}

function relTarget(d: Decoder, i: Insn, wide: boolean): void {
  // Intel ignores 66 on near branches in 64-bit mode (always rel32 / 64-bit RIP).
  if (d.mode === 64) { i.size = 64; i.imm = wide ? d.imm32() : d.imm8(); }
  else { i.size = d.osz; i.imm = wide ? d.immz() : d.imm8(); }
  i.ends = true;
}

for (let cc = 0; cc < 16; cc++) {
  def1(0x70 + cc, (d, i) => { relTarget(d, i, false); i.op = cc; i.h = jcc; });
  def0F(0x80 + cc, (d, i) => { relTarget(d, i, true); i.op = cc; i.h = jcc; });
  def0F(0x90 + cc, (d, i) => { d.modrm(i); if (!i.mem) i.rm = d.byteReg(i.rm); i.op = cc; i.size = 8; i.h = setcc; });
  def0F(0x40 + cc, (d, i) => { d.modrm(i); i.op = cc; i.h = cmovcc; });
}
def1(0xEB, (d, i) => { relTarget(d, i, false); i.h = jmpRel; });
def1(0xE9, (d, i) => { relTarget(d, i, true); i.h = jmpRel; });
def1(0xE8, (d, i) => { relTarget(d, i, true); i.size = nearBranchSize(d); i.h = callRel; });
def1(0xC3, (d, i) => { i.size = nearBranchSize(d); i.imm = 0; i.h = ret; i.ends = true; });
def1(0xC2, (d, i) => { i.size = nearBranchSize(d); i.imm = d.imm16(); i.h = ret; i.ends = true; });
for (let k = 0; k < 3; k++) def1(0xE0 + k, (d, i) => { relTarget(d, i, false); i.op = k; i.h = loop; });
def1(0xE3, (d, i) => { relTarget(d, i, false); i.h = jrcxz; });

for (let r = 0; r < 8; r++) {
  def1(0x50 + r, (d, i) => { i.reg = r | d.rexB; i.size = stackSize(d); i.h = pushReg; });
  def1(0x58 + r, (d, i) => { i.reg = r | d.rexB; i.size = stackSize(d); i.h = popReg; });
}
def1(0x68, (d, i) => { i.size = stackSize(d); i.imm = d.osz === 16 ? d.imm16s() : d.imm32(); if (i.size === 16) i.imm &= 0xffff; i.h = pushImm; });
def1(0x6A, (d, i) => { i.size = stackSize(d); i.imm = d.imm8(); if (i.size === 16) i.imm &= 0xffff; i.h = pushImm; });
def1(0x8F, (d, i) => { d.modrm(i); if (d.regField !== 0) return; i.size = stackSize(d); i.h = popRm; });
def1Legacy(0x60, (d, i) => { i.size = d.osz; i.h = pusha; });
def1Legacy(0x61, (d, i) => { i.size = d.osz; i.h = popa; });
def1(0xC9, (d, i) => { i.size = stackSize(d); i.h = leave; });
def1(0xC8, (d, i) => { i.imm = d.imm16(); i.imm2 = d.imm8u(); i.size = stackSize(d); i.h = enter; });
def1(0x9C, (d, i) => { i.size = stackSize(d); i.h = pushf; });
def1(0x9D, (d, i) => { i.size = stackSize(d); i.h = popf; i.ends = true; });

// 40-4F are inc/dec r16/r32 outside 64-bit mode (REX prefixes there).
for (let r = 0; r < 8; r++) {
  def1Legacy(0x40 + r, (_d, i) => { i.rm = r; i.op = 0; i.h = incdec; });
  def1Legacy(0x48 + r, (_d, i) => { i.rm = r; i.op = 1; i.h = incdec; });
}
def1(0xFE, (d, i) => {
  d.modrm(i);
  if (d.regField > 1) return;
  d.byteRegs(i); i.size = 8; i.op = d.regField; i.h = incdec; d.lockable = true;
});
def1(0xFF, (d, i) => {
  d.modrm(i);
  const r = d.regField;
  switch (r) {
    case 0: case 1: i.op = r; i.h = incdec; d.lockable = true; return;
    case 2: i.size = d.mode === 64 ? 64 : d.osz; i.h = callRm; i.ends = true; return;
    case 4: i.size = d.mode === 64 ? 64 : d.osz; i.h = jmpRm; i.ends = true; return;
    case 6: i.size = stackSize(d); i.h = pushRm; return;
    case 3: case 5: { const f = GROUP3_EXT.farFF; if (f) f(d, i); return; }
    default: return;
  }
});
function group3(d: Decoder, i: Insn, byteOp: boolean): void {
  d.modrm(i);
  if (byteOp) { d.byteRegs(i); i.size = 8; }
  const r = d.regField;
  i.op = r;
  if (r < 2) { decodeTestImm(d, i, byteOp); return; }
  if (r < 4) { i.h = negnot; d.lockable = true; return; }
  const f = GROUP3_EXT.muldiv;
  if (f) f(d, i);
}
def1(0xF6, (d, i) => group3(d, i, true));
def1(0xF7, (d, i) => group3(d, i, false));

export { sizeIdx, raiseGP };
