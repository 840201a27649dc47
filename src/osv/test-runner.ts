// The OSv test runner's Node API: each test in a fresh, deterministic machine, machines spread
// over worker threads. One result per planned test, in plan order, whatever the number of jobs.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { CpuVendorName } from '../cpu/vendor.js';
import type { StopCause } from '../machine/machine.js';
import { closeMachineDisks, diskMachineOptions } from './test-disk.js';
import { failureFilePaths, testFileBase, type FailureFileKind, type FailureFilePaths, type FailureFiles } from './test-failure-files.js';
import { resolveTestNet, type TestNet } from './test-net.js';
import { classify, type OsvTestOutcome } from './test-outcome.js';
import { OsvTestError, planOsvTests, type OsvTest, type TestPlan, type TestSelection } from './test-list.js';
import { DEFAULT_CPUS, DEFAULT_MEM_MIB, DEFAULT_TIMEOUT_SEC } from './test-defaults.js';
import { engineRunWords, type EngineSettings } from './test-engine.js';
import { loadDurations, longestFirst, saveDurations, type TestDurations } from './test-history.js';

export interface OsvRunOptions {
  /** vCPUs per machine; run.py's default, 4. */
  cpus?: number;
  /** RAM per machine in MiB; run.py's default, 2048. */
  memMiB?: number;
  /** Instructions per test (all vCPUs together). */
  maxInsns?: number;
  /** Host seconds per test; default 300. */
  timeoutSec?: number;
  /** CPU vendor the machines model; default intel (as osvemu run). */
  cpuVendor?: CpuVendorName;
  /** Machines at once; default: the host's cores. */
  jobs?: number;
  /** How to spell osvemu in the reproduce commands; default "osvemu". */
  command?: string;
  /** Test starts and ends, as they happen (progress lines). */
  onEvent?: (e: OsvTestEvent) => void;
  /** Stops the run: no new tests start, running machines end; their results say "interrupted". */
  signal?: AbortSignal;
  /** The network card: auto (default: one when the kernel has OSv's virtio-net driver), isolated, none. */
  net?: TestNet;
  /** Files to keep of each test that does not pass, written into `onFailDir` (test-failure-files.ts). */
  onFail?: FailureFileKind[];
  onFailDir?: string;
  /** A virtio-rng in every machine (default true, as `osvemu run`); false: --no-rng. */
  rng?: boolean;
  /** Guest time scale, waiting costs, block compiler (default: `osvemu run`'s). */
  engine?: Partial<EngineSettings>;
  /**
   * A file of test durations (test-history.ts; `osvemu test` uses one per kernel in osvemu's cache folder):
   * tests start longest first by the durations recorded there, and this run's are added. Default: none, name order.
   */
  durationsFile?: string;
}

export type RunOsvTestsOptions = TestSelection & OsvRunOptions;

export interface OsvTestResult {
  name: string;
  path: string;
  cmdline: string;
  seed: number;
  outcome: OsvTestOutcome;
  /** Passed or skipped: nothing to look at. */
  ok: boolean;
  /** One line: why this outcome. */
  reason: string;
  /** The first console line matching a test.py failure pattern. */
  failureLine: string | null;
  exitStatus: number;
  instructions: number;
  virtualNs: number;
  wallMs: number;
  /** CPU time of the thread that ran the machine, ms (NaN where unknown). */
  cpuMs: number;
  /** Serial console output (bytes as Latin-1 characters, as the machine received them). */
  console: string;
  /** A shell command that runs this test alone in the same machine (add -s to debug it with gdb). */
  reproduce: string;
  /** --on-fail: the files written for this test, and why any could not be. */
  failureFiles?: FailureFiles;
}

export type OsvTestEvent =
  | { type: 'start'; test: OsvTest }
  | { type: 'done'; result: OsvTestResult };

/** What the main thread sends a worker: one test. */
export interface WorkerJob {
  id: number;
  cmdline: string;
  seed: number;
  cpus: number;
  memMiB: number;
  maxInsns?: number;
  timeoutMs?: number;
  cpuVendor?: CpuVendorName;
  /** Disk image path: the worker attaches it (diskMachineOptions). */
  disk?: string;
  /** A network card on the isolated network (netMachineOptions). */
  net?: boolean;
  /** Files to write if the test does not pass. */
  onFail?: FailureFilePaths;
  /** No virtio-rng when false. */
  rng?: boolean;
  engine?: Partial<EngineSettings>;
}

export interface WorkerReply {
  id: number;
  cause: StopCause | 'error';
  message: string;
  exitStatus: number;
  instructions: number;
  virtualNs: number;
  console: string;
  failureFiles?: FailureFiles;
  wallMs: number;
  /** CPU time of the worker thread that ran the machine (NaN where the host cannot tell). */
  cpuMs?: number;
}

export { DEFAULT_CPUS, DEFAULT_MEM_MIB, DEFAULT_TIMEOUT_SEC };
/** A worker that has not answered this long after its test's timeout is ended. */
const WATCHDOG_GRACE_MS = 30_000;

function workerUrl(): URL {
  const sibling = new URL('./test-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(sibling))) return sibling;
  // Loaded from the TypeScript sources (vitest): the worker runs from the build.
  // From the CLI bundle (dist/src/cli/main.bundle.cjs, src/cli/bundle.ts).
  const fromBundle = new URL('../osv/test-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(fromBundle))) return fromBundle;
  const built = new URL('../../dist/src/osv/test-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(built))) return built;
  throw new OsvTestError([`the test worker ${fileURLToPath(built)} is missing: run "npm run build"`]);
}

export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export function memorySpelling(mib: number): string {
  return mib % 1024 === 0 ? `${mib / 1024}G` : `${mib}M`;
}

interface RunSettings {
  kernel: string;
  disk?: string;
  cpus: number;
  memMiB: number;
  maxInsns?: number;
  timeoutSec: number;
  cpuVendor?: CpuVendorName;
  command: string;
  net: boolean;
  /** A virtio-rng (default true). */
  rng?: boolean;
  engine?: Partial<EngineSettings>;
}

/** `osvemu run` with the test's machine: same kernel, disk, vCPUs, RAM, seed, limits, command line. */
export function reproduceCommand(test: OsvTest, s: RunSettings): string {
  const words = [s.command, 'run', shellQuote(s.kernel)];
  if (s.disk !== undefined) words.push('--disk', shellQuote(s.disk));
  words.push('-c', String(s.cpus), '-m', memorySpelling(s.memMiB), '--seed', String(test.seed));
  if (s.cpuVendor !== undefined && s.cpuVendor !== 'intel') words.push('--cpu-vendor', s.cpuVendor);
  if (s.net) words.push('--net', 'isolated');
  if (s.rng === false) words.push('--no-rng');
  words.push(...engineRunWords(s.engine));
  if (s.maxInsns !== undefined) words.push('--max-insns', String(s.maxInsns));
  words.push('--timeout', String(s.timeoutSec), '-e', shellQuote(test.cmdline));
  return words.join(' ');
}

function settingsOf(options: RunOsvTestsOptions, kernel: Uint8Array): RunSettings {
  return {
    net: resolveTestNet(options.net, kernel),
    kernel: options.kernel, disk: options.disk, cpus: options.cpus ?? DEFAULT_CPUS, memMiB: options.memMiB ?? DEFAULT_MEM_MIB,
    maxInsns: options.maxInsns, timeoutSec: options.timeoutSec ?? DEFAULT_TIMEOUT_SEC, command: options.command ?? 'osvemu',
    cpuVendor: options.cpuVendor, rng: options.rng ?? true, engine: options.engine,
  };
}

function resultOf(test: OsvTest, reply: WorkerReply, s: RunSettings): OsvTestResult {
  const verdict = classify(reply, reply.console);
  return {
    name: test.name, path: test.path, cmdline: test.cmdline, seed: test.seed, outcome: verdict.outcome,
    ok: verdict.outcome === 'passed', reason: verdict.reason, failureLine: verdict.failureLine, exitStatus: reply.exitStatus,
    instructions: reply.instructions, virtualNs: reply.virtualNs, wallMs: reply.wallMs, cpuMs: reply.cpuMs ?? NaN, console: reply.console,
    reproduce: reproduceCommand(test, s),
    ...(reply.failureFiles ? { failureFiles: reply.failureFiles } : {}),
  };
}

function skippedResult(test: OsvTest, s: RunSettings, why = test.skip ?? 'skipped'): OsvTestResult {
  return {
    name: test.name, path: test.path, cmdline: test.cmdline, seed: test.seed, outcome: 'skipped', ok: true,
    reason: why, failureLine: null, exitStatus: 0, instructions: 0, virtualNs: 0, wallMs: 0, cpuMs: 0, console: '',
    reproduce: reproduceCommand(test, s),
  };
}

interface JobEnd {
  reply: WorkerReply;
  /** The worker was ended (or died): the next job needs a new one. */
  workerLost: boolean;
  interrupted: boolean;
}

/** Runs one job on a worker; resolves with its reply, or with an 'error' reply if the worker died. */
function runOn(worker: Worker, job: WorkerJob, watchdogMs: number, signal?: AbortSignal): Promise<JobEnd> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const lost = (message: string, cause: WorkerReply['cause'] = 'error', interrupted = false) => {
      cleanup();
      resolve({
        reply: { id: job.id, cause, message, exitStatus: 1, instructions: 0, virtualNs: 0, console: '', wallMs: performance.now() - t0 },
        workerLost: true,
        interrupted,
      });
    };
    const onMessage = (reply: WorkerReply) => {
      cleanup();
      resolve({ reply, workerLost: false, interrupted: false });
    };
    const onError = (e: Error) => lost(`worker thread failed: ${e.message.split('\n')[0]}`);
    const onExit = (code: number) => lost(`worker thread exited with code ${code}`);
    const onAbort = () => {
      void worker.terminate();
      lost('interrupted', 'stopped', true);
    };
    const timer = setTimeout(() => {
      void worker.terminate();
      lost(`no answer ${Math.round(watchdogMs / 1000)} s into the test: its worker was ended`, 'timeout');
    }, watchdogMs);
    const cleanup = () => {
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      signal?.removeEventListener('abort', onAbort);
    };
    signal?.addEventListener('abort', onAbort);
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    worker.postMessage(job);
  });
}

/** Runs a plan; results in plan order. */
export async function runTestPlan(plan: TestPlan, options: RunOsvTestsOptions): Promise<OsvTestResult[]> {
  const s = settingsOf(options, plan.kernelBytes);
  // Fails early, in one line, when the disk cannot be attached.
  closeMachineDisks(diskMachineOptions(options.disk));
  const results = new Array<OsvTestResult>(plan.tests.length);
  const queue: number[] = [];
  plan.tests.forEach((t, k) => {
    if (t.skip) {
      results[k] = skippedResult(t, s);
      options.onEvent?.({ type: 'done', result: results[k] });
    } else queue.push(k);
  });
  if (queue.length === 0) return results;
  const order = options.durationsFile === undefined ? queue
    : longestFirst(queue, plan.tests.map((t) => t.name), loadDurations(options.durationsFile));

  const jobs = Math.max(1, Math.min(options.jobs ?? availableParallelism(), queue.length));
  const url = workerUrl();
  // One copy of the kernel for all workers.
  const kernel = new Uint8Array(new SharedArrayBuffer(plan.kernelBytes.length));
  kernel.set(plan.kernelBytes);
  const spawn = () => new Worker(url, { workerData: { kernel, kernelPath: options.kernel } });
  const timeoutMs = s.timeoutSec * 1000;

  let next = 0;
  const lane = async () => {
    let worker = spawn();
    try {
      while (next < order.length && !options.signal?.aborted) {
        const k = order[next++];
        const test = plan.tests[k];
        options.onEvent?.({ type: 'start', test });
        const job: WorkerJob = {
          id: k, cmdline: test.cmdline, seed: test.seed, cpus: s.cpus, memMiB: s.memMiB, maxInsns: s.maxInsns, timeoutMs, disk: s.disk,
          cpuVendor: s.cpuVendor, net: s.net, rng: s.rng !== false, engine: s.engine,
          ...(options.onFail?.length && options.onFailDir !== undefined
            ? { onFail: failureFilePaths(options.onFailDir, testFileBase(test.name), options.onFail) } : {}),
        };
        const { reply, workerLost, interrupted } = await runOn(worker, job, timeoutMs + WATCHDOG_GRACE_MS, options.signal);
        if (workerLost && job.onFail) reply.failureFiles = { notes: ['no snapshot or core file: the worker thread was ended'] };
        if (workerLost) {
          void worker.terminate();
          worker = spawn();
        }
        results[k] = interrupted ? skippedResult(test, s, 'interrupted') : resultOf(test, reply, s);
        options.onEvent?.({ type: 'done', result: results[k] });
      }
    } finally {
      await worker.terminate();
    }
  };
  await Promise.all(Array.from({ length: jobs }, lane));
  for (const k of queue) if (!results[k]) results[k] = skippedResult(plan.tests[k], s, 'interrupted');
  if (options.durationsFile !== undefined) {
    const ran: TestDurations = new Map();
    for (const k of queue) if (results[k].outcome !== 'skipped') ran.set(results[k].name, results[k].wallMs);
    saveDurations(options.durationsFile, ran);
  }
  return results;
}

/**
 * Plans and runs OSv tests: one result per test (skipped ones included), in name order. Bad input
 * (no kernel, unreadable list or manifest, a test not in the image) throws OsvTestError, one line
 * per problem. For a vitest suite: `runOsvTests({ kernel, shard: '2/4' })` runs the same part of the
 * list as `osvemu test --shard 2/4`.
 */
export async function runOsvTests(options: RunOsvTestsOptions): Promise<OsvTestResult[]> {
  return runTestPlan(planOsvTests(options), options);
}
