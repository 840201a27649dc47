// Interrupts outside long mode: the real-mode IVT (int n / iret) and 32-bit protected-mode gates.
import { describe, expect, it } from 'vitest';
import { CR0_PE, CS, DS, ES, SS } from '../../src/cpu/regs.js';
import { assembleGuest, resetStateVm, toolchainMissing, writeGdt } from './harness.js';

const missing = toolchainMissing();
const RES = 0x6000;

describe.skipIf(missing !== null)('legacy-mode interrupts', () => {
  it('real mode: int n through the IVT pushes FLAGS/CS/IP, clears IF, iret returns', () => {
    const g = assembleGuest(`
.code16
start:
  xor %ax, %ax
  mov %ax, %ds
  mov %ax, %ss
  mov $0x7000, %sp
  movw $handler, 0x80*4
  movw $0, 0x80*4+2
  sti
  int $0x80
  mov %ax, ${RES}
  pushf
  pop %bx
  mov %bx, ${RES + 2}
  mov %sp, ${RES + 6}
  mov $0, %al
  out %al, $0xf4
handler:
  mov $0x5555, %ax
  mov %sp, ${RES + 4}
  pushf
  pop %cx
  mov %cx, ${RES + 8}
  iret
`, 0x8000);
    const vm = resetStateVm(g);
    const r = vm.run(1000);
    expect(r.kind).toBe('exit');
    const dv = vm.mem.dv;
    expect(dv.getUint16(RES, true)).toBe(0x5555);
    expect(dv.getUint16(RES + 2, true) & 0x200).toBe(0x200); // IF back after iret
    expect(dv.getUint16(RES + 4, true)).toBe(0x7000 - 6);
    expect(dv.getUint16(RES + 6, true)).toBe(0x7000);
    expect(dv.getUint16(RES + 8, true) & 0x200).toBe(0);
  });

  it('32-bit protected mode: int n through a 32-bit interrupt gate, error-code frame for #GP, iret', () => {
    const g = assembleGuest(`
.code32
start:
  lidt idtr
  sti
  int $0x40
  mov %eax, ${RES}
  mov %esp, ${RES + 4}
  lea 1f, %ebx
  mov %ebx, resume
  mov $0x1234, %ax
  mov %ax, %ds
1:
  mov $0, %al
  out %al, $0xf4
handler:
  mov $0x77, %eax
  mov %esp, ${RES + 8}
  pushf
  pop %ecx
  mov %ecx, ${RES + 12}
  iret
gp_handler:
  pop %ecx
  mov %ecx, ${RES + 16}
  mov resume, %ecx
  mov %ecx, (%esp)
  iret
resume: .long 0
.balign 8
idt:
  .fill 13, 8, 0
  .word gp_handler, 0x18, 0x8e00, 0
  .fill 0x40-14, 8, 0
  .word handler, 0x18, 0x8e00, 0
idt_end:
idtr:
  .word idt_end - idt - 1
  .long idt
`, 0x8000);
    const vm = resetStateVm(g);
    writeGdt(vm.mem);
    const cpu = vm.cpu;
    cpu.cr0 |= CR0_PE;
    cpu.gdtBase = 0x1000; cpu.gdtLimit = 0x4f;
    cpu.segSel[CS] = 0x18; cpu.segAttr[CS] = 0xc09b; cpu.segLimit[CS] = 0xffffffff;
    for (const s of [SS, DS, ES]) { cpu.segSel[s] = 0x10; cpu.segAttr[s] = 0xc093; cpu.segLimit[s] = 0xffffffff; }
    cpu.setReg64(4, 0x7000);
    cpu.updateMode();
    const r = vm.run(1000);
    expect(r.message).toBe('');
    expect(r.kind).toBe('exit');
    const dv = vm.mem.dv;
    expect(dv.getUint32(RES, true)).toBe(0x77);
    expect(dv.getUint32(RES + 4, true)).toBe(0x7000);
    expect(dv.getUint32(RES + 8, true)).toBe(0x7000 - 12);
    expect(dv.getUint32(RES + 12, true) & 0x200).toBe(0);
    expect(dv.getUint32(RES + 16, true)).toBe(0x1234 & ~3); // #GP(selector)
  });
});
