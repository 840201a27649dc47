// Fast paths for the commonest register forms, chosen after the generic decode: the generic handlers
// dispatch on the ALU operation and operand size at run time; these do one thing each. Each fast handler
// leaves exactly the state (registers and lazy flags) its generic twin would.
import type { Cpu } from '../cpu.js';
import { carryIn, getZF, Kind, Lf } from '../flags.js';
import type { Insn } from '../insn.js';
import { raiseGP } from '../exceptions.js';
import { nonCanonical } from '../mmu.js';
import { stackLin } from '../stack.js';
import { MAP0F, MAP1, type DecodeFn } from '../optable.js';
import './index.js';

const OP_ADD = 0, OP_OR = 1, OP_AND = 4, OP_SUB = 5, OP_XOR = 6, OP_CMP = 7, OP_TEST = 8;

// ---- 64-bit: destination i.rm, source i.reg (or the immediate) --------------------------------------
function record64(lf: Int32Array, kind: number, aLo: number, aHi: number, bLo: number, bHi: number, lo: number, hi: number): void {
  lf[Lf.OP] = (kind << 2) | 3;
  lf[Lf.ALO] = aLo; lf[Lf.AHI] = aHi;
  lf[Lf.BLO] = bLo; lf[Lf.BHI] = bHi;
  lf[Lf.RLO] = lo; lf[Lf.RHI] = hi;
  lf[Lf.CIN] = 0;
}

function addSub64(cpu: Cpu, d: number, bLo: number, bHi: number, sub: boolean, write: boolean): void {
  const r = cpu.r32;
  const aLo = r[2 * d], aHi = r[2 * d + 1];
  let lo: number, hi: number;
  if (sub) {
    const s = (aLo >>> 0) - (bLo >>> 0);
    lo = s | 0;
    hi = (aHi - bHi - (s < 0 ? 1 : 0)) | 0;
  } else {
    const s = (aLo >>> 0) + (bLo >>> 0);
    lo = s | 0;
    hi = (aHi + bHi + (s > 0xffffffff ? 1 : 0)) | 0;
  }
  record64(cpu.lf, sub ? Kind.SUB : Kind.ADD, aLo, aHi, bLo, bHi, lo, hi);
  if (write) { r[2 * d] = lo; r[2 * d + 1] = hi; }
}

function add64rr(cpu: Cpu, i: Insn): void { addSub64(cpu, i.rm, cpu.r32[2 * i.reg], cpu.r32[2 * i.reg + 1], false, true); }
function sub64rr(cpu: Cpu, i: Insn): void { addSub64(cpu, i.rm, cpu.r32[2 * i.reg], cpu.r32[2 * i.reg + 1], true, true); }
function cmp64rr(cpu: Cpu, i: Insn): void { addSub64(cpu, i.rm, cpu.r32[2 * i.reg], cpu.r32[2 * i.reg + 1], true, false); }
function add64ri(cpu: Cpu, i: Insn): void { addSub64(cpu, i.rm, i.imm, i.immHi, false, true); }
function sub64ri(cpu: Cpu, i: Insn): void { addSub64(cpu, i.rm, i.imm, i.immHi, true, true); }
function cmp64ri(cpu: Cpu, i: Insn): void { addSub64(cpu, i.rm, i.imm, i.immHi, true, false); }

function logic64(cpu: Cpu, d: number, lo: number, hi: number, bLo: number, bHi: number, write: boolean): void {
  record64(cpu.lf, Kind.LOGIC, cpu.r32[2 * d], cpu.r32[2 * d + 1], bLo, bHi, lo, hi);
  if (write) { cpu.r32[2 * d] = lo; cpu.r32[2 * d + 1] = hi; }
}
function and64rr(cpu: Cpu, i: Insn): void {
  const r = cpu.r32, d = i.rm, s = i.reg;
  logic64(cpu, d, r[2 * d] & r[2 * s], r[2 * d + 1] & r[2 * s + 1], r[2 * s], r[2 * s + 1], true);
}
function or64rr(cpu: Cpu, i: Insn): void {
  const r = cpu.r32, d = i.rm, s = i.reg;
  logic64(cpu, d, r[2 * d] | r[2 * s], r[2 * d + 1] | r[2 * s + 1], r[2 * s], r[2 * s + 1], true);
}
function xor64rr(cpu: Cpu, i: Insn): void {
  const r = cpu.r32, d = i.rm, s = i.reg;
  logic64(cpu, d, r[2 * d] ^ r[2 * s], r[2 * d + 1] ^ r[2 * s + 1], r[2 * s], r[2 * s + 1], true);
}
function test64rr(cpu: Cpu, i: Insn): void {
  const r = cpu.r32, d = i.rm, s = i.reg;
  logic64(cpu, d, r[2 * d] & r[2 * s], r[2 * d + 1] & r[2 * s + 1], r[2 * s], r[2 * s + 1], false);
}
function and64ri(cpu: Cpu, i: Insn): void {
  const r = cpu.r32, d = i.rm;
  logic64(cpu, d, r[2 * d] & i.imm, r[2 * d + 1] & i.immHi, i.imm, i.immHi, true);
}

// ---- 32-bit -----------------------------------------------------------------------------------------
function record32(lf: Int32Array, kind: number, a: number, b: number, res: number): void {
  lf[Lf.OP] = (kind << 2) | 2;
  lf[Lf.ALO] = a;
  lf[Lf.BLO] = b;
  lf[Lf.RLO] = res;
  lf[Lf.CIN] = 0;
}
function add32rr(cpu: Cpu, i: Insn): void {
  const r = cpu.r32, a = r[2 * i.rm], b = r[2 * i.reg], v = (a + b) | 0;
  record32(cpu.lf, Kind.ADD, a, b, v); r[2 * i.rm] = v; r[2 * i.rm + 1] = 0;
}
function sub32rr(cpu: Cpu, i: Insn): void {
  const r = cpu.r32, a = r[2 * i.rm], b = r[2 * i.reg], v = (a - b) | 0;
  record32(cpu.lf, Kind.SUB, a, b, v); r[2 * i.rm] = v; r[2 * i.rm + 1] = 0;
}
function cmp32rr(cpu: Cpu, i: Insn): void {
  const r = cpu.r32, a = r[2 * i.rm], b = r[2 * i.reg];
  record32(cpu.lf, Kind.SUB, a, b, (a - b) | 0);
}
function xor32rr(cpu: Cpu, i: Insn): void {
  const r = cpu.r32, a = r[2 * i.rm], b = r[2 * i.reg], v = a ^ b;
  record32(cpu.lf, Kind.LOGIC, a, b, v); r[2 * i.rm] = v; r[2 * i.rm + 1] = 0;
}
function test32rr(cpu: Cpu, i: Insn): void {
  const r = cpu.r32, a = r[2 * i.rm], b = r[2 * i.reg];
  record32(cpu.lf, Kind.LOGIC, a, b, a & b);
}
function cmp32ri(cpu: Cpu, i: Insn): void {
  const a = cpu.r32[2 * i.rm];
  record32(cpu.lf, Kind.SUB, a, i.imm, (a - i.imm) | 0);
}
function add32ri(cpu: Cpu, i: Insn): void {
  const r = cpu.r32, a = r[2 * i.rm], v = (a + i.imm) | 0;
  record32(cpu.lf, Kind.ADD, a, i.imm, v); r[2 * i.rm] = v; r[2 * i.rm + 1] = 0;
}
function sub32ri(cpu: Cpu, i: Insn): void {
  const r = cpu.r32, a = r[2 * i.rm], v = (a - i.imm) | 0;
  record32(cpu.lf, Kind.SUB, a, i.imm, v); r[2 * i.rm] = v; r[2 * i.rm + 1] = 0;
}
function and32ri(cpu: Cpu, i: Insn): void {
  const r = cpu.r32, a = r[2 * i.rm], v = a & i.imm;
  record32(cpu.lf, Kind.LOGIC, a, i.imm, v); r[2 * i.rm] = v; r[2 * i.rm + 1] = 0;
}
function or32ri(cpu: Cpu, i: Insn): void {
  const r = cpu.r32, a = r[2 * i.rm], v = a | i.imm;
  record32(cpu.lf, Kind.LOGIC, a, i.imm, v); r[2 * i.rm] = v; r[2 * i.rm + 1] = 0;
}
function xor32ri(cpu: Cpu, i: Insn): void {
  const r = cpu.r32, a = r[2 * i.rm], v = a ^ i.imm;
  record32(cpu.lf, Kind.LOGIC, a, i.imm, v); r[2 * i.rm] = v; r[2 * i.rm + 1] = 0;
}

// ---- inc/dec register ----------------------------------------------------------------------------------
function incdec32(cpu: Cpu, i: Insn, dec: boolean): void {
  const lf = cpu.lf, r = cpu.r32;
  const cf = carryIn(lf);
  const a = r[2 * i.rm], v = dec ? (a - 1) | 0 : (a + 1) | 0;
  lf[Lf.OP] = ((dec ? Kind.DEC : Kind.INC) << 2) | 2;
  lf[Lf.ALO] = a; lf[Lf.AHI] = 0; lf[Lf.BLO] = 1; lf[Lf.BHI] = 0; lf[Lf.RLO] = v; lf[Lf.RHI] = 0;
  lf[Lf.CIN] = cf;
  r[2 * i.rm] = v; r[2 * i.rm + 1] = 0;
}
function inc32r(cpu: Cpu, i: Insn): void { incdec32(cpu, i, false); }
function dec32r(cpu: Cpu, i: Insn): void { incdec32(cpu, i, true); }
function incdec64(cpu: Cpu, i: Insn, dec: boolean): void {
  const lf = cpu.lf, r = cpu.r32;
  const cf = carryIn(lf);
  const lo = r[2 * i.rm], hi = r[2 * i.rm + 1];
  const rlo = dec ? (lo - 1) | 0 : (lo + 1) | 0;
  const rhi = dec ? (lo === 0 ? (hi - 1) | 0 : hi) : (lo === -1 ? (hi + 1) | 0 : hi);
  lf[Lf.OP] = ((dec ? Kind.DEC : Kind.INC) << 2) | 3;
  lf[Lf.ALO] = lo; lf[Lf.AHI] = hi; lf[Lf.BLO] = 1; lf[Lf.BHI] = 0; lf[Lf.RLO] = rlo; lf[Lf.RHI] = rhi;
  lf[Lf.CIN] = cf;
  r[2 * i.rm] = rlo; r[2 * i.rm + 1] = rhi;
}
function inc64r(cpu: Cpu, i: Insn): void { incdec64(cpu, i, false); }
function dec64r(cpu: Cpu, i: Insn): void { incdec64(cpu, i, true); }

// ---- je / jne ------------------------------------------------------------------------------------------
function je(cpu: Cpu, i: Insn): void { if (getZF(cpu.lf)) { checkCanonical(cpu, cpu.rip + i.imm); cpu.rip += i.imm; } }
function jne(cpu: Cpu, i: Insn): void { if (!getZF(cpu.lf)) { checkCanonical(cpu, cpu.rip + i.imm); cpu.rip += i.imm; } }

// ---- 64-bit stack: push/pop register, call rel32, ret ---------------------------------------------------
const TWO32 = 4294967296;
function checkCanonical(cpu: Cpu, target: number): void {
  if (nonCanonical(target)) raiseGP(cpu, 0);
}
function push64r(cpu: Cpu, i: Insn): void {
  const r = cpu.r32;
  const spLo = (r[8] >>> 0) - 8;
  const spHi = spLo < 0 ? (r[9] - 1) | 0 : r[9];
  cpu.mmu.write64(stackLin(cpu, spHi * TWO32 + (spLo >>> 0), 8), r[2 * i.reg], r[2 * i.reg + 1]);
  r[8] = spLo | 0;
  r[9] = spHi;
}
function pop64r(cpu: Cpu, i: Insn): void {
  const r = cpu.r32;
  const m = cpu.mmu;
  const lo = m.read64(stackLin(cpu, r[9] * TWO32 + (r[8] >>> 0), 8));
  const hi = m.hi;
  const sp = (r[8] >>> 0) + 8;
  if (sp > 0xffffffff) r[9] = (r[9] + 1) | 0;
  r[8] = sp | 0;
  // pop %rsp loads the popped value last.
  r[2 * i.reg] = lo;
  r[2 * i.reg + 1] = hi;
}
function call64(cpu: Cpu, i: Insn): void {
  const r = cpu.r32;
  const rip = cpu.rip;
  const spLo = (r[8] >>> 0) - 8;
  const spHi = spLo < 0 ? (r[9] - 1) | 0 : r[9];
  const a = stackLin(cpu, spHi * TWO32 + (spLo >>> 0), 8);
  // A fault on the return-address push is reported before the target's #GP, as on the host.
  if (nonCanonical(rip + i.imm)) { cpu.mmu.probeWrite(a, 8); raiseGP(cpu, 0); }
  cpu.mmu.write64(a, rip | 0, Math.floor(rip / TWO32) | 0);
  r[8] = spLo | 0;
  r[9] = spHi;
  cpu.rip = rip + i.imm;
}
function ret64(cpu: Cpu, _i: Insn): void {
  const r = cpu.r32;
  const m = cpu.mmu;
  const lo = m.read64(stackLin(cpu, r[9] * TWO32 + (r[8] >>> 0), 8));
  const target = m.hi * TWO32 + (lo >>> 0);
  checkCanonical(cpu, target);
  const sp = (r[8] >>> 0) + 8;
  if (sp > 0xffffffff) r[9] = (r[9] + 1) | 0;
  r[8] = sp | 0;
  cpu.rip = target;
}

// ---- wiring ----------------------------------------------------------------------------------------------
const RR64: (((cpu: Cpu, i: Insn) => void) | null)[] = [add64rr, or64rr, null, null, and64rr, sub64rr, xor64rr, cmp64rr, test64rr];
const RR32: (((cpu: Cpu, i: Insn) => void) | null)[] = [add32rr, null, null, null, null, sub32rr, xor32rr, cmp32rr, test32rr];
/** op r/m32, imm by the ModRM reg field (adc and sbb stay generic). */
const RI32: (((cpu: Cpu, i: Insn) => void) | null)[] = [add32ri, or32ri, null, null, and32ri, sub32ri, xor32ri, cmp32ri];

/**
 * Wraps the generic decoder of `op` with a post-pass that may pick a fast handler: never for locked forms, and
 * only for register operands unless `regOnly` is false (hot-mem.ts's memory forms).
 */
export function refine(map: DecodeFn[], op: number, pick: (i: Insn, osz: number, regField: number) => void, regOnly = true): void {
  const generic = map[op];
  map[op] = (d, i) => {
    generic(d, i);
    if ((regOnly && i.mem) || d.lock) return;
    pick(i, d.osz, d.regField);
  };
}

for (const op of [OP_ADD, OP_OR, OP_AND, OP_SUB, OP_XOR, OP_CMP]) {
  const base = op << 3;
  // op r/m, reg: destination already in i.rm.
  refine(MAP1, base + 1, (i, osz) => {
    const h = osz === 64 ? RR64[op] : osz === 32 ? RR32[op] : null;
    if (h) i.h = h;
  });
  // op reg, r/m: swap so the destination sits in i.rm (register operands only).
  refine(MAP1, base + 3, (i, osz) => {
    const h = osz === 64 ? RR64[op] : osz === 32 ? RR32[op] : null;
    if (!h) return;
    const t = i.reg; i.reg = i.rm; i.rm = t;
    i.h = h;
  });
}
refine(MAP1, 0x85, (i, osz) => {
  if (osz === 64) i.h = test64rr;
  else if (osz === 32) i.h = test32rr;
});
for (const op of [0x81, 0x83]) {
  refine(MAP1, op, (i, osz, reg) => {
    if (osz === 64) {
      if (reg === OP_ADD) i.h = add64ri;
      else if (reg === OP_SUB) i.h = sub64ri;
      else if (reg === OP_CMP) i.h = cmp64ri;
      else if (reg === OP_AND) i.h = and64ri;
    } else if (osz === 32) {
      const h = RI32[reg];
      if (h) i.h = h;
    }
  });
}
refine(MAP1, 0xFF, (i, osz, reg) => {
  if (reg > 1) return;
  if (osz === 64) i.h = reg === 0 ? inc64r : dec64r;
  else if (osz === 32) i.h = reg === 0 ? inc32r : dec32r;
});
for (let k = 0; k < 8; k++) {
  for (const [op, h] of [[0x50 + k, push64r], [0x58 + k, pop64r]] as const) {
    const generic = MAP1[op];
    MAP1[op] = (d, i) => { generic(d, i); if (d.mode === 64 && i.size === 64) i.h = h; };
  }
}
for (const [op, h] of [[0xE8, call64], [0xC3, ret64]] as const) {
  const generic = MAP1[op];
  MAP1[op] = (d, i) => { generic(d, i); if (d.mode === 64 && i.size === 64) i.h = h; };
}
for (const [map, op] of [[MAP1, 0x74], [MAP1, 0x75], [MAP0F, 0x84], [MAP0F, 0x85]] as const) {
  const generic = map[op];
  map[op] = (d, i) => {
    generic(d, i);
    if (d.mode === 64) i.h = (op & 1) ? jne : je;
  };
}
