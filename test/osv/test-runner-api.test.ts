// The Node API a vitest suite uses to run OSv tests: runOsvTests() returns one result per test, and
// its shard option splits the list as `osvemu test --shard` does, so each job of a CI matrix (or
// each file of a suite split with `vitest --shard`) runs its own part.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildGuest } from '../../src/cli/guest.js';
import { runOsvTests, type OsvTestEvent, type OsvTestResult } from '../../src/osv/test-runner.js';

const kernel = buildGuest('osvlike');
const machine = { kernel, cpus: 2, memMiB: 64, timeoutSec: 20, exclude: ['tst-hang.so'] };

describe('runOsvTests()', () => {
  it('two shards together give every test once, each with its outcome; events per test', async () => {
    const events: OsvTestEvent[] = [];
    const parts: OsvTestResult[][] = [];
    for (const shard of ['1/2', '2/2']) parts.push(await runOsvTests({ ...machine, shard, jobs: 2, onEvent: (e) => events.push(e) }));
    const all = parts.flat().sort((a, b) => a.name.localeCompare(b.name));
    expect(all.map((r) => [r.name, r.outcome, r.ok])).toEqual([
      ['tst-abort.so', 'abort', false], ['tst-fail.so', 'failed', false], ['tst-hang.so', 'skipped', true],
      ['tst-pass.so', 'passed', true], ['tst-status.so', 'exit-status', false], ['tst-triple.so', 'triple-fault', false],
    ]);
    expect(parts[0].map((r) => r.name)).toEqual(['tst-abort.so', 'tst-hang.so', 'tst-status.so']);
    expect(events.filter((e) => e.type === 'start')).toHaveLength(5);
    expect(events.filter((e) => e.type === 'done')).toHaveLength(6);
    const pass = all.find((r) => r.name === 'tst-pass.so')!;
    expect(pass.console).toContain('tst-pass: 1 check passed');
    expect(pass.instructions).toBeGreaterThan(10_000);
    expect(all.find((r) => r.name === 'tst-fail.so')!.failureLine).toMatch(/failure is detected/);
  });

  it('a machine is the same whatever else runs: one test alone matches its run among others', async () => {
    const [alone] = await runOsvTests({ ...machine, tests: ['/tests/tst-pass.so'], jobs: 1 });
    const among = (await runOsvTests({ ...machine, filter: 'pass|fail|status', jobs: 2 })).find((r) => r.name === 'tst-pass.so')!;
    expect(among.console).toBe(alone.console);
    expect(among.instructions).toBe(alone.instructions);
    expect(among.virtualNs).toBe(alone.virtualNs);
  });

  it('an aborted run reports what ran; the rest are skipped as interrupted', async () => {
    const stop = new AbortController();
    const results = await runOsvTests({
      ...machine, exclude: [], jobs: 1, signal: stop.signal,
      onEvent: (e) => { if (e.type === 'done') stop.abort(); },
    });
    expect(results.map((r) => [r.name, r.outcome, r.reason === 'interrupted'])).toEqual([
      ['tst-abort.so', 'abort', false], ['tst-fail.so', 'skipped', true], ['tst-hang.so', 'skipped', true],
      ['tst-pass.so', 'skipped', true], ['tst-status.so', 'skipped', true], ['tst-triple.so', 'skipped', true],
    ]);
  });
});

// OSv's own unit tests through the runner, when a tests kernel is given (OSV_TESTS_KERNEL, with
// OSV_TESTS_DISK when its root is a rofs usr.img). OSV_TESTS picks them (comma-separated names).
const testsKernel = process.env.OSV_TESTS_KERNEL ?? '';
const testsDisk = process.env.OSV_TESTS_DISK || undefined;
describe.skipIf(!testsKernel || !existsSync(testsKernel))('runOsvTests() on OSv unit tests', () => {
  it('the chosen tests pass', async () => {
    const names = (process.env.OSV_TESTS ?? 'tst-hello,tst-math,tst-printf').split(',').map((n) => `${n.trim().replace(/\.so$/, '')}.so`);
    const results = await runOsvTests({ kernel: testsKernel, disk: testsDisk, tests: names, jobs: 2, cpus: 1, memMiB: 512, timeoutSec: 240 });
    for (const r of results) expect(r.outcome, `${r.name}: ${r.reason}\n${r.console.slice(-2000)}\n${r.reproduce}`).toBe('passed');
  }, 600_000);

  // test.py's QEMU has a network card; so do the machines (--net auto: the kernel has the driver).
  it('tst-ifaddrs passes: the machines have a network card on the isolated network', async () => {
    const results = await runOsvTests({ kernel: testsKernel, disk: testsDisk, tests: ['tst-ifaddrs.so'], jobs: 1, cpus: 1, memMiB: 512, timeoutSec: 240 });
    expect(results[0]!.outcome, `${results[0]!.reason}\n${results[0]!.console.slice(-2000)}`).toBe('passed');
    expect(results[0]!.console).toContain('address: <192.168.122.15>');
    expect(results[0]!.reproduce).toContain('--net isolated');
  }, 600_000);
});

