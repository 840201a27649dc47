// xadd (0F C0/C1), cmpxchg (0F B0/B1), cmpxchg8b/cmpxchg16b (0F C7 /1). osvemu runs one vCPU at a time,
// so LOCK only needs the encodings accepted; memory destinations are checked writable before anything
// changes (the failing compare still writes the old value back, as the hardware does).
import type { Cpu } from '../cpu.js';
import type { Decoder } from '../decoder.js';
import { raiseGP } from '../exceptions.js';
import { arithFlags, Lf, setArithFlags } from '../flags.js';
import type { Insn } from '../insn.js';
import { ea, getReg, rmwMem, setReg, writeMem } from '../operands.js';
import { def0F } from '../optable.js';
import { C7_EXT } from '../system/msr.js';
import { ZF } from '../regs.js';
import { alu32, alu64, aluSmall, OP_ADD, OP_CMP } from './alu-core.js';

/** Operand-size ALU on halves; the high half of a 64-bit result is in lf[Lf.RHI]. */
function alu(cpu: Cpu, op: number, size: number, aLo: number, aHi: number, bLo: number, bHi: number): number {
  switch (size) {
    case 8: return aluSmall(cpu.lf, op, 0, aLo, bLo);
    case 16: return aluSmall(cpu.lf, op, 1, aLo, bLo);
    case 32: return alu32(cpu.lf, op, aLo, bLo);
    default: return alu64(cpu.lf, op, aLo, aHi, bLo, bHi);
  }
}

/** Register read as halves (8-bit: i.reg/i.rm are byte offsets); high half in regHi. */
let regHi = 0;
function readReg(cpu: Cpu, size: number, n: number): number {
  const lo = getReg(cpu, size, n);
  regHi = size === 64 ? cpu.r32[2 * n + 1] : 0;
  return lo;
}

// ---- xadd ----------------------------------------------------------------------------------------
function xadd(cpu: Cpu, i: Insn): void {
  const size = i.size;
  const sLo = readReg(cpu, size, i.reg), sHi = regHi;
  let a = 0, dLo: number, dHi: number;
  if (i.mem) { a = ea(cpu, i); dLo = rmwMem(cpu, a, size); dHi = size === 64 ? cpu.mmu.hi : 0; }
  else { dLo = readReg(cpu, size, i.rm); dHi = regHi; }
  const sum = alu(cpu, OP_ADD, size, dLo, dHi, sLo, sHi);
  const sumHi = cpu.lf[Lf.RHI];
  // Source gets the old destination, then the destination the sum (so xadd r, r leaves the sum).
  setReg(cpu, size, i.reg, dLo, dHi);
  if (i.mem) writeMem(cpu, a, size, sum, sumHi);
  else setReg(cpu, size, i.rm, sum, sumHi);
}

// ---- cmpxchg ---------------------------------------------------------------------------------------
function cmpxchg(cpu: Cpu, i: Insn): void {
  const size = i.size;
  const accLo = readReg(cpu, size, 0), accHi = regHi;
  let a = 0, dLo: number, dHi: number;
  if (i.mem) { a = ea(cpu, i); dLo = rmwMem(cpu, a, size); dHi = size === 64 ? cpu.mmu.hi : 0; }
  else { dLo = readReg(cpu, size, i.rm); dHi = regHi; }
  alu(cpu, OP_CMP, size, accLo, accHi, dLo, dHi);
  const equal = size === 64 ? accLo === dLo && accHi === dHi : accLo === dLo;
  if (equal) {
    const sLo = readReg(cpu, size, i.reg), sHi = regHi;
    if (i.mem) writeMem(cpu, a, size, sLo, sHi);
    else setReg(cpu, size, i.rm, sLo, sHi);
  } else {
    if (i.mem) writeMem(cpu, a, size, dLo, dHi);
    setReg(cpu, size, 0, dLo, dHi);
  }
}

// ---- cmpxchg8b / cmpxchg16b --------------------------------------------------------------------------
function cmpxchg8b(cpu: Cpu, i: Insn): void {
  const a = ea(cpu, i);
  const m = cpu.mmu, r = cpu.r32;
  const lo = m.rmw64(a), hi = m.hi;
  const f = arithFlags(cpu.lf) & ~ZF;
  if (lo === r[0] && hi === r[4]) {
    m.write64(a, r[6], r[2]); // ecx:ebx
    setArithFlags(cpu.lf, f | ZF);
  } else {
    m.write64(a, lo, hi);
    r[0] = lo; r[1] = 0; r[4] = hi; r[5] = 0;
    setArithFlags(cpu.lf, f);
  }
}
function cmpxchg16b(cpu: Cpu, i: Insn): void {
  const a = ea(cpu, i);
  if (a % 16 !== 0) raiseGP(cpu, 0);
  const m = cpu.mmu, r = cpu.r32;
  m.probeWrite(a, 16);
  const l0 = m.read64(a), l1 = m.hi;
  const h0 = m.read64(a + 8), h1 = m.hi;
  const f = arithFlags(cpu.lf) & ~ZF;
  if (l0 === r[0] && l1 === r[1] && h0 === r[4] && h1 === r[5]) {
    m.write64(a, r[6], r[7]); // rbx
    m.write64(a + 8, r[2], r[3]); // rcx
    setArithFlags(cpu.lf, f | ZF);
  } else {
    m.write64(a, l0, l1);
    m.write64(a + 8, h0, h1);
    r[0] = l0; r[1] = l1; r[4] = h0; r[5] = h1;
    setArithFlags(cpu.lf, f);
  }
}

def0F(0xC0, (d, i) => { d.modrm(i); d.byteRegs(i); i.size = 8; i.h = xadd; d.lockable = true; });
def0F(0xC1, (d, i) => { d.modrm(i); i.h = xadd; d.lockable = true; });
def0F(0xB0, (d, i) => { d.modrm(i); d.byteRegs(i); i.size = 8; i.h = cmpxchg; d.lockable = true; });
def0F(0xB1, (d, i) => { d.modrm(i); i.h = cmpxchg; d.lockable = true; });

// 0F C7 (group 9) is decoded by system/msr.ts (rdrand/rdseed); /1 with a memory operand comes here.
C7_EXT.cmpxchg = (d: Decoder, i: Insn) => {
  i.h = d.rexW ? cmpxchg16b : cmpxchg8b;
  d.lockable = true;
};
