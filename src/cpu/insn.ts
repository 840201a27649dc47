// A pre-decoded instruction. Every instance has the same shape (all fields set in the constructor) so
// handlers see monomorphic objects; the handler is chosen at decode time for the operand size and form.
import type { Cpu } from './cpu.js';

export type Handler = (cpu: Cpu, i: Insn) => void;

// Effective-address kinds: a const enum so that hot code compares with literals (see flags.ts Lf); the EA_*
// names are for everything else.
export const enum Ea {
  NONE = 0,
  /** 64-bit addressing: base + index*scale + disp (+ FS/GS base). */
  B64 = 1,
  /** RIP-relative: next RIP + disp. */
  RIP = 2,
  /** 32-bit address size in long mode: zero-extended 32-bit offset + segment base. */
  B32L = 3,
  /** 32-bit address size in legacy modes: (offset + segment base) mod 2^32. */
  B32 = 4,
  /** 16-bit addressing (real mode, 16-bit code). */
  B16 = 5,
}
export const EA_NONE = Ea.NONE, EA_64 = Ea.B64, EA_RIP = Ea.RIP, EA_32L = Ea.B32L, EA_32 = Ea.B32, EA_16 = Ea.B16;

export class Insn {
  h: Handler;
  /** Length in bytes. */
  len = 0;
  /** Offset of the instruction's end from the start of its trace (set by Trace). */
  end = 0;
  /** Index in its trace (set by Trace). */
  idx = 0;
  /**
   * The handler reads RIP (control transfers, RIP-relative operands, x87's FIP, reports): the run loop sets
   * cpu.rip to the next instruction's address before calling it. Other handlers see an unspecified RIP, so
   * the loop stores RIP once per trace instead of once per instruction (a fault still settles it exactly).
   */
  sync = false;
  /**
   * The next instruction of its trace (null: the last). The run loop walks these rather than the trace's array:
   * on a boot's thousands of short traces that array is one more cache miss per trace.
   */
  next: Insn | null = null;
  /** Sub-operation selector (ALU kind, condition code, shift kind...). */
  op = 0;
  /** Operand size in bits (8, 16, 32, 64). */
  size = 32;
  /** ModRM.reg register (with REX.R), or the opcode-embedded register; a byte offset into r8 for 8-bit operands. */
  reg = 0;
  /** ModRM.rm register when the operand is a register; a byte offset into r8 for 8-bit operands. */
  rm = 0;
  /** True when the ModRM r/m operand is memory. */
  mem = false;
  eaKind = EA_NONE;
  /** Base register or -1. */
  base = -1;
  /** Index register or -1. */
  index = -1;
  /** Index multiplier: 1, 2, 4 or 8. */
  scale = 1;
  disp = 0;
  /** Segment register used by the memory operand. */
  seg = 3;
  imm = 0;
  /** High half of a 64-bit immediate (movabs), or the sign extension of imm. */
  immHi = 0;
  /** Second immediate (enter's nesting level, far pointer selector). */
  imm2 = 0;
  /** Ends the trace: control transfer, mode or interrupt-state change. */
  ends = false;
  /** Address size in bits, for string instructions and jrcxz/loop. */
  asize = 64;
  /** Repeat prefix: 0, 0xF2 (repne) or 0xF3 (rep/repe). */
  rep = 0;
  /** Code-size mode the instruction was decoded in. */
  mode = 64;

  constructor(h: Handler) {
    this.h = h;
  }
}
