// Command-line parsing for `osvemu test`.
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { parseCpuVendor, type CpuVendorName } from '../cpu/vendor.js';
import type { FailureFileKind } from '../osv/test-failure-files.js';
import { DEFAULT_CPUS, DEFAULT_MEM_MIB, DEFAULT_TIMEOUT_SEC } from '../osv/test-defaults.js';
import { TEST_NETS, type TestNet } from '../osv/test-net.js';
import type { EngineSettings } from '../osv/test-engine.js';
import { bindValues, ENGINE_OPTIONS, engineValues, parseIntArg, parseMemory, UsageError } from './args.js';

export interface TestArgs {
  kernel: string;
  disk?: string;
  testsFile?: string;
  manifest?: string;
  filter?: string;
  excludeFile?: string;
  jobs: number;
  shard?: string;
  junit?: string;
  logs?: string;
  cpus: number;
  memMiB: number;
  maxInsns?: number;
  timeoutSec: number;
  cpuVendor: CpuVendorName;
  list: boolean;
  net: TestNet;
  onFail: FailureFileKind[];
  /** --no-rng: no virtio-rng (with --net none, a machine with no virtio device at all). */
  rng: boolean;
  /** --icount-shift, --pause-cost, --rdtsc-cost, --no-jit, --no-wasm, as `osvemu run`. */
  engine: EngineSettings;
}

export const TEST_USAGE = `usage: osvemu test KERNEL [--disk IMAGE] [--tests FILE|--manifest usr.manifest] [--filter REGEX]
                   [--exclude FILE] [-j|--jobs N] [--shard I/N] [--junit FILE] [--logs DIR] [-c N] [-m SIZE]
                   [--max-insns N] [--timeout SECONDS] [--cpu-vendor intel|amd] [--net auto|isolated|none]
                   [--on-fail snapshot|core|snapshot,core] [--no-rng] [--icount-shift N]
                   [--pause-cost NS] [--rdtsc-cost NS] [--no-jit|--jit] [--no-wasm] [--no-loop-skip] [--list]
  Runs each OSv test (/tests/tst-*.so) in a fresh machine with test.py's command line
  (--power-off-on-abort /tests/NAME) and judges it as test.py does, plus osvemu's own outcomes.
  tests    --tests FILE (guest paths, one a line), --manifest (its /tests/tst-* entries), or else
           /tests/tst-*.so in the image: the kernel's boot file system (ramfs) or the disk's rofs
  --filter keeps names matching REGEX; --exclude FILE skips names listed; --shard I/N runs every
           N-th test of the sorted list from the I-th (CI matrices)
  machine  -c ${DEFAULT_CPUS} -m ${DEFAULT_MEM_MIB / 1024}G (run.py's defaults), --timeout ${DEFAULT_TIMEOUT_SEC} per test; --jobs: host cores
  order    the longest tests start first, by the last run's durations for this kernel (kept in osvemu's
           cache folder, ~/.cache/osvemu; OSVEMU_TEST_HISTORY=0: name order); reports stay in name order
  outcomes passed, failed (a test.py failure pattern), exit-status, abort, halted, triple-fault,
           insn-limit, timeout, unimplemented, reset, error (osvemu's own), skipped
  network  --net auto (default): a virtio-net card, as test.py's QEMU has, when the kernel has OSv's
           driver; isolated: always; none: never. The card's wire holds only a DHCP server and gateway
           inside osvemu (the guest gets 192.168.122.15/24, as under run.py): no host setup
  reports  --junit FILE (JUnit XML), --logs DIR (one console log per test); --list prints the plan;
           --on-fail snapshot,core also keeps each failing test's machine in DIR as a snapshot
           (osvemu debug FILE) and/or an ELF core file (gdb loader.elf FILE)
  exit status: 0 all passed, 1 a test failed or bad input, 2 bad arguments`;

const VALUE_OPTIONS: Record<string, string> = {
  '-c': 'smp', '--smp': 'smp', '-m': 'memory', '--memory': 'memory', '-j': 'jobs', '--jobs': 'jobs', '--disk': 'disk',
  '--tests': 'tests', '--manifest': 'manifest', '--filter': 'filter', '--exclude': 'exclude', '--shard': 'shard',
  '--junit': 'junit', '--logs': 'logs', '--max-insns': 'max-insns', '--timeout': 'timeout',
  '--cpu-vendor': 'cpu-vendor', '--net': 'net', '--on-fail': 'on-fail',
  '--icount-shift': 'icount-shift', '--pause-cost': 'pause-cost', '--rdtsc-cost': 'rdtsc-cost',
};

/** `--on-fail snapshot`, `core` or `snapshot,core`. */
function parseOnFail(text: string): FailureFileKind[] {
  const kinds = text.split(',').map((s) => s.trim());
  for (const k of kinds) if (k !== 'snapshot' && k !== 'core') throw new UsageError(`--on-fail takes snapshot, core or snapshot,core, got "${text}"`);
  return [...new Set(kinds as FailureFileKind[])];
}

export function parseTestArgs(argv: string[]): TestArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: bindValues(argv, VALUE_OPTIONS),
      allowPositionals: true,
      strict: true,
      options: {
        disk: { type: 'string' },
        tests: { type: 'string' },
        manifest: { type: 'string' },
        filter: { type: 'string' },
        exclude: { type: 'string' },
        jobs: { type: 'string', short: 'j' },
        shard: { type: 'string' },
        junit: { type: 'string' },
        logs: { type: 'string' },
        smp: { type: 'string', short: 'c' },
        memory: { type: 'string', short: 'm' },
        'max-insns': { type: 'string' },
        timeout: { type: 'string' },
        'cpu-vendor': { type: 'string' },
        list: { type: 'boolean' },
        net: { type: 'string' },
        'on-fail': { type: 'string' },
        'no-rng': { type: 'boolean' },
        ...ENGINE_OPTIONS,
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0]);
  }
  const v = parsed.values;
  if (parsed.positionals.length !== 1) {
    throw new UsageError(parsed.positionals.length === 0 ? 'osvemu test needs a KERNEL' : `one kernel only, got: ${parsed.positionals.join(' ')}`);
  }
  if (v.tests !== undefined && v.manifest !== undefined) throw new UsageError('--tests and --manifest are alternatives: give one');
  const timeout = v.timeout === undefined ? DEFAULT_TIMEOUT_SEC : Number(v.timeout);
  if (!(timeout > 0)) throw new UsageError(`--timeout needs a positive number of seconds, got "${v.timeout}"`);
  if (v.shard !== undefined && !/^\d+\/\d+$/.test(v.shard)) throw new UsageError(`--shard needs I/N, got "${v.shard}"`);
  const cpuVendor = v['cpu-vendor'] === undefined ? 'intel' : parseCpuVendor(v['cpu-vendor']);
  if (cpuVendor === null) throw new UsageError(`--cpu-vendor needs intel or amd, got "${v['cpu-vendor']}"`);
  if (v.filter !== undefined) {
    try {
      new RegExp(v.filter);
    } catch (e) {
      throw new UsageError(`bad --filter: ${(e as Error).message}`);
    }
  }
  const net = (v.net ?? 'auto') as TestNet;
  if (!TEST_NETS.includes(net)) throw new UsageError(`--net needs ${TEST_NETS.join(', ')}, got "${v.net}"`);
  let onFail: FailureFileKind[] = [];
  if (v['on-fail'] !== undefined) {
    onFail = parseOnFail(v['on-fail']);
    if (v.logs === undefined) throw new UsageError('--on-fail needs --logs DIR: the files go there');
  }
  return {
    kernel: parsed.positionals[0],
    disk: v.disk,
    testsFile: v.tests,
    manifest: v.manifest,
    filter: v.filter,
    excludeFile: v.exclude,
    jobs: v.jobs === undefined ? availableParallelism() : parseIntArg('--jobs', v.jobs, 1, 1024),
    shard: v.shard,
    junit: v.junit,
    logs: v.logs,
    cpus: v.smp === undefined ? DEFAULT_CPUS : parseIntArg('--smp', v.smp, 1, 64),
    memMiB: v.memory === undefined ? DEFAULT_MEM_MIB : parseMemory(v.memory),
    maxInsns: v['max-insns'] === undefined ? undefined : parseIntArg('--max-insns', v['max-insns'], 1, Number.MAX_SAFE_INTEGER),
    timeoutSec: timeout,
    cpuVendor,
    list: !!v.list,
    net,
    onFail,
    rng: !v['no-rng'],
    engine: engineValues(v),
  };
}
