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
  const h = m === 0x66 ? p66 : m === 0xF3 ? f3 : m === 0xF2 ? f2 : none;
  i.h = h ?? opUD;
}

/** The form is defined only with a memory operand (the register form is another instruction or #UD). */
export function memOnly(i: Insn): void { if (!i.mem) i.h = opUD; }
export function regOnly(i: Insn): void { if (i.mem) i.h = opUD; }

/** MMX (no-prefix integer) forms are valid encodings osvemu does not implement. */
export const MMX: Handler = opUnimplemented;
