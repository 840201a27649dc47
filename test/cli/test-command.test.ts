// `osvemu test` over the project's own test programs (osvlike's /tests/tst-*.so: pass, fail,
// non-zero status, abort, hang, triple fault): the same outcomes and console logs with one job or
// two, a JUnit file the schema in test/junit accepts (xmllint; .ci/run installs libxml2-utils;
// JUNIT_XSD=FILE checks against another schema too), reproduce commands that rerun a failure
// alone, and one-line errors.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildGuest, repoRoot } from '../../src/cli/guest.js';
import { parseTestArgs } from '../../src/cli/test-args.js';
import { makeRofs, mbrDisk } from '../osv/fs-images.js';
import { writeQcow2 } from '../virtio/qcow2-writer.js';

const CLI = path.join(repoRoot(), 'dist', 'src', 'cli', 'main.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'osvemu-test-cmd-'));
const kernel = buildGuest('osvlike');
const MACHINE = ['-c', '2', '-m', '64M', '--timeout', '2'];
const EXPECTED = {
  'tst-abort.so': 'abort', 'tst-fail.so': 'failed', 'tst-hang.so': 'timeout', 'tst-pass.so': 'passed',
  'tst-status.so': 'exit-status', 'tst-triple.so': 'triple-fault',
};

function osvemu(...args: string[]) {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first`);
  // Its own cache folder: the test durations `osvemu test` keeps (test-history.ts) stay out of the user's.
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, XDG_CACHE_HOME: tmp } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function expectOneLineError(r: { status: number | null; stderr: string }, pattern: RegExp, status = 1) {
  expect(r.status, r.stderr).toBe(status);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^osvemu: /);
  expect(lines[0]).toMatch(pattern);
}

/** name -> outcome from a JUnit file. */
function junitOutcomes(xml: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of xml.matchAll(/<testcase name="([^"]+)"[^>]*>\s*(?:<(failure|error) type="([^"]+)"|<skipped)?/g)) {
    out[m[1]] = m[3] ?? (m[0].includes('<skipped') ? 'skipped' : 'passed');
  }
  return out;
}

function xmllint(schema: string, file: string) {
  const r = spawnSync('xmllint', ['--noout', '--schema', schema, file], { encoding: 'utf8' });
  if (r.error) throw new Error('xmllint is missing: install libxml2-utils (.ci/run does)');
  return r;
}

describe('osvemu test over the osvlike test programs', () => {
  let runs: { jobs: number; junit: string; logs: string; r: ReturnType<typeof osvemu> }[] = [];
  beforeAll(() => {
    runs = [1, 2].map((jobs) => {
      const junit = path.join(tmp, `junit-${jobs}.xml`), logs = path.join(tmp, `logs-${jobs}`);
      return { jobs, junit, logs, r: osvemu('test', kernel, ...MACHINE, '--jobs', String(jobs), '--junit', junit, '--logs', logs) };
    });
  });

  it('names every outcome; --jobs 1 and --jobs 2 agree on outcomes and console logs', () => {
    for (const { jobs, junit, r } of runs) {
      expect(r.status, `jobs ${jobs}: ${r.stderr}`).toBe(1);
      expect(r.stdout).toContain('6 tests: 1 passed, 5 failed');
      expect(junitOutcomes(readFileSync(junit, 'utf8')), `jobs ${jobs}`).toEqual(EXPECTED);
    }
    const [a, b] = runs;
    expect(readdirSync(a.logs).sort()).toEqual(Object.keys(EXPECTED).map((n) => `${n}.log`));
    for (const f of readdirSync(a.logs)) {
      expect(readFileSync(path.join(b.logs, f), 'latin1'), f).toBe(readFileSync(path.join(a.logs, f), 'latin1'));
    }
    expect(readFileSync(path.join(a.logs, 'tst-pass.so.log'), 'utf8')).toContain('tst-pass: 1 check passed');
    // Each run kept its durations, the second one started the longest first: same outcomes, same logs.
    const times = readdirSync(path.join(tmp, 'osvemu', 'test-times'));
    expect(times).toHaveLength(1);
    expect(Object.keys(JSON.parse(readFileSync(path.join(tmp, 'osvemu', 'test-times', times[0]), 'utf8')).durations).sort())
      .toEqual(Object.keys(EXPECTED));
    // The summary table lists each test once, in name order.
    const rows = a.r.stdout.split('\n').filter((l) => /^tst-\S+\s+\S+\s+\d/.test(l)).map((l) => l.split(/\s+/).slice(0, 2));
    expect(rows).toEqual(Object.entries(EXPECTED));
  });

  it('the JUnit file passes the schema check', () => {
    for (const { junit } of runs) {
      const r = xmllint(path.join(repoRoot(), 'test', 'junit', 'junit.xsd'), junit);
      expect(r.status, r.stderr).toBe(0);
      if (process.env.JUNIT_XSD) expect(xmllint(process.env.JUNIT_XSD, junit).status).toBe(0);
    }
    // The check can fail: a testcase without a time is rejected.
    const broken = path.join(tmp, 'broken.xml');
    writeFileSync(broken, readFileSync(runs[0].junit, 'utf8').replace(/(<testcase name="tst-pass\.so" classname="osv\.tests") time="[^"]*"/, '$1'));
    expect(xmllint(path.join(repoRoot(), 'test', 'junit', 'junit.xsd'), broken).status).not.toBe(0);
  });

  it("every failure's reproduce command reruns it alone: same console, same end", () => {
    const out = runs[0].r.stdout;
    const cmd = (name: string) => {
      const i = out.indexOf(`\n${name}: `);
      expect(i, name).toBeGreaterThan(0);
      const line = out.slice(i + 1).split('\n').find((l) => l.startsWith('  osvemu run '))!;
      // The command is shell-quoted; its one quoted word is the -e argument.
      const m = /^ {2}osvemu run (\S+) (.*) -e '([^']*)'$/.exec(line)!;
      return [m[1], ...m[2].split(' '), '-e', m[3]];
    };
    for (const [name, status] of [['tst-status.so', 7], ['tst-abort.so', 0], ['tst-triple.so', 4]] as const) {
      const args = cmd(name);
      expect(args).toContain('--seed');
      const r = spawnSync(process.execPath, [CLI, 'run', ...args], { encoding: 'latin1', timeout: 60_000 });
      expect(r.status, name).toBe(status);
      expect(r.stdout, name).toBe(readFileSync(path.join(runs[0].logs, `${name}.log`), 'latin1'));
    }
  });

  it('an all-pass run exits 0; --list and --shard split the list', () => {
    const ok = osvemu('test', kernel, ...MACHINE, '--filter', '^tst-pass');
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/1 test: 1 passed, 0 failed, 0 skipped/);
    const shards = ['1/2', '2/2'].map((s) => osvemu('test', kernel, '--list', '--shard', s).stdout.trim().split('\n'));
    expect(shards[0]).toEqual(['/tests/tst-abort.so', '/tests/tst-hang.so', '/tests/tst-status.so']);
    expect([...shards[0], ...shards[1]].sort()).toEqual(Object.keys(EXPECTED).map((n) => `/tests/${n}`));
  });
});

describe('osvemu test: machine and engine options as osvemu run', () => {
  it('--no-rng, --icount-shift, --pause-cost, --rdtsc-cost, --no-jit, --no-loop-skip, --no-wasm reach the machines and the reproduce command', () => {
    const logs = path.join(tmp, 'logs-engine');
    const opts = ['--net', 'none', '--no-rng', '--icount-shift', '1', '--pause-cost', '50', '--rdtsc-cost', '0', '--no-jit', '--no-loop-skip', '--no-wasm'];
    const r = osvemu('test', kernel, ...MACHINE, ...opts, '--filter', '^tst-status', '--logs', logs);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toContain('no rng, --icount-shift 1 --pause-cost 50 --rdtsc-cost 0 --no-jit --no-loop-skip --no-wasm');
    const line = r.stdout.split('\n').find((l) => l.startsWith('  osvemu run '))!;
    expect(line).toContain('--no-rng --icount-shift 1 --pause-cost 50 --rdtsc-cost 0 --no-jit --no-loop-skip --no-wasm');
    const m = /^ {2}osvemu run (.*) -e '([^']*)'$/.exec(line)!;
    const again = spawnSync(process.execPath, [CLI, 'run', ...m[1].split(' '), '-e', m[2]], { encoding: 'latin1', timeout: 60_000 });
    expect(again.status).toBe(7);
    expect(again.stdout).toBe(readFileSync(path.join(logs, 'tst-status.so.log'), 'latin1'));
    expect(parseTestArgs(['k', ...opts]).engine).toEqual({ icountShift: 1, pauseNs: 50, tscReadNs: 0, jit: false, loopSkip: false, wasm: false });
    expect(parseTestArgs(['k']).engine).toEqual({ icountShift: 0, pauseNs: 100, tscReadNs: 25, jit: true, loopSkip: true, wasm: true });
    expect(() => parseTestArgs(['k', '--icount-shift', '11'])).toThrow(/--icount-shift must be between 0 and 10/);
    expect(() => parseTestArgs(['k', '--pause-cost', 'x'])).toThrow(/--pause-cost needs a whole number/);
  });
});

describe('osvemu test: bad input', () => {
  it('a missing kernel, disk or manifest; a test not in the image: one line each, status 1', () => {
    expectOneLineError(osvemu('test', path.join(tmp, 'nope.elf')), /cannot read kernel .*nope\.elf: ENOENT/);
    expectOneLineError(osvemu('test', kernel, '--disk', path.join(tmp, 'nope.img')), /cannot open .*nope\.img: ENOENT/);
    expectOneLineError(osvemu('test', kernel, '--manifest', path.join(tmp, 'nope.manifest')), /cannot read manifest .*ENOENT/);
    const list = path.join(tmp, 'list');
    writeFileSync(list, '/tests/tst-pass.so\n/tests/tst-nope.so\n/tests/tst-gone.so\n');
    const r = osvemu('test', kernel, '--tests', list);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^osvemu: \/tests\/tst-nope\.so is not in the image /),
      expect.stringMatching(/^osvemu: \/tests\/tst-gone\.so is not in the image /),
    ]);
  });

});

describe('osvemu test --disk', () => {
  // osvlike has no virtio-blk driver: it runs the test program from its own boot file system while
  // the machine carries the disk. What this checks is the runner's side: the list comes from the
  // qcow2 image's rofs, every machine opens the image (snapshot mode) and runs, the file stays as it was.
  it('a qcow2 disk: tests listed from its rofs and run with the disk attached; the image is not written', () => {
    const disk = path.join(tmp, 'tests.qcow2');
    const rofs = makeRofs({ '/tests/tst-pass.so': 'pass', '/tests/tst-other.so': 'x', '/libfoo.so': 'y' });
    writeQcow2(disk, { content: mbrDisk(rofs, 64 * 1024), kind: (c) => (c % 3 === 1 ? 'compressed' : 'data') });
    const before = readFileSync(disk);
    const list = osvemu('test', kernel, '--disk', disk, '--list');
    expect(list.status, list.stderr).toBe(0);
    expect(list.stdout.trim().split('\n')).toEqual(['/tests/tst-other.so', '/tests/tst-pass.so']);
    const run = osvemu('test', kernel, ...MACHINE, '--disk', disk, '--filter', '^tst-pass');
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/1 test: 1 passed, 0 failed, 0 skipped/);
    expect(readFileSync(disk).equals(before)).toBe(true);

    const corrupt = path.join(tmp, 'corrupt.qcow2');
    writeFileSync(corrupt, Uint8Array.of(0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3));
    expectOneLineError(osvemu('test', kernel, '--disk', corrupt), /corrupt\.qcow2/);
    const tests = path.join(tmp, 'disk-tests');
    writeFileSync(tests, '/tests/tst-pass.so\n');
    expectOneLineError(osvemu('test', kernel, '--disk', corrupt, '--tests', tests), /corrupt\.qcow2/);
  });

  it('bad arguments: status 2', () => {
    expectOneLineError(osvemu('test'), /needs a KERNEL/, 2);
    for (const [args, msg] of [
      [['k', '--tests', 'a', '--manifest', 'b'], /alternatives/], [['k', '--shard', '3'], /--shard needs I\/N/],
      [['k', '--jobs', '0'], /--jobs must be between/], [['k', '--filter', '('], /bad --filter/], [['k', '--frob'], /Unknown option/],
    ] as const) {
      expect(() => parseTestArgs([...args]), args.join(' ')).toThrow(msg);
    }
    expect(parseTestArgs(['k', '-j', '3', '-c', '1', '-m', '1G', '--shard', '2/5', '--cpu-vendor', 'amd']))
      .toMatchObject({ jobs: 3, cpus: 1, memMiB: 1024, shard: '2/5', cpuVendor: 'amd' });
    expect(() => parseTestArgs(['k', '--cpu-vendor', 'via'])).toThrow(/--cpu-vendor needs intel or amd/);
  });
});
