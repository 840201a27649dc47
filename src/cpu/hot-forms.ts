// Form ids of the commonest instruction forms of an OSv boot (the tests-ramfs boot's dynamic histogram: mov
// between registers and memory, push/pop, call/ret, jcc, add/sub/cmp/test, lea, movzx...). The run loop
// (exec.ts) executes these inline from a switch over Insn.f instead of calling the handler: the indirect
// call is a third of an interpreted instruction's cost. Each inline case does exactly what the handler it
// stands for does; everything else (and the debugger's loop, single steps, compiled blocks) calls i.h.
import type { Handler, Insn } from './insn.js';

export const enum Form {
  NONE = 0,
  // ---- register forms ----
  MOV64_RR, MOV32_RR, MOV64_RI, MOV32_RI,
  PUSH64, POP64, CALL64, RET64,
  JE, JNE, JCC64, JMP64,
  ADD64_RI, SUB64_RI, CMP64_RI, AND64_RI,
  ADD64_RR, SUB64_RR, CMP64_RR, TEST64_RR,
  ADD32_RR, SUB32_RR, CMP32_RR, TEST32_RR, XOR32_RR,
  ADD32_RI, SUB32_RI, CMP32_RI, AND32_RI,
  NOP,
  AND64_RR, OR64_RR, XOR64_RR, INC64, DEC64, INC32, DEC32,
  // ---- forms with a memory operand: the run loop computes its linear address before the switch ----
  MEM = 64,
  LOAD64 = MEM, STORE64, LOAD32, STORE32, STORE8, LOAD8ZX, LOAD8SX32, STORE_I64, STORE_I32, CMP32_MI,
}

/** Picks the form of a decoded instruction whose handler is known (0: call the handler). */
export type FormPick = (i: Insn) => number;

const forms = new Map<Handler, FormPick>();

/** Registers the form(s) a handler's instructions run as inline (ops modules call this next to their decoders). */
export function defForm(h: Handler, pick: FormPick): void {
  forms.set(h, pick);
}

/** The form of decoded instruction `i` (its handler, size and operand kinds are final). */
export function formOf(i: Insn): number {
  const pick = forms.get(i.h);
  return pick === undefined ? Form.NONE : pick(i);
}
