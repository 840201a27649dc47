// Paging: #PF error codes and CR2, WP, NX, reserved bits, U/S, accessed/dirty write-back, the software
// TLB against invlpg and CR3 switches (4 KiB and 2 MiB pages), self- and cross-modifying code.
import { describe, expect, it } from 'vitest';
import { EXIT_IN_HANDLER, R, rec, result, saveMacro, trapGuest } from './guest.js';
import { PD, PDPT, pdeOf, PML4, pteOf, toolchainMissing } from './harness.js';

const missing = toolchainMissing();

/** Stores vector, error code and CR2 of the last fault in result slots 3n..3n+2 and clears the vector. */
const SAVE = saveMacro(R.cr2, true);

function saved(vm: Parameters<typeof result>[0], n: number): [number, number, number] {
  return [Number(result(vm, 3 * n)), Number(result(vm, 3 * n + 1)), Number(result(vm, 3 * n + 2))];
}

describe.skipIf(missing !== null)('page faults', () => {
  it('report the right error code, CR2 and faulting RIP', () => {
    const { vm, g } = trapGuest(`${SAVE}
start:
  movq $-1, REC+8
  EXPECT_FAULT mov 0x150010, %rax
  SAVE 0
  EXPECT_FAULT movl $1, 0x150020
  SAVE 1
  EXPECT_FAULT movl $1, 0x151008
  SAVE 2
  mov %cr0, %rbx
  and $~0x10000, %rbx
  mov %rbx, %cr0
  movl $0x5a, 0x151008
  SAVE 3
  or $0x10000, %rbx
  mov %rbx, %cr0
  lea 9f(%rip), %r11
  mov %r11, REC+80
  mov $0x152000, %rbx
  call *%rbx
9:
  SAVE 4
  EXPECT_FAULT mov 0x153000, %rax
  SAVE 5
  mov $0x800000000000, %rbx
  EXPECT_FAULT mov (%rbx), %rax
  SAVE 6
  mov 0x154000, %rax
  movl $7, 0x155000
  EXIT 0
`);
    const dv = vm.mem.dv;
    dv.setUint32(pteOf(0x150000), 0, true);
    dv.setUint32(pteOf(0x151000), 0x151000 | 1, true); // present, read-only
    dv.setUint32(pteOf(0x152000), 0x152000 | 3, true);
    dv.setUint32(pteOf(0x152000) + 4, 0x80000000, true); // NX
    vm.mem.u8[0x152000] = 0xc3; // ret: would run without NX
    dv.setUint32(pteOf(0x153000) + 4, 1 << 19, true); // bit 51: reserved (MAXPHYADDR 39)
    const r = vm.run(10_000);
    expect(r.kind).toBe('exit');
    expect(r.exitCode).toBe(0);
    expect(saved(vm, 0)).toEqual([14, 0, 0x150010]); // read, not present
    expect(saved(vm, 1)).toEqual([14, 2, 0x150020]); // write, not present
    expect(saved(vm, 2)).toEqual([14, 3, 0x151008]); // write to read-only with CR0.WP
    expect(saved(vm, 3)[0]).toBe(2 ** 64 - 1); // no fault with WP clear (vector left at -1)
    expect(vm.mem.u8[0x151008]).toBe(0x5a);
    expect(saved(vm, 4)).toEqual([14, 0x11, 0x152000]); // instruction fetch from an NX page
    expect(saved(vm, 5)).toEqual([14, 9, 0x153000]); // reserved bit set
    expect(saved(vm, 6).slice(0, 2)).toEqual([13, 0]); // non-canonical: #GP(0)
    // Accessed and dirty bits are written back to the PTEs.
    expect(dv.getUint32(pteOf(0x154000), true) & 0x60).toBe(0x20);
    expect(dv.getUint32(pteOf(0x155000), true) & 0x60).toBe(0x60);
    // Upper levels get A, never D.
    expect(dv.getUint32(PML4, true) & 0x60).toBe(0x20);
    expect(dv.getUint32(PD, true) & 0x60).toBe(0x20);
    void g;
  });

  it('stops in the handler with the faulting RIP in the frame', () => {
    const { vm, g } = trapGuest(`
start:
  nop
fault:
  mov 0x150010, %rax
  EXIT 0
`);
    vm.mem.dv.setUint32(pteOf(0x150000), 0, true);
    const r = vm.run(1000);
    expect(r.exitCode).toBe(EXIT_IN_HANDLER);
    const f = rec(vm);
    expect(f).toMatchObject({ count: 1, vector: 14, error: 0, rip: g.sym.fault, cs: 8, cr2: 0x150010 });
    expect(vm.cpu.cr2).toBe(0x150010);
  });

  it('from CPL 3: U bit in the error code, supervisor pages refused, user pages allowed', () => {
    const { vm, g } = trapGuest(`${SAVE}
start:
  movq $-1, REC+8
  pushq $0x23
  pushq $0x60000
  pushq $0x3002
  pushq $0x2b
  lea user(%rip), %rax
  push %rax
  iretq
user:
  mov 0x156000, %rax
  mov %rax, %rbx
  EXPECT_FAULT mov 0x157000, %rax
  EXPECT_FAULT movl $1, 0x158000
  mov $0, %al
  out %al, $0xf4
`);
    const dv = vm.mem.dv;
    // Everything user-accessible except 0x157000 (supervisor) and 0x158000 (user, read-only).
    for (const a of [PML4, PDPT, PD]) dv.setUint32(a, dv.getUint32(a, true) | 4, true);
    for (let k = 0; k < 512; k++) dv.setUint32(pteOf(k * 0x1000), dv.getUint32(pteOf(k * 0x1000), true) | 4, true);
    for (let k = 1; k < 512; k++) dv.setUint32(pdeOf(k * 0x200000), dv.getUint32(pdeOf(k * 0x200000), true) | 4, true);
    dv.setUint32(pteOf(0x157000), 0x157000 | 3, true);
    dv.setUint32(pteOf(0x158000), 0x158000 | 5, true);
    vm.mem.u8[0x156000] = 0x77;
    // The user code writes REC (no problem: all pages user) and traps arrive on RSP0.
    const r = vm.run(10_000);
    expect(r.kind).toBe('exit');
    expect(vm.cpu.cpl).toBe(3);
    expect(Number(vm.cpu.r32[6])).toBe(0x77); // rbx: user read of a user page
    const f = rec(vm);
    expect(f.count).toBe(2);
    expect(f.vector).toBe(14);
    expect(f.error).toBe(7); // P | W | U (the read-only user page)
    expect(f.cs).toBe(0x2b);
    expect(f.ss).toBe(0x23);
    expect(f.rsp).toBe(0x60000);
    expect(f.frame).toBe(0x70000 - 40); // CPL 3 -> 0 switches to TSS.RSP0
    void g;
  });
});

describe.skipIf(missing !== null)('software TLB', () => {
  it('keeps a stale translation until invlpg (4 KiB page)', () => {
    const { vm } = trapGuest(`
start:
  movzbl 0x156123, %eax
  RESULT 0, %rax
  movq $0x161003, ${pteOf(0x156000)}
  movzbl 0x156123, %eax
  RESULT 1, %rax
  invlpg 0x156000
  movzbl 0x156123, %eax
  RESULT 2, %rax
  EXIT 0
`);
    vm.mem.dv.setUint32(pteOf(0x156000), 0x160003, true);
    vm.mem.u8[0x160123] = 0x11;
    vm.mem.u8[0x161123] = 0x22;
    expect(vm.run(1000).exitCode).toBe(0);
    expect([result(vm, 0), result(vm, 1), result(vm, 2)]).toEqual([0x11n, 0x11n, 0x22n]);
  });

  it('invlpg of a 2 MiB page drops every 4 KiB slice of it', () => {
    const { vm } = trapGuest(`
start:
  movzbl 0x401000, %eax
  RESULT 0, %rax
  movzbl 0x400000, %eax
  movzbl 0x5ff000, %eax
  movq $0xa00083, ${pdeOf(0x400000)}
  invlpg 0x400000
  movzbl 0x401000, %eax
  RESULT 1, %rax
  movzbl 0x5ff000, %eax
  RESULT 2, %rax
  EXIT 0
`, { ramMiB: 16 });
    vm.mem.u8[0x401000] = 0x33;
    vm.mem.u8[0xa01000] = 0x44;
    vm.mem.u8[0xbff000] = 0x55;
    expect(vm.run(1000).exitCode).toBe(0);
    expect([result(vm, 0), result(vm, 1), result(vm, 2)]).toEqual([0x33n, 0x44n, 0x55n]);
  });

  it('mov to CR3 switches address spaces and flushes', () => {
    const { vm } = trapGuest(`
start:
  mov 0x600010, %rax
  RESULT 0, %rax
  mov %cr3, %rbx
  mov $0x20000, %rax
  mov %rax, %cr3
  mov 0x600010, %rax
  RESULT 1, %rax
  mov %rbx, %cr3
  mov 0x600010, %rax
  RESULT 2, %rax
  mov %rbx, %cr3
  EXIT 0
`, { ramMiB: 16 });
    const dv = vm.mem.dv, u8 = vm.mem.u8;
    // A second hierarchy: same as the first except that 0x600000 maps to physical 0x800000.
    u8.copyWithin(0x20000, PML4, PML4 + 4096);
    u8.copyWithin(0x21000, PDPT, PDPT + 4096);
    u8.copyWithin(0x22000, PD, PD + 4096);
    dv.setUint32(0x20000, 0x21000 | 7, true);
    dv.setUint32(0x21000, 0x22000 | 7, true);
    dv.setUint32(0x22000 + 8 * 3, 0x800000 | 0x83, true);
    dv.setUint32(0x600010, 0xaaaa, true);
    dv.setUint32(0x800010, 0xbbbb, true);
    expect(vm.run(1000).exitCode).toBe(0);
    expect([result(vm, 0), result(vm, 1), result(vm, 2)]).toEqual([0xaaaan, 0xbbbbn, 0xaaaan]);
  });
});

describe.skipIf(missing !== null)('self- and cross-modifying code', () => {
  it('a store into the next instruction of the same trace takes effect', () => {
    const { vm } = trapGuest(`
start:
  movb $2, patch+1(%rip)
patch:
  mov $1, %al
  movzbl %al, %eax
  RESULT 0, %rax
  EXIT 0
`);
    expect(vm.run(1000).exitCode).toBe(0);
    expect(result(vm, 0)).toBe(2n);
  });

  it('repeated patching of code that runs in between (write shortcuts dropped when a page is code again)', () => {
    const { vm } = trapGuest(`
start:
  xor %ecx, %ecx
  xor %edx, %edx
1:
  mov %cl, fn+1(%rip)
  call fn
  movzbl %al, %eax
  add %rax, %rdx
  inc %ecx
  cmp $10, %ecx
  jne 1b
  RESULT 0, %rdx
  EXIT 0
fn:
  mov $0xee, %al
  ret
`);
    expect(vm.run(10_000).exitCode).toBe(0);
    expect(result(vm, 0)).toBe(45n);
  });

  it('cross-modifying code: a patch by vCPU 0 reaches vCPU 1 running the code in between', () => {
    const { vm, g } = trapGuest(`
start:
  movb $0x41, fn+1(%rip)
  mov $20000, %ecx
1:
  pause
  dec %ecx
  jnz 1b
  movb $0x42, fn+1(%rip)
2:
  cmpb $0x42, REC+0x100
  jne 2b
  EXIT 0
ap:
  call fn
  mov %al, REC+0x100
  cmp $0x42, %al
  jne ap
  hlt
.balign 64
fn:
  mov $0x40, %al
  ret
`, { cpus: 2 });
    const ap = vm.cpus[1]!;
    ap.rip = g.sym.ap!;
    ap.halted = false;
    const r = vm.run(2_000_000, 5000);
    expect(r.kind).toBe('exit');
    expect(ap.halted).toBe(true);
  });

  it('a write through another linear alias of the code page drops the decode', () => {
    const { vm, g } = trapGuest(`
start:
  call fn
  movzbl %al, %eax
  RESULT 0, %rax
  mov $fn, %rbx
  and $0xfff, %rbx
  movb $0x42, 0x157001(%rbx)
  call fn
  movzbl %al, %eax
  RESULT 1, %rax
  EXIT 0
.balign 64
fn:
  mov $0x41, %al
  ret
`);
    // 0x157000 is an alias of fn's page.
    vm.mem.dv.setUint32(pteOf(0x157000), (g.sym.fn! & ~0xfff) | 3, true);
    expect(vm.run(1000).exitCode).toBe(0);
    expect([result(vm, 0), result(vm, 1)]).toEqual([0x41n, 0x42n]);
  });
});

describe.skipIf(missing !== null)('1 GiB pages', () => {
  it('translate through a PDPT entry with PS, and invlpg anywhere in it drops the cached slices', () => {
    const { vm } = trapGuest(`
start:
  mov 0x40300000, %rax
  RESULT 0, %rax
  movq $0, ${PDPT + 8}
  invlpg 0x40005000
  FAULT_VECTOR 1, mov 0x40300000, %rax
  mov REC+64, %rax
  RESULT 2, %rax
  EXIT 0
`);
    vm.mem.dv.setUint32(PDPT + 8, 0x83, true); // 1-2 GiB -> physical 0
    vm.mem.dv.setUint32(0x300000, 0xfeed, true);
    expect(vm.run(1000).exitCode).toBe(0);
    expect([result(vm, 0), result(vm, 1), result(vm, 2)]).toEqual([0xfeedn, 14n, 0x40300000n]);
  });
});
