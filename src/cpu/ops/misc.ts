// Flag instructions (clc stc cmc cld std cli sti lahf sahf), int3, ud2, hlt, and the legacy system
// instructions whose only possible outcome on osvemu's virtual CPU is a fault (rdpmc, sysenter/sysexit, rsm).
import type { Cpu } from '../cpu.js';
import { raiseGP, raiseSoftInt, raiseUD } from '../exceptions.js';
import { arithFlags, setArithFlags } from '../flags.js';
import type { Insn } from '../insn.js';
import { def0F, def1 } from '../optable.js';
import { AF, CF, DF, IF, PF, SF, VEC_BP, ZF } from '../regs.js';

function clc(cpu: Cpu): void { setArithFlags(cpu.lf, arithFlags(cpu.lf) & ~CF); }
function stc(cpu: Cpu): void { setArithFlags(cpu.lf, arithFlags(cpu.lf) | CF); }
function cmc(cpu: Cpu): void { setArithFlags(cpu.lf, arithFlags(cpu.lf) ^ CF); }
function cld(cpu: Cpu): void { cpu.flagsRest = cpu.flagsRest & ~DF; }
function std(cpu: Cpu): void { cpu.flagsRest = cpu.flagsRest | DF; }
function iopl(cpu: Cpu): number { return (cpu.flagsRest >> 12) & 3; }
function cli(cpu: Cpu): void {
  if (cpu.cpl > iopl(cpu)) raiseGP(cpu, 0);
  cpu.flagsRest = cpu.flagsRest & ~IF;
}
function sti(cpu: Cpu): void {
  if (cpu.cpl > iopl(cpu)) raiseGP(cpu, 0);
  if (!(cpu.flagsRest & IF)) cpu.intShadow = true; // interrupts stay blocked for one more instruction
  cpu.flagsRest = cpu.flagsRest | IF;
}
const LAHF_MASK = SF | ZF | AF | PF | CF;
function lahf(cpu: Cpu): void { cpu.r8[1] = (arithFlags(cpu.lf) & LAHF_MASK) | 2; }
function sahf(cpu: Cpu): void {
  const f = arithFlags(cpu.lf);
  setArithFlags(cpu.lf, (f & ~LAHF_MASK) | (cpu.r8[1] & LAHF_MASK));
}
function int3(cpu: Cpu): void { raiseSoftInt(cpu, VEC_BP); }
function ud(cpu: Cpu): void { raiseUD(cpu); }
function hlt(cpu: Cpu): void {
  if (cpu.cpl !== 0) raiseGP(cpu, 0);
  cpu.halted = true;
}

// rdpmc: CPUID leaf 0xA reports no performance counters, so every ECX is an invalid counter: #GP(0) (as is
// CPL > 0 with CR4.PCE clear, checked first on hardware).
function rdpmc(cpu: Cpu): void { raiseGP(cpu, 0); }
// sysenter/sysexit: CPUID advertises SEP, but IA32_SYSENTER_CS is not implemented and reads 0, for which both
// raise #GP(0) (sysexit also does at CPL > 0). OSv uses syscall/sysret.
function sysenter(cpu: Cpu): void { raiseGP(cpu, 0); }
// rsm outside system-management mode (osvemu has none) is #UD.
function rsm(cpu: Cpu): void { raiseUD(cpu); }

const simple = (h: (cpu: Cpu) => void, ends = false) => (_d: unknown, i: Insn) => { i.h = h; i.ends = ends; };
def1(0xF8, simple(clc));
def1(0xF9, simple(stc));
def1(0xF5, simple(cmc));
def1(0xFC, simple(cld));
def1(0xFD, simple(std));
def1(0xFA, simple(cli));
def1(0xFB, simple(sti, true));
def1(0x9F, (d, i) => { i.h = lahf; void d; });
def1(0x9E, (d, i) => { i.h = sahf; void d; });
def1(0xCC, simple(int3, true));
def1(0xF4, simple(hlt, true));
def0F(0x0B, simple(ud));
def0F(0x33, simple(rdpmc));
def0F(0x34, simple(sysenter));
def0F(0x35, simple(sysenter));
def0F(0xAA, simple(rsm));
def0F(0xB9, (d, i) => { d.modrm(i); i.h = ud; }); // ud1
def0F(0xFF, (d, i) => { d.modrm(i); i.h = ud; }); // ud0
