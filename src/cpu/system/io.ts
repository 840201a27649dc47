// Port I/O: in/out with an immediate port or DX, and the ins/outs string forms (rep-capable), all
// forwarded to the board through cpu.hooks. Port accesses end the trace: a device may raise an
// interrupt (or stop the machine) that must be seen before the next instruction.
import type { Cpu } from '../cpu.js';
import { raiseGP } from '../exceptions.js';
import type { Insn } from '../insn.js';
import { readMem, setReg, writeMem } from '../operands.js';
import { def1 } from '../optable.js';
import { DF, ES } from '../regs.js';

function checkIo(cpu: Cpu): void {
  if (cpu.cpl > ((cpu.flagsRest >> 12) & 3)) raiseGP(cpu, 0);
}

function inOp(cpu: Cpu, i: Insn): void {
  checkIo(cpu);
  const port = i.op ? cpu.r16[8] : i.imm;
  const n = (i.size >> 3) as 1 | 2 | 4;
  const v = cpu.hooks.ioRead(port, n);
  setReg(cpu, i.size, 0, i.size === 8 ? v & 0xff : i.size === 16 ? v & 0xffff : v | 0, 0);
}
function outOp(cpu: Cpu, i: Insn): void {
  checkIo(cpu);
  const port = i.op ? cpu.r16[8] : i.imm;
  const n = (i.size >> 3) as 1 | 2 | 4;
  const v = i.size === 8 ? cpu.r8[0] : i.size === 16 ? cpu.r16[0] : cpu.r32[0];
  cpu.hooks.ioWrite(port, n, v);
}

/** Reads/advances rSI or rDI by address size. */
function idx(cpu: Cpu, reg: number, asize: number): number {
  if (asize === 64) return cpu.reg64(reg);
  if (asize === 32) return cpu.r32[2 * reg] >>> 0;
  return cpu.r16[4 * reg];
}
function advance(cpu: Cpu, reg: number, asize: number, delta: number): void {
  if (asize === 64) cpu.setReg64(reg, cpu.reg64(reg) + delta);
  else if (asize === 32) { cpu.r32[2 * reg] = (cpu.r32[2 * reg] + delta) | 0; if (cpu.mode === 64) cpu.r32[2 * reg + 1] = 0; }
  else cpu.r16[4 * reg] = (cpu.r16[4 * reg] + delta) & 0xffff;
}
function count(cpu: Cpu, asize: number): number { return idx(cpu, 1, asize); }
function setCount(cpu: Cpu, asize: number, v: number): void {
  if (asize === 64) cpu.setReg64(1, v);
  else if (asize === 32) { cpu.r32[2] = v | 0; if (cpu.mode === 64) cpu.r32[3] = 0; }
  else cpu.r16[4] = v & 0xffff;
}

/**
 * ins (into ES:rDI) and outs (from seg:rSI), one element a turn; with rep the count is committed after every
 * element, so a fault leaves rCX (and rSI/rDI) at the faulting one.
 */
function stringIo(cpu: Cpu, i: Insn, isIn: boolean): void {
  checkIo(cpu);
  const n = i.size >> 3;
  const delta = cpu.flagsRest & DF ? -n : n;
  const port = cpu.r16[8];
  const reg = isIn ? 7 : 6;
  let c = i.rep ? count(cpu, i.asize) : 1;
  while (c > 0) {
    if (isIn) {
      const v = cpu.hooks.ioRead(port, n as 1 | 2 | 4);
      writeMem(cpu, cpu.segBase[ES] + idx(cpu, 7, i.asize), i.size, v, 0);
    } else {
      const v = readMem(cpu, cpu.segBase[i.seg] + idx(cpu, 6, i.asize), i.size);
      cpu.hooks.ioWrite(port, n as 1 | 2 | 4, v);
    }
    advance(cpu, reg, i.asize, delta);
    c--;
    if (i.rep) setCount(cpu, i.asize, c);
  }
}
const ins = (cpu: Cpu, i: Insn): void => stringIo(cpu, i, true);
const outs = (cpu: Cpu, i: Insn): void => stringIo(cpu, i, false);

const ioSize = (op: number, osz: number) => (op & 1 ? (osz === 16 ? 16 : 32) : 8);
for (const op of [0xE4, 0xE5, 0xE6, 0xE7]) {
  def1(op, (d, i) => { i.imm = d.imm8u(); i.op = 0; i.size = ioSize(op, d.osz); i.h = op < 0xE6 ? inOp : outOp; i.ends = true; });
}
for (const op of [0xEC, 0xED, 0xEE, 0xEF]) {
  def1(op, (d, i) => { i.op = 1; i.size = ioSize(op, d.osz); i.h = op < 0xEE ? inOp : outOp; i.ends = true; });
}
def1(0x6C, (d, i) => { i.size = 8; i.rep = d.rep; i.h = ins; i.ends = true; });
def1(0x6D, (d, i) => { i.size = d.osz === 16 ? 16 : 32; i.rep = d.rep; i.h = ins; i.ends = true; });
def1(0x6E, (d, i) => { i.size = 8; i.rep = d.rep; i.h = outs; i.ends = true; });
def1(0x6F, (d, i) => { i.size = d.osz === 16 ? 16 : 32; i.rep = d.rep; i.h = outs; i.ends = true; });
