// The run loop stores RIP only before instructions that read it (Insn.sync) and once at a trace's end: every
// other instruction must still see exactly the RIP it would have, and a fault anywhere in a trace must leave
// RIP on the faulting instruction with the instructions before it retired.
import { beforeEach, describe, expect, it } from 'vitest';
import { CODE, DATA, RAX, RBX, RCX, TestMachine } from './machine.js';

const UNMAPPED = 0x300000;

describe('lazy RIP in the run loop', () => {
  let m: TestMachine;
  beforeEach(() => { m = new TestMachine(); });

  it('a page fault in the middle of a trace stops on the faulting instruction, the ones before it retired', () => {
    m.unmap(UNMAPPED);
    m.setReg(RCX, UNMAPPED);
    // inc eax (2); add ebx, 5 (3); mov rdx, [rcx] (3, faults); inc eax
    const code = [0xff, 0xc0, 0x83, 0xc3, 0x05, 0x48, 0x8b, 0x11, 0xff, 0xc0];
    expect(m.run(code)).toBe(14);
    expect(m.cpu.rip).toBe(CODE + 5);
    expect(m.cpu.icount).toBe(2);
    expect(m.reg(RAX)).toBe(1n);
    expect(m.reg(RBX)).toBe(5n);
    expect(m.cpu.excAddr).toBe(UNMAPPED);
  });

  it('a fault on a trace\'s first instruction after a finished trace leaves RIP there', () => {
    m.unmap(UNMAPPED);
    m.setReg(RCX, UNMAPPED);
    // inc eax; jmp +0; mov [rcx], eax (faults)
    expect(m.run([0xff, 0xc0, 0xeb, 0x00, 0x89, 0x01])).toBe(14);
    expect(m.cpu.rip).toBe(CODE + 4);
    expect(m.cpu.icount).toBe(2);
  });

  it('RIP-relative operands after unsynchronised instructions address from their own next RIP', () => {
    // inc eax; inc eax; lea rbx, [rip + 0x100]; mov rdx... : lea's next RIP is CODE + 4 + 7
    expect(m.run([0xff, 0xc0, 0xff, 0xc0, 0x48, 0x8d, 0x1d, 0x00, 0x01, 0x00, 0x00])).toBe(3);
    expect(m.reg(RBX)).toBe(BigInt(CODE + 11 + 0x100));
  });

  it('a trace cut at its length limit continues at the right address', () => {
    const code: number[] = [];
    for (let k = 0; k < 70; k++) code.push(0xff, 0xc0); // inc eax, three traces
    expect(m.run(code)).toBe(3);
    expect(m.reg(RAX)).toBe(70n);
    expect(m.cpu.rip).toBe(CODE + 141);
    expect(m.cpu.icount).toBe(71);
  });

  it('a store that rewrites the next instruction of its own trace runs the new instruction at its address', () => {
    // mov byte [rip + 1], 0xc3 ... patches the following "inc eax" (ff c0) into "inc ebx" (ff c3)
    // mov byte [rip + 1], 0xc3 (7 bytes: c6 05 disp32 imm8) then ff c0
    const code = [0xc6, 0x05, 0x01, 0x00, 0x00, 0x00, 0xc3, 0xff, 0xc0, 0xff, 0xc0];
    expect(m.run(code)).toBe(3);
    expect(m.reg(RBX)).toBe(1n);
    expect(m.reg(RAX)).toBe(1n);
    expect(m.cpu.icount).toBe(4);
  });

  it('x87 records the instruction pointer of an instruction in the middle of a trace', () => {
    m.setReg(RCX, DATA);
    // inc eax; inc eax; fld1; fnstenv [rcx]
    expect(m.run([0xff, 0xc0, 0xff, 0xc0, 0xd9, 0xe8, 0xd9, 0x31])).toBe(3);
    expect(m.mem.dv.getUint32(DATA + 12, true)).toBe(CODE + 4); // FIP of fld1
  });
});
