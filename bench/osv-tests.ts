// OSv test-suite benchmark, issue 12's setup by default: OSv's unit-test image (OSV_TESTS_KERNEL: a ramfs
// tests kernel, or with OSV_DISK a rofs root on a disk), one boot per test, -c 2 -m 2G, no devices (only the
// serial console: no network card, no virtio-rng), 90 s per test, two at a time, the tests OSv's test.py runs
// under TCG (its disabled list skipped). Runs `osvemu test`'s runner, then, when qemu-system-x86_64 is
// installed, QEMU TCG the same way (bench/qemu-osv-tests.ts), and prints pass counts, total test-seconds and
// the slowest tests with both figures. Without OSV_TESTS_KERNEL: the project's osvlike test programs.
// Prints figures; asserts nothing. Options: OSV_TEST_CPUS (2), OSV_TEST_MEM (MiB, 2048), OSV_TEST_TIMEOUT
// (s, 90), OSV_TEST_JOBS (2; "1,2" runs osvemu twice), OSV_TEST_DEVICES (none|run.py: run.py's virtio-net and
// virtio-rng), OSV_TEST_ALL=1 (test.py's disabled tests too), OSV_TEST_MANIFEST (usr.manifest; default beside
// the kernel: the list is checked against the image), OSV_TEST_FILTER (regex), OSV_TEST_SHARD (I/N),
// OSV_TEST_VERBOSE=1 (a line per test), OSV_TEST_QEMU=0 to skip QEMU, OSV_TEST_QEMU_JSON=FILE to read QEMU's
// figures from an earlier `qemu-osv-tests` run instead, OSV_TEST_OUT=DIR to keep every run's figures as JSON.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { buildGuest } from '../src/cli/guest.js';
import { planOsvTests, TEST_PY_DISABLED } from '../src/osv/test-list.js';
import { runTestPlan } from '../src/osv/test-runner.js';
import { historyPath } from '../src/osv/test-history.js';
import { readFigures, slowestTable } from './osv-tests-table.js';
import { load, outcomeCounts, qemuTests, type TestDevices, type TestFigure } from './qemu-osv-tests.js';

const real = process.env.OSV_TESTS_KERNEL;
const kernel = real ?? buildGuest('osvlike');
const disk = process.env.OSV_DISK;
const cpus = Number(process.env.OSV_TEST_CPUS ?? 2);
const memMiB = Number(process.env.OSV_TEST_MEM ?? (real ? 2048 : 64));
const timeoutSec = Number(process.env.OSV_TEST_TIMEOUT ?? (real ? 90 : 5));
const jobsList = (process.env.OSV_TEST_JOBS ?? '2').split(',').map(Number);
const devices = (process.env.OSV_TEST_DEVICES ?? 'none') as TestDevices;
if (devices !== 'none' && devices !== 'run.py') throw new Error(`OSV_TEST_DEVICES is none or run.py, got "${devices}"`);
const outDir = process.env.OSV_TEST_OUT;
/** OSV_TEST_VERBOSE=1: a line per test as it ends (long runs). */
const verbose = process.env.OSV_TEST_VERBOSE === '1';
if (outDir) mkdirSync(outDir, { recursive: true });

// The list is the image's /tests/tst-*.so; OSv's test.py takes usr.manifest's: they must agree.
const manifest = process.env.OSV_TEST_MANIFEST ?? (real ? path.join(path.dirname(kernel), 'usr.manifest') : undefined);
const all = process.env.OSV_TEST_ALL === '1';
const imagePlan = planOsvTests({ kernel, disk, exclude: real ? [] : ['tst-hang.so'] });
if (manifest && existsSync(manifest)) {
  const fromImage = new Set(imagePlan.tests.map((t) => t.path));
  const fromManifest = new Set(planOsvTests({ kernel, kernelBytes: imagePlan.kernelBytes, disk, manifest }).tests.map((t) => t.path));
  const onlyImage = [...fromImage].filter((p) => !fromManifest.has(p)), onlyManifest = [...fromManifest].filter((p) => !fromImage.has(p));
  console.log(`test list: ${fromImage.size} /tests/tst-*.so in ${imagePlan.source}, ${fromManifest.size} /tests/tst-* in ${manifest}` +
    `${onlyImage.length || onlyManifest.length ? `; only in the image: ${onlyImage.join(' ') || '-'}; only in the manifest: ${onlyManifest.join(' ') || '-'}` : ': the same'}`);
}
const disabled = imagePlan.tests.filter((t) => t.skip).map((t) => t.name);
if (real) console.log(`test.py's disabled list (${TEST_PY_DISABLED.join(', ')}): ${all ? 'run anyway (OSV_TEST_ALL=1)' : `skipped: ${disabled.join(', ') || 'none in the image'}`}`);
// The osvlike hang test would only measure the timeout. An explicit list runs test.py's disabled tests too.
const plan = planOsvTests({
  kernel, kernelBytes: imagePlan.kernelBytes, disk, filter: process.env.OSV_TEST_FILTER, shard: process.env.OSV_TEST_SHARD,
  exclude: real ? [] : ['tst-hang.so'], ...(all ? { tests: imagePlan.tests.map((t) => t.path) } : {}),
});

const save = (file: string, data: unknown) => outDir && writeFileSync(path.join(outDir, file), JSON.stringify(data, null, 1));

async function osvemu(jobs: number): Promise<TestFigure[]> {
  const t0 = Date.now();
  const cpu0 = process.cpuUsage();
  const load0 = load();
  const done: TestFigure[] = [];
  const results = await runTestPlan(plan, {
    kernel, disk, jobs, cpus, memMiB, timeoutSec, net: devices === 'none' ? 'none' : 'auto', rng: devices !== 'none',
    // As `osvemu test`: longest first by the last run's durations (a first run keeps name order).
    ...(process.env.OSVEMU_TEST_HISTORY === '0' ? {} : { durationsFile: historyPath(plan.kernelBytes) }),
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
  const testS = results.reduce((a, r) => a + r.wallMs / 1000, 0);
  console.log(`osvemu --jobs ${jobs}: ${results.length} tests in ${wall.toFixed(1)} s wall (${testS.toFixed(0)} test-s), ${cpu.toFixed(1)} s cpu ` +
    `(${(insns / 1e9).toFixed(2)} G insns): ${outcomeCounts(results.map((r) => r.outcome))}; load ${load0} -> ${load()}`);
  const bad = results.filter((r) => !r.ok).map((r) => `${r.name} ${r.outcome}`);
  if (bad.length) console.log(`  not passed: ${bad.join(', ')}`);
  const figures = results.filter((r) => r.outcome !== 'skipped')
    .map((r) => ({ name: r.name, outcome: r.outcome, wallS: r.wallMs / 1000, cpuS: r.cpuMs / 1000, instructions: r.instructions }));
  save(`osvemu-j${jobs}.json`, { engine: 'osvemu', jobs, cpus, memMiB, timeoutSec, wallS: wall, cpuS: cpu, load: [load0, load()], figures });
  return figures;
}

async function qemu(): Promise<TestFigure[] | null> {
  if (process.env.OSV_TEST_QEMU_JSON) return readFigures(process.env.OSV_TEST_QEMU_JSON);
  if (process.env.OSV_TEST_QEMU === '0' || spawnSync('qemu-system-x86_64', ['--version']).error) {
    console.log('QEMU TCG: not run (qemu-system-x86_64 missing or OSV_TEST_QEMU=0)');
    return null;
  }
  const t0 = Date.now();
  const load0 = load();
  const jobs = jobsList[0];
  const figures = await qemuTests(plan.tests.filter((t) => !t.skip), { kernel, disk, cpus, memMiB, timeoutSec, devices }, jobs, (f) => {
    if (verbose) console.log(`  QEMU ${f.name.padEnd(32)} ${f.outcome.padEnd(12)} ${f.wallS.toFixed(2).padStart(7)} s wall ${f.cpuS.toFixed(2).padStart(7)} s cpu  load ${load()}`);
  });
  const wall = (Date.now() - t0) / 1000;
  const cpu = figures.reduce((a, f) => a + (Number.isNaN(f.cpuS) ? 0 : f.cpuS), 0);
  const testS = figures.reduce((a, f) => a + f.wallS, 0);
  console.log(`QEMU TCG, ${jobs} at a time: ${figures.length} tests in ${wall.toFixed(1)} s wall (${testS.toFixed(0)} test-s), ${cpu.toFixed(1)} s cpu: ` +
    `${outcomeCounts(figures.map((f) => f.outcome))}; load ${load0} -> ${load()}`);
  save('qemu.json', { engine: 'qemu-tcg', cpus, memMiB, timeoutSec, wallS: wall, cpuS: cpu, load: [load0, load()], figures });
  return figures;
}

console.log(`${plan.tests.length} tests from ${plan.source}; -c ${cpus} -m ${memMiB}M, devices ${devices}, timeout ${timeoutSec} s; load ${load()}`);
let first: TestFigure[] | null = null;
for (const jobs of jobsList) {
  const figures = await osvemu(jobs);
  first ??= figures;
}
const q = await qemu();
if (first) console.log(`\nslowest tests (osvemu --jobs ${jobsList[0]}):\n${slowestTable(first, q)}`);
