// QEMU TCG running OSv's unit tests one by one, as scripts/test.py does (each test its own boot of
// run.py's machine: virtio-blk disk, virtio-net on QEMU's user network, virtio-rng, isa-serial), with
// the kernel given by -kernel (run.py -k). Records each test's outcome (judged as osvemu judges it),
// wall seconds and CPU seconds (QEMU's, from the shell's `times`), and writes them as JSON for
// bench/osv-tests.ts's side-by-side table. Prints figures; asserts nothing.
// usage: node dist/bench/qemu-osv-tests.js KERNEL DISK MANIFEST OUT.json [filter]
// env: OSV_TEST_CPUS (2), OSV_TEST_MEM (MiB, 2048), OSV_TEST_TIMEOUT (s, 90)
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { planOsvTests, type OsvTest } from '../src/osv/test-list.js';
import { classify, type OsvTestOutcome } from '../src/osv/test-outcome.js';

export interface TestFigure {
  name: string;
  outcome: OsvTestOutcome;
  wallS: number;
  cpuS: number;
}

export interface QemuSettings {
  kernel: string;
  disk?: string;
  cpus: number;
  memMiB: number;
  timeoutSec: number;
}

/** run.py's QEMU arguments for one test (x86_64, hypervisor qemu, -k, --block-device-cache unsafe, one user-mode NIC). */
export function qemuArgs(t: OsvTest, s: QemuSettings): string[] {
  const args = ['-m', `${s.memMiB}M`, '-smp', String(s.cpus), '-display', 'none', '-kernel', s.kernel, '-append', t.cmdline];
  if (s.disk) {
    // snapshot=on: the image is shared and must not change (run.py writes to its own copy).
    args.push('-device', 'virtio-blk-pci,id=blk0,drive=hd0', '-drive', `file=${s.disk},if=none,id=hd0,cache=unsafe,aio=threads,snapshot=on`);
  }
  args.push('-netdev', 'user,id=un0,net=192.168.122.0/24,host=192.168.122.1', '-device', 'virtio-net-pci,netdev=un0',
    '-device', 'virtio-rng-pci', '-chardev', 'stdio,mux=on,id=stdio,signal=off', '-mon', 'chardev=stdio,mode=readline',
    '-device', 'isa-serial,chardev=stdio', '-no-reboot');
  return args;
}

/** One test; CPU time is QEMU's user+system time as bash's `times` reports for its children. */
export function qemuOne(t: OsvTest, s: QemuSettings): TestFigure {
  const script = 'timeout -s KILL "$T" "$@"; rc=$?; times >&2; exit $rc';
  const t0 = performance.now();
  const r = spawnSync('bash', ['-c', script, 'bash', 'qemu-system-x86_64', ...qemuArgs(t, s)], {
    encoding: 'latin1', env: { ...process.env, T: String(s.timeoutSec) }, maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const wallS = (performance.now() - t0) / 1000;
  // `times` prints the shell's own times, then its children's: "0m0.430s 0m0.116s".
  const lines = (r.stderr ?? '').trim().split('\n');
  const m = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s/.exec(lines[lines.length - 1] ?? '');
  const killed = r.status === 137;
  // timeout(1) signals its whole process group, itself included, so a killed QEMU's time is not counted.
  const cpuS = m && !killed ? Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]) : NaN;
  const cause = killed ? 'timeout' : r.status === 0 ? 'poweroff' : 'debug-exit';
  const outcome = classify({ cause, message: killed ? `timed out after ${s.timeoutSec} s` : '', exitStatus: r.status ?? 1 }, r.stdout ?? '').outcome;
  return { name: t.name, outcome, wallS, cpuS };
}

export function outcomeCounts(outcomes: OsvTestOutcome[]): string {
  const m = new Map<string, number>();
  for (const o of outcomes) m.set(o, (m.get(o) ?? 0) + 1);
  return [...m].sort().map(([o, n]) => `${n} ${o}`).join(', ');
}

export const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [kernel, disk, manifest, out, filter] = process.argv.slice(2);
  if (!out) {
    console.error('usage: qemu-osv-tests KERNEL DISK MANIFEST OUT.json [filter]');
    process.exit(2);
  }
  const s: QemuSettings = {
    kernel, disk: disk || undefined, cpus: Number(process.env.OSV_TEST_CPUS ?? 2), memMiB: Number(process.env.OSV_TEST_MEM ?? 2048),
    timeoutSec: Number(process.env.OSV_TEST_TIMEOUT ?? 90),
  };
  const plan = planOsvTests({ kernel, disk: s.disk, manifest, filter });
  const figures: TestFigure[] = [];
  const t0 = performance.now();
  console.log(`QEMU TCG one by one: ${plan.tests.length} tests, -smp ${s.cpus} -m ${s.memMiB}M, timeout ${s.timeoutSec} s; load ${load()}`);
  for (const t of plan.tests) {
    if (t.skip) continue;
    const f = qemuOne(t, s);
    figures.push(f);
    console.log(`${f.name.padEnd(32)} ${f.outcome.padEnd(10)} ${f.wallS.toFixed(2).padStart(7)} s wall ${f.cpuS.toFixed(2).padStart(7)} s cpu  load ${load()}`);
    writeFileSync(out, JSON.stringify({ engine: 'qemu-tcg', settings: s, figures }, null, 1));
  }
  const wall = (performance.now() - t0) / 1000;
  const cpu = figures.reduce((a, f) => a + (Number.isNaN(f.cpuS) ? 0 : f.cpuS), 0);
  console.log(`QEMU TCG: ${figures.length} tests in ${wall.toFixed(1)} s wall, ${cpu.toFixed(1)} s cpu: ${outcomeCounts(figures.map((f) => f.outcome))}; load ${load()}`);
  writeFileSync(out, JSON.stringify({ engine: 'qemu-tcg', settings: s, wallS: wall, cpuS: cpu, load: load(), figures }, null, 1));
}
