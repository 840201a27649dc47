// Mode transitions as OSv's boot.S and SMP trampoline make them: real mode -> protected mode (lgdt, CR0.PE,
// far jump) -> long mode (CR4.PAE, EFER.LME, CR0.PG, far jump) -> compatibility mode (lretq) -> back to
// 64-bit, and down again: compatibility mode -> paging off -> 16-bit protected mode -> real mode.
import { describe, expect, it } from 'vitest';
import { CR0_PE, CR0_PG, CS, EFER_LMA, EFER_LME } from '../../src/cpu/regs.js';
import { assembleGuest, GDT, PML4, resetStateVm, toolchainMissing, writeGdt, writePageTables } from './harness.js';

const missing = toolchainMissing();
const RES = 0x6000;

const TRAMPOLINE = `
.code16
start:
  cli
  xor %ax, %ax
  mov %ax, %ds
  mov %ax, %ss
  mov $0x7000, %sp
  movl $0x16, ${RES}
  lgdtl gdtr
  mov %cr0, %eax
  or $1, %eax
  mov %eax, %cr0
  ljmpl $0x18, $start32
.code32
start32:
  mov $0x10, %ax
  mov %ax, %ds
  mov %ax, %es
  mov %ax, %ss
  mov $0x7000, %esp
  movl $0x32, ${RES + 4}
  mov %cr4, %eax
  or $0x20, %eax
  mov %eax, %cr4
  mov $${PML4}, %eax
  mov %eax, %cr3
  mov $0xc0000080, %ecx
  rdmsr
  or $0x900, %eax
  wrmsr
  mov %cr0, %eax
  or $0x80010000, %eax
  mov %eax, %cr0
  ljmp $0x08, $start64
.code64
start64:
  mov $0x10, %eax
  mov %eax, %ds
  mov %eax, %ss
  movabs $0x123456789, %rax
  mov %rax, ${RES + 8}
  /* 64-bit -> compatibility mode with lretq, then a far call gate-free return to 64-bit with ljmp. */
  pushq $0x18
  lea compat(%rip), %rax
  push %rax
  lretq
.code32
compat:
  mov %cs, %eax
  mov %eax, ${RES + 16}
  ljmp $0x08, $back64
.code64
back64:
  mov %cs, %eax
  mov %eax, ${RES + 20}
  /* And down: compatibility mode, paging off, LME off, 16-bit protected mode, real mode. */
  pushq $0x18
  lea down32(%rip), %rax
  push %rax
  lretq
.code32
down32:
  mov %cr0, %eax
  and $0x7fffffff, %eax
  mov %eax, %cr0
  mov $0xc0000080, %ecx
  rdmsr
  and $~0x100, %eax
  wrmsr
  mov %eax, ${RES + 24}
  ljmp $0x40, $pm16
.code16
pm16:
  mov $0x48, %ax
  mov %ax, %ds
  mov %ax, %ss
  mov %cr0, %eax
  and $~1, %eax
  mov %eax, %cr0
  ljmp $0x0, $real
real:
  xor %ax, %ax
  mov %ax, %ds
  mov %ax, %ss
  mov $0x100, %ax
  mov %ax, %es
  movw $0xbeef, %es:0x10
  call sub16
  mov $0, %al
  out %al, $0xf4
  hlt
sub16:
  movw %sp, ${RES + 28}
  ret
.balign 8
gdtr:
  .word 0x4f
  .long ${GDT}
`;

describe.skipIf(missing !== null)('mode transitions', () => {
  it('real -> protected -> long -> compatibility -> long -> ... -> real, as the SMP trampoline does', () => {
    const g = assembleGuest(TRAMPOLINE, 0x8000);
    const vm = resetStateVm(g);
    writeGdt(vm.mem);
    writePageTables(vm.mem);
    const cpu = vm.cpu;
    // As after STARTUP: real mode, CS = 0, IP = the trampoline.
    expect(cpu.mode).toBe(16);
    const r = vm.run(10_000);
    expect(r.message).toBe('');
    expect(r.kind).toBe('exit');
    const dv = vm.mem.dv;
    expect(dv.getUint32(RES, true)).toBe(0x16);
    expect(dv.getUint32(RES + 4, true)).toBe(0x32);
    expect(dv.getBigUint64(RES + 8, true)).toBe(0x123456789n);
    expect(dv.getUint32(RES + 16, true)).toBe(0x18); // CS in compatibility mode
    expect(dv.getUint32(RES + 20, true)).toBe(0x08);
    expect(dv.getUint32(RES + 24, true) & (EFER_LME | EFER_LMA)).toBe(0); // paging off cleared LMA
    expect(dv.getUint16(0x1010, true)).toBe(0xbeef); // ES = 0x100 addresses 0x1000
    expect(dv.getUint16(RES + 28, true)).toBe(0x7000 - 2);
    expect(cpu.mode).toBe(16);
    expect(cpu.cr0 & (CR0_PE | CR0_PG)).toBe(0);
    expect(cpu.efer & EFER_LMA).toBe(0);
    expect(cpu.segSel[CS]).toBe(0);
  });

  it('mov to CR0 setting PG without EFER.LME (legacy paging) is reported as unimplemented', () => {
    const g = assembleGuest(`
.code32
start:
  mov %cr0, %eax
  or $0x80000000, %eax
  mov %eax, %cr0
  hlt
`, 0x8000);
    const vm = resetStateVm(g);
    const cpu = vm.cpu;
    cpu.cr0 |= CR0_PE;
    cpu.segAttr[CS] = 0xc09b;
    cpu.updateMode();
    const r = vm.run(100);
    expect(r.kind).toBe('error');
    expect(r.message).toBe('vCPU 0: unimplemented: paging without long mode (32-bit or PAE-only paging) at cs=0x0 rip=0x8008 ' +
      '(32-bit mode, cpl 0), bytes: 0f 22 c0');
  });
});
