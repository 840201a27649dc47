// bench/suite-host.ts, the child-process timing behind `npm run bench`'s cold figures: osvemu and QEMU runs are
// taken in turns and each figure is a median with its peak RSS. Commands here are stand-ins (a tiny script that
// allocates, /bin/true); no figure is asserted beyond being measured.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { coldPair, timed } from '../../bench/suite-host.js';

const gnuTime = existsSync('/usr/bin/time');
const truePath = ['/bin/true', '/usr/bin/true'].find((p) => existsSync(p))!;

it('timed() reports wall, CPU, exit status and (with GNU time) the peak RSS of the child', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'osvemu-suite-host-'));
  const script = path.join(dir, 'alloc.cjs');
  // ~64 MiB touched, then exit 3: the RSS figure must see the child, not bash or time.
  writeFileSync(script, 'const b = Buffer.alloc(64 << 20, 1); process.exitCode = b[5] + 2;\n');
  const r = timed([process.execPath, script]);
  expect(r.rc).toBe(3);
  expect(r.wallS).toBeGreaterThan(0);
  expect(r.cpuS).toBeGreaterThan(0);
  if (gnuTime) expect(r.rssMiB).toBeGreaterThan(64);
  else expect(r.rssMiB).toBeNaN();
});

it('coldPair() runs both commands the asked number of times and gives medians for each', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'osvemu-suite-host-'));
  const cli = path.join(dir, 'cli.cjs');
  writeFileSync(cli, 'if (process.argv[2] !== "run" || process.argv[4] !== "-e") process.exit(9);\n');
  const { osvemu, qemu } = coldPair(cli, truePath, 'KERNEL', 'CMDLINE', 3);
  expect(osvemu).toMatchObject({ rc: 0, runs: 3 });
  expect(qemu).toMatchObject({ rc: 0, runs: 3 });
  if (gnuTime) expect(osvemu!.rssMiB).toBeGreaterThan(qemu!.rssMiB);
});
