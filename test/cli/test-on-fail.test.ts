// `osvemu test --on-fail snapshot,core` and `--net`: each failing test's machine is kept in --logs as
// a snapshot (restored, it is the machine the log came from) and an ELF core file, the report names
// the commands that open them, a snapshot the machine cannot give costs one line and not the run;
// the network card is on for kernels with OSv's virtio-net driver (or when asked) and the reproduce
// command builds the same machine.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildGuest, repoRoot } from '../../src/cli/guest.js';
import { parseTestArgs } from '../../src/cli/test-args.js';
import { readSnapshotFile } from '../../src/machine/snapshot-file.js';
import { machineFromSnapshot } from '../../src/machine/snapshot-state.js';
import { kernelHasVirtioNet } from '../../src/osv/test-net.js';

const CLI = path.join(repoRoot(), 'dist', 'src', 'cli', 'main.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'osvemu-on-fail-'));
const kernel = buildGuest('osvlike');
// 10 s: a loaded CI host must not turn an abort into a timeout (tst-hang costs those seconds idle).
const MACHINE = ['-c', '2', '-m', '64M', '--timeout', '10'];

function osvemu(...args: string[]) {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first`);
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 300_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The report's lines under a failure's heading. */
function failureBlock(stdout: string, name: string): string[] {
  const lines = stdout.split('\n');
  const at = lines.findIndex((l) => l.startsWith(`${name}: `));
  expect(at, name).toBeGreaterThan(0);
  const out: string[] = [];
  for (let k = at + 1; k < lines.length && lines[k]!.startsWith('  '); k++) out.push(lines[k]!.trim());
  return out;
}

describe('osvemu test --on-fail', () => {
  it('keeps a snapshot and a core file of each failing test (abort, timeout), none of a passing one', () => {
    const logs = path.join(tmp, 'logs');
    const junit = path.join(tmp, 'on-fail.xml');
    const r = osvemu('test', kernel, ...MACHINE, '--jobs', '2', '--filter', 'tst-(abort|hang|pass)', '--logs', logs, '--on-fail', 'snapshot,core',
      '--junit', junit);
    expect(r.status, r.stderr).toBe(1);
    // The JUnit failure names the files too, and the report stays valid.
    expect(readFileSync(junit, 'utf8')).toContain(`osvemu debug ${path.join(logs, 'tst-abort.so.snap')}`);
    const lint = spawnSync('xmllint', ['--noout', '--schema', path.join(repoRoot(), 'test', 'junit', 'junit.xsd'), junit], { encoding: 'utf8' });
    if (!lint.error) expect(lint.status, lint.stderr).toBe(0);
    expect(readdirSync(logs).sort()).toEqual([
      'tst-abort.so.core', 'tst-abort.so.log', 'tst-abort.so.snap',
      'tst-hang.so.core', 'tst-hang.so.log', 'tst-hang.so.snap', 'tst-pass.so.log',
    ]);
    for (const name of ['tst-abort.so', 'tst-hang.so']) {
      const block = failureBlock(r.stdout, name);
      expect(block.some((l) => l.startsWith(`osvemu run ${kernel} `))).toBe(true);
      const snap = path.join(logs, `${name}.snap`);
      expect(block).toContain(`osvemu debug ${snap}   (the machine as it ended; gdb: target remote :1234)`);
      expect(block).toContain(`gdb ${kernel} ${path.join(logs, `${name}.core`)}`);
      // The snapshot is the machine the log came from, at its end.
      const m = machineFromSnapshot(readSnapshotFile(snap));
      expect(m.console, name).toBe(readFileSync(path.join(logs, `${name}.log`), 'latin1'));
      const core = readFileSync(path.join(logs, `${name}.core`));
      expect(core.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
      expect(core.readUInt16LE(16)).toBe(4); // ET_CORE
    }
  });

  it('a machine whose snapshot is refused: one line says why, the run goes on', () => {
    const logs = path.join(tmp, 'refused');
    // A network card: snapshots of machines with virtio devices are refused until they carry their state.
    const r = osvemu('test', kernel, ...MACHINE, '--net', 'isolated', '--filter', 'tst-(fail|pass)', '--logs', logs, '--on-fail', 'snapshot');
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/2 tests: 1 passed, 1 failed/);
    const block = failureBlock(r.stdout, 'tst-fail.so');
    const snap = path.join(logs, 'tst-fail.so.snap');
    if (existsSync(snap)) expect(block).toContain(`osvemu debug ${snap}   (the machine as it ended; gdb: target remote :1234)`);
    else expect(block.filter((l) => l.startsWith('no snapshot: '))).toHaveLength(1);
  });

  it('bad --on-fail and --net arguments', () => {
    expect(parseTestArgs(['k', '--logs', 'd', '--on-fail', 'core,snapshot'])).toMatchObject({ onFail: ['core', 'snapshot'], net: 'auto' });
    expect(() => parseTestArgs(['k', '--on-fail', 'snapshot'])).toThrow(/--on-fail needs --logs DIR/);
    expect(() => parseTestArgs(['k', '--logs', 'd', '--on-fail', 'gcore'])).toThrow(/--on-fail takes snapshot, core or snapshot,core/);
    expect(() => parseTestArgs(['k', '--net', 'user'])).toThrow(/--net needs auto, isolated, none/);
  });
});

describe('osvemu test --net', () => {
  it('auto gives no card to a kernel without a virtio-net driver; isolated gives one, and the reproduce command asks for it', () => {
    expect(kernelHasVirtioNet(readFileSync(kernel))).toBe(false);
    const plain = osvemu('test', kernel, ...MACHINE, '--filter', '^tst-fail');
    expect(plain.stdout.split('\n')[0]).not.toMatch(/net isolated/);
    expect(failureBlock(plain.stdout, 'tst-fail.so').find((l) => l.startsWith('osvemu run '))).not.toMatch(/--net/);
    const logs = path.join(tmp, 'net');
    const net = osvemu('test', kernel, ...MACHINE, '--net', 'isolated', '--filter', '^tst-fail', '--logs', logs);
    expect(net.stdout.split('\n')[0]).toMatch(/, net isolated$/);
    const cmd = failureBlock(net.stdout, 'tst-fail.so').find((l) => l.startsWith('osvemu run '))!;
    expect(cmd).toMatch(/ --net isolated /);
    // The command builds the same machine: same console.
    const m = /^osvemu run (.*) -e '([^']*)'$/.exec(cmd)!;
    const again = spawnSync(process.execPath, [CLI, 'run', ...m[1]!.split(' '), '-e', m[2]!], { encoding: 'latin1', timeout: 60_000 });
    expect(again.stdout).toBe(readFileSync(path.join(logs, 'tst-fail.so.log'), 'latin1'));
  });
});
