// The trace commands end to end (the built CLI): `osvemu run --trace-save/--perfetto`, `osvemu trace
// SNAPSHOT FILE`, `osvemu trace list FILE`, their help and their one-line errors.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildGuest, repoRoot } from '../../src/cli/guest.js';
import { parseOsvt } from '../../src/osv/trace-osvt.js';

const CLI = path.join(repoRoot(), 'dist', 'src', 'cli', 'main.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'osvemu-trace-cli-'));
const kernel = buildGuest('osvlike');
const GUEST = ['-c', '2', '-e', '--trace=sched* --threads=2 --lines=2'];

function osvemu(...args: string[]) {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first`);
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000, cwd: tmp });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function oneLine(r: { stderr: string }, pattern: RegExp) {
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^osvemu: /);
  expect(lines[0]).toMatch(pattern);
}

const f = (name: string) => path.join(tmp, name);

describe('osvemu trace', () => {
  it('run --trace-save writes the dump and --perfetto the JSON when the run ends; trace list prints every sample', () => {
    const r = osvemu('run', kernel, ...GUEST, '--trace-save', f('run.osvt'), '--perfetto', f('run.json'));
    expect(r.status, r.stderr).toBe(0);
    const m = /osvemu: (\d+) trace samples \((\d+)\+(\d+) on 2 CPUs, \d+ tracepoints\) written to .*run\.osvt \(\d+ bytes\) and Perfetto JSON .*run\.json/.exec(r.stderr);
    expect(m, r.stderr).not.toBeNull();
    const n = Number(m![1]);
    expect(n).toBeGreaterThan(20);
    const dump = parseOsvt(readFileSync(f('run.osvt')));
    expect(dump.cpus.map((c) => c.length)).toEqual([Number(m![2]), Number(m![3])]);
    const json = JSON.parse(readFileSync(f('run.json'), 'utf8')) as { traceEvents: { ph: string }[] };
    expect(json.traceEvents.filter((e) => e.ph === 'i')).toHaveLength(2 * n);

    const list = osvemu('trace', 'list', f('run.osvt'));
    expect(list.status, list.stderr).toBe(0);
    const lines = list.stdout.replace(/\n$/, '').split('\n');
    expect(lines).toHaveLength(n);
    expect(lines.some((l) => / sched_switch {9}to 0x[0-9a-f]{16}$/.test(l))).toBe(true);
    const only = osvemu('trace', 'list', '-t', 'sched_wait', f('run.osvt'));
    const waits = only.stdout.trim().split('\n');
    expect(waits.length).toBeGreaterThan(0);
    expect(waits.every((l) => / sched_wait(_ret)?( |$)/.test(l))).toBe(true);
  });

  it('trace SNAPSHOT FILE writes the saved machine\'s buffers', () => {
    // 1 M of the run's ~1.4 M instructions (PAUSE takes guest time: docs/waiting.md).
    const s = osvemu('run', kernel, ...GUEST, '--snapshot-at', '1000000', '--snapshot-file', f('m.snap'));
    expect(s.status, s.stderr).toBe(0);
    const r = osvemu('trace', f('m.snap'), f('snap.osvt'), '--perfetto', f('snap.json'));
    expect(r.status, r.stderr).toBe(0);
    oneLine(r, /\d+ trace samples \(\d+\+\d+ on 2 CPUs/);
    const dump = parseOsvt(readFileSync(f('snap.osvt')));
    expect(dump.cpus.flat().length).toBeGreaterThan(0);
    // 1 M instructions in: fewer samples than the whole run leaves.
    expect(dump.cpus.flat().length).toBeLessThan(parseOsvt(readFileSync(f('run.osvt'))).cpus.flat().length);
    JSON.parse(readFileSync(f('snap.json'), 'utf8'));
  });

  it('a stripped kernel needs --symbols', () => {
    const stripped = buildGuest('osvlike-stripped');
    const bad = osvemu('run', stripped, ...GUEST, '--trace-save', f('s.osvt'));
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/^osvemu: trace: the kernel has no DWARF debug information: give its loader\.elf with --symbols$/m);
    const good = osvemu('run', stripped, ...GUEST, '--symbols', kernel, '--trace-save', f('s.osvt'));
    expect(good.status, good.stderr).toBe(0);
    expect(parseOsvt(readFileSync(f('s.osvt'))).cpus.flat().length).toBeGreaterThan(0);
  });

  it('a kernel without tracepoints is named', () => {
    const r = osvemu('run', buildGuest('boot64'), '-m', '64', '--trace-save', f('bare.osvt'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^osvemu: trace: the kernel's debug info has no tracepoint_base::tp_list: was it built with tracepoints \(conf_tracepoints\)\?$/m);
    expect(existsSync(f('bare.osvt'))).toBe(false);
  });

  it('bad input: one line, non-zero status', () => {
    writeFileSync(f('notes.txt'), 'not a trace\n');
    let r = osvemu('trace', 'list', f('notes.txt'));
    expect(r.status).toBe(1);
    oneLine(r, /notes\.txt: not an OSv trace file/);
    r = osvemu('trace', 'list', f('missing.osvt'));
    expect(r.status).toBe(1);
    oneLine(r, /cannot read .*missing\.osvt: ENOENT/);
    writeFileSync(f('cut.osvt'), readFileSync(f('run.osvt')).subarray(0, 1000));
    r = osvemu('trace', 'list', f('cut.osvt'));
    expect(r.status).toBe(1);
    oneLine(r, /cut\.osvt: (truncated|a trace record)/);
    r = osvemu('trace', f('notes.txt'), f('x.osvt'));
    expect(r.status).toBe(1);
    oneLine(r, /notes\.txt/);
    r = osvemu('trace', 'a', 'b', 'c');
    expect(r.status).toBe(2);
    oneLine(r, /usage: osvemu trace SNAPSHOT FILE/);
    r = osvemu('run', kernel, '-e', '--threads=1 --lines=1', '--trace-save', path.join(tmp, 'no', 'such', 'dir.osvt'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^osvemu: trace: cannot write .*dir\.osvt: ENOENT$/m);
  });

  it('is in osvemu help', () => {
    expect(osvemu('help').stdout).toMatch(/^ {2}trace +OSv's trace buffers/m);
    const h = osvemu('help', 'trace');
    expect(h.stdout).toMatch(/^usage: osvemu trace SNAPSHOT FILE/);
    expect(osvemu('trace', '--help').stdout).toBe(h.stdout);
    expect(osvemu('run', '--help').stdout).toMatch(/--trace-save FILE\] \[--perfetto FILE\]/);
  });
});
