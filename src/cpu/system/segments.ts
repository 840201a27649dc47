// Segment registers: descriptor loads from the GDT, real-mode segments, mov to/from sreg, push/pop fs/gs,
// far jmp/call/ret, iret in every mode. Only what OSv's boot, trampoline and interrupt paths need:
// no LDT, no call gates, no task switches.
import type { Cpu } from '../cpu.js';
import type { Decoder } from '../decoder.js';
import { raise, raiseGP } from '../exceptions.js';
import type { Insn } from '../insn.js';
import { ea, readRm, setReg, writeRm } from '../operands.js';
import { def0F, def1, def1Legacy } from '../optable.js';
import { AC, ARITH_FLAGS, CS, DF, FS, GS, ID, IF, IOPL, NT, RF, SS, TF, VEC_NP, VEC_UD } from '../regs.js';
import { pop, push } from '../stack.js';
import { GROUP3_EXT } from '../ops/group3.js';

const TWO32 = 4294967296;

/** Loads a segment register from a selector: GDT descriptor in protected mode, base = sel*16 in real mode. */
export function loadSegmentRaw(cpu: Cpu, seg: number, sel: number): void {
  sel &= 0xffff;
  if (!(cpu.cr0 & 1)) {
    cpu.segSel[seg] = sel;
    cpu.segDescBase[seg] = sel * 16;
    if (cpu.mode !== 64 || seg >= FS) cpu.segBase[seg] = sel * 16;
    return;
  }
  if ((sel & ~3) === 0) {
    if (seg === CS) raiseGP(cpu, 0);
    cpu.segSel[seg] = sel;
    cpu.segDescBase[seg] = 0;
    cpu.segAttr[seg] = 0;
    if (seg >= FS || cpu.mode !== 64) cpu.segBase[seg] = 0;
    return;
  }
  if (sel & 4) raiseGP(cpu, sel & ~3); // LDT selectors: OSv has no LDT
  const idx = sel & ~7;
  if (idx + 7 > cpu.gdtLimit) raiseGP(cpu, sel & ~3);
  const m = cpu.mmu;
  const lo = m.read32(cpu.gdtBase + idx), hi = m.read32(cpu.gdtBase + idx + 4);
  if (!(hi & 0x8000)) raise(cpu, seg === SS ? 12 : VEC_NP, sel & ~3);
  const base = ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) >>> 0;
  let limit = (lo & 0xffff) | (hi & 0xf0000);
  if (hi & 0x800000) limit = limit * 4096 + 4095;
  // Set the accessed bit as the hardware does.
  if (!(hi & 0x100)) m.write32(cpu.gdtBase + idx + 4, hi | 0x100);
  cpu.segSel[seg] = sel;
  cpu.segDescBase[seg] = base;
  cpu.segLimit[seg] = limit;
  cpu.segAttr[seg] = ((hi | 0x100) >>> 8) & 0xffff;
  if (seg === CS) cpu.cpl = (hi >> 13) & 3;
  if (cpu.mode !== 64 || seg >= FS) cpu.segBase[seg] = base;
}

// ---- mov sreg ----------------------------------------------------------------------------------
function movRmSreg(cpu: Cpu, i: Insn): void {
  const v = cpu.segSel[i.reg];
  if (i.mem) cpu.mmu.write16(ea(cpu, i), v);
  else setReg(cpu, i.size === 16 ? 16 : 32, i.rm, v, 0);
}
function movSregRm(cpu: Cpu, i: Insn): void {
  const v = readRm(cpu, i, 16);
  loadSegmentRaw(cpu, i.reg, v);
  if (i.reg === SS) cpu.intShadow = true;
  if (i.reg === CS) cpu.updateMode();
}
def1(0x8C, (d, i) => { d.modrm(i); i.reg = d.regField; if (i.reg > 5) return; i.size = d.osz; i.h = movRmSreg; });
def1(0x8E, (d, i) => {
  d.modrm(i); i.reg = d.regField;
  if (i.reg > 5 || i.reg === CS) return;
  i.h = movSregRm; i.ends = true;
});

// ---- push/pop segment registers ------------------------------------------------------------------
function pushSeg(cpu: Cpu, i: Insn): void { push(cpu, i.size, cpu.segSel[i.reg], 0); }
function popSeg(cpu: Cpu, i: Insn): void {
  const v = pop(cpu, i.size);
  loadSegmentRaw(cpu, i.reg, v);
}
function stackSize(d: Decoder): number { return d.mode === 64 ? (d.p66 ? 16 : 64) : d.osz; }
def0F(0xA0, (d, i) => { i.reg = FS; i.size = stackSize(d); i.h = pushSeg; });
def0F(0xA1, (d, i) => { i.reg = FS; i.size = stackSize(d); i.h = popSeg; });
def0F(0xA8, (d, i) => { i.reg = GS; i.size = stackSize(d); i.h = pushSeg; });
def0F(0xA9, (d, i) => { i.reg = GS; i.size = stackSize(d); i.h = popSeg; });
for (const [op, seg] of [[0x06, 0], [0x0E, 1], [0x16, 2], [0x1E, 3]] as const) {
  def1Legacy(op, (d, i) => { i.reg = seg; i.size = d.osz; i.h = pushSeg; });
  if (seg !== 1) def1Legacy(op + 1, (d, i) => { i.reg = seg; i.size = d.osz; i.h = popSeg; i.ends = seg === SS; });
}

// ---- far transfers -------------------------------------------------------------------------------
/** Jumps to sel:offset; loading CS may change the mode. */
export function farJump(cpu: Cpu, sel: number, offset: number): void {
  loadSegmentRaw(cpu, CS, sel);
  cpu.rip = offset;
  cpu.updateMode();
}
function jmpFarImm(cpu: Cpu, i: Insn): void { farJump(cpu, i.imm2, i.imm >>> 0); }
function callFarImm(cpu: Cpu, i: Insn): void {
  push(cpu, i.size, cpu.segSel[CS], 0);
  push(cpu, i.size, cpu.rip | 0, 0);
  farJump(cpu, i.imm2, i.imm >>> 0);
}
function farPointer(cpu: Cpu, i: Insn): [number, number] {
  const a = ea(cpu, i);
  const m = cpu.mmu;
  let off: number;
  const n = i.size >> 3;
  if (i.size === 64) { const lo = m.read64(a); off = m.hi * TWO32 + (lo >>> 0); }
  else if (i.size === 32) off = m.read32(a) >>> 0;
  else off = m.read16(a);
  return [m.read16(a + n), off];
}
function jmpFarMem(cpu: Cpu, i: Insn): void {
  const [sel, off] = farPointer(cpu, i);
  farJump(cpu, sel, off);
}
function callFarMem(cpu: Cpu, i: Insn): void {
  const [sel, off] = farPointer(cpu, i);
  push(cpu, i.size, cpu.segSel[CS], 0);
  push(cpu, i.size, cpu.rip | 0, Math.floor(cpu.rip / TWO32) | 0);
  farJump(cpu, sel, off);
}
function retFar(cpu: Cpu, i: Insn): void {
  const lo = pop(cpu, i.size);
  const off = i.size === 64 ? cpu.mmu.hi * TWO32 + (lo >>> 0) : lo >>> 0;
  const sel = pop(cpu, i.size) & 0xffff;
  farJump(cpu, sel, off);
  if (i.imm) {
    const r = cpu.r32;
    if (cpu.mode === 64) cpu.setReg64(4, cpu.reg64(4) + i.imm);
    else if (cpu.mode === 32) r[8] = (r[8] + i.imm) | 0;
    else cpu.r16[16] = (cpu.r16[16] + i.imm) & 0xffff;
  }
}
def1Legacy(0xEA, (d, i) => { i.imm = d.osz === 16 ? d.imm16() : d.imm32(); i.imm2 = d.imm16(); i.h = jmpFarImm; i.ends = true; });
def1Legacy(0x9A, (d, i) => { i.size = d.osz; i.imm = d.osz === 16 ? d.imm16() : d.imm32(); i.imm2 = d.imm16(); i.h = callFarImm; i.ends = true; });
def1(0xCB, (d, i) => { i.size = d.rexW ? 64 : d.osz; i.h = retFar; i.ends = true; });
def1(0xCA, (d, i) => { i.size = d.rexW ? 64 : d.osz; i.imm = d.imm16(); i.h = retFar; i.ends = true; });
GROUP3_EXT.farFF = (d, i) => {
  if (!i.mem) return; // #UD
  i.size = d.rexW ? 64 : d.osz;
  i.h = d.regField === 3 ? callFarMem : jmpFarMem;
  i.ends = true;
};

// ---- iret ----------------------------------------------------------------------------------------
function iret(cpu: Cpu, i: Insn): void {
  const size = i.size;
  const lo = pop(cpu, size);
  const ripHi = cpu.mmu.hi;
  const sel = pop(cpu, size) & 0xffff;
  const flags = pop(cpu, size);
  let mask = ARITH_FLAGS | TF | DF | NT | AC | ID | IF | IOPL | RF;
  if (size === 16) mask &= 0xffff;
  if (cpu.cpl > 0) mask &= ~(IOPL | IF);
  if (cpu.mode === 64) {
    const rspLo = pop(cpu, 64), rspHi = cpu.mmu.hi;
    const ss = pop(cpu, 64) & 0xffff;
    cpu.setFlags((cpu.getFlags() & ~mask) | (flags & mask));
    loadSegmentRaw(cpu, CS, sel);
    cpu.r32[8] = rspLo; cpu.r32[9] = rspHi;
    if (ss & ~3) loadSegmentRaw(cpu, SS, ss); else cpu.segSel[SS] = ss;
    cpu.rip = size === 64 ? ripHi * TWO32 + (lo >>> 0) : lo >>> 0;
  } else {
    cpu.setFlags((cpu.getFlags() & ~mask) | (flags & mask));
    loadSegmentRaw(cpu, CS, sel);
    cpu.rip = lo >>> 0;
  }
  cpu.nmiBlocked = false;
  cpu.updateMode();
}
def1(0xCF, (d, i) => { i.size = d.rexW ? 64 : d.osz; i.h = iret; i.ends = true; });

export { writeRm, VEC_UD };
