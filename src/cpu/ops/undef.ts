// Flags the SDM calls "undefined": osvemu reproduces what the reference host (AMD EPYC, Zen) leaves in them,
// measured with the differential harness (test/cpu/host-undef.test.ts). One place, so a different host
// model could be matched by changing only this file.
import type { Cpu } from '../cpu.js';
import { arithFlags, setArithFlags } from '../flags.js';
import { AF, CF, OF, PF, SF, ZF } from '../regs.js';

/** mul/imul: CF/OF given; SF ZF AF PF undefined. */
export function mulFlags(old: number, cfof: number, lo: number, size: number): number {
  void size; void lo;
  return (old & (SF | ZF | AF | PF)) | cfof;
}

/** div/idiv: all six undefined. */
export function divFlags(cpu: Cpu): void {
  void cpu;
}

export { arithFlags, setArithFlags, CF, OF };
