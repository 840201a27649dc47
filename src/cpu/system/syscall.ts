// syscall/sysret and software interrupts. OSv executes syscall at CPL 0 (applications are linked into
// the kernel) with FMASK = 0 and returns with popfq; jmp *%rcx, so no privilege change is involved there.
import type { Cpu } from '../cpu.js';
import { raiseSoftInt, raiseTrap, raiseUD } from '../exceptions.js';
import { getOF } from '../flags.js';
import type { Insn } from '../insn.js';
import { def0F, def1, def1Legacy } from '../optable.js';
import { CS, EFER_SCE, RF, SS, VEC_OF } from '../regs.js';


function syscall(cpu: Cpu): void {
  if (!(cpu.efer & EFER_SCE) || cpu.mode !== 64) raiseUD(cpu);
  cpu.setReg64(1, cpu.rip); // rcx = return address
  const f = cpu.getFlags() & ~RF;
  cpu.r32[22] = f; cpu.r32[23] = 0; // r11 = rflags
  cpu.setFlags(f & ~cpu.fmask);
  const sel = (cpu.starHi & 0xffff) & ~3;
  cpu.segSel[CS] = sel;
  cpu.segAttr[CS] = 0xa09b; // 64-bit DPL 0 code
  cpu.segSel[SS] = sel + 8;
  cpu.segAttr[SS] = 0xc093;
  cpu.cpl = 0;
  cpu.rip = cpu.lstar;
  cpu.updateMode();
}

function sysret(cpu: Cpu, i: Insn): void {
  if (!(cpu.efer & EFER_SCE) || cpu.mode !== 64) raiseUD(cpu);
  const base = (cpu.starHi >>> 16) & 0xffff;
  const rip = i.size === 64 ? cpu.reg64(1) : cpu.r32[2] >>> 0;
  cpu.setFlags((cpu.r32[22] & 0x3c7fd7) | 2);
  cpu.segSel[CS] = (i.size === 64 ? base + 16 : base) | 3;
  cpu.segAttr[CS] = i.size === 64 ? 0xa0fb : 0xc0fb;
  cpu.segSel[SS] = (base + 8) | 3;
  cpu.segAttr[SS] = 0xc0f3;
  cpu.cpl = 3;
  cpu.rip = rip;
  cpu.updateMode();
}

function intN(cpu: Cpu, i: Insn): void { raiseSoftInt(cpu, i.imm); }
function into(cpu: Cpu): void { if (getOF(cpu.lf)) raiseSoftInt(cpu, VEC_OF); }
// icebp (int1) is not a software interrupt: no DPL check, delivered like a hardware #DB.
function int1(cpu: Cpu): void { raiseTrap(cpu, 1); }

def0F(0x05, (_d, i) => { i.h = syscall; i.ends = true; });
def0F(0x07, (d, i) => { i.size = d.rexW ? 64 : 32; i.h = sysret; i.ends = true; });
def1(0xCD, (d, i) => { i.imm = d.imm8u(); i.h = intN; i.ends = true; });
def1Legacy(0xCE, (_d, i) => { i.h = into; i.ends = true; });
def1(0xF1, (_d, i) => { i.h = int1; i.ends = true; });
