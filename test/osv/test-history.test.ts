// Longest-first test order from the last run's durations (src/osv/test-history.ts): the order tests start in
// changes, nothing else (results stay in plan order, each machine is the same).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildGuest } from '../../src/cli/guest.js';
import { historyPath, loadDurations, longestFirst, saveDurations } from '../../src/osv/test-history.js';
import { runOsvTests, type OsvTestEvent } from '../../src/osv/test-runner.js';

const kernel = buildGuest('osvlike');
const machine = { kernel, cpus: 1, memMiB: 64, timeoutSec: 20, filter: 'pass|fail|status' };

describe('test durations', () => {
  it('orders unknown tests first (given order), then known ones longest first, ties in given order', () => {
    const names = ['a', 'b', 'c', 'd', 'e'];
    const d = new Map([['a', 5], ['c', 90_000], ['d', 5], ['e', 700]]);
    expect(longestFirst([0, 1, 2, 3, 4], names, d)).toEqual([1, 2, 4, 0, 3]);
    expect(longestFirst([0, 1, 2], names, new Map())).toEqual([0, 1, 2]);
  });

  it('keeps the figures of tests not run again; a missing or corrupt file reads as none', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'osvemu-times-'));
    const f = path.join(dir, 'sub', 'k.json');
    expect(loadDurations(f).size).toBe(0);
    saveDurations(f, new Map([['x', 10.4], ['y', 20]]));
    saveDurations(f, new Map([['y', 30]]));
    expect([...loadDurations(f)]).toEqual([['x', 10], ['y', 30]]);
    writeFileSync(f, '{ not json');
    expect(loadDurations(f).size).toBe(0);
    expect(historyPath(new Uint8Array([1, 2]), dir)).not.toBe(historyPath(new Uint8Array([1, 3]), dir));
  });

  it('a run records its durations; the next one starts the longest first and reports in plan order', async () => {
    const f = path.join(mkdtempSync(path.join(tmpdir(), 'osvemu-times-')), 'k.json');
    const first = await runOsvTests({ ...machine, jobs: 1, durationsFile: f });
    const names = first.map((r) => r.name);
    expect(names).toEqual(['tst-fail.so', 'tst-pass.so', 'tst-status.so']);
    const recorded = JSON.parse(readFileSync(f, 'utf8')).durations as Record<string, number>;
    expect(Object.keys(recorded).sort()).toEqual(names);

    writeFileSync(f, JSON.stringify({ durations: { 'tst-fail.so': 1, 'tst-pass.so': 3, 'tst-status.so': 2 } }));
    const started: string[] = [];
    const again = await runOsvTests({
      ...machine, jobs: 1, durationsFile: f,
      onEvent: (e: OsvTestEvent) => { if (e.type === 'start') started.push(e.test.name); },
    });
    expect(started).toEqual(['tst-pass.so', 'tst-status.so', 'tst-fail.so']);
    expect(again.map((r) => r.name)).toEqual(names);
    expect(again.map((r) => [r.outcome, r.instructions, r.console])).toEqual(first.map((r) => [r.outcome, r.instructions, r.console]));
  });
});
