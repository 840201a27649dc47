// Unit tests of the X87 state and handler plumbing that need no host CPU: stack faults, the
// pending-exception (#MF) and CR0.TS/EM (#NM) hooks, FNSTENV/FXSAVE/FNSAVE image layout.
import { describe, expect, it } from 'vitest';
import { Cpu } from '../../src/cpu/cpu.js';
import { decodeOne } from '../../src/cpu/decoder.js';
import { CPU_FAULT } from '../../src/cpu/exceptions.js';
import { PhysMem } from '../../src/cpu/physmem.js';
import * as E from '../../src/cpu/x87/exec.js';
import { X87 } from '../../src/cpu/x87/state.js';

/** Runs one instruction's handler on a fresh-ish vCPU; returns the raised vector or -1. */
function exec(cpu: Cpu, ...bytes: number[]): number {
  const { insn, implemented } = decodeOne(new Uint8Array(bytes), 0, 64);
  expect(implemented).toBe(true);
  cpu.rip += insn.len;
  try {
    insn.h(cpu, insn);
    return -1;
  } catch (e) {
    if (e !== CPU_FAULT) throw e;
    return cpu.excVector;
  }
}

const newCpu = () => {
  const cpu = new Cpu(new PhysMem(0x10000));
  cpu.cr0 = 0x80000033; // PG NE ET MP PE
  return cpu;
};

describe('x87 state', () => {
  it('resets to FNINIT state and pushes/pops through TOP', () => {
    const x = new X87();
    expect(x.cw).toBe(0x037f);
    expect(x.fsw).toBe(0);
    expect(x.tagWord()).toBe(0xffff);
    E.fldConst(x, 0); // fld1
    expect(x.top).toBe(7);
    expect(x.fsw).toBe(0x3800);
    expect(x.tagWord()).toBe(0x3fff); // R7 valid
    E.fldConst(x, 6); // fldz
    expect(x.tagWord()).toBe(0x1fff); // R6 zero
  });

  it('stack overflow: IE+SF+C1, masked response pushes the indefinite', () => {
    const x = new X87();
    for (let k = 0; k < 8; k++) E.fldConst(x, 0);
    E.fldConst(x, 3);
    expect(x.fsw & 0x2ff).toBe(0x241); // C1 SF IE
    expect([x.se[x.top], x.hi[x.top], x.lo[x.top]]).toEqual([0xffff, 0xc0000000, 0]);
  });

  it('stack underflow with IE unmasked leaves the destination alone and sets ES/B', () => {
    const x = new X87();
    x.loadCw(0x037e);
    E.unaryOp(x, E.U_SQRT);
    expect(x.fsw).toBe(0x80c1); // B ES SF IE, C1=0
    expect(x.empty[0]).toBe(1);
  });

  it('FNSTENV image, then all exceptions masked; FLDENV restores and recomputes ES', () => {
    const x = new X87();
    x.loadCw(0x0372);
    E.fldConst(x, 0);
    const buf = new Uint8Array(28);
    x.fnstenvInto(buf, 0);
    const dv = new DataView(buf.buffer);
    expect(dv.getUint32(0, true)).toBe(0xffff0372);
    expect(dv.getUint32(4, true)).toBe(0xffff3800);
    expect(dv.getUint32(8, true)).toBe(0xffff3fff);
    expect(x.cw).toBe(0x037f);
    dv.setUint32(4, 0xffff0004, true); // ZE pending, and ZE unmasked in the image's CW
    x.fldenvFrom(buf, 0);
    expect(x.fsw).toBe(0x8084);
    expect(x.pending).toBe(true);
  });

  it('FXSAVE: abridged tags, ST slots in stack order, zero padding; FXRSTOR round-trips', () => {
    const x = new X87();
    E.fldConst(x, 3); // pi
    E.fldConst(x, 0); // 1
    const img = new Uint8Array(512).fill(0xaa);
    x.fxsaveInto(img, 0);
    expect(img[4]).toBe(0xc0);
    expect([...img.subarray(32, 48)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f, 0, 0, 0, 0, 0, 0]);
    expect(img[48 + 7]).toBe(0xc9);
    const y = new X87();
    y.fxrstorFrom(img, 0);
    const img2 = new Uint8Array(512).fill(0xaa);
    y.fxsaveInto(img2, 0);
    expect(img2).toEqual(img);
  });
});

describe('x87 handler hooks', () => {
  it('CR0.TS or CR0.EM raise #NM; FWAIT only with TS and MP', () => {
    const cpu = newCpu();
    cpu.cr0 |= 8; // TS
    expect(exec(cpu, 0xd9, 0xe8)).toBe(7); // fld1
    expect(exec(cpu, 0x9b)).toBe(7); // fwait with MP
    cpu.cr0 &= ~2;
    expect(exec(cpu, 0x9b)).toBe(-1);
    cpu.cr0 = (cpu.cr0 & ~8) | 4; // EM
    expect(exec(cpu, 0xdb, 0xe3)).toBe(7); // fninit
  });

  it('an unmasked exception makes the NEXT waiting instruction raise #MF, FN* forms do not', () => {
    const cpu = newCpu();
    expect(exec(cpu, 0xdb, 0xe3)).toBe(-1); // fninit
    cpu.fpu.loadCw(0x037b); // ZE unmasked
    expect(exec(cpu, 0xd9, 0xe8)).toBe(-1); // fld1
    expect(exec(cpu, 0xd9, 0xee)).toBe(-1); // fldz
    expect(exec(cpu, 0xd8, 0xf9)).toBe(-1); // fdivr st(1): 1/0 -> ZE, ES, no result
    expect(cpu.fpu.fsw & 0x80ff).toBe(0x8084);
    expect(exec(cpu, 0xdf, 0xe0)).toBe(-1); // fnstsw ax: no wait
    expect(cpu.r16[0] & 0x80ff).toBe(0x8084);
    expect(exec(cpu, 0x9b)).toBe(16); // fwait
    expect(exec(cpu, 0xd9, 0xe8)).toBe(16); // fld1
    expect(exec(cpu, 0xdb, 0xe2)).toBe(-1); // fnclex
    expect(exec(cpu, 0x9b)).toBe(-1);
  });

  it('transcendentals are approximated, not #UD', () => {
    const cpu = newCpu();
    exec(cpu, 0xdb, 0xe3);
    exec(cpu, 0xd9, 0xe8); // fld1
    expect(exec(cpu, 0xd9, 0xfe)).toBe(-1); // fsin
    const x = cpu.fpu;
    const p = x.top;
    expect(x.se[p]).toBe(0x3ffe); // sin(1) = 0.84...
    expect(x.hi[p] >>> 24).toBe(0xd7);
  });

  it('FSIN of an operand beyond 2^63 leaves it unchanged and sets C2', () => {
    const cpu = newCpu();
    exec(cpu, 0xdb, 0xe3);
    cpu.fpu.push(0x403f, 0x80000000, 0); // 2^64
    expect(exec(cpu, 0xd9, 0xfe)).toBe(-1);
    expect(cpu.fpu.fsw & 0x400).toBe(0x400);
    expect(cpu.fpu.se[cpu.fpu.top]).toBe(0x403f);
  });
});
