// Host-independent checks of the SSE handlers on the unit-test machine (test/cpu/machine.ts): availability
// (#UD/#NM), alignment (#GP), #XM vs #UD for unmasked exceptions, fault atomicity, and known results.
import { beforeEach, describe, expect, it } from 'vitest';
import { CR0_EM, CR0_TS, CR4_OSFXSR, CR4_OSXMMEXCPT } from '../../src/cpu/regs.js';
import { DATA, RAX, RSI, TestMachine } from '../cpu/machine.js';

const UD = 6, NM = 7, GP = 13, PF = 14, XM = 19, DONE = 3;
let m: TestMachine;

function setXmm(n: number, words: number[]): void { for (let k = 0; k < 4; k++) m.cpu.xmm[4 * n + k] = words[k] | 0; }
function xmm(n: number): number[] { return [0, 1, 2, 3].map((k) => m.cpu.xmm[4 * n + k] >>> 0); }
function setBytes(n: number, bytes: number[]): void { for (let k = 0; k < 16; k++) m.cpu.xmmU8[16 * n + k] = bytes[k]; }
function bytes(n: number): number[] { return Array.from(m.cpu.xmmU8.subarray(16 * n, 16 * n + 16)); }
const iota = (base: number) => Array.from({ length: 16 }, (_, k) => base + k);

beforeEach(() => {
  m = new TestMachine();
  m.cpu.cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT;
  m.setReg(RSI, DATA);
});

describe('SSE availability', () => {
  const ADDPS = [0x0f, 0x58, 0xc8]; // addps %xmm0,%xmm1
  it('runs with CR4.OSFXSR set', () => { expect(m.run(ADDPS)).toBe(DONE); });
  it('#UD without CR4.OSFXSR', () => { m.cpu.cr4 &= ~CR4_OSFXSR; expect(m.run(ADDPS)).toBe(UD); });
  it('#UD with CR0.EM', () => { m.cpu.cr0 |= CR0_EM; expect(m.run(ADDPS)).toBe(UD); });
  it('#NM with CR0.TS, before touching anything', () => {
    setXmm(1, [1, 2, 3, 4]);
    m.cpu.cr0 |= CR0_TS;
    expect(m.run(ADDPS)).toBe(NM);
    expect(xmm(1)).toEqual([1, 2, 3, 4]);
  });
  it('emms empties the x87 tags and resets TOP (CR0.TS: #NM)', () => {
    m.cpu.fpu.empty.fill(0); m.cpu.fpu.top = 5;
    expect(m.run([0x0f, 0x77])).toBe(DONE);
    expect([...m.cpu.fpu.empty]).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    expect(m.cpu.fpu.top).toBe(0);
    m.cpu.cr0 |= CR0_TS;
    expect(m.run([0x0f, 0x77])).toBe(NM);
  });
});

describe('SSE memory operands', () => {
  it('movdqa with a misaligned address raises #GP(0); movdqu loads it', () => {
    m.mem.writeBytes(DATA + 8, Uint8Array.from(iota(0x40)));
    m.setReg(RSI, DATA + 8);
    expect(m.run([0x66, 0x0f, 0x6f, 0x06])).toBe(GP); // movdqa (%rsi),%xmm0
    expect(m.cpu.excError).toBe(0);
    expect(m.run([0xf3, 0x0f, 0x6f, 0x06])).toBe(DONE); // movdqu (%rsi),%xmm0
    expect(bytes(0)).toEqual(iota(0x40));
  });
  it('packed arithmetic with a misaligned m128 raises #GP(0), scalar forms do not', () => {
    m.setReg(RSI, DATA + 4);
    expect(m.run([0x0f, 0x58, 0x06])).toBe(GP); // addps (%rsi),%xmm0
    expect(m.run([0xf3, 0x0f, 0x58, 0x06])).toBe(DONE); // addss (%rsi),%xmm0
  });
  it('a 16-byte store crossing into an unmapped page writes nothing', () => {
    m.unmap(DATA + 0x1000);
    m.setReg(RSI, DATA + 0xff8);
    setBytes(1, iota(0x80));
    expect(m.run([0x0f, 0x11, 0x0e])).toBe(PF); // movups %xmm1,(%rsi)
    expect(m.cpu.excAddr).toBe(DATA + 0x1000);
    expect(Array.from(m.mem.u8.subarray(DATA + 0xff8, DATA + 0x1000))).toEqual(new Array(8).fill(0));
  });
  it('movss: a memory source zeroes the upper lanes, a register source merges', () => {
    m.mem.dv.setUint32(DATA, 0x3f800000, true);
    setXmm(0, [9, 9, 9, 9]);
    expect(m.run([0xf3, 0x0f, 0x10, 0x06])).toBe(DONE); // movss (%rsi),%xmm0
    expect(xmm(0)).toEqual([0x3f800000, 0, 0, 0]);
    setXmm(0, [9, 9, 9, 9]); setXmm(1, [7, 6, 5, 4]);
    expect(m.run([0xf3, 0x0f, 0x10, 0xc1])).toBe(DONE); // movss %xmm1,%xmm0
    expect(xmm(0)).toEqual([7, 9, 9, 9]);
  });
});

describe('SIMD floating-point exceptions', () => {
  const DIVSD = [0xf2, 0x0f, 0x5e, 0xc1]; // divsd %xmm1,%xmm0
  beforeEach(() => { setXmm(0, [0, 0x3ff00000, 0x11, 0x22]); setXmm(1, [0, 0, 0, 0]); }); // 1.0 / 0.0
  it('masked divide-by-zero: result +inf, ZE recorded', () => {
    expect(m.run(DIVSD)).toBe(DONE);
    expect(xmm(0)).toEqual([0, 0x7ff00000, 0x11, 0x22]);
    expect(m.cpu.mxcsr).toBe(0x1f84);
  });
  it('unmasked divide-by-zero: #XM, flag recorded, destination untouched', () => {
    m.cpu.mxcsr = 0x1f80 & ~0x200;
    expect(m.run(DIVSD)).toBe(XM);
    expect(xmm(0)).toEqual([0, 0x3ff00000, 0x11, 0x22]);
    expect(m.cpu.mxcsr).toBe(0x1d84);
  });
  it('unmasked exception with CR4.OSXMMEXCPT clear raises #UD', () => {
    m.cpu.mxcsr = 0x1f80 & ~0x200;
    m.cpu.cr4 &= ~CR4_OSXMMEXCPT;
    expect(m.run(DIVSD)).toBe(UD);
  });
  it('cvtsd2si of NaN gives the integer indefinite with IE', () => {
    setXmm(0, [0, 0x7ff80000, 0, 0]);
    expect(m.run([0xf2, 0x0f, 0x2d, 0xc0])).toBe(DONE); // cvtsd2si %xmm0,%eax
    expect(m.reg(RAX)).toBe(0x80000000n);
    expect(m.cpu.mxcsr & 0x3f).toBe(1);
  });
  it('comisd sets ZF/PF/CF from the comparison and clears OF/SF/AF', () => {
    setXmm(0, [0, 0x3ff00000, 0, 0]); setXmm(1, [0, 0x40000000, 0, 0]); // 1 < 2
    m.cpu.setFlags(0x8d5 | 2);
    expect(m.run([0x66, 0x0f, 0x2f, 0xc1])).toBe(DONE);
    expect(m.cpu.getFlags() & 0x8d5).toBe(0x01);
  });
});

describe('SIMD integer results', () => {
  it('pshufb selects bytes and zeroes on a set high bit', () => {
    setBytes(0, iota(0x10));
    setBytes(1, [15, 14, 0x80, 0, 1, 1, 0x8f, 7, 8, 9, 10, 11, 12, 13, 2, 3]);
    expect(m.run([0x66, 0x0f, 0x38, 0x00, 0xc1])).toBe(DONE);
    expect(bytes(0)).toEqual([0x1f, 0x1e, 0, 0x10, 0x11, 0x11, 0, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x12, 0x13]);
  });
  it('palignr concatenates destination:source and shifts right by bytes', () => {
    setBytes(0, iota(0x20)); setBytes(1, iota(0x00));
    expect(m.run([0x66, 0x0f, 0x3a, 0x0f, 0xc1, 0x03])).toBe(DONE);
    expect(bytes(0)).toEqual([...iota(0x03).slice(0, 13), 0x20, 0x21, 0x22]);
  });
  it('pmovmskb gathers the byte sign bits into a zero-extended register', () => {
    m.setReg(RAX, -1n);
    setBytes(0, [0x80, 0, 0xff, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x90]);
    expect(m.run([0x66, 0x0f, 0xd7, 0xc0])).toBe(DONE);
    expect(m.reg(RAX)).toBe(0x8005n);
  });
  it('ptest sets ZF when (dst AND src) = 0 and CF when (src AND NOT dst) = 0', () => {
    setXmm(0, [0xf0, 0, 0, 0]); setXmm(1, [0x0f, 0, 0, 0]);
    expect(m.run([0x66, 0x0f, 0x38, 0x17, 0xc1])).toBe(DONE);
    expect(m.cpu.getFlags() & 0x8d5).toBe(0x40);
    setXmm(1, [0x30, 0, 0, 0]);
    expect(m.run([0x66, 0x0f, 0x38, 0x17, 0xc1])).toBe(DONE);
    expect(m.cpu.getFlags() & 0x8d5).toBe(0x01);
  });
  it('packuswb saturates signed words to unsigned bytes', () => {
    setXmm(0, [0x7fff0001, 0x00ff0100, 0xffff8000, 0x00800000]); setXmm(1, [0, 0, 0, 0x00050004]);
    expect(m.run([0x66, 0x0f, 0x67, 0xc1])).toBe(DONE);
    expect(bytes(0)).toEqual([1, 0xff, 0xff, 0xff, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 4, 5]);
  });
});
