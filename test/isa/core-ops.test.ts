// Core-instruction behaviour the differential test cannot reach from the host's CPL 3 (its GDT is Linux's, and
// the host is an AMD CPU while osvemu presents an Intel one): far-pointer loads, the legacy system instructions
// whose only outcome is a fault, and the decoder's view of them.
import { describe, expect, it } from 'vitest';
import { decodeLength } from '../../src/cpu/decoder.js';
import { CS, DS, ES, FS, GS, SS } from '../../src/cpu/regs.js';
import { DATA, RAX, RBP, RBX, RCX, RDI, RDX, RSI, RSP, TestMachine } from '../cpu/machine.js';

const GDT = 0x180000;

/** A machine whose GDT (at GDT) holds a flat-limit writable data segment with `base` at selector 0x10. */
function withGdt(base: number): TestMachine {
  const m = new TestMachine();
  const dv = m.mem.dv;
  const lo = 0xffff | ((base & 0xffff) << 16);
  const hi = ((base >>> 16) & 0xff) | (0x93 << 8) | (0xcf << 16) | (base & 0xff000000);
  dv.setInt32(GDT + 0x10, lo, true);
  dv.setInt32(GDT + 0x14, hi, true);
  m.cpu.gdtBase = GDT;
  m.cpu.gdtLimit = 0x17;
  return m;
}

describe('lss / lfs / lgs', () => {
  it('loads the offset (operand size) and the selector that follows it, and the segment', () => {
    const m = withGdt(0x12345000);
    const dv = m.mem.dv;
    dv.setUint32(DATA, 0xdeadbeef, true);
    dv.setUint16(DATA + 4, 0x10, true);
    m.setReg(RSI, DATA);
    m.setReg(RAX, -1n);
    expect(m.run([0x0f, 0xb4, 0x06])).toBe(3); // lfs (%rsi),%eax
    expect(m.reg(RAX)).toBe(0xdeadbeefn); // 32-bit destination: zero-extended
    expect(m.cpu.segSel[FS]).toBe(0x10);
    expect(m.cpu.segBase[FS]).toBe(0x12345000);
  });

  it('reads a 64-bit offset with REX.W and a 16-bit one with 66', () => {
    const m = withGdt(0x5000);
    const dv = m.mem.dv;
    dv.setBigUint64(DATA, 0x1122334455667788n, true);
    dv.setUint16(DATA + 8, 0x10, true);
    m.setReg(RSI, DATA);
    expect(m.run([0x48, 0x0f, 0xb5, 0x06])).toBe(3); // lgs (%rsi),%rax
    expect(m.reg(RAX)).toBe(0x1122334455667788n);
    expect(m.cpu.segBase[GS]).toBe(0x5000);
    dv.setUint16(DATA + 2, 0x10, true);
    m.setReg(RAX, 0xffffffffffff0000n);
    expect(m.run([0x66, 0x0f, 0xb2, 0x06])).toBe(3); // lss (%rsi),%ax
    expect(m.reg(RAX)).toBe(0xffffffffffff7788n); // 16-bit destination merges
    expect(m.cpu.segSel[SS]).toBe(0x10);
  });

  it('faults on a bad selector before writing the register, and is #UD with a register operand', () => {
    const m = withGdt(0);
    m.mem.dv.setUint32(DATA, 0x1234, true);
    m.mem.dv.setUint16(DATA + 4, 0x28, true); // beyond the GDT limit
    m.setReg(RSI, DATA);
    m.setReg(RAX, 7n);
    expect(m.run([0x0f, 0xb4, 0x06])).toBe(13);
    expect(m.cpu.excError).toBe(0x28);
    expect(m.reg(RAX)).toBe(7n);
    expect(m.cpu.segSel[FS]).toBe(0);
    expect(m.run([0x0f, 0xb4, 0xc0])).toBe(6);
  });
});

describe('legacy system instructions that can only fault on osvemu', () => {
  it('rdpmc, sysenter and sysexit raise #GP(0); rsm raises #UD', () => {
    const m = new TestMachine();
    expect(m.run([0x0f, 0x33])).toBe(13); // no performance counters
    expect(m.run([0x0f, 0x34])).toBe(13); // IA32_SYSENTER_CS is 0
    expect(m.run([0x48, 0x0f, 0x35])).toBe(13);
    expect(m.run([0x0f, 0xaa])).toBe(6); // not in SMM
    expect(m.cpu.rip).toBe(0x10000); // faults leave RIP at the instruction
  });

  it('decodes them as valid instructions of the right length', () => {
    const len = (b: number[]) => decodeLength(Uint8Array.from([...b, 0xcc, 0xcc, 0xcc, 0xcc]), 0, 64);
    expect(len([0x0f, 0x33])).toBe(2);
    expect(len([0x0f, 0x34])).toBe(2);
    expect(len([0x0f, 0x35])).toBe(2);
    expect(len([0x0f, 0xaa])).toBe(2);
    expect(len([0x0f, 0xb2, 0x44, 0x24, 0x08])).toBe(5);
    expect(len([0x0f, 0xb4, 0xc0])).toBe(-1); // register operand: #UD
  });
});

describe('enter / leave outside 64-bit mode (the differential test only reaches 64-bit code)', () => {
  it('builds and tears down a nested frame with 32-bit stack width in compatibility mode', () => {
    const m = new TestMachine();
    m.cpu.segAttr[CS] = 0xc09b; // D=1, L=0: 32-bit code under long mode
    m.cpu.updateMode();
    expect(m.cpu.mode).toBe(32);
    const dv = m.mem.dv;
    const esp0 = DATA + 0x800, ebp0 = DATA + 0x900;
    dv.setUint32(ebp0 - 4, 0xabcd1234, true);
    m.setReg(RSP, esp0);
    m.setReg(RBP, ebp0);
    expect(m.run([0xc8, 0x10, 0x00, 0x02])).toBe(3); // enter $16,$2
    const frame = esp0 - 4;
    expect(m.reg(RBP)).toBe(BigInt(frame));
    expect(m.reg(RSP)).toBe(BigInt(esp0 - 28));
    expect(dv.getUint32(esp0 - 4, true)).toBe(ebp0); // old ebp
    expect(dv.getUint32(esp0 - 8, true)).toBe(0xabcd1234); // copied outer frame pointer
    expect(dv.getUint32(esp0 - 12, true)).toBe(frame); // this frame
    expect(m.run([0xc9])).toBe(3); // leave
    expect(m.reg(RSP)).toBe(BigInt(esp0));
    expect(m.reg(RBP)).toBe(BigInt(ebp0));
  });
});

describe('one-byte opcodes that exist only outside 64-bit mode', () => {
  const compat = (m: TestMachine) => { m.cpu.segAttr[CS] = 0xc09b; m.cpu.updateMode(); expect(m.cpu.mode).toBe(32); return m; };

  it('40-4F are inc/dec of a 32-bit register (and 66-prefixed: 16-bit)', () => {
    const m = compat(new TestMachine());
    m.setReg(RAX, 0xffffffffn);
    m.setReg(RDI, 0x10000n);
    expect(m.run([0x40, 0x4f, 0x66, 0x4f])).toBe(3); // inc eax; dec edi; dec di
    expect(m.reg(RAX) & 0xffffffffn).toBe(0n);
    expect(m.reg(RDI) & 0xffffffffn).toBe(0xfffen);
  });

  it('pusha/popa save and restore the eight registers (popa skips the saved esp)', () => {
    const m = compat(new TestMachine());
    const regs = [RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI];
    regs.forEach((r, k) => m.setReg(r, r === RSP ? DATA + 0x800 : 0x11111111 * (k + 1)));
    expect(m.run([0x60])).toBe(3);
    expect(m.reg(RSP)).toBe(BigInt(DATA + 0x800 - 32));
    const dv = m.mem.dv;
    expect(dv.getUint32(DATA + 0x800 - 4, true)).toBe(0x11111111); // eax first
    expect(dv.getUint32(DATA + 0x800 - 20, true)).toBe(DATA + 0x800); // the original esp
    expect(dv.getUint32(DATA + 0x800 - 32, true)).toBe(0x88888888); // edi last
    regs.forEach((r) => { if (r !== RSP) m.setReg(r, 0); });
    dv.setUint32(DATA + 0x800 - 20, 0x1234, true); // ignored by popa
    expect(m.run([0x61])).toBe(3);
    regs.forEach((r, k) => expect(m.reg(r) & 0xffffffffn).toBe(r === RSP ? BigInt(DATA + 0x800) : BigInt(0x11111111 * (k + 1))));
  });

  it('pusha faulting on its last slot changes nothing', () => {
    const m = compat(new TestMachine());
    m.unmap(DATA);
    m.setReg(RSP, DATA + 0x1010); // the last slots fall into the unmapped page below
    m.setReg(RAX, 0x5a5a5a5a);
    expect(m.run([0x60])).toBe(14);
    expect(m.reg(RSP)).toBe(BigInt(DATA + 0x1010));
    expect(m.mem.dv.getUint32(DATA + 0x100c, true)).toBe(0); // eax's slot was not written
  });

  it('les/lds load a far pointer into es/ds', () => {
    const m = compat(withGdt(0x7000));
    const dv = m.mem.dv;
    dv.setUint32(DATA, 0xcafe, true);
    dv.setUint16(DATA + 4, 0x10, true);
    m.setReg(RSI, DATA);
    expect(m.run([0xc4, 0x1e])).toBe(3); // les (%esi),%ebx
    expect(m.reg(RBX)).toBe(0xcafen);
    expect(m.cpu.segSel[ES]).toBe(0x10);
    expect(m.cpu.segBase[ES]).toBe(0x7000);
    expect(m.run([0xc5, 0x0e])).toBe(3); // lds (%esi),%ecx
    expect(m.reg(RCX)).toBe(0xcafen);
    expect(m.cpu.segSel[DS]).toBe(0x10);
    expect(m.cpu.segBase[DS]).toBe(0x7000);
    expect(m.run([0xc5, 0xc0])).toBe(6); // register operand (a VEX prefix on AVX CPUs): #UD
  });
});
