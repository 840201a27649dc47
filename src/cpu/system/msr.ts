// rdmsr/wrmsr, cpuid, rdtsc, rdrand/rdseed, the FS/GS base instructions and swapgs' MSR.
import type { Cpu } from '../cpu.js';
import { raiseGP, raiseUD } from '../exceptions.js';
import { setArithFlags } from '../flags.js';
import type { Insn } from '../insn.js';
import { setReg } from '../operands.js';
import { def0F } from '../optable.js';
import { CF, CR0_PG, CR4_FSGSBASE, CR4_OSXSAVE, EFER_LMA, EFER_LME, EFER_NXE, EFER_SCE } from '../regs.js';
import { cpuid, CpuidConfig, DEFAULT_CPUID } from './cpuid.js';

const TWO32 = 4294967296;
const msrOut = new Int32Array(2);
const cpuidOut = new Int32Array(4);

export const MSR_EFER = 0xc0000080, MSR_STAR = 0xc0000081, MSR_LSTAR = 0xc0000082, MSR_CSTAR = 0xc0000083;
export const MSR_FMASK = 0xc0000084, MSR_FS_BASE = 0xc0000100, MSR_GS_BASE = 0xc0000101;
export const MSR_KERNEL_GS_BASE = 0xc0000102, MSR_TSC_AUX = 0xc0000103, MSR_TSC = 0x10;

/** Per-machine CPUID configuration (shared by all vCPUs of a machine). */
export const cpuidConfigs = new WeakMap<Cpu, CpuidConfig>();

export function cpuidConfig(cpu: Cpu): CpuidConfig {
  return cpuidConfigs.get(cpu) ?? DEFAULT_CPUID;
}

/** Reads an MSR the CPU itself holds; returns false for MSRs of the board (APIC, kvmclock) or unknown ones. */
export function readMsr(cpu: Cpu, msr: number, out: Int32Array): boolean {
  let v: number;
  switch (msr >>> 0) {
    case MSR_EFER: v = cpu.efer; break;
    case MSR_STAR: out[0] = cpu.star; out[1] = cpu.starHi; return true;
    case MSR_LSTAR: v = cpu.lstar; break;
    case MSR_CSTAR: v = cpu.cstar; break;
    case MSR_FMASK: v = cpu.fmask; break;
    case MSR_FS_BASE: v = cpu.segBase[4]; break;
    case MSR_GS_BASE: v = cpu.segBase[5]; break;
    case MSR_KERNEL_GS_BASE: v = cpu.kernelGsBase; break;
    case MSR_TSC_AUX: v = cpu.tscAux; break;
    case MSR_TSC: v = cpu.hooks.tsc(); break;
    case 0x8b: case 0x17: case 0x1a0: case 0x277: case 0x2ff: v = 0; break; // microcode rev, platform id, misc, PAT, MTRR def
    default: return cpu.hooks.rdmsr(msr >>> 0, out);
  }
  out[0] = v | 0;
  out[1] = Math.floor(v / TWO32) | 0;
  return true;
}

export function writeMsr(cpu: Cpu, msr: number, lo: number, hi: number): boolean {
  const v = hi * TWO32 + (lo >>> 0);
  switch (msr >>> 0) {
    case MSR_EFER:
      // LMA is read-only: it follows CR0.PG && LME; LME cannot change while paging is on.
      if ((cpu.cr0 & CR0_PG) && ((lo ^ cpu.efer) & EFER_LME)) return false;
      if (lo & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)) return false;
      cpu.efer = (lo & ~EFER_LMA) | (cpu.efer & EFER_LMA);
      cpu.updateMode();
      return true;
    case MSR_STAR: cpu.star = lo; cpu.starHi = hi; return true;
    case MSR_LSTAR: cpu.lstar = v; return true;
    case MSR_CSTAR: cpu.cstar = v; return true;
    case MSR_FMASK: cpu.fmask = lo >>> 0; return true;
    case MSR_FS_BASE: cpu.setFsBase(v); return true;
    case MSR_GS_BASE: cpu.setGsBase(v); return true;
    case MSR_KERNEL_GS_BASE: cpu.kernelGsBase = v; return true;
    case MSR_TSC_AUX: cpu.tscAux = lo >>> 0; return true;
    case 0x277: case 0x2ff: case 0x8b: return true;
    default: return cpu.hooks.wrmsr(msr >>> 0, lo, hi);
  }
}

function rdmsr(cpu: Cpu): void {
  if (cpu.cpl !== 0) raiseGP(cpu, 0);
  if (!readMsr(cpu, cpu.r32[2], msrOut)) raiseGP(cpu, 0);
  setReg(cpu, 32, 0, msrOut[0], 0);
  setReg(cpu, 32, 2, msrOut[1], 0);
}
function wrmsr(cpu: Cpu): void {
  if (cpu.cpl !== 0) raiseGP(cpu, 0);
  if (!writeMsr(cpu, cpu.r32[2], cpu.r32[0], cpu.r32[4])) raiseGP(cpu, 0);
}
function rdtsc(cpu: Cpu): void {
  if ((cpu.cr4 & 4) && cpu.cpl !== 0) raiseGP(cpu, 0);
  const t = cpu.hooks.tsc();
  setReg(cpu, 32, 0, t | 0, 0);
  setReg(cpu, 32, 2, Math.floor(t / TWO32) | 0, 0);
}
function doCpuid(cpu: Cpu): void {
  cpuid(cpuidConfig(cpu), cpu.index, cpu.r32[0], cpu.r32[2], cpuidOut, (cpu.cr4 & CR4_OSXSAVE) !== 0, cpu.vendor);
  setReg(cpu, 32, 0, cpuidOut[0], 0);
  setReg(cpu, 32, 3, cpuidOut[1], 0);
  setReg(cpu, 32, 1, cpuidOut[2], 0);
  setReg(cpu, 32, 2, cpuidOut[3], 0);
}
function rdrand(cpu: Cpu, i: Insn): void {
  const lo = cpu.hooks.random32();
  const hi = i.size === 64 ? cpu.hooks.random32() : 0;
  setReg(cpu, i.size, i.rm, i.size === 16 ? lo & 0xffff : lo, hi);
  setArithFlags(cpu.lf, CF);
}

def0F(0x30, (_d, i) => { i.h = wrmsr; i.ends = true; });
def0F(0x32, (_d, i) => { i.h = rdmsr; });
// rdtsc ends the trace so that the retired-instruction count (the virtual TSC) is current at the next one.
def0F(0x31, (_d, i) => { i.h = rdtsc; i.ends = true; });
def0F(0xA2, (_d, i) => { i.h = doCpuid; });

// 0F C7: /1 cmpxchg8b/16b (integer module), /6 rdrand, /7 rdseed (register forms).
export const C7_EXT: { cmpxchg: ((d: import('../decoder.js').Decoder, i: Insn) => void) | null } = { cmpxchg: null };
def0F(0xC7, (d, i) => {
  d.modrm(i);
  if (!i.mem && (d.regField === 6 || d.regField === 7) && d.rep === 0) { i.h = rdrand; return; }
  if (d.regField === 1 && i.mem && C7_EXT.cmpxchg) C7_EXT.cmpxchg(d, i);
});

// ---- FS/GS base instructions (F3 0F AE /0-/3, register forms) --------------------------------------
export function fsgsBase(cpu: Cpu, i: Insn): void {
  if (cpu.mode !== 64 || !(cpu.cr4 & CR4_FSGSBASE)) raiseUD(cpu);
  const seg = (i.op & 1) ? 5 : 4;
  if (i.op < 2) { // rd
    const v = cpu.segBase[seg];
    setReg(cpu, i.size, i.rm, v | 0, Math.floor(v / TWO32) | 0);
  } else {
    const v = i.size === 64 ? cpu.reg64(i.rm) : cpu.r32[2 * i.rm] >>> 0;
    if (seg === 4) cpu.setFsBase(v); else cpu.setGsBase(v);
  }
}
