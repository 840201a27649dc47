// One-line reports for the conditions that stop a machine (unimplemented instruction, triple fault,
// anything else thrown out of the run loop): RIP, mode and the instruction bytes, read without faulting.
import type { Cpu } from '../cpu.js';
import { decodeOne } from '../decoder.js';
import { Unimplemented } from '../exceptions.js';
import { CS } from '../regs.js';

/** The machine cannot continue: the CPU shut down after a fault while delivering #DF. */
export class TripleFault extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TripleFault';
  }
}

export function hex(v: number): string {
  return v < 0 ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`;
}

/** Up to `n` bytes at CS:RIP (fewer where the fetch would fault); never throws. */
export function codeBytes(cpu: Cpu, n = 15): Uint8Array {
  const out = new Uint8Array(n);
  let k = 0;
  for (; k < n; k++) {
    try {
      const p = cpu.mmu.translateExec(cpu.segBase[CS] + cpu.rip + k);
      if (!cpu.mem.isRam(p, 1)) break;
      out[k] = cpu.mem.dv.getUint8(p);
    } catch {
      break;
    }
  }
  return out.subarray(0, k);
}

/** The instruction at CS:RIP as hex bytes: exactly its length when it decodes, else 15 bytes. */
export function instructionBytesAt(cpu: Cpu): string {
  const b = codeBytes(cpu);
  if (b.length === 0) return '(unreadable)';
  let len = 0;
  try {
    len = decodeOne(b, 0, cpu.mode as 16 | 32 | 64).insn.len;
  } catch {
    len = 0; // runs past the readable bytes or longer than 15: show them all
  }
  const shown = len > 0 ? b.subarray(0, len) : b;
  return Array.from(shown, (x) => x.toString(16).padStart(2, '0')).join(' ');
}

function where(cpu: Cpu): string {
  const cs = cpu.mode === 64 ? '' : `cs=${hex(cpu.segSel[CS])} `;
  return `${cs}rip=${hex(cpu.rip)} (${cpu.mode}-bit${cpu.cr0 & 1 ? '' : ' real'} mode, cpl ${cpu.cpl})`;
}

/**
 * "unimplemented instruction at rip=0x… (64-bit mode, cpl 0), bytes: 0f 0e" (RIP must be at the
 * instruction), or "unimplemented: <what> at rip=…, bytes: …" for other limits (legacy paging, fetch from MMIO).
 */
export function unimplementedReport(cpu: Cpu, e?: Unimplemented): string {
  const bytes = instructionBytesAt(cpu);
  if (!e || e.message.startsWith('unimplemented instruction')) return `unimplemented instruction at ${where(cpu)}, bytes: ${bytes}`;
  return `unimplemented: ${e.message} at ${where(cpu)}, bytes: ${bytes}`;
}

/** A one-line description of anything the run loop threw, for the board and the test harness. */
export function stopReport(cpu: Cpu, e: unknown): string {
  if (e instanceof TripleFault) return e.message;
  if (e instanceof Unimplemented) return unimplementedReport(cpu, e);
  const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return `emulator error at ${where(cpu)}, bytes: ${instructionBytesAt(cpu)}: ${msg}`;
}
