// Decode-time helpers shared by the SSE opcode modules: picking a handler by mandatory prefix and form.
import type { Decoder } from '../decoder.js';
import type { Handler, Insn } from '../insn.js';
import { opUD, opUnimplemented } from '../ops/invalid.js';

export type H = Handler | null;

/** Reads ModRM and picks the handler for the mandatory prefix (none, 66, F3, F2); null means #UD. */
export function bySsePrefix(d: Decoder, i: Insn, none: H, p66: H, f3: H, f2: H): void {
  d.modrm(i);
  pick(d, i, none, p66, f3, f2);
}

export function pick(d: Decoder, i: Insn, none: H, p66: H, f3: H, f2: H): void {
  const m = d.mandatory;
  let h = m === 0x66 ? p66 : m === 0xF3 ? f3 : m === 0xF2 ? f2 : none;
  if (h === MMX) h = MMX_0F[d.opcode] ?? opUnimplemented;
  else if (h === MMX38) h = MMX_0F38[d.opcode] ?? opUnimplemented;
  else if (h === MMX3A) h = MMX_0F3A[d.opcode] ?? opUnimplemented;
  i.h = h ?? opUD;
}

/** The form is defined only with a memory operand (the register form is another instruction or #UD). */
export function memOnly(i: Insn): void { if (!i.mem) i.h = opUD; }
export function regOnly(i: Insn): void { if (i.mem) i.h = opUD; }

/**
 * Markers for the MMX (no-prefix) form of an 0F / 0F 38 / 0F 3A opcode: pick() replaces them with the MMX
 * handler that ops-mmx.ts registered for the opcode, or "unimplemented" (a valid encoding osvemu lacks).
 */
export const MMX: Handler = (cpu, i) => opUnimplemented(cpu, i);
export const MMX38: Handler = (cpu, i) => opUnimplemented(cpu, i);
export const MMX3A: Handler = (cpu, i) => opUnimplemented(cpu, i);
export const MMX_0F: (Handler | undefined)[] = new Array(256);
export const MMX_0F38: (Handler | undefined)[] = new Array(256);
export const MMX_0F3A: (Handler | undefined)[] = new Array(256);
