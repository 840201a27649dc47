// Handlers for encodings that must fault when (and only when) executed.
import type { Cpu } from '../cpu.js';
import { raiseUD, Unimplemented } from '../exceptions.js';
import type { Insn } from '../insn.js';

export function opUD(cpu: Cpu, _i: Insn): void {
  raiseUD(cpu);
}

/** A valid encoding osvemu does not implement: stop the machine with a report rather than fake a #UD. */
export function opUnimplemented(cpu: Cpu, i: Insn): void {
  throw new Unimplemented(`unimplemented instruction at rip=0x${(cpu.rip - i.len).toString(16)} (${i.len} bytes)`);
}
