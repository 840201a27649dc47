// How long each test of a kernel took last time, so that the runner can start the longest first. With tests
// taken in name order, a 90-s test that sorts last (OSv's tst-yield) runs alone at the end while the other jobs
// sit idle; longest-first keeps every job busy to the end (OSv's unit-test image, two jobs: ~5% less wall).
// Only the order changes: every test still runs in its own fresh, deterministic machine, and results are
// reported in plan order. The durations live in osvemu's cache folder, one file per kernel (by content);
// losing or corrupting the file only costs the ordering.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { osvemuCacheDir } from '../cache-dir.js';

/** Test name -> wall ms of its last run that ended (passed, failed or timed out). */
export type TestDurations = Map<string, number>;

export function historyPath(kernelBytes: Uint8Array, dir = path.join(osvemuCacheDir(), 'test-times')): string {
  const id = createHash('sha256').update(kernelBytes).digest('hex').slice(0, 24);
  return path.join(dir, `${id}.json`);
}

export function loadDurations(file: string): TestDurations {
  const out: TestDurations = new Map();
  try {
    const j = JSON.parse(readFileSync(file, 'utf8')) as { durations?: Record<string, unknown> };
    for (const [name, ms] of Object.entries(j.durations ?? {})) {
      if (typeof ms === 'number' && Number.isFinite(ms) && ms >= 0) out.set(name, ms);
    }
  } catch {
    // none yet, or unreadable: name order
  }
  return out;
}

/** Merges `fresh` into the file (tests not run this time keep their old figure). Failures are ignored. */
export function saveDurations(file: string, fresh: TestDurations): void {
  if (fresh.size === 0) return;
  const all = loadDurations(file);
  for (const [name, ms] of fresh) all.set(name, Math.round(ms));
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(tmp, JSON.stringify({ durations: Object.fromEntries([...all].sort((a, b) => a[0].localeCompare(b[0]))) }, null, 1));
    renameSync(tmp, file);
  } catch {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing was written
    }
  }
}

/**
 * The order to start `queue` (indices into `names`): tests without a recorded duration first, in their given
 * order (they may be long, and a first run keeps name order), then the others, longest first; ties keep
 * their given order.
 */
export function longestFirst(queue: readonly number[], names: readonly string[], durations: TestDurations): number[] {
  const known = (k: number) => durations.get(names[k]);
  const fresh = queue.filter((k) => known(k) === undefined);
  const timed = queue.filter((k) => known(k) !== undefined)
    .map((k, at) => ({ k, at, ms: known(k)! }))
    .sort((a, b) => b.ms - a.ms || a.at - b.at)
    .map((x) => x.k);
  return [...fresh, ...timed];
}
