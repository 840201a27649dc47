// Known-answer tests of the integer extension instructions (the differential harness in test/isa/ covers
// them against the host CPU; these run everywhere and pin the tricky cases).
import { beforeEach, describe, expect, it } from 'vitest';
import { getCF, getOF, getZF } from '../../src/cpu/flags.js';
import { CF } from '../../src/cpu/regs.js';
import { CODE, DATA, RAX, RBX, RCX, RDX, RSI, TestMachine } from './machine.js';

let m: TestMachine;
beforeEach(() => { m = new TestMachine(); });
const U64 = (v: bigint) => BigInt.asUintN(64, v);

describe('multiply and divide', () => {
  it('div by zero raises #DE with nothing changed', () => {
    m.setReg(RAX, 5); m.setReg(RDX, 0); m.setReg(RBX, 0);
    expect(m.run([0x48, 0xf7, 0xf3])).toBe(0);
    expect(m.cpu.rip).toBe(CODE);
    expect(m.reg(RAX)).toBe(5n);
  });

  it('idiv -2^63 / -1 overflows (#DE) before writing anything', () => {
    m.setReg(RAX, 1n << 63n); m.setReg(RDX, -1n); m.setReg(RBX, -1n);
    expect(m.run([0x48, 0xf7, 0xfb])).toBe(0);
    expect(m.reg(RAX)).toBe(1n << 63n);
    expect(m.reg(RDX)).toBe(U64(-1n));
  });

  it('div rbx: 128/64 with a large dividend', () => {
    const d = 0xfedcba9876543211n, q = 0xfffffffffffffff1n, r = 0x123456789n;
    const n = q * d + r;
    m.setReg(RAX, n & (U64(-1n))); m.setReg(RDX, n >> 64n); m.setReg(RBX, d);
    expect(m.run([0x48, 0xf7, 0xf3])).toBe(3);
    expect(m.reg(RAX)).toBe(q);
    expect(m.reg(RDX)).toBe(r);
  });

  it('div with a quotient of 2^64 raises #DE', () => {
    m.setReg(RAX, 0); m.setReg(RDX, 7); m.setReg(RBX, 7);
    expect(m.run([0x48, 0xf7, 0xf3])).toBe(0);
  });

  it('mul rbx and imul rax, rbx, imm32 set CF/OF on overflow', () => {
    m.setReg(RAX, 0xffffffffffffffffn); m.setReg(RBX, 0xfffffffffffffffen);
    expect(m.run([0x48, 0xf7, 0xe3])).toBe(3);
    const p = 0xffffffffffffffffn * 0xfffffffffffffffen;
    expect(m.reg(RAX)).toBe(p & U64(-1n));
    expect(m.reg(RDX)).toBe(p >> 64n);
    expect(getCF(m.cpu.lf)).toBe(1);
    m.setReg(RBX, -3n);
    expect(m.run([0x48, 0x69, 0xc3, 0x10, 0, 0, 0])).toBe(3); // imul rax, rbx, 16
    expect(m.reg(RAX)).toBe(U64(-48n));
    expect(getOF(m.cpu.lf)).toBe(0);
    m.setReg(RBX, 1n << 62n);
    expect(m.run([0x48, 0x69, 0xc3, 0x10, 0, 0, 0])).toBe(3);
    expect(getOF(m.cpu.lf)).toBe(1);
  });

  it('32-bit div uses edx:eax and zero-extends both results', () => {
    m.setReg(RAX, 0xdead_0000_0010n); m.setReg(RDX, 0xbeef_0000_0003n); m.setReg(RCX, 0x10);
    expect(m.run([0xf7, 0xf1])).toBe(3);
    expect(m.reg(RAX)).toBe(0x30000001n);
    expect(m.reg(RDX)).toBe(0n);
  });
});

describe('shifts and rotates', () => {
  it('rcl al rotates through CF over 9 bits; a count of 9 is the identity', () => {
    m.setReg(RAX, 0x80); m.cpu.setFlags(0x202 | CF);
    expect(m.run([0xd0, 0xd0])).toBe(3); // rcl al, 1
    expect(m.reg(RAX)).toBe(1n);
    expect(getCF(m.cpu.lf)).toBe(1);
    m.setReg(RAX, 0x5a);
    expect(m.run([0xc0, 0xd0, 0x09])).toBe(3); // rcl al, 9
    expect(m.reg(RAX)).toBe(0x5an);
  });

  it('shld rax, rbx, 63 and sar by CL masked to 6 bits', () => {
    m.setReg(RAX, 3); m.setReg(RBX, 0x8000000000000000n);
    expect(m.run([0x48, 0x0f, 0xa4, 0xd8, 0x3f])).toBe(3);
    expect(m.reg(RAX)).toBe(0xc000000000000000n);
    expect(getCF(m.cpu.lf)).toBe(1);
    m.setReg(RAX, -8n); m.setReg(RCX, 0x41);
    expect(m.run([0x48, 0xd3, 0xf8])).toBe(3); // sar rax, cl (65 & 63 = 1)
    expect(m.reg(RAX)).toBe(U64(-4n));
  });

  it('a zero count leaves the flags but still zero-extends a 32-bit register', () => {
    m.setReg(RAX, 0x1_0000_0001n); m.setReg(RCX, 32); m.cpu.setFlags(0x202 | CF);
    expect(m.run([0xd3, 0xe0])).toBe(3); // shl eax, cl (count masked to 0)
    expect(m.reg(RAX)).toBe(1n);
    expect(getCF(m.cpu.lf)).toBe(1);
  });
});

describe('bit instructions', () => {
  it('bsf with a zero source sets ZF and leaves the destination', () => {
    m.setReg(RAX, 0x1234); m.setReg(RBX, 0);
    expect(m.run([0x48, 0x0f, 0xbc, 0xc3])).toBe(3);
    expect(m.reg(RAX)).toBe(0x1234n);
    expect(getZF(m.cpu.lf)).toBe(1);
    m.setReg(RBX, 0x100000000n);
    expect(m.run([0x48, 0x0f, 0xbd, 0xc3])).toBe(3); // bsr
    expect(m.reg(RAX)).toBe(32n);
  });

  it('bt/bts with a negative register offset address memory below the operand', () => {
    m.mem.dv.setBigUint64(DATA + 0xf8, 0x8000000000000000n, true);
    m.setReg(RSI, DATA + 0x100); m.setReg(RCX, -1n);
    expect(m.run([0x48, 0x0f, 0xa3, 0x0e])).toBe(3); // bt [rsi], rcx
    expect(getCF(m.cpu.lf)).toBe(1);
    m.setReg(RCX, -66n); // qword at -16, bit 62
    expect(m.run([0xf0, 0x48, 0x0f, 0xab, 0x0e])).toBe(3); // lock bts [rsi], rcx
    expect(m.mem.dv.getBigUint64(DATA + 0xf0, true)).toBe(1n << 62n);
    expect(getCF(m.cpu.lf)).toBe(0);
  });

  it('lock with a register destination is #UD', () => {
    expect(m.run([0xf0, 0x48, 0x0f, 0xab, 0xc8])).toBe(6);
  });

  it('popcnt, lzcnt, tzcnt, bswap, movbe', () => {
    m.setReg(RBX, 0xf0f0n << 40n);
    expect(m.run([0xf3, 0x48, 0x0f, 0xb8, 0xc3])).toBe(3);
    expect(m.reg(RAX)).toBe(8n);
    expect(m.run([0xf3, 0x48, 0x0f, 0xbd, 0xc3])).toBe(3);
    expect(m.reg(RAX)).toBe(8n);
    expect(m.run([0xf3, 0x48, 0x0f, 0xbc, 0xc3])).toBe(3);
    expect(m.reg(RAX)).toBe(44n);
    m.setReg(RAX, 0x0102030405060708n);
    expect(m.run([0x48, 0x0f, 0xc8])).toBe(3);
    expect(m.reg(RAX)).toBe(0x0807060504030201n);
    m.mem.dv.setUint32(DATA, 0x11223344, true);
    m.setReg(RSI, DATA); m.setReg(RAX, -1n);
    expect(m.run([0x0f, 0x38, 0xf0, 0x06])).toBe(3); // movbe eax, [rsi]
    expect(m.reg(RAX)).toBe(0x44332211n);
  });
});

describe('atomics', () => {
  it('cmpxchg16b: #GP(0) when misaligned, exchange on equal, load on different', () => {
    m.setReg(RSI, DATA + 8);
    expect(m.run([0x48, 0x0f, 0xc7, 0x0e])).toBe(13);
    expect(m.cpu.excError).toBe(0);
    m.mem.dv.setBigUint64(DATA, 1n, true); m.mem.dv.setBigUint64(DATA + 8, 2n, true);
    m.setReg(RSI, DATA); m.setReg(RAX, 1); m.setReg(RDX, 2); m.setReg(RBX, 3); m.setReg(RCX, 4);
    expect(m.run([0xf0, 0x48, 0x0f, 0xc7, 0x0e])).toBe(3);
    expect(getZF(m.cpu.lf)).toBe(1);
    expect(m.mem.dv.getBigUint64(DATA, true)).toBe(3n);
    expect(m.mem.dv.getBigUint64(DATA + 8, true)).toBe(4n);
    expect(m.run([0x48, 0x0f, 0xc7, 0x0e])).toBe(3);
    expect(getZF(m.cpu.lf)).toBe(0);
    expect(m.reg(RAX)).toBe(3n);
    expect(m.reg(RDX)).toBe(4n);
  });

  it('cmpxchg and xadd on memory', () => {
    m.mem.dv.setBigUint64(DATA, 10n, true);
    m.setReg(RSI, DATA); m.setReg(RAX, 10); m.setReg(RBX, 20);
    expect(m.run([0xf0, 0x48, 0x0f, 0xb1, 0x1e])).toBe(3); // lock cmpxchg [rsi], rbx
    expect(m.mem.dv.getBigUint64(DATA, true)).toBe(20n);
    expect(getZF(m.cpu.lf)).toBe(1);
    expect(m.run([0x48, 0x0f, 0xb1, 0x1e])).toBe(3);
    expect(getZF(m.cpu.lf)).toBe(0);
    expect(m.reg(RAX)).toBe(20n);
    m.setReg(RBX, 5);
    expect(m.run([0xf0, 0x48, 0x0f, 0xc1, 0x1e])).toBe(3); // lock xadd [rsi], rbx
    expect(m.reg(RBX)).toBe(20n);
    expect(m.mem.dv.getBigUint64(DATA, true)).toBe(25n);
  });
});
