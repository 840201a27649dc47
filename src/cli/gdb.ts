// `osvemu run --gdb [HOST:]PORT` / `-s` / `-S`: serve the machine to gdb. The gdb target runs the
// machine itself (in slices, between socket events); this resolves once the machine has ended and no
// debugger is attached any more, after which the caller's run() returns the final state at once.
import { GdbServer } from '../gdbstub/index.js';
import type { GdbTarget, ThreadProvider } from '../gdbstub/target.js';
import { MachineGdbTarget } from '../machine/gdb-target.js';
import type { Machine } from '../machine/machine.js';

/** How long a last stop reply (e.g. gdb's "exited" packet) gets to reach gdb before the port closes. */
const CLOSE_GRACE_MS = 100;

export async function attachGdb(
  machine: Machine, where: { host: string; port: number }, stopAtStart: boolean,
  threads?: (target: GdbTarget) => ThreadProvider, record = false,
): Promise<void> {
  let done!: () => void;
  const finished = new Promise<void>((resolve) => { done = resolve; });
  const log = (m: string) => process.stderr.write(`osvemu: ${m.replace(/^osvemu: /, '')}\n`);
  const target = new MachineGdbTarget(machine, { onFinish: () => done(), log, record });
  if (record) log('recording for reverse execution (reverse-stepi, reverse-continue...; monitor record status)');
  const server = new GdbServer({ target, log, threads: threads && (() => threads(target)) });
  const bound = await server.listen(where.host, where.port);
  log(`gdb stub on ${bound.host}:${bound.port}${stopAtStart ? ': stopped before the first instruction, waiting for gdb' : ''}`);
  if (!stopAtStart) {
    target.resume(machine.cpus.map((_, cpu) => ({ cpu, kind: 'continue' as const, signal: 0 })), { stepIntoInterrupts: false });
  }
  await finished;
  await new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS));
  await server.close();
}
