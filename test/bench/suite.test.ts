// Smoke test of `npm run bench` (bench/suite.ts): it starts, runs every section with tiny counts and prints
// them. Its figures are never asserted (speed is measured by the benchmark, not by tests).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { expect, it } from 'vitest';
import { repoRoot } from '../../src/cli/guest.js';

it('the benchmark suite runs with BENCH_QUICK=1 and prints each section', () => {
  const script = path.join(repoRoot(), 'dist', 'bench', 'suite.js');
  const env = { ...process.env, BENCH_QUICK: '1' };
  delete env.OSV_KERNEL;
  const r = spawnSync(process.execPath, [script], { encoding: 'utf8', env, timeout: 240_000 });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/^integer loop .* interpreter +[\d.]+ MIPS/m);
  expect(r.stdout).toMatch(/^mixed loop .* interpreter +[\d.]+ MIPS/m);
  expect(r.stdout).toMatch(/^osvlike -c 1, cold `osvemu run` +wall [\d.]+ s/m);
  expect(r.stdout).toMatch(/^== QEMU TCG/m);
  expect(r.stdout).toMatch(/^osvlike -c 1 +peak RSS [\d.]+ MiB, guest memory touched [\d.]+ MiB/m);
});
