// emms. (ldmxcsr/stmxcsr belong to group 0F AE, registered with fxsave/xsave in src/cpu/system/xsave.ts.)
import type { Cpu } from '../cpu.js';
import { raise, raiseUD } from '../exceptions.js';
import type { Insn } from '../insn.js';
import { def0F } from '../optable.js';
import { CR0_EM, CR0_TS, VEC_NM } from '../regs.js';

/**
 * emms: marks every x87 register empty (leaves MMX mode). The host CPU (AMD) also resets TOP to 0, as every
 * MMX instruction does. An x87/MMX instruction: CR0.EM #UD, CR0.TS #NM.
 */
export function emms(cpu: Cpu, _i: Insn): void {
  if ((cpu.cr0 & CR0_EM) !== 0) raiseUD(cpu);
  if ((cpu.cr0 & CR0_TS) !== 0) raise(cpu, VEC_NM);
  cpu.fpu.empty.fill(1);
  cpu.fpu.top = 0;
}

def0F(0x77, (d, i) => { if (d.mandatory === 0) i.h = emms; });
