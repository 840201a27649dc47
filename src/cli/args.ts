// Command-line parsing for `osvemu run`, in the spellings QEMU and OSv's scripts/run.py users type.
import { parseArgs } from 'node:util';
import { parseGdbAddress } from '../gdbstub/address.js';
import { NetSpecError, parseNetSpec, type NetSpec } from '../devices/net/spec.js';
import { parseDebugcon, type DebugconSpec } from './debugcon.js';
import { type CpuVendorName, parseCpuVendor } from '../cpu/vendor.js';
import { MAX_ICOUNT_SHIFT } from '../machine/machine.js';
import { DEFAULT_PAUSE_NS, DEFAULT_TSC_READ_NS, MAX_WAIT_COST_NS } from '../machine/wait-cost.js';

/** Instructions between two profile samples of a vCPU: 10 µs of guest time at the default scale. */
export const DEFAULT_PROFILE_INTERVAL = 10_000;

export interface RunArgs {
  kernel: string | null;
  cmdline: string;
  cpus: number;
  memMiB: number;
  verbose: boolean;
  stopAtStart: boolean;
  gdb: { host: string; port: number } | null;
  maxInsns: number | undefined;
  timeoutSec: number | undefined;
  kvmclock: boolean;
  x2apic: boolean;
  quiet: boolean;
  /** Write a snapshot once this many instructions have run. */
  snapshotAt: number | undefined;
  /** Where --snapshot-at writes (default osvemu-N.snap). */
  snapshotFile: string | undefined;
  /** --on-abort snapshot=FILE,core=FILE */
  onAbort: { snapshot?: string; core?: string };
  /** --from SNAPSHOT: continue a saved machine instead of booting a kernel. */
  from: string | null;
  /** --record: keep checkpoints and inputs for reverse execution under gdb. */
  record: boolean;
  /** `--net` cards in order (src/devices/net/spec.ts), `--pcap FILE`, `--net-record FILE`. */
  net: NetSpec[];
  pcap: string | undefined;
  netRecord: string | undefined;
  /** Port 0xE9 output; null: discarded. */
  debugcon: DebugconSpec | null;
  /** --disk / --drive values, in order (parsed by parseDiskSpec when the machine is built). */
  disks: string[];
  /** --rng-seed: a whole number, or 'host' for host entropy. */
  rngSeed: number | 'host';
  /** --no-rng: no virtio-rng (osvemu test --no-rng's reproduce commands). */
  noRng: boolean;
  /** --virtio legacy|transitional|modern (run.py's option). */
  virtioMode: 'legacy' | 'transitional' | 'modern';
  /** Seed of the rdrand/rdseed stream (osvemu test prints it in reproduce commands). */
  seed: number | undefined;
  cpuVendor: CpuVendorName;
  /** --symbols FILE: the kernel's DWARF (loader.elf); null: look beside the kernel. */
  symbols: string | null;
  /** --gdb-threads osv|vcpu: what gdb's threads are (default osv when symbols are found). */
  gdbThreads: 'osv' | 'vcpu';
  /** --icount-shift N: 2^N ns of guest time per instruction (QEMU's -icount shift=N). */
  icountShift: number;
  /** --pause-cost NS: guest ns a PAUSE takes (src/machine/wait-cost.ts). */
  pauseNs: number;
  /** --rdtsc-cost NS: guest ns a TSC read takes. */
  tscReadNs: number;
  /** Compile hot guest code (default); --no-jit interprets only. */
  jit: boolean;
  /** Compile hot 64-bit integer code to WebAssembly (default); --no-wasm: JavaScript only. */
  wasm: boolean;
  /** Jump over provably idle loop iterations (default); --no-loop-skip runs every one. */
  loopSkip: boolean;
  /** --profile FILE: guest stacks sampled every profileInterval instructions (.pb.gz: pprof, else speedscope). */
  profile: string | undefined;
  profileInterval: number;
  /** --trace-save FILE: OSv's trace buffers as an OSVT dump when the run ends; --perfetto FILE: as trace-event JSON. */
  traceSave: string | undefined;
  perfetto: string | undefined;
}

export class UsageError extends Error {}
/** `-h` / `--help` among the arguments: the caller prints the usage. */
export class HelpRequest extends Error {}

export const USAGE = `usage: osvemu run [KERNEL] [-e|--append CMDLINE] [-c|--smp N] [-m|--memory SIZE] [--verbose]
                  [-S] [-s] [--gdb [HOST:]PORT] [--max-insns N] [--timeout SECONDS] [--no-kvmclock] [--x2apic]
                  [--snapshot-at N [--snapshot-file FILE]] [--on-abort snapshot=FILE,core=FILE]
                  [--from SNAPSHOT] [--record]
                  [--net user[,hostfwd=tcp::HOSTPORT-:GUESTPORT]...|stream,addr.type=unix,addr.path=PATH|isolated|...]
                  [--pcap FILE] [--net-record FILE]
                  [--disk FILE[,writable|,readonly][,format=raw|qcow2]]... [--rng-seed N|host] [--no-rng]
                  [--virtio legacy|transitional|modern] [--seed N]
                  [--cpu-vendor intel|amd] [--symbols LOADER_ELF] [--gdb-threads osv|vcpu]
                  [--debugcon stdio|null|file:PATH|PATH] [--icount-shift N] [--no-jit|--jit] [--no-wasm]
                  [--pause-cost NS] [--rdtsc-cost NS] [--no-loop-skip]
                  [--profile FILE[.pb.gz] [--profile-interval N]] [--trace-save FILE] [--perfetto FILE] [-h|--help]
       osvemu debug SNAPSHOT [--gdb [HOST:]PORT] [--disk FILE]... [--symbols ELF]  serve gdb on a saved machine (default port 1234)
       osvemu core SNAPSHOT FILE [--symbols ELF]     write an ELF core file gdb opens
       osvemu trace SNAPSHOT FILE | trace list FILE  OSv trace buffers as OSVT dumps (scripts/trace.py)
  KERNEL   an OSv loader-stripped.elf (PVH); default: the project's own OSv-like guest, built on first use
  -m SIZE  guest RAM (256M default; 2G, 8G...): above 3.5G, 3G stay below 4 GiB and the rest is mapped from 4 GiB
  --debugcon  where port 0xE9 output goes (QEMU's -debugcon); default: discarded
  --disk   a virtio-blk disk (raw or qcow2, e.g. OSv's usr.img); guest writes stay in memory unless
           ",writable" is given (QEMU's -drive file=...,snapshot=on|off spellings work too)
  --from   the snapshot brings its disks (images reopened and checked unchanged), network cards and rng;
           --disk FILE there gives a moved image's new path, --net the cards' new back ends (else detached)
  --icount-shift  each instruction is 2^N ns of guest time (default 0: 1 ns), as QEMU's -icount shift=N:
           busy-waiting guests reach their deadlines in fewer instructions, still deterministically
  --pause-cost  guest ns a PAUSE takes (default ${DEFAULT_PAUSE_NS}: ~100 cycles, as on current x86 cores; 0: as any
           instruction), so spin-waits reach their deadlines in fewer instructions; deterministic
  --rdtsc-cost  guest ns a TSC read (rdtsc, rdtscp, rdmsr) takes (default ${DEFAULT_TSC_READ_NS}, ~25-40 cycles on hardware)
  --no-loop-skip  run every iteration of idle loops (OSv's idle poll, spins on a flag) instead of jumping over
           the ones that provably change nothing but a counter; the state is the same either way
  --no-jit interpret only (hot code is compiled to WebAssembly and JavaScript by default; --jit); the same
           instructions retire and the same bytes are printed either way
  --no-wasm  compile hot code to JavaScript only (not its 64-bit integer code to WebAssembly first)
  --profile  sample every vCPU's guest stack every --profile-interval instructions (default 10000) and write
           speedscope JSON, or pprof when FILE ends in .pb.gz (go tool pprof)
  --trace-save  when the run ends, write OSv's trace buffers (enabled with e.g. -e '--trace=sched* /hello')
           as an OSVT dump that OSv's scripts/trace.py and "osvemu trace list" read; --perfetto FILE writes
           the same samples as Chrome trace-event JSON (ui.perfetto.dev, chrome://tracing)
  --rng-seed  seed of the virtio-rng bytes (default 0: the same bytes every run); "host" for host entropy;
           --no-rng: no virtio-rng at all
  exit status: 0 power-off, 1 error, 2 bad arguments, 3 guest halted (abort), 4 triple fault,
               5 instruction limit, 6 timeout, 7 guest reset, 8 unimplemented instruction;
               a guest write of V to port 0xF4 (QEMU's isa-debug-exit) exits with (V << 1) | 1, as QEMU,
               and stderr says which V`;

/** "256M", "2G", "512" (MiB), "1024K" -> MiB. */
export function parseMemory(s: string): number {
  const m = /^(\d+)([KMGT]?)(i?B)?$/i.exec(s.trim());
  if (!m) throw new UsageError(`bad memory size "${s}": use e.g. 256M or 2G`);
  const n = Number(m[1]);
  const unit = m[2].toUpperCase();
  const mib = unit === 'G' ? n * 1024 : unit === 'T' ? n * 1024 * 1024 : unit === 'K' ? n / 1024 : n;
  if (!Number.isInteger(mib) || mib <= 0) throw new UsageError(`bad memory size "${s}": must be a positive whole number of MiB`);
  return mib;
}

export function parseIntArg(name: string, v: string, min: number, max: number): number {
  if (!/^\d+$/.test(v)) throw new UsageError(`${name} needs a whole number, got "${v}"`);
  const n = Number(v);
  if (n < min || n > max) throw new UsageError(`${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** The options `osvemu run` and `osvemu test` share for how guest code runs (guest time, waiting costs, compiler, loop skip). */
export const ENGINE_OPTIONS = {
  'icount-shift': { type: 'string' }, 'pause-cost': { type: 'string' }, 'rdtsc-cost': { type: 'string' },
  jit: { type: 'boolean' }, 'no-jit': { type: 'boolean' }, 'no-loop-skip': { type: 'boolean' }, 'no-wasm': { type: 'boolean' },
} as const;

/** Their values, checked; defaults where absent. */
export function engineValues(v: { 'icount-shift'?: string; 'pause-cost'?: string; 'rdtsc-cost'?: string; 'no-jit'?: boolean; 'no-loop-skip'?: boolean; 'no-wasm'?: boolean }):
  { icountShift: number; pauseNs: number; tscReadNs: number; jit: boolean; loopSkip: boolean; wasm: boolean } {
  return {
    icountShift: v['icount-shift'] === undefined ? 0 : parseIntArg('--icount-shift', v['icount-shift'], 0, MAX_ICOUNT_SHIFT),
    pauseNs: v['pause-cost'] === undefined ? DEFAULT_PAUSE_NS : parseIntArg('--pause-cost', v['pause-cost'], 0, MAX_WAIT_COST_NS),
    tscReadNs: v['rdtsc-cost'] === undefined ? DEFAULT_TSC_READ_NS : parseIntArg('--rdtsc-cost', v['rdtsc-cost'], 0, MAX_WAIT_COST_NS),
    jit: !v['no-jit'],
    loopSkip: !v['no-loop-skip'],
    wasm: !v['no-wasm'],
  };
}

export function parseGdb(v: string): { host: string; port: number } {
  // Accepts PORT, HOST:PORT, [v6]:PORT and QEMU's tcp::PORT / tcp:HOST:PORT (src/gdbstub/address.ts).
  try {
    return parseGdbAddress(v);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

const VALUE_OPTIONS: Record<string, string> = {
  '-e': 'append', '--append': 'append', '-c': 'smp', '--smp': 'smp', '-m': 'memory', '--memory': 'memory',
  '--gdb': 'gdb', '--max-insns': 'max-insns', '--timeout': 'timeout', '--disk': 'disk', '--net': 'net',
  '--snapshot-at': 'snapshot-at', '--snapshot-file': 'snapshot-file', '--on-abort': 'on-abort', '--from': 'from',
  '--nic': 'net', '--pcap': 'pcap', '--net-record': 'net-record',
  '--drive': 'disk', '-drive': 'disk', '--rng-seed': 'rng-seed', '--virtio': 'virtio', '--seed': 'seed',
  '--cpu-vendor': 'cpu-vendor', '--symbols': 'symbols', '--gdb-threads': 'gdb-threads',
  '--debugcon': 'debugcon', '-debugcon': 'debugcon',
  '--icount-shift': 'icount-shift', '--pause-cost': 'pause-cost', '--rdtsc-cost': 'rdtsc-cost', '--profile': 'profile', '--profile-interval': 'profile-interval',
  '--trace-save': 'trace-save', '--perfetto': 'perfetto',
};

/** "snapshot=FILE,core=FILE" (either or both). */
export function parseOnAbort(v: string): RunArgs['onAbort'] {
  const out: RunArgs['onAbort'] = {};
  for (const part of v.split(',')) {
    const m = /^(snapshot|core)=(.+)$/.exec(part);
    if (!m) throw new UsageError(`--on-abort takes snapshot=FILE and/or core=FILE, got "${part}"`);
    out[m[1] as 'snapshot' | 'core'] = m[2];
  }
  return out;
}

/** Binds each value option to the next word, so `-e "--verbose /hello"` works as with run.py. */
export function bindValues(argv: string[], names: Record<string, string> = VALUE_OPTIONS): string[] {
  const out: string[] = [];
  for (let k = 0; k < argv.length; k++) {
    const name = names[argv[k]];
    if (name !== undefined && k + 1 < argv.length) out.push(`--${name}=${argv[++k]}`);
    else out.push(argv[k]);
  }
  return out;
}

export function parseRunArgs(argv: string[]): RunArgs {
  const args = bindValues(argv);
  // Before anything else can be wrong: `osvemu run --bogus --help` still prints the usage.
  if (args.some((a) => a === '-h' || a === '--help')) throw new HelpRequest('help');
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        append: { type: 'string', short: 'e' },
        smp: { type: 'string', short: 'c' },
        memory: { type: 'string', short: 'm' },
        verbose: { type: 'boolean', short: 'V' },
        S: { type: 'boolean', short: 'S' },
        s: { type: 'boolean', short: 's' },
        gdb: { type: 'string' },
        'max-insns': { type: 'string' },
        timeout: { type: 'string' },
        'no-kvmclock': { type: 'boolean' },
        ...ENGINE_OPTIONS,
        x2apic: { type: 'boolean' },
        quiet: { type: 'boolean', short: 'q' },
        disk: { type: 'string', multiple: true },
        'rng-seed': { type: 'string' },
        'no-rng': { type: 'boolean' },
        virtio: { type: 'string' },
        net: { type: 'string', multiple: true },
        pcap: { type: 'string' },
        'net-record': { type: 'string' },
        debugcon: { type: 'string' },
        'snapshot-at': { type: 'string' },
        'snapshot-file': { type: 'string' },
        'on-abort': { type: 'string' },
        from: { type: 'string' },
        record: { type: 'boolean' },
        seed: { type: 'string' },
        'cpu-vendor': { type: 'string' },
        symbols: { type: 'string' },
        'gdb-threads': { type: 'string' },
        profile: { type: 'string' },
        'profile-interval': { type: 'string' },
        'trace-save': { type: 'string' },
        perfetto: { type: 'string' },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0]);
  }
  const v = parsed.values;
  if (parsed.positionals.length > 1) throw new UsageError(`one kernel only, got: ${parsed.positionals.join(' ')}`);
  let net: NetSpec[];
  try {
    net = (v.net ?? []).map(parseNetSpec);
  } catch (e) {
    if (e instanceof NetSpecError) throw new UsageError(e.message);
    throw e;
  }
  if ((v.pcap !== undefined || v['net-record'] !== undefined) && net.length === 0) {
    throw new UsageError(`${v.pcap !== undefined ? '--pcap' : '--net-record'} needs a network card (--net ...)`);
  }
  let cmdline = v.append ?? '';
  if (v.verbose && !/(^|\s)--verbose(\s|$)/.test(cmdline)) cmdline = `--verbose ${cmdline}`.trim();
  let gdb: RunArgs['gdb'] = null;
  if (v.gdb !== undefined) gdb = parseGdb(v.gdb);
  else if (v.s) gdb = { host: '127.0.0.1', port: 1234 };
  const gdbThreads = v['gdb-threads'] ?? 'osv';
  if (gdbThreads !== 'osv' && gdbThreads !== 'vcpu') throw new UsageError(`--gdb-threads is osv or vcpu, got "${gdbThreads}"`);
  const timeout = v.timeout === undefined ? undefined : Number(v.timeout);
  const cpuVendor = v['cpu-vendor'] === undefined ? 'intel' : parseCpuVendor(v['cpu-vendor']);
  if (cpuVendor === null) throw new UsageError(`--cpu-vendor needs intel or amd, got "${v['cpu-vendor']}"`);
  if (timeout !== undefined && !(timeout > 0)) throw new UsageError(`--timeout needs a positive number of seconds, got "${v.timeout}"`);
  if (v.from !== undefined && parsed.positionals.length > 0) throw new UsageError('--from continues a snapshot: give no kernel');
  if (v.record && v.gdb === undefined && !v.s) throw new UsageError('--record is for reverse execution under gdb: add --gdb PORT (or -s)');
  if (v['snapshot-at'] !== undefined && (v.gdb !== undefined || v.s)) throw new UsageError('--snapshot-at runs without gdb; under gdb use "monitor snapshot save FILE"');
  if (v['profile-interval'] !== undefined && v.profile === undefined) throw new UsageError('--profile-interval needs --profile FILE');
  if (v['snapshot-file'] !== undefined && v['snapshot-at'] === undefined) throw new UsageError('--snapshot-file needs --snapshot-at N');
  return {
    snapshotAt: v['snapshot-at'] === undefined ? undefined : parseIntArg('--snapshot-at', v['snapshot-at'], 0, Number.MAX_SAFE_INTEGER),
    snapshotFile: v['snapshot-file'],
    onAbort: v['on-abort'] === undefined ? {} : parseOnAbort(v['on-abort']),
    from: v.from ?? null,
    record: !!v.record,
    kernel: parsed.positionals[0] ?? null,
    cmdline,
    cpus: v.smp === undefined ? 1 : parseIntArg('--smp', v.smp, 1, 64),
    memMiB: v.memory === undefined ? 256 : parseMemory(v.memory),
    verbose: !!v.verbose,
    stopAtStart: !!v.S,
    gdb,
    maxInsns: v['max-insns'] === undefined ? undefined : parseIntArg('--max-insns', v['max-insns'], 1, Number.MAX_SAFE_INTEGER),
    timeoutSec: timeout,
    kvmclock: !v['no-kvmclock'],
    x2apic: !!v.x2apic,
    quiet: !!v.quiet,
    net,
    pcap: v.pcap,
    netRecord: v['net-record'],
    debugcon: v.debugcon === undefined ? null : debugconArg(v.debugcon),
    disks: v.disk ?? [],
    rngSeed: parseRngSeed(v['rng-seed']),
    noRng: !!v['no-rng'],
    virtioMode: parseVirtioMode(v.virtio),
    seed: v.seed === undefined ? undefined : parseIntArg('--seed', v.seed, 0, 0xffffffff),
    cpuVendor,
    symbols: v.symbols ?? null,
    gdbThreads,
    ...engineValues(v),
    profile: v.profile,
    profileInterval: v['profile-interval'] === undefined ? DEFAULT_PROFILE_INTERVAL
      : parseIntArg('--profile-interval', v['profile-interval'], 1, Number.MAX_SAFE_INTEGER),
    traceSave: v['trace-save'],
    perfetto: v.perfetto,
  };
}

function debugconArg(v: string): DebugconSpec {
  try {
    return parseDebugcon(v);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

function parseRngSeed(v: string | undefined): number | 'host' {
  if (v === undefined) return 0;
  if (v === 'host') return 'host';
  return parseIntArg('--rng-seed', v, 0, 0xffffffff);
}

function parseVirtioMode(v: string | undefined): RunArgs['virtioMode'] {
  if (v === undefined) return 'transitional';
  if (v === 'legacy' || v === 'transitional' || v === 'modern') return v;
  throw new UsageError(`--virtio must be legacy, transitional or modern, got "${v}"`);
}
