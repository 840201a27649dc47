// Long-mode interrupt delivery: frames with and without error codes, IST and RSP0 stacks, interrupt vs
// trap gates, iretq, gate DPL, #DF escalation and the triple-fault report, external interrupts with the
// sti shadow and hlt, NMI blocking until iretq.
import { describe, expect, it } from 'vitest';
import { EXC_SOFT_INT } from '../../src/cpu/exceptions.js';
import { deliverException, deliverNmi } from '../../src/cpu/system/interrupts.js';
import { TripleFault } from '../../src/cpu/system/report.js';
import { EXIT_IN_HANDLER, R, rec, result, saveMacro, trapGuest } from './guest.js';
import { STOP_BUDGET } from '../../src/cpu/exec.js';
import { IST1_TOP, IST2_TOP, RSP0_TOP, setGate, STACK_TOP, toolchainMissing } from './harness.js';

const missing = toolchainMissing();

describe.skipIf(missing !== null)('exceptions and software interrupts', () => {
  it('int n: frame without error code, RIP after the instruction, current stack, interrupt gate clears IF', () => {
    const { vm, g } = trapGuest(`
start:
  sti
  mov $0x1234, %rcx
  int $0x40
after:
  EXIT 0
`);
    expect(vm.run(1000).exitCode).toBe(EXIT_IN_HANDLER);
    const f = rec(vm);
    expect(f).toMatchObject({ vector: 0x40, error: 0, rip: g.sym.after, cs: 8, rsp: STACK_TOP, ss: 0x10 });
    expect(f.rflags & 0x200).toBe(0x200);
    expect(f.handlerFlags & 0x200).toBe(0); // interrupt gate
    expect(f.frame).toBe(STACK_TOP - 40);
  });

  it('trap gates keep IF; IST stacks are used and 16-byte aligned; iretq returns and restores RSP', () => {
    const { vm } = trapGuest(`
start:
  RETURN_FROM_TRAPS
  sti
  sub $8, %rsp
  mov %rsp, %rbx
  int $0x41
  mov REC+88, %rcx
  RESULT 0, %rcx
  mov REC+72, %rcx
  RESULT 1, %rcx
  mov %rsp, %rax
  sub %rbx, %rax
  RESULT 2, %rax
  int $0x42
  mov REC+72, %rcx
  RESULT 3, %rcx
  EXIT 0
`, { gates: { 0x41: { type: 0xf, ist: 1 }, 0x42: { ist: 2 } } });
    expect(vm.run(1000).exitCode).toBe(0);
    expect(Number(result(vm, 0)) & 0x200).toBe(0x200); // trap gate: IF still set in the handler
    expect(Number(result(vm, 1))).toBe(IST1_TOP - 40);
    expect(result(vm, 2)).toBe(0n); // iretq restored RSP
    expect(Number(result(vm, 3))).toBe(IST2_TOP - 40);
  });

  it('faults push error codes: #GP, #UD, #DE, #BP (trap, RIP after int3), #NM with CR0.TS', () => {
    const { vm, g } = trapGuest(`${saveMacro(R.rip)}
start:
  FAULT_AT gp, mov %rax, %cr5
  SAVE 0
  FAULT_AT ud, ud2
  SAVE 1
  xor %ecx, %ecx
  FAULT_AT de, div %ecx
  SAVE 2
  EXPECT_FAULT int3
bp_after:
  SAVE 3
  mov %cr0, %rbx
  or $8, %rbx
  mov %rbx, %cr0
  FAULT_AT nm, addps %xmm1, %xmm0
  SAVE 4
  clts
  mov $0x8000000000000, %rbx
  FAULT_AT gp2, mov (%rbx), %al
  SAVE 5
  EXIT 0
`);
    expect(vm.run(1000).exitCode).toBe(0);
    const s = (n: number) => [Number(result(vm, 3 * n)), Number(result(vm, 3 * n + 1)), Number(result(vm, 3 * n + 2))];
    expect(s(0)).toEqual([6, 0, g.sym.gp]); // mov to CR5: #UD
    expect(s(1)).toEqual([6, 0, g.sym.ud]);
    expect(s(2)).toEqual([0, 0, g.sym.de]);
    expect(s(3)).toEqual([3, 0, g.sym.bp_after]);
    expect(s(4)).toEqual([7, 0, g.sym.nm]);
    expect(s(5)).toEqual([13, 0, g.sym.gp2]);
  });

  it('int n through a DPL 0 gate from CPL 3 is #GP(vector*8+2); a DPL 3 gate switches to RSP0', () => {
    const { vm } = trapGuest(`
start:
  pushq $0x23
  pushq $0x60000
  pushq $0x3002
  pushq $0x2b
  lea user(%rip), %rax
  push %rax
  iretq
user:
  EXPECT_FAULT int $0x40
  mov REC+8, %rcx
  RESULT 0, %rcx
  mov REC+16, %rcx
  RESULT 1, %rcx
  int $0x80
  mov $0, %al
  out %al, $0xf4
`, { gates: { 0x80: { dpl: 3 } } });
    const dv = vm.mem.dv;
    // Make everything user-accessible: PML4, PDPT, PD entries, and the PD + PT pages (contiguous).
    for (const a of [0x10000, 0x11000, 0x12000]) dv.setUint32(a, dv.getUint32(a, true) | 4, true);
    for (let k = 0; k < 1024; k++) dv.setUint32(0x12000 + 8 * k, dv.getUint32(0x12000 + 8 * k, true) | 4, true);
    expect(vm.run(1000).exitCode).toBe(EXIT_IN_HANDLER);
    expect(vm.cpu.cpl).toBe(0);
    expect([result(vm, 0), result(vm, 1)]).toEqual([13n, BigInt(0x40 * 8 + 2)]);
    const f = rec(vm);
    expect(f).toMatchObject({ vector: 0x80, cs: 0x2b, ss: 0x23, rsp: 0x60000, frame: RSP0_TOP - 40 });
  });

  it('#PF with a not-present #PF gate becomes #DF (error 0, on its IST stack)', () => {
    const { vm } = trapGuest(`
start:
  mov 0x150000, %rax
  EXIT 0
`, { gates: { 14: { present: false }, 8: { ist: 2 } } });
    vm.mem.dv.setUint32(0x13000 + 8 * 0x150, 0, true);
    expect(vm.run(1000).exitCode).toBe(EXIT_IN_HANDLER);
    const f = rec(vm);
    expect(f).toMatchObject({ vector: 8, error: 0, frame: IST2_TOP - 40 });
    expect(vm.cpu.cr2).toBe(0x150000);
  });

  it('a benign first exception does not double-fault: #BP whose gate is missing gives #NP', () => {
    const { vm } = trapGuest(`
start:
  int3
  EXIT 0
`, { gates: { 3: { present: false } } });
    expect(vm.run(1000).exitCode).toBe(EXIT_IN_HANDLER);
    expect(rec(vm)).toMatchObject({ vector: 11, error: 3 * 8 + 2 });
  });

  it('a fault while delivering #DF is a triple fault with a one-line report', () => {
    const { vm, g } = trapGuest(`
start:
  nop
fault:
  movl $1, 0x150004
  EXIT 0
`, { gates: { 14: { present: false }, 8: { present: false } } });
    vm.mem.dv.setUint32(0x13000 + 8 * 0x150, 0, true);
    const r = vm.run(1000);
    expect(r.kind).toBe('triple-fault');
    const hex = g.sym.fault!.toString(16);
    expect(r.message).toBe(`vCPU 0: triple fault at rip=0x${hex} (64-bit mode, cpl 0): #PF error 0x2 -> #NP error 0x73 ` +
      `-> #DF error 0x0 -> #NP error 0x43; cr2=0x150004, bytes: c7 04 25 04 00 15 00 01 00 00 00`);
    expect(r.message).not.toContain('\n');
    expect(vm.cpu.rip).toBe(g.sym.fault);
  });

  it('a handler on an unmapped page re-faults forever on its IST stack without hanging run()', () => {
    const { vm } = trapGuest(`
start:
  mov 0x150000, %rax
  EXIT 0
`, { gates: { 14: { ist: 1 } } });
    vm.mem.dv.setUint32(0x13000 + 8 * 0x150, 0, true);
    setGate(vm.mem, 14, 0x150000, { ist: 1 });
    expect(vm.exec.run(5000)).toBe(STOP_BUDGET);
    expect(vm.cpu.rip).toBe(0x150000);
    expect(vm.cpu.reg64(4)).toBe(IST1_TOP - 48);
  });

  it('a non-canonical handler address is #GP(EXT) during delivery (#DF after a contributory fault)', () => {
    const { vm } = trapGuest(`
start:
  ud2
  EXIT 0
`);
    setGate(vm.mem, 6, 0x800000000000);
    expect(vm.run(1000).exitCode).toBe(EXIT_IN_HANDLER);
    expect(rec(vm)).toMatchObject({ vector: 13, error: 1 }); // #UD is benign: the #GP is delivered
    const { vm: vm2 } = trapGuest(`
start:
  mov $0x800000000000, %rax
  mov (%rax), %al
  EXIT 0
`);
    setGate(vm2.mem, 13, 0x800000000000);
    expect(vm2.run(1000).exitCode).toBe(EXIT_IN_HANDLER);
    expect(rec(vm2)).toMatchObject({ vector: 8, error: 0 });
  });

  it('an IDT limit that cuts off the gate gives #GP(vector*8+2+EXT) and then #DF', () => {
    const { vm } = trapGuest(`
start:
  ud2
  EXIT 0
`);
    vm.cpu.idtLimit = 6 * 16 - 1; // vectors 0-5 only: #UD (6) is outside, #GP/#DF too
    const r = vm.run(100);
    expect(r.kind).toBe('triple-fault');
    expect(r.message).toContain('#UD -> #GP error 0x33 -> #GP error 0x6b -> #DF error 0x0 -> #GP error 0x43');
  });

  it('deliverException takes software interrupts with the DPL check and no EXT bit', () => {
    const { vm } = trapGuest('start:\n  EXIT 0\n');
    const cpu = vm.cpu;
    cpu.cpl = 3;
    cpu.updateMode();
    cpu.excVector = 0x40; cpu.excError = EXC_SOFT_INT; cpu.excAddr = 0;
    // The DPL-0 gate refuses CPL 3: #GP(0x202), delivered through the (present) #GP gate.
    deliverException(cpu);
    expect(cpu.cpl).toBe(0);
    expect(Number(vm.mem.dv.getBigUint64(RSP0_TOP - 48, true))).toBe(0x40 * 8 + 2);
  });
});

describe.skipIf(missing !== null)('external interrupts', () => {
  it('sti; hlt with a pending interrupt halts first, then delivers with RIP after hlt', () => {
    const { vm, g } = trapGuest(`
start:
  sti
  hlt
after_hlt:
  EXIT 0
`);
    vm.interrupt(0x30);
    expect(vm.run(1000).exitCode).toBe(EXIT_IN_HANDLER);
    expect(rec(vm)).toMatchObject({ vector: 0x30, error: 0, rip: g.sym.after_hlt });
  });

  it('the sti shadow covers exactly one instruction', () => {
    const { vm } = trapGuest(`
start:
  xor %ecx, %ecx
  sti
  inc %ecx
  inc %ecx
  inc %ecx
  cli
  RESULT 0, %rcx
  EXIT 0
`);
    // The handler stops the machine: ECX then shows how many instructions ran after sti.
    vm.interrupt(0x30);
    const r0 = vm.run(1000);
    expect(r0.exitCode).toBe(EXIT_IN_HANDLER);
    const f = rec(vm);
    expect(vm.cpu.r32[2]).toBe(1); // ecx when the interrupt arrived: one inc after sti
    expect(f.rflags & 0x200).toBe(0x200);
  });

  it('an interrupt stays pending while IF=0 and a halted vCPU with IF=0 stays halted', () => {
    const { vm } = trapGuest(`
start:
  cli
  hlt
  EXIT 0
`);
    vm.interrupt(0x30);
    const r = vm.run(1000);
    expect(r.kind).toBe('halt');
    expect(rec(vm).count).toBe(0);
    expect(vm.execs[0].eventPending).toBe(true);
  });

  it('NMIs are blocked from delivery until iretq', () => {
    const { vm, g } = trapGuest(`
start:
  nop
  EXIT 0
nmi:
  RESULT 0, %rsp
  iretq
`);
    const cpu = vm.cpu;
    vm.mem.dv.setUint32(0x2000 + 16 * 2, (8 << 16) | (g.sym.nmi! & 0xffff), true);
    vm.mem.dv.setUint32(0x2000 + 16 * 2 + 4, ((g.sym.nmi! & 0xffff0000) | 0x8e00 | 1) >>> 0, true);
    deliverNmi(cpu);
    expect(cpu.nmiBlocked).toBe(true);
    expect(cpu.rip).toBe(g.sym.nmi);
    vm.exec.step();
    expect(cpu.nmiBlocked).toBe(true);
    vm.exec.step(); // iretq
    expect(cpu.nmiBlocked).toBe(false);
    expect(cpu.rip).toBe(g.sym.start);
    expect(Number(result(vm, 0))).toBe(IST1_TOP - 40);
  });
});

describe('triple fault type', () => {
  it('is an Error named TripleFault', () => {
    const e = new TripleFault('x');
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('TripleFault');
  });
});

describe.skipIf(missing !== null)('more exceptions and shadows', () => {
  it('TF single-steps: #DB after each instruction with RIP after it and DR6.BS', () => {
    const { vm, g } = trapGuest(`
start:
  RETURN_FROM_TRAPS
  pushfq
  orq $0x100, (%rsp)
  popfq
first:
  nop
second:
  nop
  pushfq
  andq $~0x100, (%rsp)
  popfq
  mov REC, %rax
  RESULT 0, %rax
  mov %db6, %rax
  RESULT 1, %rax
  EXIT 0
`);
    expect(vm.run(1000).exitCode).toBe(0);
    // Traps after popfq (TF now set): no; after the first nop, the second nop, pushfq, andq, popfq: 5.
    expect(result(vm, 0)).toBe(5n);
    expect(Number(result(vm, 1)) & 0x4000).toBe(0x4000);
    void g;
  });

  it('int1 (icebp) raises #DB; hlt at CPL 3 is #GP(0)', () => {
    const { vm } = trapGuest(`
start:
  FAULT_VECTOR 0, .byte 0xf1
  EXIT 0
`);
    expect(vm.run(1000).exitCode).toBe(0);
    expect(result(vm, 0)).toBe(1n);
  });

  it('mov ss blocks interrupts for one instruction (sti; mov ss; inc: the interrupt comes after the inc)', () => {
    // Without the mov ss shadow the interrupt would arrive right after mov ss (ECX 0).
    const { vm } = trapGuest(`
start:
  cli
  xor %ecx, %ecx
  mov $0x10, %eax
  sti
  mov %eax, %ss
  inc %ecx
  inc %ecx
  EXIT 0
`);
    vm.interrupt(0x30);
    expect(vm.run(1000).exitCode).toBe(EXIT_IN_HANDLER);
    expect(vm.cpu.r32[2]).toBe(1);
  });

  it('#XM for an unmasked SSE exception with CR4.OSXMMEXCPT', () => {
    const { vm } = trapGuest(`
start:
  movl $0x1d80, 0x300000
  ldmxcsr 0x300000
  xorps %xmm1, %xmm1
  mov $1, %eax
  cvtsi2ss %eax, %xmm0
  FAULT_VECTOR 0, divss %xmm1, %xmm0
  EXIT 0
`);
    expect(vm.run(1000).exitCode).toBe(0);
    expect(result(vm, 0)).toBe(19n);
  });

  it('#MF at the next waiting x87 instruction after an unmasked x87 exception (CR0.NE)', () => {
    const { vm } = trapGuest(`
start:
  fninit
  movw $0x37b, 0x300000
  fldcw 0x300000
  fld1
  fldz
  fdivrp
  FAULT_VECTOR 0, fwait
  fnclex
  EXIT 0
`);
    expect(vm.run(1000).exitCode).toBe(0);
    expect(result(vm, 0)).toBe(16n);
  });
});
