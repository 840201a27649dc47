// mul/imul/div/idiv (F6/F7 /4-/7, through GROUP3_EXT.muldiv) and the two- and three-operand imul forms
// (0F AF, 69, 6B). Quotients and products are computed in full before any register is written, so #DE
// leaves the state untouched.
import type { Cpu } from '../cpu.js';
import type { Decoder } from '../decoder.js';
import { raise } from '../exceptions.js';
import { setArithFlags, szapFlags } from '../flags.js';
import type { Insn } from '../insn.js';
import { ea, readRm } from '../operands.js';
import { def0F, def1 } from '../optable.js';
import { Fl, VEC_DE } from '../regs.js';
import { GROUP3_EXT } from './group3.js';
import { divS128, divU128, imul64Overflows, mul64Lo, mulS32, mulS64, mulU32, mulU64, W } from './wide.js';
import { mulFlags, divFlags } from './undef.js';

function de(cpu: Cpu): never {
  return raise(cpu, VEC_DE);
}

/** Flags after a multiply: CF=OF=overflow; SF/ZF/AF/PF as this CPU leaves them (see undef.ts). */
function setMulFlags(cpu: Cpu, overflow: boolean): void {
  setArithFlags(cpu.lf, mulFlags(szapFlags(cpu.lf), overflow ? Fl.CF | Fl.OF : 0));
}

// ---- one-operand multiply: F6/F7 /4 (mul), /5 (imul) --------------------------------------------
function mul8(cpu: Cpu, i: Insn): void {
  const src = i.mem ? readRm(cpu, i, 8) : cpu.r8[i.rm];
  const r = cpu.r8[0] * src;
  cpu.r16[0] = r;
  setMulFlags(cpu, r > 0xff);
}
function imul8(cpu: Cpu, i: Insn): void {
  const src = i.mem ? readRm(cpu, i, 8) : cpu.r8[i.rm];
  const r = ((cpu.r8[0] << 24) >> 24) * ((src << 24) >> 24);
  cpu.r16[0] = r & 0xffff;
  setMulFlags(cpu, r !== ((r << 24) >> 24));
}
function mul16(cpu: Cpu, i: Insn): void {
  const src = readRm(cpu, i, 16);
  const r = cpu.r16[0] * src;
  cpu.r16[0] = r & 0xffff;
  cpu.r16[8] = r >>> 16;
  setMulFlags(cpu, r > 0xffff);
}
function imul16(cpu: Cpu, i: Insn): void {
  const src = readRm(cpu, i, 16);
  const r = ((cpu.r16[0] << 16) >> 16) * ((src << 16) >> 16);
  cpu.r16[0] = r & 0xffff;
  cpu.r16[8] = (r >> 16) & 0xffff;
  setMulFlags(cpu, r !== ((r << 16) >> 16));
}
function mul32(cpu: Cpu, i: Insn): void {
  const src = readRm(cpu, i, 32);
  const r = cpu.r32;
  const lo = mulU32(r[0], src), hi = W[1];
  r[0] = lo; r[1] = 0; r[4] = hi; r[5] = 0;
  setMulFlags(cpu, hi !== 0);
}
function imul32(cpu: Cpu, i: Insn): void {
  const src = readRm(cpu, i, 32);
  const r = cpu.r32;
  const lo = mulS32(r[0], src), hi = W[1];
  r[0] = lo; r[1] = 0; r[4] = hi; r[5] = 0;
  setMulFlags(cpu, hi !== (lo >> 31));
}
function mul64(cpu: Cpu, i: Insn): void {
  const bLo = readRm(cpu, i, 64), bHi = i.mem ? cpu.mmu.hi : cpu.r32[2 * i.rm + 1];
  const r = cpu.r32;
  mulU64(r[0], r[1], bLo, bHi);
  r[0] = W[0]; r[1] = W[1]; r[4] = W[2]; r[5] = W[3];
  setMulFlags(cpu, (W[2] | W[3]) !== 0);
}
function imul64(cpu: Cpu, i: Insn): void {
  const bLo = readRm(cpu, i, 64), bHi = i.mem ? cpu.mmu.hi : cpu.r32[2 * i.rm + 1];
  const r = cpu.r32;
  mulS64(r[0], r[1], bLo, bHi);
  r[0] = W[0]; r[1] = W[1]; r[4] = W[2]; r[5] = W[3];
  const s = W[1] >> 31;
  setMulFlags(cpu, W[2] !== s || W[3] !== s);
}

// ---- divide: F6/F7 /6 (div), /7 (idiv) -----------------------------------------------------------
function div8(cpu: Cpu, i: Insn): void {
  const d = i.mem ? readRm(cpu, i, 8) : cpu.r8[i.rm];
  if (d === 0) de(cpu);
  const n = cpu.r16[0];
  const q = Math.floor(n / d);
  if (q > 0xff) de(cpu);
  cpu.r8[0] = q;
  cpu.r8[1] = n - q * d;
  divFlags(cpu);
}
function idiv8(cpu: Cpu, i: Insn): void {
  const d = ((i.mem ? readRm(cpu, i, 8) : cpu.r8[i.rm]) << 24) >> 24;
  if (d === 0) de(cpu);
  const n = (cpu.r16[0] << 16) >> 16;
  const q = Math.trunc(n / d);
  if (q > 127 || q < -128) de(cpu);
  cpu.r8[0] = q;
  cpu.r8[1] = n - q * d;
  divFlags(cpu);
}
function div16(cpu: Cpu, i: Insn): void {
  const d = readRm(cpu, i, 16);
  if (d === 0) de(cpu);
  const n = cpu.r16[8] * 65536 + cpu.r16[0];
  const q = Math.floor(n / d);
  if (q > 0xffff) de(cpu);
  cpu.r16[0] = q;
  cpu.r16[8] = n - q * d;
  divFlags(cpu);
}
function idiv16(cpu: Cpu, i: Insn): void {
  const d = (readRm(cpu, i, 16) << 16) >> 16;
  if (d === 0) de(cpu);
  const n = (cpu.r16[8] << 16) | cpu.r16[0];
  const q = Math.trunc(n / d);
  if (q > 32767 || q < -32768) de(cpu);
  cpu.r16[0] = q & 0xffff;
  cpu.r16[8] = (n - q * d) & 0xffff;
  divFlags(cpu);
}
function div32(cpu: Cpu, i: Insn): void {
  const d = readRm(cpu, i, 32);
  const r = cpu.r32;
  if (d === 0) de(cpu);
  let q: number, rem: number;
  if (r[4] === 0) {
    const n = r[0] >>> 0, ud = d >>> 0;
    q = Math.floor(n / ud);
    rem = n - q * ud;
  } else {
    if (!divU128(r[0], r[4], 0, 0, d, 0) || W[1] !== 0) de(cpu);
    q = W[0]; rem = W[2];
  }
  r[0] = q | 0; r[1] = 0; r[4] = rem | 0; r[5] = 0;
  divFlags(cpu);
}
function idiv32(cpu: Cpu, i: Insn): void {
  const d = readRm(cpu, i, 32);
  const r = cpu.r32;
  const s = r[4] >> 31;
  if (!divS128(r[0], r[4], s, s, d, d >> 31) || W[1] !== (W[0] >> 31)) de(cpu);
  r[0] = W[0]; r[1] = 0; r[4] = W[2]; r[5] = 0;
  divFlags(cpu);
}
function div64(cpu: Cpu, i: Insn): void {
  const dLo = readRm(cpu, i, 64), dHi = i.mem ? cpu.mmu.hi : cpu.r32[2 * i.rm + 1];
  const r = cpu.r32;
  if (!divU128(r[0], r[1], r[4], r[5], dLo, dHi)) de(cpu);
  r[0] = W[0]; r[1] = W[1]; r[4] = W[2]; r[5] = W[3];
  divFlags(cpu);
}
function idiv64(cpu: Cpu, i: Insn): void {
  const dLo = readRm(cpu, i, 64), dHi = i.mem ? cpu.mmu.hi : cpu.r32[2 * i.rm + 1];
  const r = cpu.r32;
  if (!divS128(r[0], r[1], r[4], r[5], dLo, dHi)) de(cpu);
  r[0] = W[0]; r[1] = W[1]; r[4] = W[2]; r[5] = W[3];
  divFlags(cpu);
}

const BY_OP = [
  [mul8, imul8, div8, idiv8],
  [mul16, imul16, div16, idiv16],
  [mul32, imul32, div32, idiv32],
  [mul64, imul64, div64, idiv64],
];

/** F6/F7 with reg field 4..7; the group decoder has already read ModRM (and set byte registers for F6). */
function decodeMulDiv(d: Decoder, i: Insn): void {
  const sz = i.size === 8 ? 0 : d.osz === 64 ? 3 : d.osz === 32 ? 2 : 1;
  i.h = BY_OP[sz][d.regField - 4];
}
GROUP3_EXT.muldiv = decodeMulDiv;

// ---- imul reg, r/m (0F AF) and imul reg, r/m, imm (69, 6B) ---------------------------------------
// The second factor comes from i.imm (three-operand forms) or the destination register (0F AF).
function imulR16(cpu: Cpu, i: Insn): void {
  const a = (readRm(cpu, i, 16) << 16) >> 16;
  const b = i.op ? (i.imm << 16) >> 16 : (cpu.r16[4 * i.reg] << 16) >> 16;
  const p = a * b;
  cpu.r16[4 * i.reg] = p & 0xffff;
  setMulFlags(cpu, p !== ((p << 16) >> 16));
}
function imulR32(cpu: Cpu, i: Insn): void {
  const a = readRm(cpu, i, 32);
  const b = i.op ? i.imm : cpu.r32[2 * i.reg];
  const p = Math.imul(a, b);
  cpu.r32[2 * i.reg] = p;
  cpu.r32[2 * i.reg + 1] = 0;
  // The double product is exact whenever it fits in 32 bits, and out of range otherwise.
  setMulFlags(cpu, a * b !== p);
}
function imulR64(cpu: Cpu, i: Insn): void {
  const r = cpu.r32;
  let aLo: number, aHi: number, bLo: number, bHi: number;
  if (i.mem) { aLo = cpu.mmu.read64(ea(cpu, i)); aHi = cpu.mmu.hi; } else { aLo = r[2 * i.rm]; aHi = r[2 * i.rm + 1]; }
  if (i.op) { bLo = i.imm; bHi = i.imm >> 31; } else { bLo = r[2 * i.reg]; bHi = r[2 * i.reg + 1]; }
  // Only the low 64 bits are kept: the full 128-bit product is needed only to decide CF/OF near 2^63.
  const of = imul64Overflows(aLo, aHi, bLo, bHi);
  r[2 * i.reg] = mul64Lo(aLo, aHi, bLo, bHi);
  r[2 * i.reg + 1] = W[1];
  setMulFlags(cpu, of);
}

function imulDecode(d: Decoder, i: Insn, imm: number): void {
  d.modrm(i);
  if (imm === 1) { i.imm = d.imm8(); i.op = 1; }
  else if (imm === 4) { i.imm = d.immz(); i.op = 1; }
  else i.op = 0;
  i.h = d.pick(imulR16, imulR32, imulR64);
}
def0F(0xAF, (d, i) => imulDecode(d, i, 0));
def1(0x69, (d, i) => imulDecode(d, i, 4));
def1(0x6B, (d, i) => imulDecode(d, i, 1));
