// Loops whose only trace boundary carries the counter's flags (loop-skip.ts). A one-trace loop that ends in
// `sub $1,%rax; jne head` reaches its head with flags computed from the counter at every iteration, so there is
// no boundary where the skipper could jump and leave exactly the flags a real run leaves there.
//
// It can still jump when those flags are dead at the head: walking the body from the head, the first
// instruction touching the arithmetic flags writes all of them from its operands alone (an ALU operation other
// than adc/sbb), before anything reads them. The skipper then jumps one iteration short and runs the last one
// for real: its flag writer replaces every lazy-flag slot the body writes with what an unskipped run has there,
// and the slots it never writes hold what they held before the loop either way. Nothing can observe the stale
// flags in between: within a quantum only this vCPU runs, and interrupts and device events come between quanta.
import type { Insn } from './insn.js';

const OP_ADC = 2, OP_SBB = 3;

/** Forms that neither read nor write the arithmetic flags. */
const FLAGLESS = new Set<string>([
  'nop', 'jmp', 'movRmR', 'movRRm', 'movRmI', 'lea', 'movzxB', 'movzxW', 'movsxB', 'movsxW', 'movsxd',
  'push', 'pop', 'call', 'ret', 'jmpInd', 'callInd', 'mmxFromGpr', 'mmxOp', 'emms',
]);

/** True when, from the start of `insns` (the body from its head, in path order), the flags are written before any read. */
export function flagsDeadAtHead(insns: Iterable<{ i: Insn; form: string }>): boolean {
  for (const { i, form } of insns) {
    if (FLAGLESS.has(form)) continue;
    return (form === 'aluRmR' || form === 'aluRRm' || form === 'aluRmI') && i.op !== OP_ADC && i.op !== OP_SBB;
  }
  return false;
}
