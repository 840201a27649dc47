// Tiny inline long-mode guests: a prelude with one IDT stub per vector that records what the CPU
// delivered (vector, error code, frame, CR2, where the frame was) at REC, then either resumes at the
// address the body armed (EXPECT_FAULT), returns (after RETURN_FROM_TRAPS), or stops the machine with
// exit code 0x7f.
import { assembleGuest, DATA, GateOpts, Guest, longModeVm, setGate, Vm } from './harness.js';

export const REC = DATA;
/** Offsets in the record. */
export const R = {
  count: 0, vector: 8, error: 16, rip: 24, cs: 32, rflags: 40, rsp: 48, ss: 56, cr2: 64,
  /** Address of the frame's RIP slot: shows which stack (IST, RSP0, current) the CPU used. */
  frame: 72, resume: 80,
  /** RFLAGS inside the handler (IF shows interrupt vs trap gate). */
  handlerFlags: 88,
  /** Free slots for the guest body's own results. */
  out: 0x100,
} as const;
export const EXIT_IN_HANDLER = 0x7f;

const PRELUDE = `
.set REC, 0x${REC.toString(16)}
.macro EXIT code=0
  mov $\\code, %al
  out %al, $0xf4
  hlt
.endm
/* Arms the trap stubs to resume after \\insn when it faults. */
.macro EXPECT_FAULT insn:vararg
  lea 9f(%rip), %r11
  mov %r11, REC+80
  \\insn
9:
.endm
/* Like EXPECT_FAULT, with \\label on the faulting instruction. */
.macro FAULT_AT label, insn:vararg
  lea 9f(%rip), %r11
  mov %r11, REC+80
\\label:
  \\insn
9:
.endm
/* EXPECT_FAULT, then the vector delivered into result slot n (clobbers RAX). */
.macro FAULT_VECTOR n, insn:vararg
  EXPECT_FAULT \\insn
  mov REC+8, %rax
  RESULT \\n, %rax
.endm
/* From now on handlers return to the interrupted code (iretq) instead of stopping. */
.macro RETURN_FROM_TRAPS
  movq $1, REC+80
.endm
/* Stores a register in result slot n (REC + 0x100 + 8n). */
.macro RESULT n, reg
  mov \\reg, REC+0x100+8*\\n
.endm
.balign 16
trap_stubs:
.set vec, 0
.rept 256
  .balign 16
  .if (vec == 8) || (vec >= 10 && vec <= 14) || (vec == 17)
  .else
  pushq $0
  .endif
  pushq $vec
  jmp trap_common
  .set vec, vec + 1
.endr
trap_common:
  push %rax
  incq REC
  /* vector, error code, then the frame (RIP, CS, RFLAGS, RSP, SS) as pushed. */
  .irp off, 8, 16, 24, 32, 40, 48, 56
  mov \\off(%rsp), %rax
  mov %rax, REC+\\off
  .endr
  mov %cr2, %rax
  mov %rax, REC+64
  lea 24(%rsp), %rax
  mov %rax, REC+72
  pushfq
  pop %rax
  mov %rax, REC+88
  mov REC+80, %rax
  test %rax, %rax
  jz 1f
  cmp $1, %rax
  je 2f
  mov %rax, 24(%rsp)
  movq $0, REC+80
2:
  pop %rax
  add $16, %rsp
  iretq
1:
  EXIT ${EXIT_IN_HANDLER}
`;

export interface TrapGuestOpts {
  /** Per-vector gate options (IST, trap gate, DPL, not present). */
  gates?: Record<number, GateOpts>;
  ramMiB?: number;
  cpus?: number;
}

export interface TrapGuest { vm: Vm; g: Guest; }

/** Assembles the prelude + `body` (which must define `start:`) and sets up a long-mode machine. */
export function trapGuest(body: string, o: TrapGuestOpts = {}): TrapGuest {
  const g = assembleGuest(`${PRELUDE}\n${body}`);
  const vm = longModeVm(g, o.ramMiB ?? 8, o.cpus ?? 1);
  for (let v = 0; v < 256; v++) setGate(vm.mem, v, g.sym.trap_stubs! + 16 * v, o.gates?.[v] ?? {});
  return { vm, g };
}

export interface Record_ {
  count: number; vector: number; error: number; rip: number; cs: number; rflags: number; rsp: number; ss: number;
  cr2: number; frame: number; handlerFlags: number;
}

export function rec(vm: Vm): Record_ {
  const q = (off: number) => Number(vm.mem.dv.getBigUint64(REC + off, true));
  return {
    count: q(R.count), vector: q(R.vector), error: q(R.error), rip: q(R.rip), cs: q(R.cs), rflags: q(R.rflags),
    rsp: q(R.rsp), ss: q(R.ss), cr2: q(R.cr2), frame: q(R.frame), handlerFlags: q(R.handlerFlags),
  };
}

/** Result slot n written by the RESULT macro. */
export function result(vm: Vm, n: number): bigint {
  return vm.mem.dv.getBigUint64(REC + R.out + 8 * n, true);
}

/**
 * Source of a `SAVE n` macro for a test body: copies the last record's vector, error code and the field at
 * `third` (an R offset) to result slots 3n..3n+2; with `clearVector` the recorded vector is then set to -1,
 * so that an expected fault which does not come shows as -1 in the next SAVE.
 */
export function saveMacro(third: number, clearVector = false): string {
  return `
.macro SAVE n
  mov REC+${R.vector}, %rax
  mov %rax, REC+0x100+24*\\n
  mov REC+${R.error}, %rax
  mov %rax, REC+0x108+24*\\n
  mov REC+${third}, %rax
  mov %rax, REC+0x110+24*\\n
${clearVector ? `  movq $-1, REC+${R.vector}\n` : ''}.endm
`;
}
