// Interrupt and exception delivery: long-mode IDT with IST stack switching (OSv puts every vector on an
// IST stack, even at CPL 0), 32-bit protected-mode gates, the real-mode IVT, and the escalation of
// faults during delivery to #DF and then to a triple fault. Every check runs before any state changes,
// so a failed delivery leaves the vCPU as it was for the next exception in the chain.
import type { Cpu } from '../cpu.js';
import { CPU_FAULT, EXC_SOFT_INT, raise, Unimplemented, vectorName } from '../exceptions.js';
import { CS, IF, NT, RF, SS, TF, VEC_DF, VEC_GP, VEC_NMI, VEC_NP, VEC_PF, VM } from '../regs.js';
import { codeBytes, hex, instructionBytesAt, TripleFault } from './report.js';
import { commitSegment, desc, fetchDescriptor, sysRead32, sysRead64 } from './segments.js';

export { TripleFault } from './report.js';

const TWO32 = 4294967296;
const CANON_LIMIT = 140737488355328; // 2^47
const AC = 1 << 18;

/** Bytes at CS:RIP for reports; never faults. */
export function instructionBytes(cpu: Cpu, n = 15): string {
  if (n !== 15) {
    const b = codeBytes(cpu, n);
    return b.length ? Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ') : '(unreadable)';
  }
  return instructionBytesAt(cpu);
}

function describe(vector: number, error: number): string {
  return error >= 0 ? `${vectorName(vector)} error ${hex(error)}` : vectorName(vector);
}

export function tripleFaultMessage(cpu: Cpu, chain: string): string {
  return `triple fault at rip=${hex(cpu.rip)} (${cpu.mode}-bit mode, cpl ${cpu.cpl}): ${chain}; ` +
    `cr2=${hex(cpu.cr2)}, bytes: ${instructionBytesAt(cpu)}`;
}

// Exception classes for the double-fault rule (SDM vol. 3, table 6-5).
function contributory(v: number): boolean {
  return v === 0 || (v >= 10 && v <= 13);
}

/**
 * Delivers the exception recorded in cpu.excVector/excError/excAddr (RIP at the faulting instruction,
 * or after it for traps and software interrupts). A contributory fault while delivering a contributory
 * fault or #PF, or a #PF while delivering #PF, becomes #DF; other faults during delivery are delivered
 * in turn; a fault while delivering #DF shuts the vCPU down (TripleFault).
 */
export function deliverException(cpu: Cpu): void {
  let vector = cpu.excVector;
  let error = cpu.excError;
  const software = error === EXC_SOFT_INT;
  if (software) error = -1;
  if (vector === VEC_PF) cpu.cr2 = cpu.excAddr;
  deliverChain(cpu, vector, error, software, software ? 0 : 1, '', !software);
}

/**
 * Fault-class vectors: their frame's RFLAGS image has RF set, so that an iret back to the faulting instruction
 * is not stopped again by an instruction breakpoint (SDM vol. 3 §18.3.1.1, APM vol. 2 §13.1.2; both the Intel
 * and the AMD host show RF = 1 in the frame of #PF, #GP, ...).
 */
export function isFaultVector(v: number): boolean {
  return v === 0 || (v >= 5 && v <= 7) || (v >= 10 && v <= 14) || v === 16 || v === 17 || v === 19 || v === 20 || v === 21;
}

/** RF for the RFLAGS image of the frame being written (set per delivery by deliverChain). */
let frameRf = 0;

function deliverChain(cpu: Cpu, vector: number, error: number, software: boolean, ext: number, chain: string,
  exception = false): void {
  for (;;) {
    try {
      frameRf = exception && !software && isFaultVector(vector) ? RF : 0;
      deliver(cpu, vector, error, software, ext);
      return;
    } catch (e) {
      exception = true;
      if (e !== CPU_FAULT) throw e;
      const v2 = cpu.excVector, e2 = cpu.excError;
      chain += (chain ? ' -> ' : '') + describe(vector, error);
      if (vector === VEC_DF) throw new TripleFault(tripleFaultMessage(cpu, `${chain} -> ${describe(v2, e2)}`));
      const first = vector;
      if ((contributory(first) || first === VEC_PF) && (contributory(v2) || (first === VEC_PF && v2 === VEC_PF))) {
        if (v2 === VEC_PF) chain += ` -> ${describe(v2, e2)} (cr2 ${hex(cpu.excAddr)})`;
        else chain += ` -> ${describe(v2, e2)}`;
        vector = VEC_DF;
        error = 0;
      } else {
        vector = v2;
        error = e2;
        if (v2 === VEC_PF) cpu.cr2 = cpu.excAddr;
      }
      software = false;
      ext = 1;
    }
  }
}

/** External (maskable) interrupt; the caller checked IF and the interrupt shadow. */
export function deliverInterrupt(cpu: Cpu, vector: number): void {
  cpu.halted = false;
  deliverChain(cpu, vector, -1, false, 1, '');
}

export function deliverNmi(cpu: Cpu): void {
  cpu.halted = false;
  cpu.nmiBlocked = true;
  deliverChain(cpu, VEC_NMI, -1, false, 1, '');
}

/** Software interrupt (int n, int3, into) delivered directly: the gate DPL is checked against CPL. */
export function deliverSoftware(cpu: Cpu, vector: number): void {
  deliverChain(cpu, vector, -1, true, 0, '');
}

function deliver(cpu: Cpu, vector: number, error: number, software: boolean, ext: number): void {
  if (!(cpu.cr0 & 1)) return deliverReal(cpu, vector);
  if (cpu.mmu.long) return deliverLong(cpu, vector, error, software, ext);
  return deliverProtected(cpu, vector, error, software, ext);
}

function deliverReal(cpu: Cpu, vector: number): void {
  const m = cpu.mmu;
  const ent = cpu.idtBase + vector * 4;
  const off = m.read16(ent), seg = m.read16(ent + 2);
  const sp = cpu.r16[16];
  const top = (sp - 6) & 0xffff;
  push16(cpu, (sp - 2) & 0xffff, cpu.getFlags() & 0xffff);
  push16(cpu, (sp - 4) & 0xffff, cpu.segSel[CS]);
  push16(cpu, top, cpu.rip & 0xffff);
  cpu.r16[16] = top;
  cpu.flagsRest = cpu.flagsRest & ~(IF | TF | AC);
  cpu.segSel[CS] = seg;
  cpu.segDescBase[CS] = seg * 16;
  cpu.segBase[CS] = seg * 16;
  cpu.rip = off;
}

function push16(cpu: Cpu, sp: number, v: number): void {
  cpu.mmu.write16(cpu.segBase[SS] + sp, v);
}

/** #GP (limit, gate type, DPL) or #NP (not present) for an IDT entry: index | IDT bit | EXT. */
function gateFault(cpu: Cpu, vector: number, ext: number, notPresent = false): never {
  return raise(cpu, notPresent ? VEC_NP : VEC_GP, (vector << 3) | 2 | ext);
}

/** Reads and checks the gate's target code segment into desc; returns the CPL the handler runs at. */
function handlerSegment(cpu: Cpu, sel: number, ext: number, need64: boolean): number {
  if ((sel & ~3) === 0) raise(cpu, VEC_GP, ext);
  fetchDescriptor(cpu, CS, sel, ext);
  const hi = desc[1];
  const dpl = (hi >> 13) & 3;
  if (dpl > cpu.cpl) raise(cpu, VEC_GP, (sel & ~3) | ext);
  if (need64 && (!(hi & 0x200000) || (hi & 0x400000))) raise(cpu, VEC_GP, (sel & ~3) | ext);
  return hi & 0x400 ? cpu.cpl : dpl; // conforming code keeps CPL
}

const frameWords = new Float64Array(6);

function deliverLong(cpu: Cpu, vector: number, error: number, software: boolean, ext: number): void {
  if (vector * 16 + 15 > cpu.idtLimit) gateFault(cpu, vector, ext);
  const ent = cpu.idtBase + vector * 16;
  const w0 = sysRead32(cpu, ent), w1 = sysRead32(cpu, ent + 4), w2 = sysRead32(cpu, ent + 8);
  const type = (w1 >> 8) & 0x1f;
  if (type !== 0xe && type !== 0xf) gateFault(cpu, vector, ext);
  const dpl = (w1 >> 13) & 3;
  if (software && dpl < cpu.cpl) gateFault(cpu, vector, ext);
  if (!(w1 & 0x8000)) gateFault(cpu, vector, ext, true);
  const sel = w0 >>> 16;
  const ist = w1 & 7;
  const target = w2 * TWO32 + (((w1 & 0xffff0000) | (w0 & 0xffff)) >>> 0);
  if (target >= CANON_LIMIT || target < -CANON_LIMIT) raise(cpu, VEC_GP, ext);
  const newCpl = handlerSegment(cpu, sel, ext, true);
  const csLo = desc[0], csHi = desc[1];
  const oldCpl = cpu.cpl;
  let rsp: number;
  if (ist) rsp = sysRead64(cpu, cpu.trBase + 0x1c + 8 * ist);
  else if (newCpl < oldCpl) rsp = sysRead64(cpu, cpu.trBase + 4 + 8 * newCpl);
  else rsp = cpu.reg64(4);
  rsp -= ((rsp % 16) + 16) % 16; // the frame is 16-byte aligned
  const flags = cpu.getFlags() | frameRf;
  const f = frameWords;
  f[0] = error; f[1] = cpu.rip; f[2] = cpu.segSel[CS]; f[3] = flags; f[4] = cpu.reg64(4); f[5] = cpu.segSel[SS];
  const first = error >= 0 ? 0 : 1;
  const top = rsp - 8 * (6 - first);
  // The frame is written with the handler's privilege (a CPL 3 -> 0 switch pushes onto a supervisor stack).
  if (newCpl !== oldCpl) { cpu.cpl = newCpl; cpu.updateMode(); }
  try {
    cpu.mmu.probeWrite(top, 8 * (6 - first));
    for (let k = first, p = top; k < 6; k++, p += 8) {
      const v = f[k];
      cpu.mmu.write64(p, v | 0, Math.floor(v / TWO32) | 0);
    }
  } catch (e) {
    if (newCpl !== oldCpl) { cpu.cpl = oldCpl; cpu.updateMode(); }
    throw e;
  }
  let rest = cpu.flagsRest & ~(TF | NT | RF | VM);
  if (type === 0xe) rest &= ~IF;
  cpu.flagsRest = rest;
  commitSegment(cpu, CS, sel, csLo, csHi);
  cpu.cpl = newCpl;
  if (newCpl !== oldCpl) {
    // The new SS is a null selector carrying the new CPL.
    cpu.segSel[SS] = newCpl;
    cpu.segDescBase[SS] = 0;
  }
  cpu.setReg64(4, top);
  cpu.rip = target;
  cpu.updateMode();
}

function deliverProtected(cpu: Cpu, vector: number, error: number, software: boolean, ext: number): void {
  if (vector * 8 + 7 > cpu.idtLimit) gateFault(cpu, vector, ext);
  const ent = cpu.idtBase + vector * 8;
  const lo = sysRead32(cpu, ent), hi = sysRead32(cpu, ent + 4);
  const type = (hi >> 8) & 0x1f;
  if (type !== 0xe && type !== 0xf && type !== 6 && type !== 7) {
    if (type === 5) throw new Unimplemented(`task gate for vector ${vector}`);
    gateFault(cpu, vector, ext);
  }
  if (software && ((hi >> 13) & 3) < cpu.cpl) gateFault(cpu, vector, ext);
  if (!(hi & 0x8000)) gateFault(cpu, vector, ext, true);
  const sel = lo >>> 16;
  const gate32 = (type & 8) !== 0;
  const offset = gate32 ? ((hi & 0xffff0000) | (lo & 0xffff)) >>> 0 : lo & 0xffff;
  const newCpl = handlerSegment(cpu, sel, ext, false);
  if (newCpl !== cpu.cpl) throw new Unimplemented(`32-bit interrupt delivery with a privilege change (vector ${vector})`);
  const csLo = desc[0], csHi = desc[1];
  const n = gate32 ? 4 : 2;
  const f = frameWords;
  f[0] = error; f[1] = cpu.rip; f[2] = cpu.segSel[CS]; f[3] = cpu.getFlags() | frameRf;
  const count = error >= 0 ? 4 : 3;
  const stack32 = (cpu.segAttr[SS] & 0x4000) !== 0;
  const sp = stack32 ? cpu.r32[8] >>> 0 : cpu.r16[16];
  const top = stack32 ? (sp - n * count) >>> 0 : (sp - n * count) & 0xffff;
  const ss = cpu.segBase[SS];
  for (let k = 0; k < count; k++) {
    const a = (ss + (stack32 ? (top + n * k) >>> 0 : (top + n * k) & 0xffff)) % TWO32;
    if (gate32) cpu.mmu.probeWrite(a, 4); else cpu.mmu.probeWrite(a, 2);
  }
  for (let k = 0; k < count; k++) {
    const v = f[error >= 0 ? k : k + 1];
    const a = (ss + (stack32 ? (top + n * k) >>> 0 : (top + n * k) & 0xffff)) % TWO32;
    if (gate32) cpu.mmu.write32(a, v | 0); else cpu.mmu.write16(a, v & 0xffff);
  }
  if (stack32) cpu.r32[8] = top | 0; else cpu.r16[16] = top;
  let rest = cpu.flagsRest & ~(TF | NT | RF | VM);
  if ((type & 7) === 6) rest &= ~IF;
  cpu.flagsRest = rest;
  commitSegment(cpu, CS, sel, csLo, csHi);
  cpu.rip = offset;
  cpu.updateMode();
}
