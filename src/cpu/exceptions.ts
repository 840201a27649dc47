// CPU exceptions travel as a thrown sentinel: handlers never check return codes, and the run loop
// (which catches it) rewinds RIP to the faulting instruction and delivers the vector.
import { VEC_GP, VEC_PF, VEC_UD } from './regs.js';

/** Where a raised exception is recorded before the sentinel is thrown. */
export interface FaultState {
  excVector: number;
  /** Error code, or -1 when the vector pushes none. */
  excError: number;
  /** Faulting linear address (CR2) for #PF. */
  excAddr: number;
}

/** The one object thrown for every guest exception; it carries nothing (the state is on the vCPU). */
export const CPU_FAULT = Object.freeze({ cpuFault: true });

/** Thrown for traps (int3, int n, into): the run loop does not rewind RIP, which already points past them. */
export const CPU_TRAP = Object.freeze({ cpuTrap: true });

/** Raises a trap-class exception or software interrupt: RIP stays after the instruction. */
export function raiseTrap(s: FaultState, vector: number): never {
  s.excVector = vector;
  s.excError = -1;
  s.excAddr = 0;
  throw CPU_TRAP;
}

/** excError of a software interrupt (int n, int3, into): no error code, and the gate's DPL is checked. */
export const EXC_SOFT_INT = -2;

/** Raises a software interrupt: like a trap, but delivery checks the gate DPL against CPL. */
export function raiseSoftInt(s: FaultState, vector: number): never {
  s.excVector = vector;
  s.excError = EXC_SOFT_INT;
  s.excAddr = 0;
  throw CPU_TRAP;
}

/** Thrown when the guest executes something osvemu does not implement (not a guest #UD). */
export class Unimplemented extends Error {
  constructor(what: string) {
    super(what);
    this.name = 'Unimplemented';
  }
}

const HAS_ERROR_CODE = new Uint8Array(32);
for (const v of [8, 10, 11, 12, 13, 14, 17, 21, 29, 30]) HAS_ERROR_CODE[v] = 1;

export function vectorHasErrorCode(v: number): boolean {
  return v < 32 && HAS_ERROR_CODE[v] === 1;
}

export function raise(s: FaultState, vector: number, error = 0, addr = 0): never {
  s.excVector = vector;
  s.excError = vectorHasErrorCode(vector) ? error : -1;
  s.excAddr = addr;
  throw CPU_FAULT;
}

export function raiseUD(s: FaultState): never {
  return raise(s, VEC_UD);
}

export function raiseGP(s: FaultState, error = 0): never {
  return raise(s, VEC_GP, error);
}

export function raisePF(s: FaultState, addr: number, error: number): never {
  return raise(s, VEC_PF, error, addr);
}

export const VECTOR_NAMES = ['#DE', '#DB', 'NMI', '#BP', '#OF', '#BR', '#UD', '#NM', '#DF', 'coproc-overrun', '#TS', '#NP',
  '#SS', '#GP', '#PF', 'reserved-15', '#MF', '#AC', '#MC', '#XM', '#VE', '#CP'];

export function vectorName(v: number): string {
  return VECTOR_NAMES[v] ?? `vector ${v}`;
}
