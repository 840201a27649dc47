// A worker thread of the test runner: runs one test at a time, each in a fresh machine.
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { Machine } from '../machine/machine.js';
import { Relay } from '../machine/relay.js';
import type { RunResult } from '../machine/machine.js';
import { closeMachineDisks, diskMachineOptions } from './test-disk.js';
import { writeFailureFiles } from './test-failure-files.js';
import { netMachineOptions } from './test-net.js';
import { classify } from './test-outcome.js';
import { engineMachineOptions } from './test-engine.js';
import { useKernelSymbols } from './thread-source.js';
import type { WorkerJob, WorkerReply } from './test-runner.js';

const kernel: Uint8Array = workerData.kernel;
// Core files name OSv threads from loader.elf beside a stripped kernel, as `osvemu run` does (loaded on first use).
useKernelSymbols(workerData.kernelPath, undefined);
/**
 * Instructions between wall-clock checks. Machine.run looks at the clock only between slices, and a
 * slice of an idle guest (timer ticks, virtual time jumping) can take seconds; running in chunks
 * keeps a timeout close to its time. Chunking does not change what the guest does: a slice ends
 * between quanta.
 */
const CHUNK = 250_000;

function runLimited(machine: Machine, maxInsns: number | undefined, timeoutMs: number | undefined): RunResult {
  const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
  const limit = maxInsns ?? Infinity;
  for (;;) {
    const r = machine.run({ maxInsns: Math.min(limit, machine.instructions + CHUNK), timeoutMs: deadline - Date.now() });
    if (r.cause !== 'insn-limit' || machine.instructions >= limit) return r;
    if (Date.now() > deadline) return { ...r, cause: 'timeout', message: `timed out after ${timeoutMs} ms` };
  }
}

/** This thread's CPU time in ms (Linux: /proc/thread-self/stat, clock ticks of 10 ms), or NaN. */
function threadCpuMs(): number {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 (utime, stime) of proc(5); f[0] is field 3.
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return NaN;
  }
}

/** Tests run one after another in this thread: each machine is made while the last is reachable (relay.ts). */
const relay = new Relay<Machine>();

function run(job: WorkerJob): WorkerReply {
  const t0 = performance.now();
  const cpu0 = threadCpuMs();
  let machine: Machine | null = null;
  let devices: ReturnType<typeof diskMachineOptions> = {};
  try {
    devices = diskMachineOptions(job.disk, job.rng ?? true);
    machine = relay.next(() => new Machine({ kernel, cmdline: job.cmdline, cpus: job.cpus, memMiB: job.memMiB, seed: job.seed,
      cpuVendor: job.cpuVendor, ...devices, ...netMachineOptions(job.net ?? false), ...engineMachineOptions(job.engine),
    }));
    const r = runLimited(machine, job.maxInsns, job.timeoutMs);
    const reply: WorkerReply = {
      id: job.id, cause: r.cause, message: r.message, exitStatus: machine.exitStatus, instructions: r.instructions,
      virtualNs: r.virtualNs, console: machine.console, wallMs: performance.now() - t0, cpuMs: threadCpuMs() - cpu0,
    };
    if (job.onFail && classify(reply, reply.console).outcome !== 'passed') reply.failureFiles = writeFailureFiles(machine, job.onFail);
    return reply;
  } catch (e) {
    return {
      id: job.id, cause: 'error', message: (e as Error).message.split('\n')[0], exitStatus: 1,
      instructions: machine?.instructions ?? 0, virtualNs: 0, console: machine?.console ?? '', wallMs: performance.now() - t0,
      cpuMs: threadCpuMs() - cpu0,
    };
  } finally {
    closeMachineDisks(devices);
  }
}

parentPort!.on('message', (job: WorkerJob) => parentPort!.postMessage(run(job)));
