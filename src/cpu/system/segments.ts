// Segment registers: descriptor loads from the GDT, real-mode segments, mov to/from sreg, push/pop fs/gs,
// far jmp/call/ret, iret in every mode. Only what OSv's boot, trampoline and interrupt paths need:
// no LDT, no call gates, no task switches.
import type { Cpu } from '../cpu.js';
import type { Decoder } from '../decoder.js';
import { raise, raiseGP, Unimplemented } from '../exceptions.js';
import type { Insn } from '../insn.js';
import { ea, readRm, setReg } from '../operands.js';
import { def0F, def1, def1Legacy } from '../optable.js';
import { ACC_READ, ACC_WRITE } from '../mmu.js';
import { AC, ARITH_FLAGS, CS, DF, FS, GS, ID, IF, IOPL, NT, SS, TF, VEC_NP, VEC_SS } from '../regs.js';
import { adjustSp, peek, push } from '../stack.js';
import { GROUP3_EXT } from '../ops/group3.js';

const TWO32 = 4294967296;

/** The last descriptor fetched by fetchDescriptor: [low dword, high dword]. */
export const desc = new Int32Array(2);

/** Reads a dword of a system table (GDT, IDT, TSS): these are supervisor accesses even at CPL 3. */
export function sysRead32(cpu: Cpu, lin: number): number {
  if (cpu.cpl !== 3) return cpu.mmu.read32(lin);
  return cpu.mem.read32(cpu.mmu.translateSupervisor(lin, ACC_READ));
}

export function sysRead64(cpu: Cpu, lin: number): number {
  const lo = sysRead32(cpu, lin) >>> 0;
  return sysRead32(cpu, lin + 4) * TWO32 + lo;
}

function sysWrite32(cpu: Cpu, lin: number, v: number): void {
  if (cpu.cpl !== 3) cpu.mmu.write32(lin, v);
  else cpu.mem.write32(cpu.mmu.translateSupervisor(lin, ACC_WRITE), v);
}

/**
 * Reads and checks the GDT descriptor that `sel` (not null) names for segment register `seg`, leaving it
 * in `desc`. `ext` (0 or 1) is the EXT bit of the error codes (set while delivering an external event).
 */
export function fetchDescriptor(cpu: Cpu, seg: number, sel: number, ext = 0): void {
  const err = (sel & ~3) | ext;
  if (sel & 4) raiseGP(cpu, err); // LDT selectors: OSv has no LDT
  const idx = sel & ~7;
  if (idx + 7 > cpu.gdtLimit) raiseGP(cpu, err);
  const lo = sysRead32(cpu, cpu.gdtBase + idx), hi = sysRead32(cpu, cpu.gdtBase + idx + 4);
  const s = (hi & 0x1000) !== 0, code = (hi & 0x800) !== 0;
  if (seg === CS) {
    if (!s || !code) raiseGP(cpu, err);
  } else if (seg === SS) {
    if (!s || code || !(hi & 0x200)) raiseGP(cpu, err); // writable data only
  } else if (!s || (code && !(hi & 0x200))) {
    raiseGP(cpu, err); // data or readable code
  }
  if (!(hi & 0x8000)) raise(cpu, seg === SS ? VEC_SS : VEC_NP, err);
  desc[0] = lo;
  desc[1] = hi;
}

/** Loads a fetched descriptor into the segment register's cache (cannot fault after the accessed-bit write). */
export function commitSegment(cpu: Cpu, seg: number, sel: number, lo: number, hi: number): void {
  const base = ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) >>> 0;
  let limit = (lo & 0xffff) | (hi & 0xf0000);
  if (hi & 0x800000) limit = limit * 4096 + 4095;
  // Set the accessed bit as the hardware does.
  if (!(hi & 0x100)) sysWrite32(cpu, cpu.gdtBase + (sel & ~7) + 4, hi | 0x100);
  cpu.segSel[seg] = sel & 0xffff;
  cpu.segDescBase[seg] = base;
  cpu.segLimit[seg] = limit;
  cpu.segAttr[seg] = ((hi | 0x100) >>> 8) & 0xffff;
  // Non-conforming code runs at its DPL; conforming code keeps the caller's CPL.
  if (seg === CS && !(hi & 0x400)) cpu.cpl = (hi >> 13) & 3;
  if (cpu.mode !== 64 || seg >= FS) cpu.segBase[seg] = base;
}

function loadNull(cpu: Cpu, seg: number, sel: number): void {
  cpu.segSel[seg] = sel;
  cpu.segDescBase[seg] = 0;
  cpu.segAttr[seg] = 0;
  if (seg >= FS || cpu.mode !== 64) cpu.segBase[seg] = 0;
}

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
    // A null SS is only valid in 64-bit mode below CPL 3.
    if (seg === CS || (seg === SS && (cpu.mode !== 64 || cpu.cpl === 3))) raiseGP(cpu, 0);
    loadNull(cpu, seg, sel);
    return;
  }
  fetchDescriptor(cpu, seg, sel);
  commitSegment(cpu, seg, sel, desc[0], desc[1]);
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
  const v = peek(cpu, i.size, 0);
  loadSegmentRaw(cpu, i.reg, v); // may fault: RSP moves only afterwards
  adjustSp(cpu, i.size >> 3);
  if (i.reg === SS) cpu.intShadow = true;
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
/** Jumps to sel:offset; loading CS may change the mode. Nothing changes if the CS load faults. */
export function farJump(cpu: Cpu, sel: number, offset: number): void {
  loadSegmentRaw(cpu, CS, sel);
  cpu.rip = cpu.mode === 16 && !(cpu.cr0 & 1) ? offset & 0xffff : offset;
  cpu.updateMode();
}

/** Runs a far transfer that pushes or pops before loading CS; a fault puts RSP back. */
function keepingSp(cpu: Cpu, f: () => void): void {
  const lo = cpu.r32[8], hi = cpu.r32[9];
  try {
    f();
  } catch (e) {
    cpu.r32[8] = lo;
    cpu.r32[9] = hi;
    throw e;
  }
}

function jmpFarImm(cpu: Cpu, i: Insn): void { farJump(cpu, i.imm2, i.imm >>> 0); }
function callFarImm(cpu: Cpu, i: Insn): void {
  keepingSp(cpu, () => {
    push(cpu, i.size, cpu.segSel[CS], 0);
    push(cpu, i.size, cpu.rip | 0, 0);
    farJump(cpu, i.imm2, i.imm >>> 0);
  });
}
function farPointer(cpu: Cpu, i: Insn): number {
  const a = ea(cpu, i);
  const m = cpu.mmu;
  let off: number;
  const n = i.size >> 3;
  if (i.size === 64) { const lo = m.read64(a); off = m.hi * TWO32 + (lo >>> 0); }
  else if (i.size === 32) off = m.read32(a) >>> 0;
  else off = m.read16(a);
  farSel = m.read16(a + n);
  return off;
}
let farSel = 0;
function jmpFarMem(cpu: Cpu, i: Insn): void {
  const off = farPointer(cpu, i);
  farJump(cpu, farSel, off);
}
function callFarMem(cpu: Cpu, i: Insn): void {
  const off = farPointer(cpu, i);
  const sel = farSel;
  keepingSp(cpu, () => {
    push(cpu, i.size, cpu.segSel[CS], 0);
    push(cpu, i.size, cpu.rip | 0, Math.floor(cpu.rip / TWO32) | 0);
    farJump(cpu, sel, off);
  });
}
function retFar(cpu: Cpu, i: Insn): void {
  const n = i.size >> 3;
  const lo = peek(cpu, i.size, 0);
  const off = i.size === 64 ? cpu.mmu.hi * TWO32 + (lo >>> 0) : lo >>> 0;
  const sel = peek(cpu, i.size, n) & 0xffff;
  const oldMode = cpu.mode;
  farJump(cpu, sel, off);
  // The pops use the stack width of the code that executed lret.
  const m = cpu.mode;
  cpu.mode = oldMode;
  adjustSp(cpu, 2 * n + i.imm);
  cpu.mode = m;
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
function iretFlagsMask(cpu: Cpu, size: number): number {
  // RF (set in every fault frame) is not restored: it only suppresses instruction breakpoints, which the
  // vCPU does not model, and the hardware clears it after the next instruction anyway.
  let mask = ARITH_FLAGS | TF | DF | NT | AC | ID | IF | IOPL;
  if (size === 16) mask &= 0xffff;
  if (cpu.cpl > 0) mask &= ~IOPL;
  if (cpu.cpl > ((cpu.flagsRest >> 12) & 3)) mask &= ~IF;
  return mask;
}

/** iretq/iretd in long mode: always pops RIP, CS, RFLAGS, RSP, SS; everything is checked before anything changes. */
function iretLong(cpu: Cpu, size: number): void {
  const n = size >> 3;
  const ripLo = peek(cpu, size, 0);
  const rip = size === 64 ? cpu.mmu.hi * TWO32 + (ripLo >>> 0) : ripLo >>> 0;
  const cs = peek(cpu, size, n) & 0xffff;
  const flags = peek(cpu, size, 2 * n);
  const spLo = peek(cpu, size, 3 * n);
  const sp = size === 64 ? cpu.mmu.hi * TWO32 + (spLo >>> 0) : spLo >>> 0;
  const ss = peek(cpu, size, 4 * n) & 0xffff;
  const rpl = cs & 3;
  if ((cs & ~3) === 0 || rpl < cpu.cpl) raiseGP(cpu, cs & ~3);
  fetchDescriptor(cpu, CS, cs);
  const csLo = desc[0], csHi = desc[1];
  const to64 = (csHi & 0x200000) !== 0;
  let ssLo = 0, ssHi = 0;
  if ((ss & ~3) !== 0) {
    fetchDescriptor(cpu, SS, ss);
    ssLo = desc[0]; ssHi = desc[1];
  } else if (!to64 || rpl === 3) {
    raiseGP(cpu, 0);
  }
  const mask = iretFlagsMask(cpu, size);
  cpu.setFlags((cpu.getFlags() & ~mask) | (flags & mask));
  commitSegment(cpu, CS, cs, csLo, csHi);
  cpu.cpl = rpl;
  if ((ss & ~3) !== 0) commitSegment(cpu, SS, ss, ssLo, ssHi);
  else loadNull(cpu, SS, ss);
  cpu.setReg64(4, sp);
  cpu.rip = rip;
}

/** iret outside long mode: real mode, or protected mode (popping SS:ESP too when returning outwards). */
function iretLegacy(cpu: Cpu, size: number): void {
  const n = size >> 3;
  const ip = peek(cpu, size, 0) >>> 0;
  const cs = peek(cpu, size, n) & 0xffff;
  const flags = peek(cpu, size, 2 * n);
  const mask = iretFlagsMask(cpu, size);
  if (!(cpu.cr0 & 1)) {
    loadSegmentRaw(cpu, CS, cs);
    adjustSp(cpu, 3 * n);
  } else {
    const rpl = cs & 3;
    if ((cs & ~3) === 0 || rpl < cpu.cpl) raiseGP(cpu, cs & ~3);
    if (flags & (1 << 17)) throw new Unimplemented('iret to virtual-8086 mode');
    fetchDescriptor(cpu, CS, cs);
    const csLo = desc[0], csHi = desc[1];
    if (rpl > cpu.cpl) {
      const sp = peek(cpu, size, 3 * n) >>> 0;
      const ss = peek(cpu, size, 4 * n) & 0xffff;
      if ((ss & ~3) === 0) raiseGP(cpu, 0);
      fetchDescriptor(cpu, SS, ss);
      const ssLo = desc[0], ssHi = desc[1];
      commitSegment(cpu, CS, cs, csLo, csHi);
      commitSegment(cpu, SS, ss, ssLo, ssHi);
      if (size === 16) cpu.r16[16] = sp; else cpu.r32[8] = sp | 0;
    } else {
      commitSegment(cpu, CS, cs, csLo, csHi);
      adjustSp(cpu, 3 * n);
    }
    cpu.cpl = rpl;
  }
  cpu.setFlags((cpu.getFlags() & ~mask) | (flags & mask));
  cpu.rip = size === 16 ? ip & 0xffff : ip;
}

function iret(cpu: Cpu, i: Insn): void {
  if (cpu.mode === 64) iretLong(cpu, i.size);
  else iretLegacy(cpu, i.size);
  cpu.nmiBlocked = false;
  cpu.updateMode();
}
def1(0xCF, (d, i) => { i.size = d.rexW ? 64 : d.osz; i.h = iret; i.ends = true; });
