// OSv test-suite benchmark: `osvemu test` wall time with --jobs 1 and 2 (OSV_TEST_JOBS), outcome counts,
// and, when qemu-system-x86_64 is installed, QEMU TCG running the same list one test after another as
// OSv's test.py does (bench/qemu-osv-tests.ts), then the slowest tests with both figures. Runs OSv's unit
// tests with OSV_TESTS_KERNEL (a ramfs tests kernel) or OSV_TESTS_KERNEL + OSV_DISK (rofs root on a
// disk); else the project's osvlike test programs. Prints figures; asserts nothing. Options:
// OSV_TEST_CPUS (4), OSV_TEST_MEM (MiB, 2048), OSV_TEST_TIMEOUT (s, 300), OSV_TEST_FILTER (regex),
// OSV_TEST_SHARD (I/N), OSV_TEST_NET (auto|isolated|none), OSV_TEST_VERBOSE=1 (a line per test),
// OSV_TEST_QEMU=0 to skip QEMU, OSV_TEST_QEMU_JSON=FILE to read QEMU's figures from an earlier
// `qemu-osv-tests` run instead, OSV_TEST_OUT=DIR to keep every run's figures as JSON.
import { mkdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { buildGuest } from '../src/cli/guest.js';
import { planOsvTests } from '../src/osv/test-list.js';
import { runTestPlan } from '../src/osv/test-runner.js';
import type { TestNet } from '../src/osv/test-net.js';
import { readFigures, slowestTable } from './osv-tests-table.js';
import { load, outcomeCounts, qemuOne, type TestFigure } from './qemu-osv-tests.js';

const real = process.env.OSV_TESTS_KERNEL;
const kernel = real ?? buildGuest('osvlike');
const disk = process.env.OSV_DISK;
const cpus = Number(process.env.OSV_TEST_CPUS ?? (real ? 4 : 2));
const memMiB = Number(process.env.OSV_TEST_MEM ?? (real ? 2048 : 64));
const timeoutSec = Number(process.env.OSV_TEST_TIMEOUT ?? (real ? 300 : 5));
const jobsList = (process.env.OSV_TEST_JOBS ?? '1,2').split(',').map(Number);
const outDir = process.env.OSV_TEST_OUT;
/** OSV_TEST_VERBOSE=1: a line per test as it ends (long runs). */
const verbose = process.env.OSV_TEST_VERBOSE === '1';
/** OSV_TEST_NET: auto (default), isolated or none, as `osvemu test --net`. */
const net = (process.env.OSV_TEST_NET ?? 'auto') as TestNet;
if (outDir) mkdirSync(outDir, { recursive: true });
// The osvlike hang test would only measure the timeout.
const plan = planOsvTests({
  kernel, disk, filter: process.env.OSV_TEST_FILTER, shard: process.env.OSV_TEST_SHARD, exclude: real ? [] : ['tst-hang.so'],
});

const save = (file: string, data: unknown) => outDir && writeFileSync(path.join(outDir, file), JSON.stringify(data, null, 1));

async function osvemu(jobs: number): Promise<TestFigure[]> {
  const t0 = Date.now();
  const cpu0 = process.cpuUsage();
  const load0 = load();
  const done: TestFigure[] = [];
  const results = await runTestPlan(plan, {
    kernel, disk, jobs, cpus, memMiB, timeoutSec, net,
    onEvent: (e) => {
      if (e.type !== 'done' || e.result.outcome === 'skipped') return;
      const r = e.result;
      done.push({ name: r.name, outcome: r.outcome, wallS: r.wallMs / 1000, cpuS: r.cpuMs / 1000 });
      if (verbose) {
        console.log(`  ${r.name.padEnd(32)} ${r.outcome.padEnd(12)} ${(r.wallMs / 1000).toFixed(2).padStart(7)} s wall ` +
          `${(r.cpuMs / 1000).toFixed(2).padStart(7)} s cpu ${(r.instructions / 1e9).toFixed(2).padStart(6)} G insns  load ${load()}`);
        save(`osvemu-j${jobs}.partial.json`, { engine: 'osvemu', jobs, figures: done });
      }
    },
  });
  const wall = (Date.now() - t0) / 1000;
  const c = process.cpuUsage(cpu0);
  const cpu = (c.user + c.system) / 1e6;
  const insns = results.reduce((a, r) => a + r.instructions, 0);
  console.log(`osvemu --jobs ${jobs}: ${results.length} tests in ${wall.toFixed(1)} s wall, ${cpu.toFixed(1)} s cpu ` +
    `(${(insns / 1e9).toFixed(2)} G insns): ${outcomeCounts(results.map((r) => r.outcome))}; load ${load0} -> ${load()}`);
  const bad = results.filter((r) => !r.ok).map((r) => `${r.name} ${r.outcome}`);
  if (bad.length) console.log(`  not passed: ${bad.join(', ')}`);
  const figures = results.filter((r) => r.outcome !== 'skipped')
    .map((r) => ({ name: r.name, outcome: r.outcome, wallS: r.wallMs / 1000, cpuS: r.cpuMs / 1000, instructions: r.instructions }));
  save(`osvemu-j${jobs}.json`, { engine: 'osvemu', jobs, cpus, memMiB, timeoutSec, wallS: wall, cpuS: cpu, load: [load0, load()], figures });
  return figures;
}

function qemu(): TestFigure[] | null {
  if (process.env.OSV_TEST_QEMU_JSON) return readFigures(process.env.OSV_TEST_QEMU_JSON);
  if (process.env.OSV_TEST_QEMU === '0' || spawnSync('qemu-system-x86_64', ['--version']).error) {
    console.log('QEMU TCG: not run (qemu-system-x86_64 missing or OSV_TEST_QEMU=0)');
    return null;
  }
  const t0 = Date.now();
  const load0 = load();
  const figures = plan.tests.filter((t) => !t.skip).map((t) => qemuOne(t, { kernel, disk, cpus, memMiB, timeoutSec }));
  const wall = (Date.now() - t0) / 1000;
  const cpu = figures.reduce((a, f) => a + (Number.isNaN(f.cpuS) ? 0 : f.cpuS), 0);
  console.log(`QEMU TCG one by one: ${figures.length} tests in ${wall.toFixed(1)} s wall, ${cpu.toFixed(1)} s cpu: ` +
    `${outcomeCounts(figures.map((f) => f.outcome))}; load ${load0} -> ${load()}`);
  save('qemu.json', { engine: 'qemu-tcg', cpus, memMiB, timeoutSec, wallS: wall, cpuS: cpu, load: [load0, load()], figures });
  return figures;
}

console.log(`${plan.tests.length} tests from ${plan.source}; -c ${cpus} -m ${memMiB}M, timeout ${timeoutSec} s; load ${load()}`);
let first: TestFigure[] | null = null;
for (const jobs of jobsList) {
  const figures = await osvemu(jobs);
  first ??= figures;
}
const q = qemu();
if (first) console.log(`\nslowest tests (osvemu --jobs ${jobsList[0]}):\n${slowestTable(first, q)}`);
