// `osvemu trace SNAPSHOT FILE`, `osvemu trace list FILE` and `osvemu run --trace-save FILE`: OSv's
// trace buffers as OSVT dumps (src/osv/trace-*.ts).
import { parseArgs } from 'node:util';
import { readVirtual } from '../machine/debug-mem.js';
import type { Machine } from '../machine/machine.js';
import type { DebugInfo } from '../osv/debug-info.js';
import { loadKernelDebugInfo } from '../osv/debug-symbols.js';
import { loadDebugInfo } from '../osv/dwarf/dwarf-info.js';
import { formatBacktrace, formatSample, symbolResolver } from '../osv/trace-list.js';
import { readTraceFile, saveGuestTrace, writeTraceFiles, type TraceFiles } from '../osv/trace-save.js';
import { UsageError } from './args.js';
import { loadSnapshot } from './snapshot-commands.js';
import { TRACE_USAGE } from './trace-usage.js';

export { TRACE_USAGE };

function note(msg: string): void {
  process.stderr.write(`osvemu: ${msg}\n`);
}

function parse(argv: string[], options: Record<string, { type: 'string' | 'boolean'; short?: string }>) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0]);
  }
}

/** The DWARF describing a machine's kernel: --symbols, else a loader.elf beside `kernelPath`, else the kernel's own. */
export function machineDebugInfo(m: Machine, kernelPath: string | undefined, symbols: string | undefined): DebugInfo {
  const k = loadKernelDebugInfo(kernelPath, symbols);
  if (k) return k.info;
  const own = loadDebugInfo(m.options.kernel);
  if (own.stats.units === 0) throw new Error('the kernel has no DWARF debug information: give its loader.elf with --symbols');
  return own;
}

/** Guest memory as vCPU 0 maps it (kernel addresses are the same on every vCPU). */
export function machineMemory(m: Machine) {
  const cpu = m.cpus[0]!;
  return (addr: number, len: number) => readVirtual(cpu, addr, len);
}

/** After `osvemu run`: --trace-save / --perfetto. Returns an error line, or null. */
export function saveRunTrace(m: Machine, files: TraceFiles, kernelPath: string | undefined, symbols: string | undefined): string | null {
  try {
    note(saveGuestTrace(machineDebugInfo(m, kernelPath, symbols), machineMemory(m), files));
    return null;
  } catch (e) {
    return `trace: ${(e as Error).message.split('\n')[0]}`;
  }
}

function listCommand(argv: string[]): number {
  const { values, positionals } = parse(argv, {
    tracepoint: { type: 'string', short: 't' }, backtrace: { type: 'boolean', short: 'b' }, perfetto: { type: 'string' },
  });
  if (positionals.length !== 1) throw new UsageError('usage: osvemu trace list FILE [-t PREFIX] [-b] [--perfetto JSON]');
  const { dump, samples } = readTraceFile(positionals[0]!);
  const prefix = values.tracepoint as string | undefined;
  const resolve = values.backtrace ? symbolResolver(dump.symbols) : undefined;
  const lines: string[] = [];
  for (const s of samples) {
    if (prefix !== undefined && !s.tp.name.startsWith(prefix)) continue;
    lines.push(resolve ? formatSample(s) + formatBacktrace(s, resolve) : formatSample(s));
  }
  if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
  if (values.perfetto !== undefined) note(writeTraceFiles(dump, { perfetto: values.perfetto as string }));
  return 0;
}

/** `osvemu trace ...` */
export function traceCommand(argv: string[]): number {
  if (argv[0] === 'list') return listCommand(argv.slice(1));
  const { values, positionals } = parse(argv, { symbols: { type: 'string' }, perfetto: { type: 'string' } });
  if (positionals.length !== 2) throw new UsageError('usage: osvemu trace SNAPSHOT FILE [--symbols LOADER_ELF] [--perfetto JSON] (or: osvemu trace list FILE)');
  const m = loadSnapshot(positionals[0]!, undefined, { absentDisks: true });
  const files: TraceFiles = { osvt: positionals[1]! };
  if (values.perfetto !== undefined) files.perfetto = values.perfetto as string;
  const di = machineDebugInfo(m, undefined, values.symbols as string | undefined);
  note(saveGuestTrace(di, machineMemory(m), files));
  return 0;
}
