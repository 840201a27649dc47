// Extension points for opcode groups that several modules share: F6/F7 /4-/7 (mul, imul, div, idiv) and
// FF /3 /5 (far call/jmp). The owning modules fill these in when they load.
import type { DecodeFn } from '../optable.js';

export const GROUP3_EXT: { muldiv: DecodeFn | null; farFF: DecodeFn | null } = { muldiv: null, farFF: null };
