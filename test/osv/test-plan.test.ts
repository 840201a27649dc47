// Which tests `osvemu test` runs and how it judges them: list sources, filters, shards, test.py's
// failure patterns and osvemu's outcomes, JUnit text.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildGuest } from '../../src/cli/guest.js';
import { junitXml, xmlText } from '../../src/osv/junit.js';
import { OsvTestError, parseShard, planOsvTests, shardOf } from '../../src/osv/test-list.js';
import { classify, firstFailureLine, seedFor, testCommandLine } from '../../src/osv/test-outcome.js';
import { reproduceCommand, type OsvTestResult } from '../../src/osv/test-runner.js';
import { TestProgress } from '../../src/cli/test-progress.js';
import { packBootfs } from './fs-images.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'osvemu-plan-'));
const kernel = buildGuest('osvlike');
const ALL = ['tst-abort.so', 'tst-fail.so', 'tst-hang.so', 'tst-pass.so', 'tst-status.so', 'tst-triple.so'];

function file(name: string, text: string): string {
  const f = path.join(tmp, name);
  writeFileSync(f, text);
  return f;
}

function planError(sel: Parameters<typeof planOsvTests>[0]): string[] {
  try {
    planOsvTests(sel);
  } catch (e) {
    if (e instanceof OsvTestError) return e.lines;
    throw e;
  }
  throw new Error('no error');
}

describe('the test list', () => {
  it("from the kernel's boot file system: /tests/tst-*.so, sorted by name, with test.py's command line", () => {
    const plan = planOsvTests({ kernel });
    expect(plan.tests.map((t) => t.name)).toEqual(ALL);
    expect(plan.tests[0]).toMatchObject({ path: '/tests/tst-abort.so', cmdline: '--power-off-on-abort /tests/tst-abort.so' });
    expect(plan.source).toMatch(/boot file system/);
  });

  it('from a list file (paths or bare names, comments) and from a usr.manifest', () => {
    const list = file('list', '# quick ones\n/tests/tst-pass.so\n\ntst-fail.so\n');
    expect(planOsvTests({ kernel, testsFile: list }).tests.map((t) => t.path)).toEqual(['/tests/tst-fail.so', '/tests/tst-pass.so']);
    const manifest = file('usr.manifest', '[manifest]\n/tests/tst-pass.so: ./tests/tst-pass.so\n# c\n' +
      '/usr/lib/libfoo.so: ./libfoo.so\n/tests/tst-abort.so: ./tests/tst-abort.so\n');
    expect(planOsvTests({ kernel, manifest }).tests.map((t) => t.name)).toEqual(['tst-abort.so', 'tst-pass.so']);
  });

  it('--filter, --exclude (skipped, still reported), test.py disabled list for discovered tests only', () => {
    expect(planOsvTests({ kernel, filter: 'pass|fail' }).tests.map((t) => t.name)).toEqual(['tst-fail.so', 'tst-pass.so']);
    const plan = planOsvTests({ kernel, excludeFile: file('excl', 'tst-hang.so\n/tests/tst-triple.so\n') });
    expect(plan.tests.filter((t) => t.skip).map((t) => [t.name, t.skip])).toEqual([['tst-hang.so', 'excluded'], ['tst-triple.so', 'excluded']]);
    // A ramfs kernel whose bootfs has a test test.py disables: skipped unless listed explicitly.
    const blob = packBootfs({ '/tests/tst-dns-resolver.so': 'x', '/tests/tst-ok.so': 'y' });
    const k = path.join(tmp, 'k.elf');
    writeFileSync(k, Buffer.concat([Buffer.alloc(1000, 0xcc), blob]));
    expect(planOsvTests({ kernel: k }).tests.map((t) => [t.name, t.skip])).toEqual([
      ['tst-dns-resolver.so', "disabled in OSv's test.py"], ['tst-ok.so', undefined]]);
    expect(planOsvTests({ kernel: k, tests: ['tst-dns-resolver.so'] }).tests[0].skip).toBeUndefined();
  });

  it('--shard I/N: disjoint, complete, the same on every call', () => {
    const parts = [1, 2, 3].map((i) => planOsvTests({ kernel, shard: `${i}/3` }).tests.map((t) => t.name));
    expect(parts.flat().sort()).toEqual(ALL);
    expect(parts[0]).toEqual(['tst-abort.so', 'tst-pass.so']);
    expect(planOsvTests({ kernel, shard: { index: 1, count: 3 } }).tests.map((t) => t.name)).toEqual(parts[0]);
    expect(shardOf([1, 2, 3, 4, 5], parseShard('2/2'))).toEqual([2, 4]);
    for (const bad of ['0/2', '3/2', 'x', '1/0']) expect(() => parseShard(bad), bad).toThrow(OsvTestError);
  });

  it('bad input: one line per problem', () => {
    expect(planError({ kernel: path.join(tmp, 'nope.elf') })).toEqual([expect.stringMatching(/^cannot read kernel .*nope\.elf: ENOENT$/)]);
    expect(planError({ kernel, manifest: path.join(tmp, 'no.manifest') })).toEqual([expect.stringMatching(/^cannot read manifest .*ENOENT/)]);
    expect(planError({ kernel, manifest: file('bad.manifest', '/tests/tst-pass.so ./x\n') })).toEqual(
      [expect.stringMatching(/^unreadable manifest .*bad\.manifest:1: expected "GUEST: HOST"/)]);
    expect(planError({ kernel, tests: ['tst-pass.so', 'tst-nope.so', '/tests/tst-gone.so'] })).toEqual([
      expect.stringMatching(/^\/tests\/tst-nope\.so is not in the image /), expect.stringMatching(/^\/tests\/tst-gone\.so is not in the image /)]);
    expect(planError({ kernel, disk: path.join(tmp, 'nope.img') })).toEqual([expect.stringMatching(/^cannot open .*nope\.img: ENOENT/)]);
    expect(planError({ kernel, filter: 'zzz' })).toEqual(['no test matches --filter zzz']);
    expect(planError({ kernel: buildGuest('boot64') })).toEqual([expect.stringMatching(/^no tests: give --tests FILE or --manifest/)]);
  });
});

describe('outcomes', () => {
  const off = { cause: 'poweroff' as const, message: 'guest powered off', exitStatus: 0 };

  it("test.py's failure patterns, line by line", () => {
    expect(firstFailureLine('ok\nall good\n')).toBeNull();
    expect(firstFailureLine('a\n*** 1 failure is detected in the test module "x"\n')).toMatch(/failure is detected/);
    expect(firstFailureLine('Failed to load object: /tests/x.so. Powering off.\n')).toMatch(/Failed to load/);
    // "failure.*detected" must be on one line; "error" in lower case is not "Error".
    expect(firstFailureLine('failure\ndetected in test\nan error\n')).toBeNull();
    expect(firstFailureLine('program tests/tst-x.so returned 1\n')).not.toBeNull();
  });

  it('the machine end first, then abort, then patterns, then exit status', () => {
    expect(classify(off, 'fine\n')).toMatchObject({ outcome: 'passed' });
    expect(classify(off, 'FAIL: x\n')).toMatchObject({ outcome: 'failed', reason: 'FAIL: x' });
    expect(classify(off, 'Assertion failed: a == b\n\n[backtrace]\n0x1 <???>\n')).toMatchObject({ outcome: 'abort', reason: 'Assertion failed: a == b' });
    expect(classify({ cause: 'halted', message: 'all vCPUs halted', exitStatus: 3 }, 'Aborted\n\n[backtrace]\n'))
      .toMatchObject({ outcome: 'abort', reason: 'Aborted (machine halted)' });
    expect(classify({ cause: 'halted', message: 'all vCPUs halted', exitStatus: 3 }, '')).toMatchObject({ outcome: 'halted' });
    expect(classify({ cause: 'debug-exit', message: '', exitStatus: 7 }, 'x\n')).toMatchObject({ outcome: 'exit-status', reason: 'exit status 7' });
    expect(classify({ cause: 'timeout', message: 'timed out after 5 ms', exitStatus: 6 }, 'FAIL\n'))
      .toMatchObject({ outcome: 'timeout', failureLine: 'FAIL' });
    for (const cause of ['triple-fault', 'insn-limit', 'unimplemented', 'reset'] as const) {
      expect(classify({ cause, message: 'm', exitStatus: 1 }, '').outcome).toBe(cause);
    }
    expect(classify({ cause: 'error', message: 'boom', exitStatus: 1 }, '')).toMatchObject({ outcome: 'error', reason: 'osvemu failed: boom' });
  });

  it('seeds and reproduce commands depend on the test only', () => {
    expect(seedFor('/tests/tst-a.so')).toBe(seedFor('/tests/tst-a.so'));
    expect(seedFor('/tests/tst-a.so')).not.toBe(seedFor('/tests/tst-b.so'));
    const t = { name: 'tst-a.so', path: '/tests/tst-a.so', cmdline: testCommandLine('/tests/tst-a.so'), seed: 42 };
    expect(reproduceCommand(t, { kernel: 'build/my kernel.elf', cpus: 4, memMiB: 2048, timeoutSec: 300, command: 'osvemu', maxInsns: 5 }))
      .toBe("osvemu run 'build/my kernel.elf' -c 4 -m 2G --seed 42 --max-insns 5 --timeout 300 -e '--power-off-on-abort /tests/tst-a.so'");
    expect(reproduceCommand(t, { kernel: 'k', disk: 'usr.img', cpus: 1, memMiB: 256, timeoutSec: 9, command: 'osvemu', cpuVendor: 'amd' }))
      .toBe("osvemu run k --disk usr.img -c 1 -m 256M --seed 42 --cpu-vendor amd --timeout 9 -e '--power-off-on-abort /tests/tst-a.so'");
  });
});

describe('JUnit XML text', () => {
  it('escapes markup and replaces characters XML 1.0 cannot hold', () => {
    expect(xmlText('a<b>&"c"\x1b[0m\x00\tok\n')).toBe('a&lt;b&gt;&amp;&quot;c&quot;\\x1b[0m\\x00\tok\n');
  });

  it('counts failures, errors and skips; one testcase per result', () => {
    const base = { path: '/tests/x', cmdline: '', seed: 1, failureLine: null, exitStatus: 0, instructions: 1, virtualNs: 1, wallMs: 1500, cpuMs: 1000, console: 'é\n', reproduce: 'osvemu run k' };
    const results: OsvTestResult[] = [
      { ...base, name: 'a', outcome: 'passed', ok: true, reason: 'powered off', console: Buffer.from('é\n').toString('latin1') },
      { ...base, name: 'b', outcome: 'abort', ok: false, reason: 'Aborted' },
      { ...base, name: 'c', outcome: 'error', ok: false, reason: 'osvemu failed: x' },
      { ...base, name: 'd', outcome: 'skipped', ok: true, reason: 'excluded', console: '' },
    ];
    const xml = junitXml(results, { suite: 'k.elf', timestamp: new Date(0), hostname: 'h', wallMs: 2000, properties: { jobs: '2' } });
    expect(xml).toContain('<testsuites name="osvemu test" tests="4" failures="1" errors="1" time="2.000">');
    expect(xml).toContain('skipped="1"');
    expect(xml.match(/<testcase /g)).toHaveLength(4);
    expect(xml).toContain('<failure type="abort" message="abort: Aborted">');
    expect(xml).toContain('<error type="error"');
    expect(xml).toContain('<skipped message="excluded"/>');
    expect(xml).toContain('<system-out>é\n</system-out>');
    expect(xml).toContain('timestamp="1970-01-01T00:00:00"');
  });
});

describe('progress on a terminal', () => {
  it('a line per finished test on stdout; done/total, passed, failed, running and ETA on stderr', () => {
    let out = '', err = '';
    const p = new TestProgress(3, 2, 12, { out: { write: (s: string) => (out += s) }, err: { write: (s: string) => (err += s) }, tty: true });
    const base = { path: '/tests/x', cmdline: '', seed: 1, failureLine: null, exitStatus: 0, instructions: 1, virtualNs: 1, console: '', reproduce: '' };
    p.started();
    p.started();
    p.finished({ ...base, name: 'tst-a.so', outcome: 'passed', ok: true, reason: '', wallMs: 4000 });
    expect(err).toMatch(/\[osvemu test\] 1\/3 done, 1 passed, 0 failed, 1 running, \d+s elapsed, ETA 4s$/);
    p.finished({ ...base, name: 'tst-b.so', outcome: 'abort', ok: false, reason: 'Aborted', wallMs: 2000 });
    p.stop();
    expect(out).toBe('  PASS  tst-a.so      (4.00 s)\n  FAIL  tst-b.so      (2.00 s)  abort: Aborted\n');
    expect(err.endsWith('\r\x1b[K')).toBe(true);
  });
});
