// Segment loads and far transfers fault before they change anything: RSP, RFLAGS and CS stay as they
// were, with the architectural error codes (#GP(sel), #NP(sel), #GP(0) for a null CS).
import { describe, expect, it } from 'vitest';
import { R, rec, result, saveMacro, trapGuest } from './guest.js';
import { GDT, STACK_TOP, toolchainMissing } from './harness.js';

const missing = toolchainMissing();

/** Stores vector, error code and the frame's RSP of the last fault in result slots 3n..3n+2. */
const SAVE = saveMacro(R.rsp);

describe.skipIf(missing !== null)('segment loads and far transfers', () => {
  it('fault with the right error code and leave RSP unchanged', () => {
    const { vm } = trapGuest(`${SAVE}
start:
  /* lcall through a far pointer to a not-present code descriptor (0x50): #NP(0x50). */
  movq $0, 0x300000
  movw $0x50, 0x300008
  EXPECT_FAULT rex64 lcall *0x300000
  SAVE 0
  /* lretq to a null CS: #GP(0). */
  pushq $0
  pushq $0x1234
  EXPECT_FAULT lretq
  SAVE 1
  add $16, %rsp
  /* iretq to a data segment as CS: #GP(0x10). */
  pushq $0x10
  pushq $0x60000
  pushq $0x202
  pushq $0x10
  pushq $0x1234
  EXPECT_FAULT iretq
  SAVE 2
  add $40, %rsp
  /* mov to DS of a selector past the GDT limit: #GP(sel). */
  mov $0x78, %eax
  EXPECT_FAULT mov %eax, %ds
  SAVE 3
  mov %rsp, %rax
  RESULT 12, %rax
  EXIT 0
`);
    // A not-present 64-bit code descriptor at 0x50 (GDT limit extended to cover it).
    vm.mem.dv.setUint32(GDT + 0x50, 0x0000ffff, true);
    vm.mem.dv.setUint32(GDT + 0x54, 0x00af1b00, true);
    vm.cpu.gdtLimit = 0x57;
    const r = vm.run(1000);
    expect(r.kind).toBe('exit');
    const s = (n: number) => [Number(result(vm, 3 * n)), Number(result(vm, 3 * n + 1)), Number(result(vm, 3 * n + 2))];
    expect(s(0)).toEqual([11, 0x50, STACK_TOP]); // RSP in the frame: nothing was pushed
    expect(s(1)).toEqual([13, 0, STACK_TOP - 16]);
    expect(s(2)).toEqual([13, 0x10, STACK_TOP - 40]);
    expect(s(3)).toEqual([13, 0x78, STACK_TOP]);
    expect(Number(result(vm, 12))).toBe(STACK_TOP);
    expect(rec(vm).count).toBe(4);
  });

  it('lretq and iretq to 64-bit code restore CS/SS; mov/pop to DS/ES/FS/GS load descriptors', () => {
    const { vm, g } = trapGuest(`
start:
  pushq $0x08
  lea 1f(%rip), %rax
  push %rax
  lretq
1:
  mov %rsp, %rbx
  pushq $0x10
  push %rbx
  pushfq
  pushq $0x08
  lea 2f(%rip), %rax
  push %rax
  iretq
2:
  mov %rsp, %rax
  sub %rbx, %rax
  RESULT 0, %rax
  pushq $0x10
  pop %fs
  mov %fs, %ax
  RESULT 1, %rax
  mov $0x10, %eax
  mov %eax, %es
  mov %es, %ecx
  RESULT 2, %rcx
  EXIT 0
`);
    expect(vm.run(1000).exitCode).toBe(0);
    expect([result(vm, 0), result(vm, 1), result(vm, 2)]).toEqual([0n, 0x10n, 0x10n]);
    expect(vm.cpu.segSel[1]).toBe(8);
    void g;
  });
});
