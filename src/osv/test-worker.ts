// A worker thread of the test runner: runs one test at a time, each in a fresh machine.
import { parentPort, workerData } from 'node:worker_threads';
import { Machine } from '../machine/machine.js';
import type { RunResult } from '../machine/machine.js';
import { closeMachineDisks, diskMachineOptions } from './test-disk.js';
import type { WorkerJob, WorkerReply } from './test-runner.js';

const kernel: Uint8Array = workerData.kernel;
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

function run(job: WorkerJob): WorkerReply {
  const t0 = performance.now();
  let machine: Machine | null = null;
  let devices: ReturnType<typeof diskMachineOptions> = {};
  try {
    devices = diskMachineOptions(job.disk);
    machine = new Machine({ kernel, cmdline: job.cmdline, cpus: job.cpus, memMiB: job.memMiB, seed: job.seed,
      cpuVendor: job.cpuVendor, ...devices,
    });
    const r = runLimited(machine, job.maxInsns, job.timeoutMs);
    return {
      id: job.id, cause: r.cause, message: r.message, exitStatus: machine.exitStatus, instructions: r.instructions,
      virtualNs: r.virtualNs, console: machine.console, wallMs: performance.now() - t0,
    };
  } catch (e) {
    return {
      id: job.id, cause: 'error', message: (e as Error).message.split('\n')[0], exitStatus: 1,
      instructions: machine?.instructions ?? 0, virtualNs: 0, console: machine?.console ?? '', wallMs: performance.now() - t0,
    };
  } finally {
    closeMachineDisks(devices);
  }
}

parentPort!.on('message', (job: WorkerJob) => parentPort!.postMessage(run(job)));
