// Placeholder until the gdb stub is wired to the machine (src/gdbstub).
import type { Machine } from '../machine/machine.js';

export async function attachGdb(_m: Machine, where: { host: string; port: number }, _stop: boolean): Promise<void> {
  throw new Error(`--gdb ${where.host}:${where.port}: the gdb stub is not wired to the machine yet`);
}
