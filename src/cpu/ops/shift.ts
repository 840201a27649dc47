// Shifts and rotates: the C0/C1 (imm8), D0/D1 (by 1) and D2/D3 (by CL) groups, and shld/shrd (0F A4/A5/AC/AD).
// Flags are computed eagerly; a masked count of 0 changes no flag. What the SDM leaves undefined (OF for counts
// above 1, AF, CF of over-long 8/16-bit shifts, 16-bit shld/shrd by more than 16) follows undef.ts.
import type { Cpu } from '../cpu.js';
import type { Decoder } from '../decoder.js';
import { arithFlags, parity, resultFlags, setArithFlags } from '../flags.js';
import type { Insn } from '../insn.js';
import { ea, rmwMem, writeMem } from '../operands.js';
import { def0F, def1 } from '../optable.js';
import { CF, Fl, OF } from '../regs.js';
import { SHIFT_AF, SHLD_AF, shldOF, shiftOF, shld16Wide } from './undef.js';

export const OP_ROL = 0, OP_ROR = 1, OP_RCL = 2, OP_RCR = 3, OP_SHL = 4, OP_SHR = 5, OP_SAR = 7;

// 64-bit results as halves: the low half is returned, the high half left here.
let oH = 0;
/** High half of the last shift64 result. */
export function shiftHi(): number { return oH; }
let tL = 0, tH = 0;

/** (hi:lo) << c for 0 <= c <= 64 into (tL, tH). */
function shl64(lo: number, hi: number, c: number): void {
  if (c === 0) { tL = lo; tH = hi; } else if (c < 32) { tH = (hi << c) | (lo >>> (32 - c)); tL = lo << c; } else if (c < 64) { tH = lo << (c - 32); tL = 0; } else { tL = 0; tH = 0; }
}
/** (hi:lo) >>> c for 0 <= c <= 64 into (tL, tH). */
function shr64(lo: number, hi: number, c: number): void {
  if (c === 0) { tL = lo; tH = hi; } else if (c < 32) { tL = (lo >>> c) | (hi << (32 - c)); tH = hi >>> c; } else if (c < 64) { tL = hi >>> (c - 32); tH = 0; } else { tL = 0; tH = 0; }
}
/** Bit n (0..63) of (hi:lo). */
function bit64(lo: number, hi: number, n: number): number {
  return n < 32 ? (lo >>> n) & 1 : (hi >>> (n - 32)) & 1;
}

function setRotateFlags(lf: Int32Array, cf: number, of: number): void {
  setArithFlags(lf, (arithFlags(lf) & ~(CF | OF)) | cf | (of << 11));
}

/**
 * 8/16/32-bit shift or rotate of v (8/16 zero-extended, 32 as int32) by a masked count c >= 1; sets the flags
 * in lf (the block compiler passes its own record: jit/forms-alu2.ts).
 */
export function shiftSmall(lf: Int32Array, op: number, size: number, v: number, c: number): number {
  const mask = size === 32 ? -1 : (1 << size) - 1;
  const msb = size - 1;
  let r: number, cf: number;
  switch (op) {
    case OP_ROL: {
      const k = c & msb;
      r = k ? ((v << k) | (v >>> (size - k))) & mask : v;
      cf = r & 1;
      setRotateFlags(lf, cf, ((r >>> msb) & 1) ^ cf);
      return r;
    }
    case OP_ROR: {
      const k = c & msb;
      r = k ? ((v >>> k) | (v << (size - k))) & mask : v;
      cf = (r >>> msb) & 1;
      setRotateFlags(lf, cf, cf ^ ((r >>> (msb - 1)) & 1));
      return r;
    }
    case OP_RCL: {
      const cin = arithFlags(lf) & CF;
      const k = size === 32 ? c : c % (size + 1);
      if (k === 0) { r = v; cf = cin; } else if (size === 32) {
        r = (v << k) | (cin << (k - 1)) | (k > 1 ? v >>> (33 - k) : 0);
        cf = (v >>> (32 - k)) & 1;
      } else {
        const x = (cin << size) | v, m = (1 << (size + 1)) - 1;
        const r2 = ((x << k) | (x >>> (size + 1 - k))) & m;
        cf = r2 >>> size;
        r = r2 & mask;
      }
      setRotateFlags(lf, cf, ((r >>> msb) & 1) ^ cf);
      return r;
    }
    case OP_RCR: {
      const cin = arithFlags(lf) & CF;
      const k = size === 32 ? c : c % (size + 1);
      if (k === 0) { r = v; cf = cin; } else if (size === 32) {
        r = (v >>> k) | (cin << (32 - k)) | (k > 1 ? v << (33 - k) : 0);
        cf = (v >>> (k - 1)) & 1;
      } else {
        const x = (cin << size) | v, m = (1 << (size + 1)) - 1;
        const r2 = ((x >>> k) | (x << (size + 1 - k))) & m;
        cf = r2 >>> size;
        r = r2 & mask;
      }
      setRotateFlags(lf, cf, ((r >>> msb) ^ (r >>> (msb - 1))) & 1);
      return r;
    }
    case OP_SHR: {
      r = size === 32 ? (v >>> c) | 0 : v >>> c;
      cf = (v >>> (c - 1)) & 1;
      if (size < 32 && c > size) cf = 0;
      setArithFlags(lf, resultFlags(r, 0, size) | cf | (shiftOF(true, c, (v >>> msb) & 1, r, size) << 11) | SHIFT_AF);
      return r;
    }
    case OP_SAR: {
      const sv = size === 32 ? v : (v << (32 - size)) >> (32 - size);
      r = (sv >> c) & mask;
      cf = (sv >> (c - 1)) & 1;
      setArithFlags(lf, resultFlags(r, 0, size) | cf | SHIFT_AF);
      return r;
    }
    default: { // shl / sal
      r = (v << c) & mask;
      cf = c <= size ? (v >>> (size - c)) & 1 : 0; // 8/16-bit counts may exceed the size (c <= 31)
      setArithFlags(lf, resultFlags(r, 0, size) | cf | ((((r >>> msb) & 1) ^ cf) << 11) | SHIFT_AF);
      return r;
    }
  }
}

/** 64-bit shift or rotate of (hi:lo) by a masked count 1..63; returns the low half, high half in shiftHi(). */
export function shift64(lf: Int32Array, op: number, lo: number, hi: number, c: number): number {
  let rL: number, rH: number, cf: number;
  switch (op) {
    case OP_ROL: {
      shl64(lo, hi, c); rL = tL; rH = tH;
      shr64(lo, hi, 64 - c); rL |= tL; rH |= tH;
      cf = rL & 1;
      setRotateFlags(lf, cf, (rH >>> 31) ^ cf);
      break;
    }
    case OP_ROR: {
      shr64(lo, hi, c); rL = tL; rH = tH;
      shl64(lo, hi, 64 - c); rL |= tL; rH |= tH;
      cf = rH >>> 31;
      setRotateFlags(lf, cf, cf ^ ((rH >>> 30) & 1));
      break;
    }
    case OP_RCL: {
      const cin = arithFlags(lf) & CF;
      shl64(lo, hi, c); rL = tL; rH = tH;
      shl64(cin, 0, c - 1); rL |= tL; rH |= tH;
      shr64(lo, hi, 65 - c); rL |= tL; rH |= tH;
      cf = bit64(lo, hi, 64 - c);
      setRotateFlags(lf, cf, (rH >>> 31) ^ cf);
      break;
    }
    case OP_RCR: {
      const cin = arithFlags(lf) & CF;
      shr64(lo, hi, c); rL = tL; rH = tH;
      shl64(cin, 0, 64 - c); rL |= tL; rH |= tH;
      shl64(lo, hi, 65 - c); rL |= tL; rH |= tH;
      cf = bit64(lo, hi, c - 1);
      setRotateFlags(lf, cf, ((rH >>> 31) ^ (rH >>> 30)) & 1);
      break;
    }
    case OP_SHR: {
      shr64(lo, hi, c); rL = tL; rH = tH;
      cf = bit64(lo, hi, c - 1);
      setArithFlags(lf, resultFlags(rL, rH, 64) | cf | (shiftOF(true, c, hi >>> 31, rH, 32) << 11) | SHIFT_AF);
      break;
    }
    case OP_SAR: {
      shr64(lo, hi, c); rL = tL; rH = tH;
      if (hi < 0) { shl64(-1, -1, 64 - c); rL |= tL; rH |= tH; }
      cf = bit64(lo, hi, c - 1);
      setArithFlags(lf, resultFlags(rL, rH, 64) | cf | SHIFT_AF);
      break;
    }
    default: {
      shl64(lo, hi, c); rL = tL; rH = tH;
      cf = bit64(lo, hi, 64 - c);
      setArithFlags(lf, resultFlags(rL, rH, 64) | cf | (((rH >>> 31) ^ cf) << 11) | SHIFT_AF);
      break;
    }
  }
  oH = rH;
  return rL;
}

// ---- group handlers ----------------------------------------------------------------------------
// i.op: operation; i.imm: constant count; i.imm2: 1 when the count is CL.
function shiftGroup(cpu: Cpu, i: Insn): void {
  const size = i.size;
  const c = (i.imm2 ? cpu.r8[8] : i.imm) & (size === 64 ? 63 : 31);
  if (i.mem) {
    const a = ea(cpu, i);
    const v = rmwMem(cpu, a, size);
    if (c === 0) return;
    if (size === 64) {
      const lo = shift64(cpu.lf, i.op, v, cpu.mmu.hi, c);
      cpu.mmu.write64(a, lo, oH);
    } else writeMem(cpu, a, size, shiftSmall(cpu.lf, i.op, size, v, c), 0);
    return;
  }
  const n = i.rm;
  switch (size) {
    case 8: if (c) cpu.r8[n] = shiftSmall(cpu.lf, i.op, 8, cpu.r8[n], c); return;
    case 16: if (c) cpu.r16[4 * n] = shiftSmall(cpu.lf, i.op, 16, cpu.r16[4 * n], c); return;
    case 32: {
      const r = cpu.r32;
      // A 32-bit destination is written (zero-extended) even when the count is 0.
      if (c) r[2 * n] = shiftSmall(cpu.lf, i.op, 32, r[2 * n], c);
      r[2 * n + 1] = 0;
      return;
    }
    default: {
      if (!c) return;
      const r = cpu.r32;
      r[2 * n] = shift64(cpu.lf, i.op, r[2 * n], r[2 * n + 1], c);
      r[2 * n + 1] = oH;
    }
  }
}

// Hot forms: shl/shr/sar of a 64-bit register by a constant (1..63), each with shift64's flags written out
// for its one operation.
function shl64RegImm(cpu: Cpu, i: Insn): void {
  const r = cpu.r32, n = i.rm, c = i.imm;
  const lo = r[2 * n], hi = r[2 * n + 1];
  let rL: number, rH: number;
  if (c < 32) { rH = (hi << c) | (lo >>> (32 - c)); rL = lo << c; } else { rH = lo << (c - 32); rL = 0; }
  const cf = c <= 32 ? (hi >>> (32 - c)) & 1 : (lo >>> (64 - c)) & 1; // bit 64 - c
  setArithFlags(cpu.lf, flags64(rL, rH) | cf | (((rH >>> 31) ^ cf) << 11) | SHIFT_AF);
  r[2 * n] = rL;
  r[2 * n + 1] = rH;
}
function shr64RegImm(cpu: Cpu, i: Insn): void {
  const r = cpu.r32, n = i.rm, c = i.imm;
  const lo = r[2 * n], hi = r[2 * n + 1];
  let rL: number, rH: number;
  if (c < 32) { rL = (lo >>> c) | (hi << (32 - c)); rH = hi >>> c; } else { rL = hi >>> (c - 32); rH = 0; }
  const cf = c <= 32 ? (lo >>> (c - 1)) & 1 : (hi >>> (c - 33)) & 1; // bit c - 1
  setArithFlags(cpu.lf, flags64(rL, rH) | cf | (shiftOF(true, c, hi >>> 31, rH, 32) << 11) | SHIFT_AF);
  r[2 * n] = rL;
  r[2 * n + 1] = rH;
}
function sar64RegImm(cpu: Cpu, i: Insn): void {
  const r = cpu.r32, n = i.rm, c = i.imm;
  const lo = r[2 * n], hi = r[2 * n + 1];
  let rL: number, rH: number;
  if (c < 32) { rL = (lo >>> c) | (hi << (32 - c)); rH = hi >> c; } else { rL = hi >> (c - 32); rH = hi >> 31; }
  const cf = c <= 32 ? (lo >>> (c - 1)) & 1 : (hi >>> (c - 33)) & 1; // bit c - 1
  setArithFlags(cpu.lf, flags64(rL, rH) | cf | SHIFT_AF);
  r[2 * n] = rL;
  r[2 * n + 1] = rH;
}
/** PF ZF SF of a 64-bit result (resultFlags for 64 bits). */
function flags64(lo: number, hi: number): number {
  return (parity(lo) << 2) | ((lo | hi) === 0 ? Fl.ZF : 0) | (hi < 0 ? Fl.SF : 0);
}

/** count: a constant (-1: read imm8), or 'cl'. */
function decodeGroup(d: Decoder, i: Insn, byteOp: boolean, count: number | 'cl'): void {
  d.modrm(i);
  if (byteOp) { d.byteRegs(i); i.size = 8; }
  const op = d.regField === 6 ? OP_SHL : d.regField; // /6 (sal) behaves as shl
  i.op = op;
  if (count === 'cl') { i.imm2 = 1; i.imm = 0; } else i.imm = count < 0 ? d.imm8u() : count;
  i.h = shiftGroup;
  if (i.size === 64 && !i.mem && count !== 'cl' && (i.imm & 63) !== 0) {
    i.imm &= 63;
    if (op === OP_SHL) i.h = shl64RegImm;
    else if (op === OP_SHR) i.h = shr64RegImm;
    else if (op === OP_SAR) i.h = sar64RegImm;
  }
}
def1(0xC0, (d, i) => decodeGroup(d, i, true, -1));
def1(0xC1, (d, i) => decodeGroup(d, i, false, -1));
def1(0xD0, (d, i) => decodeGroup(d, i, true, 1));
def1(0xD1, (d, i) => decodeGroup(d, i, false, 1));
def1(0xD2, (d, i) => decodeGroup(d, i, true, 'cl'));
def1(0xD3, (d, i) => decodeGroup(d, i, false, 'cl'));

// ---- shld / shrd ---------------------------------------------------------------------------------
/**
 * Double shift of dest by c (masked, >= 1) filling from src (shld, or shrd when `right`); sets the flags in lf.
 * Returns the low half, the high half in shiftHi().
 */
export function doubleShift(lf: Int32Array, right: boolean, size: number, dL: number, dH: number, sL: number, sH: number, c: number): number {
  let rL: number, rH = 0, cf: number;
  if (size === 64) {
    if (!right) {
      shl64(dL, dH, c); rL = tL; rH = tH;
      shr64(sL, sH, 64 - c); rL |= tL; rH |= tH;
      cf = bit64(dL, dH, 64 - c);
    } else {
      shr64(dL, dH, c); rL = tL; rH = tH;
      shl64(sL, sH, 64 - c); rL |= tL; rH |= tH;
      cf = bit64(dL, dH, c - 1);
    }
  } else if (size === 32) {
    if (!right) { rL = (dL << c) | (c === 0 ? 0 : sL >>> (32 - c)); cf = (dL >>> (32 - c)) & 1; }
    else { rL = (dL >>> c) | (sL << (32 - c)); cf = (dL >>> (c - 1)) & 1; }
  } else if (c <= 16) {
    if (!right) { rL = ((dL << c) | (sL >>> (16 - c))) & 0xffff; cf = (dL >>> (16 - c)) & 1; }
    else { rL = ((dL >>> c) | (sL << (16 - c))) & 0xffff; cf = (dL >>> (c - 1)) & 1; }
  } else {
    rL = shld16Wide(right, dL, sL, c);
    cf = 0;
  }
  const msb = size === 64 ? rH >>> 31 : (rL >>> (size - 1)) & 1;
  const msb1 = size === 64 ? (rH >>> 30) & 1 : (rL >>> (size - 2)) & 1;
  setArithFlags(lf, resultFlags(rL, rH, size) | cf | (shldOF(right, c, size, msb, msb1, cf, sL) << 11) | SHLD_AF);
  oH = rH;
  return rL;
}

// i.op: 0 shld, 1 shrd; i.imm: count; i.imm2: 1 when CL.
function shxd(cpu: Cpu, i: Insn): void {
  const size = i.size;
  const c = (i.imm2 ? cpu.r8[8] : i.imm) & (size === 64 ? 63 : 31);
  const r = cpu.r32;
  const sL = size === 16 ? cpu.r16[4 * i.reg] : r[2 * i.reg], sH = r[2 * i.reg + 1];
  const right = i.op === 1;
  if (i.mem) {
    const a = ea(cpu, i);
    const v = rmwMem(cpu, a, size);
    if (c === 0) return;
    const lo = doubleShift(cpu.lf, right, size, v, cpu.mmu.hi, sL, sH, c);
    writeMem(cpu, a, size, lo, oH);
    return;
  }
  const n = i.rm;
  if (size === 16) {
    if (c) cpu.r16[4 * n] = doubleShift(cpu.lf, right, 16, cpu.r16[4 * n], 0, sL, 0, c);
  } else if (size === 32) {
    if (c) r[2 * n] = doubleShift(cpu.lf, right, 32, r[2 * n], 0, sL, 0, c);
    r[2 * n + 1] = 0;
  } else if (c) {
    r[2 * n] = doubleShift(cpu.lf, right, 64, r[2 * n], r[2 * n + 1], sL, sH, c);
    r[2 * n + 1] = oH;
  }
}

function decodeShxd(d: Decoder, i: Insn, right: boolean, cl: boolean): void {
  d.modrm(i);
  i.op = right ? 1 : 0;
  if (cl) { i.imm2 = 1; i.imm = 0; } else i.imm = d.imm8u();
  i.h = shxd;
}
def0F(0xA4, (d, i) => decodeShxd(d, i, false, false));
def0F(0xA5, (d, i) => decodeShxd(d, i, false, true));
def0F(0xAC, (d, i) => decodeShxd(d, i, true, false));
def0F(0xAD, (d, i) => decodeShxd(d, i, true, true));
