// QEMU TCG running OSv's unit tests as scripts/test.py does, one boot per test, with the kernel given by
// -kernel (run.py -k), OSV_TEST_JOBS of them at a time (default 2). The machine is issue 12's (devices
// "none": -nodefaults, only the isa-serial console, plus the virtio-blk disk when there is one) or
// run.py's (OSV_TEST_DEVICES=run.py: virtio-blk disk, virtio-net on QEMU's user network, virtio-rng,
// isa-serial). Records each test's outcome (judged as osvemu judges it), wall seconds and CPU seconds
// (QEMU's, from the shell's `times`), and writes them as JSON for bench/osv-tests.ts's side-by-side
// table. Prints figures; asserts nothing.
// usage: node dist/bench/qemu-osv-tests.js KERNEL DISK MANIFEST OUT.json [filter]
// env: OSV_TEST_CPUS (2), OSV_TEST_MEM (MiB, 2048), OSV_TEST_TIMEOUT (s, 90), OSV_TEST_JOBS (2),
// OSV_TEST_DEVICES (none|run.py)
import { spawn } from 'node:child_process';
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

/** The test machine's devices: issue 12's "none" (console only, and the disk if any) or run.py's. */
export type TestDevices = 'none' | 'run.py';

export interface QemuSettings {
  kernel: string;
  disk?: string;
  cpus: number;
  memMiB: number;
  timeoutSec: number;
  /** Default 'run.py'. */
  devices?: TestDevices;
}

/** QEMU arguments for one test: run.py's (x86_64, hypervisor qemu, -k, --block-device-cache unsafe, one user-mode NIC), or with no devices. */
export function qemuArgs(t: OsvTest, s: QemuSettings): string[] {
  const bare = s.devices === 'none';
  // -nodefaults: no VGA, no default NIC (QEMU adds an e1000 otherwise), no CD-ROM or floppy.
  const args = ['-m', `${s.memMiB}M`, '-smp', String(s.cpus), '-display', 'none', ...(bare ? ['-nodefaults'] : []),
    '-kernel', s.kernel, '-append', t.cmdline];
  if (s.disk) {
    // snapshot=on: the image is shared and must not change (run.py writes to its own copy).
    args.push('-device', 'virtio-blk-pci,id=blk0,drive=hd0', '-drive', `file=${s.disk},if=none,id=hd0,cache=unsafe,aio=threads,snapshot=on`);
  }
  if (!bare) {
    args.push('-netdev', 'user,id=un0,net=192.168.122.0/24,host=192.168.122.1', '-device', 'virtio-net-pci,netdev=un0',
      '-device', 'virtio-rng-pci');
  }
  args.push('-chardev', 'stdio,mux=on,id=stdio,signal=off', '-mon', 'chardev=stdio,mode=readline',
    '-device', 'isa-serial,chardev=stdio', '-no-reboot');
  return args;
}

/** One test; CPU time is QEMU's user+system time as bash's `times` reports for its children. */
export function qemuOne(t: OsvTest, s: QemuSettings): Promise<TestFigure> {
  const script = 'timeout -s KILL "$T" "$@"; rc=$?; times >&2; exit $rc';
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script, 'bash', 'qemu-system-x86_64', ...qemuArgs(t, s)], {
      env: { ...process.env, T: String(s.timeoutSec) }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [], err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (status) => {
      const wallS = (performance.now() - t0) / 1000;
      const stdout = Buffer.concat(out).toString('latin1'), stderr = Buffer.concat(err).toString('latin1');
      // `times` prints the shell's own times, then its children's: "0m0.430s 0m0.116s".
      const lines = stderr.trim().split('\n');
      const m = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s/.exec(lines[lines.length - 1] ?? '');
      const killed = status === 137;
      // timeout(1) signals its whole process group, itself included, so a killed QEMU's time is not counted.
      const cpuS = m && !killed ? Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]) : NaN;
      const cause = killed ? 'timeout' : status === 0 ? 'poweroff' : 'debug-exit';
      const outcome = classify({ cause, message: killed ? `timed out after ${s.timeoutSec} s` : '', exitStatus: status ?? 1 }, stdout).outcome;
      resolve({ name: t.name, outcome, wallS, cpuS });
    });
  });
}

/** Runs `tests` on `jobs` lanes (the issue's "two at a time"); figures in the tests' order. */
export async function qemuTests(tests: OsvTest[], s: QemuSettings, jobs: number, each?: (f: TestFigure) => void): Promise<TestFigure[]> {
  const figures = new Array<TestFigure>(tests.length);
  let next = 0;
  const lane = async () => {
    while (next < tests.length) {
      const k = next++;
      figures[k] = await qemuOne(tests[k], s);
      each?.(figures[k]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, tests.length)) }, lane));
  return figures;
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
    timeoutSec: Number(process.env.OSV_TEST_TIMEOUT ?? 90), devices: (process.env.OSV_TEST_DEVICES ?? 'none') as TestDevices,
  };
  const jobs = Number(process.env.OSV_TEST_JOBS ?? 2);
  const plan = planOsvTests({ kernel, disk: s.disk, manifest: manifest || undefined, filter });
  const done: TestFigure[] = [];
  const t0 = performance.now();
  console.log(`QEMU TCG, ${jobs} at a time: ${plan.tests.length} tests, -smp ${s.cpus} -m ${s.memMiB}M, devices ${s.devices}, ` +
    `timeout ${s.timeoutSec} s; load ${load()}`);
  const figures = await qemuTests(plan.tests.filter((t) => !t.skip), s, jobs, (f) => {
    done.push(f);
    console.log(`${f.name.padEnd(32)} ${f.outcome.padEnd(10)} ${f.wallS.toFixed(2).padStart(7)} s wall ${f.cpuS.toFixed(2).padStart(7)} s cpu  load ${load()}`);
    writeFileSync(out, JSON.stringify({ engine: 'qemu-tcg', settings: s, figures: done }, null, 1));
  });
  const wall = (performance.now() - t0) / 1000;
  const cpu = figures.reduce((a, f) => a + (Number.isNaN(f.cpuS) ? 0 : f.cpuS), 0);
  console.log(`QEMU TCG: ${figures.length} tests in ${wall.toFixed(1)} s wall, ${cpu.toFixed(1)} s cpu: ${outcomeCounts(figures.map((f) => f.outcome))}; load ${load()}`);
  writeFileSync(out, JSON.stringify({ engine: 'qemu-tcg', settings: s, wallS: wall, cpuS: cpu, load: load(), figures }, null, 1));
}
