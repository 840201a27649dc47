// ALU instructions: 00-3D (op r/m,reg / reg,r/m / acc,imm), 80/81/83 groups, test (84/85/A8/A9/F6/F7 /0).
import type { Cpu } from '../cpu.js';
import type { Decoder } from '../decoder.js';
import type { Insn } from '../insn.js';
import { ea, rmwMem } from '../operands.js';
import { def1, def1Legacy } from '../optable.js';
import { alu32, alu64, aluSmall, AluOp, discards, OP_CMP, OP_TEST } from './alu-core.js';

// ---- op r/m, reg ---------------------------------------------------------------------------
function rmR8(cpu: Cpu, i: Insn): void {
  const b = cpu.r8[i.reg];
  if (i.mem) {
    const a = ea(cpu, i);
    const r = aluSmall(cpu.lf, i.op, 0, discards(i.op) ? cpu.mmu.read8(a) : cpu.mmu.rmw8(a), b);
    if (!discards(i.op)) cpu.mmu.write8(a, r);
  } else {
    const r = aluSmall(cpu.lf, i.op, 0, cpu.r8[i.rm], b);
    if (!discards(i.op)) cpu.r8[i.rm] = r;
  }
}

function rmR16(cpu: Cpu, i: Insn): void {
  const b = cpu.r16[4 * i.reg];
  if (i.mem) {
    const a = ea(cpu, i);
    const r = aluSmall(cpu.lf, i.op, 1, discards(i.op) ? cpu.mmu.read16(a) : cpu.mmu.rmw16(a), b);
    if (!discards(i.op)) cpu.mmu.write16(a, r);
  } else {
    const r = aluSmall(cpu.lf, i.op, 1, cpu.r16[4 * i.rm], b);
    if (!discards(i.op)) cpu.r16[4 * i.rm] = r;
  }
}

function rmR32(cpu: Cpu, i: Insn): void {
  const r32 = cpu.r32;
  const b = r32[2 * i.reg];
  if (i.mem) {
    const a = ea(cpu, i);
    const r = alu32(cpu.lf, i.op, discards(i.op) ? cpu.mmu.read32(a) : cpu.mmu.rmw32(a), b);
    if (!discards(i.op)) cpu.mmu.write32(a, r);
  } else {
    const r = alu32(cpu.lf, i.op, r32[2 * i.rm], b);
    if (!discards(i.op)) { r32[2 * i.rm] = r; r32[2 * i.rm + 1] = 0; }
  }
}

function rmR64(cpu: Cpu, i: Insn): void {
  const r32 = cpu.r32;
  const bLo = r32[2 * i.reg], bHi = r32[2 * i.reg + 1];
  if (i.mem) {
    const a = ea(cpu, i);
    const m = cpu.mmu;
    const lo = discards(i.op) ? m.read64(a) : m.rmw64(a);
    const r = alu64(cpu.lf, i.op, lo, m.hi, bLo, bHi);
    if (!discards(i.op)) m.write64(a, r, cpu.lf[6]);
  } else {
    const r = alu64(cpu.lf, i.op, r32[2 * i.rm], r32[2 * i.rm + 1], bLo, bHi);
    if (!discards(i.op)) { r32[2 * i.rm] = r; r32[2 * i.rm + 1] = cpu.lf[6]; }
  }
}

// ---- op reg, r/m ---------------------------------------------------------------------------
function rRm8(cpu: Cpu, i: Insn): void {
  const b = i.mem ? cpu.mmu.read8(ea(cpu, i)) : cpu.r8[i.rm];
  const r = aluSmall(cpu.lf, i.op, 0, cpu.r8[i.reg], b);
  if (!discards(i.op)) cpu.r8[i.reg] = r;
}

function rRm16(cpu: Cpu, i: Insn): void {
  const b = i.mem ? cpu.mmu.read16(ea(cpu, i)) : cpu.r16[4 * i.rm];
  const r = aluSmall(cpu.lf, i.op, 1, cpu.r16[4 * i.reg], b);
  if (!discards(i.op)) cpu.r16[4 * i.reg] = r;
}

function rRm32(cpu: Cpu, i: Insn): void {
  const r32 = cpu.r32;
  const b = i.mem ? cpu.mmu.read32(ea(cpu, i)) : r32[2 * i.rm];
  const r = alu32(cpu.lf, i.op, r32[2 * i.reg], b);
  if (!discards(i.op)) { r32[2 * i.reg] = r; r32[2 * i.reg + 1] = 0; }
}

function rRm64(cpu: Cpu, i: Insn): void {
  const r32 = cpu.r32;
  let bLo: number, bHi: number;
  if (i.mem) { bLo = cpu.mmu.read64(ea(cpu, i)); bHi = cpu.mmu.hi; }
  else { bLo = r32[2 * i.rm]; bHi = r32[2 * i.rm + 1]; }
  const r = alu64(cpu.lf, i.op, r32[2 * i.reg], r32[2 * i.reg + 1], bLo, bHi);
  if (!discards(i.op)) { r32[2 * i.reg] = r; r32[2 * i.reg + 1] = cpu.lf[6]; }
}

// ---- op r/m, imm ---------------------------------------------------------------------------
function rmI8(cpu: Cpu, i: Insn): void {
  if (i.mem) {
    const a = ea(cpu, i);
    const r = aluSmall(cpu.lf, i.op, 0, discards(i.op) ? cpu.mmu.read8(a) : cpu.mmu.rmw8(a), i.imm);
    if (!discards(i.op)) cpu.mmu.write8(a, r);
  } else {
    const r = aluSmall(cpu.lf, i.op, 0, cpu.r8[i.rm], i.imm);
    if (!discards(i.op)) cpu.r8[i.rm] = r;
  }
}

function rmI16(cpu: Cpu, i: Insn): void {
  if (i.mem) {
    const a = ea(cpu, i);
    const r = aluSmall(cpu.lf, i.op, 1, discards(i.op) ? cpu.mmu.read16(a) : cpu.mmu.rmw16(a), i.imm);
    if (!discards(i.op)) cpu.mmu.write16(a, r);
  } else {
    const r = aluSmall(cpu.lf, i.op, 1, cpu.r16[4 * i.rm], i.imm);
    if (!discards(i.op)) cpu.r16[4 * i.rm] = r;
  }
}

function rmI32(cpu: Cpu, i: Insn): void {
  if (i.mem) {
    const a = ea(cpu, i);
    const r = alu32(cpu.lf, i.op, discards(i.op) ? cpu.mmu.read32(a) : cpu.mmu.rmw32(a), i.imm);
    if (!discards(i.op)) cpu.mmu.write32(a, r);
  } else {
    const r32 = cpu.r32;
    const r = alu32(cpu.lf, i.op, r32[2 * i.rm], i.imm);
    if (!discards(i.op)) { r32[2 * i.rm] = r; r32[2 * i.rm + 1] = 0; }
  }
}

function rmI64(cpu: Cpu, i: Insn): void {
  if (i.mem) {
    const a = ea(cpu, i);
    const m = cpu.mmu;
    const lo = discards(i.op) ? m.read64(a) : m.rmw64(a);
    const r = alu64(cpu.lf, i.op, lo, m.hi, i.imm, i.immHi);
    if (!discards(i.op)) m.write64(a, r, cpu.lf[6]);
  } else {
    const r32 = cpu.r32;
    const r = alu64(cpu.lf, i.op, r32[2 * i.rm], r32[2 * i.rm + 1], i.imm, i.immHi);
    if (!discards(i.op)) { r32[2 * i.rm] = r; r32[2 * i.rm + 1] = cpu.lf[6]; }
  }
}

// Hot special cases: cmp/test/sub/add between 64-bit registers are the bulk of compiled code.
function cmpR64R64(cpu: Cpu, i: Insn): void {
  const r32 = cpu.r32;
  alu64(cpu.lf, AluOp.CMP, r32[2 * i.rm], r32[2 * i.rm + 1], r32[2 * i.reg], r32[2 * i.reg + 1]);
}

function testR64R64(cpu: Cpu, i: Insn): void {
  const r32 = cpu.r32;
  alu64(cpu.lf, AluOp.TEST, r32[2 * i.rm], r32[2 * i.rm + 1], r32[2 * i.reg], r32[2 * i.reg + 1]);
}

const RM_R = [rmR8, rmR16, rmR32, rmR64];
const R_RM = [rRm8, rRm16, rRm32, rRm64];
const RM_I = [rmI8, rmI16, rmI32, rmI64];

function sizeIdx(d: Decoder): number {
  return d.osz === 64 ? 3 : d.osz === 32 ? 2 : 1;
}

/** Immediate into i.imm/i.immHi, sign-extended to the operand size (8/16-bit values masked). */
function setImm(i: Insn, size: number, v: number): void {
  if (size === 8) { i.imm = v & 0xff; i.immHi = 0; }
  else if (size === 16) { i.imm = v & 0xffff; i.immHi = 0; }
  else { i.imm = v | 0; i.immHi = v < 0 ? -1 : 0; }
}

for (let op = 0; op < 8; op++) {
  const base = op << 3;
  def1(base + 0, (d, i) => { d.modrm(i); d.byteRegs(i); i.op = op; i.size = 8; i.h = rmR8; d.lockable = op !== OP_CMP; });
  def1(base + 1, (d, i) => {
    d.modrm(i); i.op = op; i.h = RM_R[sizeIdx(d)]; d.lockable = op !== OP_CMP;
    if (!i.mem && d.osz === 64 && op === OP_CMP) i.h = cmpR64R64;
  });
  def1(base + 2, (d, i) => { d.modrm(i); d.byteRegs(i); i.op = op; i.size = 8; i.h = rRm8; });
  def1(base + 3, (d, i) => { d.modrm(i); i.op = op; i.h = R_RM[sizeIdx(d)]; });
  def1(base + 4, (d, i) => { i.op = op; i.size = 8; i.rm = 0; setImm(i, 8, d.imm8()); i.h = rmI8; });
  def1(base + 5, (d, i) => { i.op = op; i.rm = 0; setImm(i, d.osz, d.immz()); i.h = RM_I[sizeIdx(d)]; });
}

function group1(d: Decoder, i: Insn, byteOp: boolean, immBytes: number): void {
  d.modrm(i);
  const op = d.regField;
  i.op = op;
  d.lockable = op !== OP_CMP;
  if (byteOp) {
    d.byteRegs(i);
    i.size = 8;
    setImm(i, 8, d.imm8());
    i.h = rmI8;
    return;
  }
  setImm(i, d.osz, immBytes === 1 ? d.imm8() : d.immz());
  i.h = RM_I[sizeIdx(d)];
}

def1(0x80, (d, i) => group1(d, i, true, 1));
def1Legacy(0x82, (d, i) => group1(d, i, true, 1));
def1(0x81, (d, i) => group1(d, i, false, 4));
def1(0x83, (d, i) => group1(d, i, false, 1));

// test
def1(0x84, (d, i) => { d.modrm(i); d.byteRegs(i); i.op = OP_TEST; i.size = 8; i.h = rmR8; });
def1(0x85, (d, i) => {
  d.modrm(i); i.op = OP_TEST; i.h = RM_R[sizeIdx(d)];
  if (!i.mem && d.osz === 64) i.h = testR64R64;
});
def1(0xA8, (d, i) => { i.op = OP_TEST; i.size = 8; i.rm = 0; setImm(i, 8, d.imm8()); i.h = rmI8; });
def1(0xA9, (d, i) => { i.op = OP_TEST; i.rm = 0; setImm(i, d.osz, d.immz()); i.h = RM_I[sizeIdx(d)]; });

/** test r/m, imm for the F6/F7 groups (reg field 0 or 1). */
export function decodeTestImm(d: Decoder, i: Insn, byteOp: boolean): void {
  i.op = OP_TEST;
  if (byteOp) { i.size = 8; setImm(i, 8, d.imm8()); i.h = rmI8; return; }
  setImm(i, d.osz, d.immz());
  i.h = RM_I[sizeIdx(d)];
}

export { setImm, sizeIdx };
/** The generic handlers hot-mem.ts replaces for some memory forms (it checks that the decode chose one of these). */
export const genericAlu = { rmI8, rmI32, rmI64, rmR32, rmR64, rRm32, rRm64 };
