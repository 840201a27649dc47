// Control and descriptor-table registers: mov cr/dr, lgdt/lidt/sgdt/sidt, ltr/str, lmsw/smsw, clts,
// invlpg, wbinvd/invd, clflush and fences, hlt/pause handled elsewhere.
import type { Cpu } from '../cpu.js';
import { raise, raiseGP, raiseUD, Unimplemented } from '../exceptions.js';
import type { Insn } from '../insn.js';
import type { Decoder } from '../decoder.js';
import { ea, setReg } from '../operands.js';
import { def0F } from '../optable.js';
import { cpuidConfig } from './msr.js';
import { CR0_PE, CR0_PG, CR4_FSGSBASE, CR4_OSXSAVE, CR4_PAE, EFER_LMA, EFER_LME, VEC_NP } from '../regs.js';
import { nop } from '../ops/mov.js';

const TWO32 = 4294967296;
const CR4_DE = 1 << 3;

function needCpl0(cpu: Cpu): void {
  if (cpu.cpl !== 0) raiseGP(cpu, 0);
}

export function writeCr(cpu: Cpu, n: number, lo: number, hi: number): void {
  const v = hi * TWO32 + (lo >>> 0);
  switch (n) {
    case 0: {
      const old = cpu.cr0;
      const nv = (lo | 0x10) >>> 0; // ET is hard-wired
      if (hi !== 0 || ((nv & CR0_PG) && !(nv & CR0_PE))) raiseGP(cpu, 0);
      // Leaving protected mode is only possible from legacy mode (long mode must be left first).
      if (!(nv & CR0_PE) && (cpu.efer & EFER_LMA)) raiseGP(cpu, 0);
      // Entering paging with EFER.LME set activates long mode.
      if ((nv & CR0_PG) && !(old & CR0_PG)) {
        if (!(cpu.efer & EFER_LME)) throw new Unimplemented('paging without long mode (32-bit or PAE-only paging)');
        if (!(cpu.cr4 & CR4_PAE)) raiseGP(cpu, 0);
        cpu.efer |= EFER_LMA;
      } else if (!(nv & CR0_PG) && (old & CR0_PG)) {
        // Paging can only be turned off from compatibility mode.
        if (cpu.mode === 64) raiseGP(cpu, 0);
        cpu.efer &= ~EFER_LMA;
      }
      cpu.cr0 = nv;
      break;
    }
    case 2: cpu.cr2 = v; break;
    // Writing CR3 flushes the TLB even when the value does not change.
    case 3: cpu.cr3 = v; cpu.mmu.cr3 = v; cpu.mmu.flush(); break;
    case 4:
      if ((cpu.efer & EFER_LMA) && !(lo & CR4_PAE)) raiseGP(cpu, 0);
      // Features the CPUID model does not advertise cannot be enabled.
      if ((lo & CR4_OSXSAVE) && !cpuidConfig(cpu).xsave) raiseGP(cpu, 0);
      if ((lo & CR4_FSGSBASE) && !cpuidConfig(cpu).fsgsbase) raiseGP(cpu, 0);
      cpu.cr4 = lo >>> 0; cpu.mmu.flush(); break;
    case 8: cpu.cr8 = lo & 15; break;
    default: raiseUD(cpu);
  }
  cpu.updateMode();
}

export function readCr(cpu: Cpu, n: number): number {
  switch (n) {
    case 0: return cpu.cr0 >>> 0;
    case 2: return cpu.cr2;
    case 3: return cpu.cr3;
    case 4: return cpu.cr4 >>> 0;
    case 8: return cpu.cr8;
    default: return raiseUD(cpu);
  }
}

function movFromCr(cpu: Cpu, i: Insn): void {
  needCpl0(cpu);
  const v = readCr(cpu, i.reg);
  if (cpu.mode === 64) cpu.setReg64(i.rm, v);
  else setReg(cpu, 32, i.rm, v | 0, 0);
}
function movToCr(cpu: Cpu, i: Insn): void {
  needCpl0(cpu);
  const lo = cpu.r32[2 * i.rm], hi = cpu.mode === 64 ? cpu.r32[2 * i.rm + 1] : 0;
  writeCr(cpu, i.reg, lo, hi);
}
// Debug registers: kept so that guests can save and restore them; breakpoints are the debugger's job.
/** DR4/DR5 alias DR6/DR7 unless CR4.DE makes them #UD; DR8-15 do not exist. */
function drIndex(cpu: Cpu, n: number): number {
  if (n > 7 || ((n === 4 || n === 5) && (cpu.cr4 & CR4_DE))) raiseUD(cpu);
  return n === 4 || n === 5 ? n + 2 : n;
}
function movFromDr(cpu: Cpu, i: Insn): void {
  const n = drIndex(cpu, i.reg);
  needCpl0(cpu);
  let v = cpu.dr[n];
  // Reserved bits read as set: DR6 0xffff0ff0, DR7 bit 10.
  if (n === 6) v = (v | 0xffff0ff0) >>> 0;
  else if (n === 7) v = (v | 0x400) >>> 0;
  setReg(cpu, cpu.mode === 64 ? 64 : 32, i.rm, v | 0, Math.floor(v / TWO32) | 0);
}
function movToDr(cpu: Cpu, i: Insn): void {
  const n = drIndex(cpu, i.reg);
  needCpl0(cpu);
  cpu.dr[n] = cpu.mode === 64 ? cpu.reg64(i.rm) : cpu.r32[2 * i.rm] >>> 0;
}

/**
 * mov to/from CR/DR: the ModRM byte always names registers (mod is ignored and no displacement follows).
 * Only CR0/2/3/4/8 and DR0-7 exist; others are #UD.
 */
function crDrOperands(d: Decoder, i: Insn, dr: boolean): boolean {
  const m = d.byte();
  d.modrmByte = m;
  d.regField = (m >> 3) & 7;
  d.rmField = m & 7;
  i.mem = false;
  i.reg = d.regField | d.rexR;
  i.rm = d.rmField | d.rexB;
  if (dr) return d.rexR === 0;
  return i.reg === 0 || i.reg === 2 || i.reg === 3 || i.reg === 4 || i.reg === 8;
}
def0F(0x20, (d, i) => { if (crDrOperands(d, i, false)) i.h = movFromCr; });
def0F(0x22, (d, i) => { if (crDrOperands(d, i, false)) { i.h = movToCr; i.ends = true; } });
def0F(0x21, (d, i) => { if (crDrOperands(d, i, true)) i.h = movFromDr; });
def0F(0x23, (d, i) => { if (crDrOperands(d, i, true)) i.h = movToDr; });

// ---- descriptor tables (0F 01 group, 0F 00 group) ------------------------------------------------
function tableBase(cpu: Cpu, i: Insn, a: number): number {
  if (cpu.mode === 64) { const lo = cpu.mmu.read64(a + 2); return cpu.mmu.hi * TWO32 + (lo >>> 0); }
  const b = cpu.mmu.read32(a + 2) >>> 0;
  return i.size === 16 ? b & 0xffffff : b;
}
function lgdt(cpu: Cpu, i: Insn): void {
  needCpl0(cpu);
  const a = ea(cpu, i);
  const limit = cpu.mmu.read16(a);
  cpu.gdtBase = tableBase(cpu, i, a);
  cpu.gdtLimit = limit;
}
function lidt(cpu: Cpu, i: Insn): void {
  needCpl0(cpu);
  const a = ea(cpu, i);
  const limit = cpu.mmu.read16(a);
  cpu.idtBase = tableBase(cpu, i, a);
  cpu.idtLimit = limit;
}
function storeTable(cpu: Cpu, i: Insn, base: number, limit: number): void {
  const a = ea(cpu, i);
  cpu.mmu.write16(a, limit);
  if (cpu.mode === 64) cpu.mmu.write64(a + 2, base | 0, Math.floor(base / TWO32) | 0);
  else cpu.mmu.write32(a + 2, base | 0);
}
function sgdt(cpu: Cpu, i: Insn): void { storeTable(cpu, i, cpu.gdtBase, cpu.gdtLimit); }
function sidt(cpu: Cpu, i: Insn): void { storeTable(cpu, i, cpu.idtBase, cpu.idtLimit); }
function smsw(cpu: Cpu, i: Insn): void {
  if (i.mem) cpu.mmu.write16(ea(cpu, i), cpu.cr0 & 0xffff);
  else setReg(cpu, i.size, i.rm, cpu.cr0 & (i.size === 16 ? 0xffff : -1), 0);
}
function lmsw(cpu: Cpu, i: Insn): void {
  needCpl0(cpu);
  const v = i.mem ? cpu.mmu.read16(ea(cpu, i)) : cpu.r16[4 * i.rm];
  // lmsw can set PE but not clear it.
  writeCr(cpu, 0, (cpu.cr0 & ~0xe) | (v & 0xf) | (cpu.cr0 & 1), 0);
}
function invlpg(cpu: Cpu, i: Insn): void {
  needCpl0(cpu);
  cpu.mmu.invlpg(ea(cpu, i));
}
function swapgs(cpu: Cpu): void {
  needCpl0(cpu);
  const t = cpu.segBase[5];
  cpu.setGsBase(cpu.kernelGsBase);
  cpu.kernelGsBase = t;
}
function rdtscp(cpu: Cpu): void {
  const t = cpu.hooks.tsc();
  cpu.r32[0] = t | 0; cpu.r32[1] = 0;
  cpu.r32[4] = Math.floor(t / TWO32) | 0; cpu.r32[5] = 0;
  cpu.r32[2] = cpu.tscAux | 0; cpu.r32[3] = 0;
}
function xgetbv(cpu: Cpu): void {
  if (!(cpu.cr4 & CR4_OSXSAVE)) raiseUD(cpu);
  if (cpu.r32[2] !== 0) raiseGP(cpu, 0);
  cpu.r32[0] = cpu.xcr0; cpu.r32[1] = 0; cpu.r32[4] = 0; cpu.r32[5] = 0;
}
function xsetbv(cpu: Cpu): void {
  if (!(cpu.cr4 & CR4_OSXSAVE)) raiseUD(cpu);
  needCpl0(cpu);
  const v = cpu.r32[0];
  if (cpu.r32[2] !== 0 || cpu.r32[4] !== 0 || !(v & 1) || (v & ~3)) raiseGP(cpu, 0); // x87 and SSE only
  cpu.xcr0 = v;
}

def0F(0x01, (d, i) => {
  d.modrm(i);
  const r = d.regField;
  if (i.mem) {
    i.size = d.osz;
    switch (r) {
      case 0: i.h = sgdt; return;
      case 1: i.h = sidt; return;
      case 2: i.h = lgdt; return;
      case 3: i.h = lidt; return;
      case 4: i.h = smsw; return;
      case 6: i.h = lmsw; i.ends = true; return;
      case 7: i.h = invlpg; i.ends = true; return;
      default: return;
    }
  }
  // monitor, mwait, xgetbv and xsetbv have no 66/F3/F2 forms: those prefixes make them #UD (host CPU and SDM agree)
  const mb = d.modrmByte;
  if ((mb === 0xC8 || mb === 0xC9 || mb === 0xD0 || mb === 0xD1) && (d.p66 || d.rep !== 0)) return;
  switch (d.modrmByte) {
    case 0xD0: i.h = xgetbv; return;
    case 0xD1: i.h = xsetbv; return;
    case 0xF8: if (d.mode === 64) i.h = swapgs; return;
    case 0xF9: i.h = rdtscp; i.ends = true; return;
    case 0xC8: case 0xC9: i.h = nop; return; // monitor/mwait treated as hints
    default:
      if (r === 4) { i.size = d.osz; i.h = smsw; return; }
      if (r === 6) { i.h = lmsw; i.ends = true; return; }
  }
});

function ltr(cpu: Cpu, i: Insn): void {
  needCpl0(cpu);
  const sel = i.mem ? cpu.mmu.read16(ea(cpu, i)) : cpu.r16[4 * i.rm];
  if ((sel & ~7) === 0 || sel & 4 || (sel | 7) > cpu.gdtLimit) raiseGP(cpu, sel & ~3);
  const a = cpu.gdtBase + (sel & ~7);
  const lo = cpu.mmu.read32(a), hi = cpu.mmu.read32(a + 4);
  // Only an available TSS (type 9; 1 for a 16-bit one outside long mode) may be loaded.
  const type = (hi >> 8) & 0x1f;
  if (type !== 9 && (type !== 1 || cpu.mmu.long)) raiseGP(cpu, sel & ~3);
  if (!(hi & 0x8000)) raise(cpu, VEC_NP, sel & ~3);
  let base = ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) >>> 0;
  if (cpu.mmu.long) base += cpu.mmu.read32(a + 8) * TWO32;
  let limit = (lo & 0xffff) | (hi & 0xf0000);
  if (hi & 0x800000) limit = limit * 4096 + 4095;
  cpu.mmu.write32(a + 4, hi | 0x200); // busy
  cpu.trSel = sel;
  cpu.trBase = base;
  cpu.trLimit = limit;
}
function str(cpu: Cpu, i: Insn): void {
  if (i.mem) cpu.mmu.write16(ea(cpu, i), cpu.trSel);
  else setReg(cpu, i.size, i.rm, cpu.trSel, 0);
}
function lldt(cpu: Cpu, i: Insn): void {
  needCpl0(cpu);
  const sel = i.mem ? cpu.mmu.read16(ea(cpu, i)) : cpu.r16[4 * i.rm];
  if (sel & ~3) raiseGP(cpu, sel & ~3); // only the null LDT is supported
  cpu.ldtSel = 0;
}
def0F(0x00, (d, i) => {
  d.modrm(i);
  i.size = d.osz;
  switch (d.regField) {
    case 1: i.h = str; return;
    case 2: i.h = lldt; return;
    case 3: i.h = ltr; return;
    default: return;
  }
});

function clts(cpu: Cpu): void { needCpl0(cpu); cpu.cr0 = (cpu.cr0 & ~8) >>> 0; } // CR0 stays unsigned
function wbinvd(cpu: Cpu): void { needCpl0(cpu); }
def0F(0x06, (_d, i) => { i.h = clts; });
def0F(0x08, (_d, i) => { i.h = wbinvd; });
def0F(0x09, (_d, i) => { i.h = wbinvd; });
