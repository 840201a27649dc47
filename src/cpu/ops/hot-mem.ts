// Fast paths for the commonest kernel forms that hot.ts leaves generic, chosen after the generic decode: compares
// and tests against memory (flag checks on structure fields and globals) and movzx from a byte. (Not mov between
// registers: jit/forms.ts learns the generic movRmR handlers from samples, and without their register sample it
// would no longer know the RIP-relative stores they also run.) Each calls the same core as its generic twin with the operation and size fixed, so V8 folds
// the switches away, and leaves exactly the state the generic handler would (registers, lazy flags, faults).
// Their names stay outside jit/forms.ts's hot.ts pattern: they record flags as the generic handlers do.
import type { Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import { ea } from '../operands.js';
import { MAP0F, MAP1 } from '../optable.js';
import { alu32, alu64, aluSmall, AluOp } from './alu-core.js';
import { genericAlu } from './alu.js';
import { refine } from './hot.js';
import './index.js';

// ---- cmp / test r/m, imm and cmp r/m, reg with a memory operand ------------------------------------------
function cmpMemImm8(cpu: Cpu, i: Insn): void { aluSmall(cpu.lf, AluOp.CMP, 0, cpu.mmu.read8(ea(cpu, i)), i.imm); }
function testMemImm8(cpu: Cpu, i: Insn): void { aluSmall(cpu.lf, AluOp.TEST, 0, cpu.mmu.read8(ea(cpu, i)), i.imm); }
function cmpMemImm32(cpu: Cpu, i: Insn): void { alu32(cpu.lf, AluOp.CMP, cpu.mmu.read32(ea(cpu, i)), i.imm); }
function testMemImm32(cpu: Cpu, i: Insn): void { alu32(cpu.lf, AluOp.TEST, cpu.mmu.read32(ea(cpu, i)), i.imm); }
function cmpMemImm64(cpu: Cpu, i: Insn): void {
  const m = cpu.mmu;
  const lo = m.read64(ea(cpu, i));
  alu64(cpu.lf, AluOp.CMP, lo, m.hi, i.imm, i.immHi);
}
function cmpMemReg32(cpu: Cpu, i: Insn): void { alu32(cpu.lf, AluOp.CMP, cpu.mmu.read32(ea(cpu, i)), cpu.r32[2 * i.reg]); }
function cmpMemReg64(cpu: Cpu, i: Insn): void {
  const m = cpu.mmu, r = cpu.r32;
  const lo = m.read64(ea(cpu, i));
  alu64(cpu.lf, AluOp.CMP, lo, m.hi, r[2 * i.reg], r[2 * i.reg + 1]);
}
function cmpRegMem32(cpu: Cpu, i: Insn): void { alu32(cpu.lf, AluOp.CMP, cpu.r32[2 * i.reg], cpu.mmu.read32(ea(cpu, i))); }
function cmpRegMem64(cpu: Cpu, i: Insn): void {
  const m = cpu.mmu, r = cpu.r32;
  const lo = m.read64(ea(cpu, i));
  alu64(cpu.lf, AluOp.CMP, r[2 * i.reg], r[2 * i.reg + 1], lo, m.hi);
}

// ---- movzx r32/r64, r/m8 -------------------------------------------------------------------------------
/** The register source is a byte offset into r8 (decoded that way); the result clears the high half for 32 and 64. */
function movzxByteReg(cpu: Cpu, i: Insn): void {
  const r = cpu.r32;
  r[2 * i.reg] = cpu.r8[i.rm];
  r[2 * i.reg + 1] = 0;
}
function movzxByteMem(cpu: Cpu, i: Insn): void {
  const v = cpu.mmu.read8(ea(cpu, i));
  const r = cpu.r32;
  r[2 * i.reg] = v;
  r[2 * i.reg + 1] = 0;
}

// ---- wiring ----------------------------------------------------------------------------------------------
// Group 1 (80/81/83 /7) and the test groups (F6/F7 /0 /1): only where the generic ALU handler was chosen.
for (const op of [0x80, 0x81, 0x83, 0xF6, 0xF7]) {
  refine(MAP1, op, (i) => {
    if (!i.mem) return;
    if (i.h === genericAlu.rmI8) i.h = i.op === AluOp.CMP ? cmpMemImm8 : i.op === AluOp.TEST ? testMemImm8 : i.h;
    else if (i.h === genericAlu.rmI32) i.h = i.op === AluOp.CMP ? cmpMemImm32 : i.op === AluOp.TEST ? testMemImm32 : i.h;
    else if (i.h === genericAlu.rmI64 && i.op === AluOp.CMP) i.h = cmpMemImm64;
  }, false);
}
refine(MAP1, 0x39, (i) => {
  if (!i.mem) return;
  if (i.h === genericAlu.rmR32) i.h = cmpMemReg32;
  else if (i.h === genericAlu.rmR64) i.h = cmpMemReg64;
}, false);
refine(MAP1, 0x3B, (i) => {
  if (!i.mem) return;
  if (i.h === genericAlu.rRm32) i.h = cmpRegMem32;
  else if (i.h === genericAlu.rRm64) i.h = cmpRegMem64;
}, false);
refine(MAP0F, 0xB6, (i, osz) => {
  if (osz === 16) return;
  i.h = i.mem ? movzxByteMem : movzxByteReg;
}, false);
