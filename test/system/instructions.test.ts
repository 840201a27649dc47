// System instructions: syscall/sysret, MSRs (FS/GS base, KERNEL_GS_BASE, EFER), swapgs, rd/wrfsbase,
// rdtsc/rdtscp, rdrand/rdseed, fxsave/fxrstor and xsave/xrstor round trips, control/debug registers,
// descriptor-table registers, port I/O, fences and cache hints, and the unimplemented-instruction report.
import { describe, expect, it } from 'vitest';
import { decodeOne } from '../../src/cpu/decoder.js';
import { CR4_FSGSBASE, CR4_OSXSAVE, FS, GS } from '../../src/cpu/regs.js';
import { cpuidConfigs } from '../../src/cpu/system/msr.js';
import { DEFAULT_CPUID } from '../../src/cpu/system/cpuid.js';
import { unimplementedReport } from '../../src/cpu/system/report.js';
import { EXIT_IN_HANDLER, rec, result, trapGuest } from './guest.js';
import { reg, toolchainMissing } from './harness.js';

const missing = toolchainMissing();
const r = (vm: Parameters<typeof result>[0], n: number) => result(vm, n);

describe.skipIf(missing !== null)('syscall', () => {
  it('at CPL 0 with FMASK = 0 (OSv): RCX/R11 saved, RFLAGS kept, return with popfq; jmp *%rcx', () => {
    const { vm, g } = trapGuest(`
start:
  mov $0xc0000082, %ecx
  lea entry(%rip), %rax
  mov %rax, %rdx
  shr $32, %rdx
  wrmsr
  mov $0xc0000081, %ecx
  xor %eax, %eax
  mov $0x00100008, %edx
  wrmsr
  mov $0xc0000084, %ecx
  xor %eax, %eax
  xor %edx, %edx
  wrmsr
  sti
  stc
  syscall
back:
  RESULT 0, %rcx
  RESULT 1, %r11
  RESULT 2, %rbx
  pushfq
  pop %rax
  RESULT 3, %rax
  EXIT 0
entry:
  pushfq
  pop %rbx
  push %r11
  popfq
  jmp *%rcx
`);
    expect(vm.run(1000).exitCode).toBe(0);
    expect(Number(r(vm, 0))).toBe(g.sym.back);
    expect(Number(r(vm, 1)) & 0x201).toBe(0x201); // IF and CF as they were
    expect(Number(r(vm, 2)) & 0x201).toBe(0x201); // FMASK 0: nothing cleared in the kernel
    expect(Number(r(vm, 3)) & 0x201).toBe(0x201);
    expect(vm.cpu.cpl).toBe(0);
  });

  it('sysret to CPL 3 and syscall back; FMASK clears IF', () => {
    const { vm, g } = trapGuest(`
start:
  mov $0xc0000082, %ecx
  lea entry(%rip), %rax
  xor %edx, %edx
  wrmsr
  mov $0xc0000081, %ecx
  xor %eax, %eax
  mov $0x00180008, %edx
  wrmsr
  mov $0xc0000084, %ecx
  mov $0x200, %eax
  xor %edx, %edx
  wrmsr
  lea user(%rip), %rcx
  mov $0x3202, %r11
  sysretq
user:
  mov %cs, %ax
  RESULT 0, %rax
  syscall
after:
  EXIT 0
entry:
  mov %cs, %ax
  RESULT 1, %rax
  mov %ss, %ax
  RESULT 2, %rax
  RESULT 3, %rcx
  pushfq
  pop %rax
  RESULT 4, %rax
  EXIT 0
`);
    const dv = vm.mem.dv;
    for (const a of [0x10000, 0x11000]) dv.setUint32(a, dv.getUint32(a, true) | 4, true);
    for (let k = 0; k < 1024; k++) dv.setUint32(0x12000 + 8 * k, dv.getUint32(0x12000 + 8 * k, true) | 4, true);
    expect(vm.run(1000).exitCode).toBe(0);
    expect(r(vm, 0)).toBe(0x2bn); // STAR[63:48] + 16, RPL 3
    expect(r(vm, 1)).toBe(0x08n);
    expect(r(vm, 2)).toBe(0x10n);
    expect(Number(r(vm, 3))).toBe(g.sym.after);
    expect(Number(r(vm, 4)) & 0x200).toBe(0);
  });

  it('#UD when EFER.SCE is clear', () => {
    const { vm } = trapGuest('start:\n  syscall\n  EXIT 0\n');
    vm.cpu.efer &= ~1;
    expect(vm.run(100).exitCode).toBe(EXIT_IN_HANDLER);
    expect(rec(vm).vector).toBe(6);
  });
});

describe.skipIf(missing !== null)('segment bases and MSRs', () => {
  it('FS/GS base MSRs, fs: addressing, swapgs, KERNEL_GS_BASE, rd/wrfsbase', () => {
    const { vm } = trapGuest(`
start:
  mov $0xc0000100, %ecx
  mov $0x300000, %eax
  xor %edx, %edx
  wrmsr
  mov %fs:8, %rax
  RESULT 0, %rax
  mov $0xc0000101, %ecx
  mov $0x301000, %eax
  wrmsr
  mov $0xc0000102, %ecx
  mov $0x302000, %eax
  wrmsr
  mov %gs:0, %rax
  RESULT 1, %rax
  swapgs
  mov %gs:0, %rax
  RESULT 2, %rax
  mov $0xc0000102, %ecx
  rdmsr
  RESULT 3, %rax
  swapgs
  mov $0x7fff12345000, %rax
  wrfsbase %rax
  mov $0xc0000100, %ecx
  rdmsr
  shl $32, %rdx
  or %rdx, %rax
  RESULT 4, %rax
  mov $0x303000, %eax
  wrgsbase %rax
  rdgsbase %rbx
  RESULT 5, %rbx
  mov $0x10, %eax
  mov %eax, %fs
  rdfsbase %rax
  RESULT 6, %rax
  mov $0xc0000080, %ecx
  rdmsr
  RESULT 7, %rax
  EXIT 0
`);
    const dv = vm.mem.dv;
    dv.setUint32(0x300008, 0x1111, true);
    dv.setUint32(0x301000, 0x2222, true);
    dv.setUint32(0x302000, 0x3333, true);
    vm.cpu.cr4 |= CR4_FSGSBASE;
    expect(vm.run(1000).exitCode).toBe(0);
    expect([r(vm, 0), r(vm, 1), r(vm, 2), r(vm, 3)]).toEqual([0x1111n, 0x2222n, 0x3333n, 0x301000n]);
    expect(r(vm, 4)).toBe(0x7fff12345000n);
    expect(r(vm, 5)).toBe(0x303000n);
    expect(r(vm, 6)).toBe(0n); // loading FS in 64-bit mode takes the descriptor base
    expect(r(vm, 7)).toBe(0xd01n); // EFER: SCE LME LMA NXE
    expect(vm.cpu.segBase[GS]).toBe(0x303000);
    expect(vm.cpu.segBase[FS]).toBe(0);
  });

  it('wrfsbase is #UD without CR4.FSGSBASE; rdmsr of an unknown MSR is #GP(0)', () => {
    const { vm } = trapGuest(`
start:
  FAULT_VECTOR 0, wrfsbase %rax
  mov $0x12345, %ecx
  FAULT_VECTOR 1, rdmsr
  mov REC+16, %rax
  RESULT 2, %rax
  EXIT 0
`);
    expect(vm.run(1000).exitCode).toBe(0);
    expect([r(vm, 0), r(vm, 1), r(vm, 2)]).toEqual([6n, 13n, 0n]);
  });
});

describe.skipIf(missing !== null)('timestamps and randomness', () => {
  it('rdtsc is the virtual TSC from cpu.hooks.tsc() and increases; rdtscp also returns TSC_AUX', () => {
    const { vm } = trapGuest(`
start:
  mov $0xc0000103, %ecx
  mov $7, %eax
  xor %edx, %edx
  wrmsr
  rdtsc
  shl $32, %rdx
  or %rdx, %rax
  mov %rax, %rbx
  rdtsc
  shl $32, %rdx
  or %rdx, %rax
  sub %rbx, %rax
  RESULT 0, %rax
  rdtscp
  RESULT 1, %rcx
  shl $32, %rdx
  or %rdx, %rax
  RESULT 2, %rax
  EXIT 0
`);
    vm.cpu.hooks.tsc = () => 1e12 + vm.cpu.icount * 3;
    expect(vm.run(1000).exitCode).toBe(0);
    expect(r(vm, 0) > 0n).toBe(true);
    expect(r(vm, 1)).toBe(7n);
    expect(r(vm, 2) >= 1000000000000n).toBe(true);
  });

  it('rdrand/rdseed are deterministic and set CF', () => {
    const src = `
start:
  rdrand %rax
  setc %bl
  RESULT 0, %rax
  rdseed %ecx
  RESULT 1, %rcx
  movzbl %bl, %ebx
  RESULT 2, %rbx
  EXIT 0
`;
    const a = trapGuest(src).vm, b = trapGuest(src).vm;
    a.run(100);
    b.run(100);
    expect(r(a, 0)).toBe(r(b, 0));
    expect(r(a, 1)).toBe(r(b, 1));
    expect(r(a, 1) >> 32n).toBe(0n);
    expect(r(a, 2)).toBe(1n);
  });
});

describe.skipIf(missing !== null)('FPU/SSE state save and restore', () => {
  it('fxsave/fxrstor round-trips x87 and XMM state', () => {
    const { vm } = trapGuest(`
start:
  fninit
  fldpi
  fld1
  mov $0x1122334455667788, %rax
  movq %rax, %xmm3
  movq %rax, %xmm15
  fxsave64 0x300000
  fninit
  pxor %xmm3, %xmm3
  pxor %xmm15, %xmm15
  fxrstor64 0x300000
  fstpt 0x301000
  fstpt 0x301010
  movq %xmm3, %rax
  RESULT 0, %rax
  movq %xmm15, %rax
  RESULT 1, %rax
  EXIT 0
`);
    expect(vm.run(1000).exitCode).toBe(0);
    expect([r(vm, 0), r(vm, 1)]).toEqual([0x1122334455667788n, 0x1122334455667788n]);
    const u8 = vm.mem.u8;
    // 1.0 and pi as 80-bit values.
    expect(Array.from(u8.subarray(0x301000, 0x30100a))).toEqual([0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f]);
    expect(Array.from(u8.subarray(0x301010, 0x30101a))).toEqual([0x35, 0xc2, 0x68, 0x21, 0xa2, 0xda, 0x0f, 0xc9, 0x00, 0x40]);
    // The image: FCW 0x37f, MXCSR 0x1f80, xmm3 at 160 + 3*16.
    const dv = vm.mem.dv;
    expect(dv.getUint16(0x300000, true)).toBe(0x37f);
    expect(dv.getUint32(0x300018, true)).toBe(0x1f80);
    expect(dv.getBigUint64(0x300000 + 160 + 48, true)).toBe(0x1122334455667788n);
  });

  it('xsetbv/xgetbv and xsave/xrstor with XCR0 = x87|SSE; XSTATE_BV records the components', () => {
    const { vm } = trapGuest(`
start:
  mov %cr4, %rax
  or $0x40000, %rax
  mov %rax, %cr4
  xor %ecx, %ecx
  mov $3, %eax
  xor %edx, %edx
  xsetbv
  xgetbv
  RESULT 0, %rax
  mov $0x55aa55aa55aa55aa, %rax
  movq %rax, %xmm5
  mov $0x1234, %eax
  mov %eax, 0x302000
  ldmxcsr 0x302000
  mov $3, %eax
  xor %edx, %edx
  xsave 0x300000
  pxor %xmm5, %xmm5
  mov $0x1f80, %eax
  mov %eax, 0x302000
  ldmxcsr 0x302000
  mov $2, %eax
  xrstor 0x300000
  movq %xmm5, %rax
  RESULT 1, %rax
  stmxcsr 0x302000
  mov 0x302000, %eax
  RESULT 2, %rax
  mov 0x300200, %rax
  RESULT 3, %rax
  EXIT 0
`);
    cpuidConfigs.set(vm.cpu, { ...DEFAULT_CPUID, xsave: true });
    expect(vm.run(1000).exitCode).toBe(0);
    expect(r(vm, 0)).toBe(3n);
    expect(r(vm, 1)).toBe(0x55aa55aa55aa55aan);
    expect(r(vm, 2)).toBe(0x1234n);
    expect(r(vm, 3)).toBe(3n);
    expect(vm.cpu.cr4 & CR4_OSXSAVE).toBe(CR4_OSXSAVE);
  });

  it('xrstor checks header bytes 8..23 only: data in bytes 24..63 is accepted (OSv leaves some there)', () => {
    const { vm } = trapGuest(`
start:
  mov %cr4, %rax
  or $0x40000, %rax
  mov %rax, %cr4
  xor %ecx, %ecx
  mov $3, %eax
  xor %edx, %edx
  xsetbv
  xsave 0x300000
  movq $-1, 0x300220
  movq $-1, 0x300238
  movq $-1, REC+8
  mov $3, %eax
  FAULT_VECTOR 0, xrstor 0x300000
  movq $1, 0x300210
  mov $3, %eax
  FAULT_VECTOR 1, xrstor 0x300000
  EXIT 0
`);
    cpuidConfigs.set(vm.cpu, { ...DEFAULT_CPUID, xsave: true });
    expect(vm.run(1000).exitCode).toBe(0);
    expect([r(vm, 0), r(vm, 1)]).toEqual([0xffffffffffffffffn, 13n]);
  });

  it('xsave is #UD without CR4.OSXSAVE; fxsave to a misaligned address is #GP', () => {
    const { vm } = trapGuest(`
start:
  FAULT_VECTOR 0, xsave 0x300000
  FAULT_VECTOR 1, fxsave 0x300008
  EXIT 0
`);
    expect(vm.run(1000).exitCode).toBe(0);
    expect([r(vm, 0), r(vm, 1)]).toEqual([6n, 13n]);
  });
});

describe.skipIf(missing !== null)('control and descriptor-table registers', () => {
  it('mov to/from CR0/CR2/CR3/CR4/CR8 and DR0-DR7; sgdt/sidt/str reflect lgdt/lidt/ltr', () => {
    const { vm } = trapGuest(`
start:
  mov $0x123456789, %rax
  mov %rax, %cr2
  mov %cr2, %rbx
  RESULT 0, %rbx
  mov $0xdead0000beef, %rax
  mov %rax, %db3
  mov %db3, %rbx
  RESULT 1, %rbx
  mov %db6, %rax
  RESULT 8, %rax
  mov %db7, %rax
  RESULT 9, %rax
  mov $5, %eax
  mov %rax, %cr8
  mov %cr8, %rbx
  RESULT 2, %rbx
  sgdt 0x300000
  sidt 0x300010
  str %ax
  RESULT 3, %rax
  movw $0x27, 0x300020
  movq $0x1000, 0x300022
  lgdt 0x300020
  sgdt 0x300030
  mov 0x300030, %rax
  RESULT 4, %rax
  mov 0x300032, %rax
  RESULT 5, %rax
  mov %cr0, %rax
  RESULT 6, %rax
  mov %cr4, %rax
  RESULT 7, %rax
  EXIT 0
`);
    expect(vm.run(1000).exitCode).toBe(0);
    expect(r(vm, 0)).toBe(0x123456789n);
    expect(r(vm, 1)).toBe(0xdead0000beefn);
    expect(r(vm, 2)).toBe(5n);
    expect([r(vm, 8), r(vm, 9)]).toEqual([0xffff0ff0n, 0x400n]);
    expect(r(vm, 3) & 0xffffn).toBe(0x30n);
    expect(vm.mem.dv.getUint16(0x300000, true)).toBe(0x4f);
    expect(vm.mem.dv.getBigUint64(0x300002, true)).toBe(0x1000n);
    expect(vm.mem.dv.getUint16(0x300010, true)).toBe(0xfff);
    expect(r(vm, 4) & 0xffffn).toBe(0x27n);
    expect(r(vm, 5)).toBe(0x1000n);
    expect(r(vm, 6)).toBe(0x80010033n); // PG WP NE ET MP PE, as the harness set them
    expect(r(vm, 7) & 0x20n).toBe(0x20n);
  });

  it('ltr loads an available TSS and marks it busy; loading it again is #GP', () => {
    const { vm } = trapGuest(`
start:
  mov $0x30, %ax
  ltr %ax
  mov 0x1034, %eax
  RESULT 0, %rax
  mov $0x30, %ax
  FAULT_VECTOR 1, ltr %ax
  mov REC+16, %rax
  RESULT 2, %rax
  EXIT 0
`);
    vm.cpu.trBase = 0; // ltr must set it
    expect(vm.run(1000).exitCode).toBe(0);
    expect((Number(r(vm, 0)) >> 8) & 0xf).toBe(0xb); // busy 64-bit TSS
    expect([r(vm, 1), r(vm, 2)]).toEqual([13n, 0x30n]);
    expect(vm.cpu.trBase).toBe(0x3000);
  });

  it('mov to CR0 clearing PE in long mode, and CR4.PAE off in long mode, are #GP(0)', () => {
    const { vm } = trapGuest(`
start:
  mov %cr0, %rax
  and $~1, %rax
  FAULT_VECTOR 0, mov %rax, %cr0
  mov %cr4, %rax
  and $~0x20, %rax
  FAULT_VECTOR 1, mov %rax, %cr4
  EXIT 0
`);
    expect(vm.run(1000).exitCode).toBe(0);
    expect([r(vm, 0), r(vm, 1)]).toEqual([13n, 13n]);
  });
});

describe.skipIf(missing !== null)('port I/O, hints and the unimplemented report', () => {
  it('in/out/ins/outs reach cpu.hooks; fences, clflush, wbinvd, pause, invlpg run', () => {
    const { vm } = trapGuest(`
start:
  mov $0x71, %al
  out %al, $0x80
  mov $0x1f0, %dx
  mov $0xbeef, %ax
  out %ax, %dx
  in $0x60, %al
  RESULT 0, %rax
  in %dx, %eax
  RESULT 1, %rax
  mov $0x300000, %rsi
  mov $3, %rcx
  rep outsb
  mov $0x301000, %rdi
  mov $2, %rcx
  rep insw
  mfence
  lfence
  sfence
  clflush 0x300000
  wbinvd
  pause
  invlpg 0x300000
  EXIT 0
`);
    const writes: [number, number, number][] = [];
    const h = vm.cpu.hooks;
    const ioWrite = h.ioWrite;
    h.ioWrite = (p, s, v) => { writes.push([p, s, v]); ioWrite(p, s, v); };
    h.ioRead = (p, s) => (p === 0x60 ? 0x5a : s === 4 ? 0x11223344 : 0x6677);
    vm.mem.u8.set([1, 2, 3], 0x300000);
    expect(vm.run(1000).exitCode).toBe(0);
    expect(writes.slice(0, 5)).toEqual([[0x80, 1, 0x71], [0x1f0, 2, 0xbeef], [0x1f0, 1, 1], [0x1f0, 1, 2], [0x1f0, 1, 3]]);
    expect(r(vm, 0) & 0xffn).toBe(0x5an);
    expect(r(vm, 1)).toBe(0x11223344n);
    expect(vm.mem.dv.getUint32(0x301000, true)).toBe(0x66776677);
    expect(reg(vm.cpu, 1)).toBe(0n);
  });

  it('an unimplemented instruction stops the run with a one-line report naming RIP and its bytes', () => {
    // Valid encodings osvemu may not implement (yet): the first one the decoder leaves unimplemented.
    const candidates = [[0x66, 0x0f, 0x38, 0xdc, 0xc1], [0x66, 0x0f, 0x3a, 0x44, 0xc1, 0x00], [0x0f, 0x01, 0xcf],
      [0x66, 0x0f, 0x38, 0xcf, 0xc1], [0x0f, 0x37]];
    const code = candidates.find((b) => !decodeOne(Uint8Array.from([...b, 0, 0, 0, 0]), 0, 64).implemented);
    if (!code) return; // everything implemented: nothing to report
    const bytes = code.map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const { vm, g } = trapGuest(`
start:
  nop
here:
  .byte ${code.join(', ')}
  EXIT 0
`);
    const res = vm.run(100);
    expect(res.kind).toBe('error');
    expect(res.message).toBe(`vCPU 0: unimplemented instruction at rip=0x${g.sym.here!.toString(16)} (64-bit mode, cpl 0), bytes: ${bytes}`);
    expect(vm.cpu.rip).toBe(g.sym.here);
    expect(unimplementedReport(vm.cpu)).toContain(`bytes: ${bytes}`);
  });

  it('a jump into non-RAM memory stops with a one-line report too', () => {
    const { vm } = trapGuest(`
start:
  mov $0x40000000, %rax
  jmp *%rax
`);
    vm.mem.dv.setUint32(0x11000 + 8, 0xc0000000 | 0x83, true); // 1-2 GiB -> physical 3 GiB: no RAM there
    const res = vm.run(100);
    expect(res.kind).toBe('error');
    expect(res.message).toBe('vCPU 0: unimplemented: instruction fetch from non-RAM physical address 0xc0000000 at ' +
      'rip=0x40000000 (64-bit mode, cpl 0), bytes: (unreadable)');
  });
});
