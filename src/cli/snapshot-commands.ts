// The snapshot side of the CLI: `run --from`, `--snapshot-at`, `--on-abort`, the abort summary,
// and the `debug` and `core` commands.
import { parseArgs } from 'node:util';
import { Machine, type RunLimits, type RunResult } from '../machine/machine.js';
import { readSnapshotFile, SnapshotFileError, writeSnapshotFile } from '../machine/snapshot-file.js';
import { captureMachine, machineFromSnapshot } from '../machine/snapshot-state.js';
import type { RestoreDevices } from '../machine/snapshot-devices.js';
import { parseDiskSpec } from '../devices/backends/disk-open.js';
import { useKernelSymbols } from '../osv/thread-source.js';
import { findSymbolsFile } from '../osv/debug-symbols.js';
import { detectAbort, formatAbort } from '../osv/abort.js';
import { writeCoreFile } from '../osv/core-file.js';
import { parseGdb, UsageError, type RunArgs } from './args.js';
import { SnapshotStateError } from '../devices/snapshottable.js';
import { DiskError } from '../devices/backends/block.js';

function note(msg: string): void {
  process.stderr.write(`osvemu: ${msg}\n`);
}

/** The machine saved in `path`, console output to stdout; a bad file throws a one-line SnapshotFileError. */
export function loadSnapshot(path: string, serialOut?: (b: number) => void, devices: RestoreDevices = {}, debugOut?: (b: number) => void): Machine {
  const snap = readSnapshotFile(path);
  try {
    return machineFromSnapshot(snap, { ...(serialOut ? { serialOut } : {}), ...(debugOut ? { debugOut } : {}) }, devices);
  } catch (e) {
    if (e instanceof SnapshotStateError || e instanceof DiskError) throw new SnapshotFileError(`${path}: ${e.message.split('\n')[0]}`);
    throw new SnapshotFileError(`${path}: does not fit this osvemu (${(e as Error).message.split('\n')[0]})`);
  }
}

/** Disk paths given at a restore (--disk FILE): where moved images are now. */
export function restoreDiskPaths(specs: readonly string[]): string[] {
  return specs.map((d) => parseDiskSpec(d).path);
}

export function saveSnapshot(m: Machine, path: string, why: string): void {
  const bytes = writeSnapshotFile(path, captureMachine(m));
  note(`${why}: snapshot of ${m.instructions} instructions written to ${path} (${bytes} bytes)`);
}

/** runAsync, stopping once at `args.snapshotAt` instructions to write the snapshot. */
export async function runWithSnapshotAt(m: Machine, args: RunArgs, limits: RunLimits): Promise<RunResult> {
  if (args.snapshotAt !== undefined && m.instructions <= args.snapshotAt && args.snapshotAt < (limits.maxInsns ?? Infinity)) {
    const first = await m.runAsync({ ...limits, maxInsns: args.snapshotAt });
    if (first.cause !== 'insn-limit') return first;
    saveSnapshot(m, args.snapshotFile ?? `osvemu-${args.snapshotAt}.snap`, `--snapshot-at ${args.snapshotAt}`);
  }
  return m.runAsync(limits);
}

/** After the run: the abort summary (without a debugger) and the --on-abort files. */
export function afterRun(m: Machine, args: RunArgs, result: RunResult): boolean {
  if (result.cause !== 'halted' && result.cause !== 'triple-fault') return false;
  const a = detectAbort(m);
  if (a === null) return false;
  // A triple fault's own line already names the vCPU, RIP and vector chain.
  if (!args.gdb && a.kind === 'abort') process.stderr.write(formatAbort(a));
  if (args.onAbort.snapshot) saveSnapshot(m, args.onAbort.snapshot, '--on-abort');
  if (args.onAbort.core) {
    const r = writeCoreFile(m, args.onAbort.core);
    note(`--on-abort: core file with ${r.threads} thread(s) written to ${args.onAbort.core} (${r.bytes} bytes)`);
  }
  return true;
}

/** `osvemu debug SNAPSHOT [--gdb [HOST:]PORT]` */
export async function debugCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseOrUsage(argv, { gdb: { type: 'string' }, disk: { type: 'string', multiple: true }, symbols: { type: 'string' } });
  if (positionals.length !== 1) throw new UsageError('usage: osvemu debug SNAPSHOT [--gdb [HOST:]PORT] [--disk FILE]... [--symbols LOADER_ELF]');
  const where = parseGdb((values.gdb as string | undefined) ?? '1234');
  const symbols = (values.symbols as string | undefined) ?? null;
  const m = loadSnapshot(positionals[0]!, (b) => process.stdout.write(Uint8Array.of(b)), { disks: restoreDiskPaths((values.disk as string[] | undefined) ?? []) });
  // A snapshot holds the (often stripped) kernel, not its path: --symbols names the loader.elf whose DWARF
  // gives OSv threads to the abort report and to gdb.
  if (symbols !== null) useSymbolsFile(symbols);
  const a = detectAbort(m);
  if (a) process.stderr.write(formatAbort(a));
  const { attachGdb } = await import('./gdb.js');
  const { osvThreads } = await import('../osv/gdb-threads.js');
  const threads = symbols === null ? undefined
    : osvThreads({ mode: 'osv', kernel: m.options.kernel, kernelPath: null, symbols, log: (t) => note(t) });
  await attachGdb(m, where, true, threads);
  return 0;
}

/** `osvemu core SNAPSHOT FILE [--symbols LOADER_ELF]` */
export function coreCommand(argv: string[]): number {
  const { values, positionals } = parseOrUsage(argv, { symbols: { type: 'string' } });
  if (positionals.length !== 2) throw new UsageError('usage: osvemu core SNAPSHOT FILE [--symbols LOADER_ELF]');
  if (values.symbols !== undefined) useSymbolsFile(values.symbols as string);
  const m = loadSnapshot(positionals[0]!, undefined, { absentDisks: true });
  const r = writeCoreFile(m, positionals[1]!);
  note(`core file with ${r.threads} thread(s) written to ${positionals[1]} (${r.bytes} bytes)`);
  return 0;
}

/** --symbols of debug/core: a missing file is a one-line error now, not a silent fall-back to vCPU threads later. */
function useSymbolsFile(file: string): void {
  findSymbolsFile(undefined, file);
  useKernelSymbols(undefined, file);
}

function parseOrUsage(argv: string[], options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>): { values: Record<string, unknown>; positionals: string[] } {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0]);
  }
}
