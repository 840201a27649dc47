// Interrupt and exception delivery: long-mode IDT with IST stack switching (OSv puts every vector on an
// IST stack, even at CPL 0), 32-bit protected-mode gates, the real-mode IVT, iret, and the escalation of
// faults during delivery to #DF and then to a triple fault.
import type { Cpu } from '../cpu.js';
import { CPU_FAULT, raise, vectorName } from '../exceptions.js';
import { CS, IF, NT, RF, SS, TF, VEC_DF, VEC_GP, VEC_NMI, VEC_PF, VM } from '../regs.js';
import { loadSegmentRaw } from './segments.js';

const TWO32 = 4294967296;

/** The machine cannot continue: the CPU shut down after a fault while delivering #DF. */
export class TripleFault extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TripleFault';
  }
}

function hex(v: number): string {
  return v < 0 ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`;
}

/** Bytes at CS:RIP for reports; never faults. */
export function instructionBytes(cpu: Cpu, n = 15): string {
  const out: string[] = [];
  for (let k = 0; k < n; k++) {
    try {
      const p = cpu.mmu.translateExec(cpu.segBase[CS] + cpu.rip + k);
      out.push(cpu.mem.read8(p).toString(16).padStart(2, '0'));
    } catch {
      break;
    }
  }
  return out.length ? out.join(' ') : '(unreadable)';
}

export function tripleFaultMessage(cpu: Cpu, vector: number, error: number): string {
  return `triple fault at rip=${hex(cpu.rip)} (${vectorName(vector)}, error ${error < 0 ? 'none' : hex(error)}, ` +
    `cr2 ${hex(cpu.cr2)}), bytes: ${instructionBytes(cpu)}`;
}

/**
 * Delivers the exception recorded in cpu.excVector/excError/excAddr (RIP at the faulting instruction,
 * or after it for traps). A fault while delivering becomes #DF; a fault while delivering #DF shuts down.
 */
export function deliverException(cpu: Cpu): void {
  const vector = cpu.excVector;
  const error = cpu.excError;
  if (vector === VEC_PF) cpu.cr2 = cpu.excAddr;
  try {
    deliver(cpu, vector, error, false);
  } catch (e) {
    if (e !== CPU_FAULT) throw e;
    if (vector === VEC_DF) throw new TripleFault(tripleFaultMessage(cpu, vector, error));
    if (cpu.excVector === VEC_PF) cpu.cr2 = cpu.excAddr;
    try {
      deliver(cpu, VEC_DF, 0, false);
    } catch (e2) {
      if (e2 !== CPU_FAULT) throw e2;
      throw new TripleFault(tripleFaultMessage(cpu, VEC_DF, 0));
    }
  }
}

/** External (maskable) interrupt; the caller checked IF and the interrupt shadow. */
export function deliverInterrupt(cpu: Cpu, vector: number): void {
  cpu.halted = false;
  try {
    deliver(cpu, vector, -1, false);
  } catch (e) {
    if (e !== CPU_FAULT) throw e;
    deliverException(cpu);
  }
}

export function deliverNmi(cpu: Cpu): void {
  cpu.halted = false;
  cpu.nmiBlocked = true;
  try {
    deliver(cpu, VEC_NMI, -1, false);
  } catch (e) {
    if (e !== CPU_FAULT) throw e;
    deliverException(cpu);
  }
}

/** Software interrupt (int n, int3, into): gate DPL is checked against CPL. */
export function deliverSoftware(cpu: Cpu, vector: number): void {
  deliver(cpu, vector, -1, true);
}

function deliver(cpu: Cpu, vector: number, error: number, software: boolean): void {
  if (!(cpu.cr0 & 1)) return deliverReal(cpu, vector);
  if (cpu.mmu.long) return deliverLong(cpu, vector, error, software);
  return deliverProtected(cpu, vector, error, software);
}

function deliverReal(cpu: Cpu, vector: number): void {
  const m = cpu.mmu;
  const ent = cpu.idtBase + vector * 4;
  const off = m.read16(ent), seg = m.read16(ent + 2);
  push16(cpu, cpu.getFlags() & 0xffff);
  push16(cpu, cpu.segSel[CS]);
  push16(cpu, cpu.rip & 0xffff);
  cpu.flagsRest = cpu.flagsRest & ~(IF | TF | (1 << 18));
  cpu.segSel[CS] = seg;
  cpu.segDescBase[CS] = seg * 16;
  cpu.segBase[CS] = seg * 16;
  cpu.rip = off;
}

function push16(cpu: Cpu, v: number): void {
  const sp = (cpu.r16[16] - 2) & 0xffff;
  cpu.mmu.write16(cpu.segBase[SS] + sp, v);
  cpu.r16[16] = sp;
}

function gateFault(cpu: Cpu, vector: number, software: boolean): never {
  // Error code for IDT-related #GP: index | IDT bit | EXT.
  return raise(cpu, VEC_GP, (vector << 3) | 2 | (software ? 0 : 1));
}

function deliverProtected(cpu: Cpu, vector: number, error: number, software: boolean): void {
  const m = cpu.mmu;
  if (vector * 8 + 7 > cpu.idtLimit) gateFault(cpu, vector, software);
  const ent = cpu.idtBase + vector * 8;
  const lo = m.read32(ent), hi = m.read32(ent + 4);
  if (!(hi & 0x8000)) gateFault(cpu, vector, software);
  const type = (hi >> 8) & 0x1f;
  const dpl = (hi >> 13) & 3;
  if (software && dpl < cpu.cpl) gateFault(cpu, vector, software);
  const sel = lo >>> 16;
  const offset = ((hi & 0xffff0000) | (lo & 0xffff)) >>> 0;
  const flags = cpu.getFlags();
  const m32 = (v: number) => {
    const sp = (cpu.r32[8] - 4) >>> 0;
    cpu.mmu.write32((sp + cpu.segBase[SS]) % TWO32, v);
    cpu.r32[8] = sp | 0;
  };
  m32(flags);
  m32(cpu.segSel[CS]);
  m32(cpu.rip >>> 0);
  if (error >= 0) m32(error);
  let rest = cpu.flagsRest & ~(TF | NT | RF | VM);
  if ((type & 0xf) === 0xe) rest &= ~IF;
  cpu.flagsRest = rest;
  loadSegmentRaw(cpu, CS, sel);
  cpu.rip = offset;
  cpu.updateMode();
}

function deliverLong(cpu: Cpu, vector: number, error: number, software: boolean): void {
  const m = cpu.mmu;
  if (vector * 16 + 15 > cpu.idtLimit) gateFault(cpu, vector, software);
  const ent = cpu.idtBase + vector * 16;
  const w0 = m.read32(ent), w1 = m.read32(ent + 4), w2 = m.read32(ent + 8);
  if (!(w1 & 0x8000)) gateFault(cpu, vector, software);
  const type = (w1 >> 8) & 0xf;
  if (type !== 0xe && type !== 0xf) gateFault(cpu, vector, software);
  const dpl = (w1 >> 13) & 3;
  if (software && dpl < cpu.cpl) gateFault(cpu, vector, software);
  const sel = w0 >>> 16;
  const ist = w1 & 7;
  const target = w2 * TWO32 + (((w1 & 0xffff0000) | (w0 & 0xffff)) >>> 0);
  const newCpl = 0; // osvemu delivers to kernel (DPL 0) code segments only
  let rsp: number;
  if (ist) rsp = read64(cpu, cpu.trBase + 0x1c + 8 * ist);
  else if (newCpl < cpu.cpl) rsp = read64(cpu, cpu.trBase + 4 + 8 * newCpl);
  else rsp = cpu.reg64(4);
  rsp -= rsp % 16 < 0 ? rsp % 16 + 16 : rsp % 16; // align down to 16
  const oldSs = cpu.segSel[SS];
  const oldRsp = cpu.reg64(4);
  const flags = cpu.getFlags();
  const frame = error >= 0 ? 48 : 40;
  const top = rsp - frame;
  cpu.mmu.probeWrite(top, frame);
  let p = top;
  const put = (v: number) => { cpu.mmu.write64(p, v | 0, Math.floor(v / TWO32) | 0); p += 8; };
  if (error >= 0) put(error);
  put(cpu.rip);
  put(cpu.segSel[CS] | 0);
  put(flags);
  put(oldRsp);
  put(oldSs);
  let rest = cpu.flagsRest & ~(TF | NT | RF | VM);
  if (type === 0xe) rest &= ~IF;
  cpu.flagsRest = rest;
  if (newCpl !== cpu.cpl) {
    cpu.segSel[SS] = newCpl;
    cpu.cpl = newCpl;
  }
  loadSegmentRaw(cpu, CS, sel);
  cpu.setReg64(4, top);
  cpu.rip = target;
  cpu.updateMode();
}

function read64(cpu: Cpu, lin: number): number {
  const lo = cpu.mmu.read64(lin);
  return cpu.mmu.hi * TWO32 + (lo >>> 0);
}
