#!/usr/bin/env node
// osvemu command line: `osvemu run [KERNEL] ...` boots a PVH kernel headlessly and exits with a status
// that says how the guest ended.
import { fstatSync, readFileSync } from 'node:fs';
import { ElfError } from '../machine/elf.js';
import { openCliDevices } from './devices.js';
import { Machine, MachineError, type RunResult, type StopCause } from '../machine/machine.js';
import { HelpRequest, parseRunArgs, UsageError, USAGE, type RunArgs } from './args.js';
import { findCommand, overview } from './commands.js';
import { openDebugcon, type DebugconSink } from './debugcon.js';
import { buildGuest } from './guest.js';
import { openCliNet } from './net.js';
import type { NetAttachment } from '../machine/net.js';
import { startStatusLine } from './status.js';
import { markCodeCacheComplete } from './launch.js';
// Snapshots, DWARF thread names, profiles and core files are imported where used: a plain `osvemu run`
// does not pay for loading them (cold start, issue 12).
const snapshots = () => import('./snapshot-commands.js');
/** Names OSv threads in abort reports and core files from the kernel's (or --symbols') DWARF; null for --from. */
let kernelSymbols: (() => Promise<void>) | null = null;

export const EXIT: Record<StopCause | 'error' | 'usage', number> = {
  poweroff: 0, error: 1, usage: 2, halted: 3, 'triple-fault': 4, 'insn-limit': 5, timeout: 6, reset: 7,
  unimplemented: 8, 'debug-exit': 0, match: 0, stopped: 1,
};

/** False when stdin is a pipe or a file: then not even process.stdin is made (a stream costs a cold start 4-10 ms). */
function stdinMayBeTerminal(): boolean {
  try {
    return fstatSync(0).isCharacterDevice();
  } catch {
    return true;
  }
}

function fail(msg: string, code: number): number {
  process.stderr.write(`osvemu: ${msg}\n`);
  return code;
}

async function runCommand(args: RunArgs): Promise<number> {
  if (args.from) {
    const net = await openCliNet(args.net);
    const debugcon: DebugconSink | null = args.debugcon ? openDebugcon(args.debugcon) : null;
    try {
      const snap = await snapshots();
      const m = snap.loadSnapshot(args.from, (b) => process.stdout.write(Uint8Array.of(b)), { disks: snap.restoreDiskPaths(args.disks), net: net.map((a) => a.backend) },
        debugcon ? (b) => debugcon.write(b) : undefined);
      return await runMachine(args, args.from, m.options.kernel, {}, null, [], m);
    } finally {
      debugcon?.close();
    }
  }
  const kernelPath = args.kernel ?? buildGuest('osvlike');
  let kernel: Uint8Array;
  try {
    kernel = readFileSync(kernelPath);
  } catch (e) {
    return fail(`cannot read kernel ${kernelPath}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, EXIT.error);
  }
  let installed: Promise<void> | undefined;
  kernelSymbols = () => (installed ??= import('../osv/thread-source.js').then((t) => t.useKernelSymbols(kernelPath, args.symbols ?? undefined)));
  const devices = await openCliDevices(args);
  if (typeof devices === 'string') return fail(devices, EXIT.error);
  let net: NetAttachment[];
  try {
    net = await openCliNet(args.net);
  } catch (e) {
    return fail((e as Error).message.split('\n')[0]!, EXIT.error);
  }
  const debugcon: DebugconSink | null = args.debugcon ? openDebugcon(args.debugcon) : null;
  try {
    return await runMachine(args, kernelPath, kernel, devices, debugcon, net);
  } finally {
    debugcon?.close();
  }
}

async function runMachine(args: RunArgs, kernelPath: string, kernel: Uint8Array, devices: Exclude<Awaited<ReturnType<typeof openCliDevices>>, string>,
  debugcon: DebugconSink | null, net: NetAttachment[], restored?: Machine): Promise<number> {
  let machine: Machine;
  if (restored) machine = restored;
  else try {
    machine = new Machine({
      ...devices,
      kernel, cmdline: args.cmdline, cpus: args.cpus, memMiB: args.memMiB, kvmclock: args.kvmclock, x2apic: args.x2apic,
      seed: args.seed,
      cpuVendor: args.cpuVendor, icountShift: args.icountShift, jit: args.jit, wasm: args.wasm, loopSkip: args.loopSkip, pauseNs: args.pauseNs, tscReadNs: args.tscReadNs,
      ...(args.profile !== undefined ? { profileInterval: args.profileInterval } : {}),
      serialOut: (b) => process.stdout.write(Uint8Array.of(b)),
      net, pcap: args.pcap, netRecord: args.netRecord,
      ...(debugcon ? { debugOut: (b: number) => debugcon.write(b) } : {}),
    });
  } catch (e) {
    await Promise.all(net.map((a) => a.backend.close()));
    if (e instanceof MachineError) return fail(e.message, EXIT.error);
    if (e instanceof ElfError || e instanceof RangeError) return fail(`${kernelPath}: ${e.message}`, EXIT.error);
    if (net.length > 0) return fail((e as Error).message.split('\n')[0]!, EXIT.error);
    throw e;
  }
  // A debugger session or a snapshot may name OSv threads before the run ends.
  if (args.gdb || args.record || args.snapshotAt !== undefined) await kernelSymbols?.();
  if (args.profile !== undefined) {
    const { attachProfileThreads } = await import('./profile.js');
    const why = attachProfileThreads(machine, args.kernel ?? kernelPath, args.symbols);
    if (why) process.stderr.write(`osvemu: ${why}\n`);
  }
  if (stdinMayBeTerminal() && process.stdin.isTTY) {
    process.stdin.on('data', (d: Buffer) => machine.serialInput(d));
    process.stdin.unref();
  }
  if (args.gdb) {
    const { attachGdb } = await import('./gdb.js');
    const { osvThreads } = await import('../osv/gdb-threads.js');
    const threads = osvThreads({
      mode: args.gdbThreads, kernel, kernelPath, symbols: args.symbols, log: (m) => process.stderr.write(`osvemu: ${m}\n`),
    });
    await attachGdb(machine, args.gdb, args.stopAtStart, threads, args.record);
  }
  const status = startStatusLine(machine, args.verbose);
  let result: RunResult;
  try {
    const limits = { maxInsns: args.maxInsns, timeoutMs: args.timeoutSec === undefined ? undefined : args.timeoutSec * 1000 };
    result = await (args.snapshotAt === undefined ? machine.runAsync(limits) : (await snapshots()).runWithSnapshotAt(machine, args, limits));
  } finally {
    status.stop();
    await machine.close();
  }
  // The guest ended by itself: what this run compiled covers the emulator (code cache, launch.ts).
  if (['poweroff', 'debug-exit', 'halted', 'triple-fault', 'reset'].includes(result.cause)) markCodeCacheComplete();
  if (args.verbose) {
    process.stderr.write(`osvemu: ${result.instructions} instructions, ${(result.virtualNs / 1e6).toFixed(3)} ms virtual time\n`);
  }
  if (result.cause !== 'poweroff') process.stderr.write(`osvemu: ${result.message}\n`);
  if (result.cause === 'halted' || result.cause === 'triple-fault') {
    await kernelSymbols?.();
    (await snapshots()).afterRun(machine, args, result);
  }
  if (args.traceSave !== undefined || args.perfetto !== undefined) {
    await kernelSymbols?.();
    const { saveRunTrace } = await import('./trace-command.js');
    const err = saveRunTrace(machine, { osvt: args.traceSave, perfetto: args.perfetto }, args.from ? undefined : kernelPath, args.symbols ?? undefined);
    if (err !== null) return fail(err, EXIT.error);
  }
  if (args.profile !== undefined && machine.profiler) {
    try {
      const { writeProfile } = await import('./profile.js');
      process.stderr.write(`osvemu: ${writeProfile(machine, args.profile, kernel, args.kernel ?? kernelPath, args.symbols)}\n`);
    } catch (e) {
      return fail(`cannot write profile ${args.profile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, EXIT.error);
    }
  }
  if (result.cause === 'debug-exit') return machine.exitStatus;
  return EXIT[result.cause];
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '-h' || cmd === '--help' || (cmd === 'help' && rest.length === 0)) {
    process.stdout.write(`${overview()}\n`);
    return cmd === undefined ? EXIT.usage : 0;
  }
  if (cmd === 'help') {
    const about = findCommand(rest[0]!);
    if (!about) return fail(`unknown command "${rest[0]}": try "osvemu help"`, EXIT.usage);
    process.stdout.write(`${about.usage}\n`);
    return 0;
  }
  if (cmd === 'test') return (await import('./test-command.js')).testCommand(rest);
  if (cmd === 'trace') {
    if (rest.length === 0 || rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(`${findCommand(cmd)!.usage}\n`);
      return rest.length === 0 ? EXIT.usage : 0;
    }
    try {
      return (await import('./trace-command.js')).traceCommand(rest);
    } catch (e) {
      if (e instanceof UsageError) return fail(e.message, EXIT.usage);
      return fail((e as Error).message.split('\n')[0], EXIT.error);
    }
  }
  if (cmd === 'debug' || cmd === 'core') {
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(`${findCommand(cmd)!.usage}\n`);
      return 0;
    }
    try {
      const { coreCommand, debugCommand } = await snapshots();
      return cmd === 'debug' ? await debugCommand(rest) : coreCommand(rest);
    } catch (e) {
      if (e instanceof UsageError) return fail(e.message, EXIT.usage);
      return fail((e as Error).message.split('\n')[0], EXIT.error);
    }
  }
  if (cmd !== 'run') return fail(`unknown command "${cmd}": try "osvemu help"`, EXIT.usage);
  let args: RunArgs;
  try {
    args = parseRunArgs(rest);
  } catch (e) {
    if (e instanceof HelpRequest) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (e instanceof UsageError) return fail(e.message, EXIT.usage);
    throw e;
  }
  try {
    return await runCommand(args);
  } catch (e) {
    return fail((e as Error).message.split('\n')[0], EXIT.error);
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
  // Sockets (gdb) or stdin may keep the loop alive after the guest ended.
  setImmediate(() => process.exit(code));
});
