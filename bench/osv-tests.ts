// OSv test-suite benchmark: `osvemu test` wall time with --jobs 1 and 2 (OSV_TEST_JOBS), outcome counts,
// and, when qemu-system-x86_64 is installed, QEMU TCG running the same list one test after another as
// OSv's test.py does. Runs OSv's unit tests with OSV_TESTS_KERNEL (a ramfs tests kernel) or
// OSV_TESTS_KERNEL + OSV_DISK (rofs root on a disk); else the project's osvlike test programs.
// Prints figures; asserts nothing. Options: OSV_TEST_CPUS (4), OSV_TEST_MEM (MiB, 2048),
// OSV_TEST_TIMEOUT (s, 300), OSV_TEST_FILTER (regex), OSV_TEST_SHARD (I/N), OSV_TEST_QEMU=0 to skip QEMU.
import { spawnSync } from 'node:child_process';
import { buildGuest } from '../src/cli/guest.js';
import { planOsvTests, type OsvTest } from '../src/osv/test-list.js';
import { classify, type OsvTestOutcome } from '../src/osv/test-outcome.js';
import { runTestPlan } from '../src/osv/test-runner.js';

const real = process.env.OSV_TESTS_KERNEL;
const kernel = real ?? buildGuest('osvlike');
const disk = process.env.OSV_DISK;
const cpus = Number(process.env.OSV_TEST_CPUS ?? (real ? 4 : 2));
const memMiB = Number(process.env.OSV_TEST_MEM ?? (real ? 2048 : 64));
const timeoutSec = Number(process.env.OSV_TEST_TIMEOUT ?? (real ? 300 : 5));
const jobsList = (process.env.OSV_TEST_JOBS ?? '1,2').split(',').map(Number);
// The osvlike hang test would only measure the timeout.
const plan = planOsvTests({
  kernel, disk, filter: process.env.OSV_TEST_FILTER, shard: process.env.OSV_TEST_SHARD, exclude: real ? [] : ['tst-hang.so'],
});

function counts(outcomes: OsvTestOutcome[]): string {
  const m = new Map<string, number>();
  for (const o of outcomes) m.set(o, (m.get(o) ?? 0) + 1);
  return [...m].sort().map(([o, n]) => `${n} ${o}`).join(', ');
}

async function osvemu(): Promise<void> {
  for (const jobs of jobsList) {
    const t0 = Date.now();
    const results = await runTestPlan(plan, { kernel, disk, jobs, cpus, memMiB, timeoutSec });
    const wall = (Date.now() - t0) / 1000;
    const insns = results.reduce((a, r) => a + r.instructions, 0);
    console.log(`osvemu --jobs ${jobs}: ${results.length} tests in ${wall.toFixed(1)} s wall (${(insns / 1e9).toFixed(2)} G insns): ` +
      counts(results.map((r) => r.outcome)));
    const bad = results.filter((r) => !r.ok).map((r) => `${r.name} ${r.outcome}`);
    if (bad.length) console.log(`  not passed: ${bad.join(', ')}`);
  }
}

/** One test under QEMU TCG, as run.py would start it (PVH -kernel, the disk on virtio-blk). */
function qemuOne(t: OsvTest): OsvTestOutcome {
  const args = ['-m', `${memMiB}M`, '-smp', String(cpus), '-nographic', '-nodefaults', '-no-user-config', '-no-reboot',
    '-serial', 'stdio', '-kernel', kernel, '-append', t.cmdline, '-device', 'isa-debug-exit,iobase=0xf4,iosize=1'];
  if (disk) args.push('-device', 'virtio-blk-pci,drive=hd0', '-drive', `file=${disk},if=none,id=hd0,cache=unsafe,snapshot=on`);
  const r = spawnSync('qemu-system-x86_64', args, { encoding: 'latin1', timeout: timeoutSec * 1000, maxBuffer: 1 << 28 });
  const cause = r.error ? 'timeout' : r.status === 0 ? 'poweroff' : 'debug-exit';
  return classify({ cause, message: String(r.error ?? ''), exitStatus: r.status ?? 1 }, r.stdout ?? '').outcome;
}

function qemu(): void {
  if (process.env.OSV_TEST_QEMU === '0' || spawnSync('qemu-system-x86_64', ['--version']).error) {
    console.log('QEMU TCG: not run (qemu-system-x86_64 missing or OSV_TEST_QEMU=0)');
    return;
  }
  const t0 = Date.now();
  const outcomes = plan.tests.filter((t) => !t.skip).map(qemuOne);
  console.log(`QEMU TCG one by one: ${outcomes.length} tests in ${((Date.now() - t0) / 1000).toFixed(1)} s wall: ${counts(outcomes)}`);
}

console.log(`${plan.tests.length} tests from ${plan.source}; -c ${cpus} -m ${memMiB}M, timeout ${timeoutSec} s`);
await osvemu();
qemu();
