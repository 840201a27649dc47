// OSv trace buffers (src/osv/trace-*.ts) against the OSv-shaped guest: its tracepoints and per-CPU
// rings are read from guest memory with the DWARF layouts, written as an OSVT dump, parsed back,
// listed as trace.py lists them and exported as Chrome trace-event JSON. With OSV_SOURCE (an OSv
// tree) and python3, OSv's own scripts/trace.py reads the files and lists the same lines.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildGuest } from '../../src/cli/guest.js';
import { readVirtual } from '../../src/machine/debug-mem.js';
import { Machine } from '../../src/machine/machine.js';
import { loadDebugInfo } from '../../src/osv/dwarf/dwarf-info.js';
import type { DebugInfo } from '../../src/osv/debug-info.js';
import { readGuestTrace, TraceError } from '../../src/osv/trace-buffers.js';
import { formatBacktrace, formatSample, pyFormat, symbolResolver } from '../../src/osv/trace-list.js';
import { mergeByTime, TraceFormatError, type TraceDump, type TraceSample } from '../../src/osv/trace-model.js';
import { parseLegacyTrace, parseOsvt, writeOsvt } from '../../src/osv/trace-osvt.js';
import { perfettoJson } from '../../src/osv/trace-perfetto.js';

const kernelPath = buildGuest('osvlike');
const kernel = readFileSync(kernelPath);
const di = loadDebugInfo(kernel);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'osvemu-trace-'));

function traced(cmdline: string) {
  const m = new Machine({ kernel, cpus: 2, cmdline, memMiB: 64 });
  const r = m.run({ maxInsns: 200_000_000 });
  expect(r.cause, m.console).toBe('poweroff');
  return readGuestTrace(di, (a, n) => readVirtual(m.cpus[0]!, a, n), di.elf);
}

/** Samples without object identity, for comparing a parsed dump with the original. */
const plain = (d: TraceDump) => d.cpus.map((c) => c.map((s) => ({ ...s, tp: s.tp.name })));

// OSv's trace.py, runnable when OSV_SOURCE names an OSv tree and python3 works. It imports
// `requests` at the top (for `trace.py download`): a stub stands in when it is not installed.
const OSV_SOURCE = process.env.OSV_SOURCE ?? '';
const TRACE_PY = path.join(OSV_SOURCE, 'scripts', 'trace.py');
const HAVE_TRACE_PY = OSV_SOURCE !== '' && existsSync(TRACE_PY) && spawnSync('python3', ['--version']).status === 0;

let stub: string | undefined;
function tracePy(...args: string[]) {
  if (stub === undefined) {
    stub = path.join(tmp, 'pystub');
    mkdirSync(stub, { recursive: true });
    if (spawnSync('python3', ['-c', 'import requests']).status !== 0) writeFileSync(path.join(stub, 'requests.py'), '');
  }
  const r = spawnSync('python3', [TRACE_PY, ...args], {
    encoding: 'utf8', timeout: 60_000, env: { ...process.env, PYTHONPATH: stub },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('trace buffers of the OSv-shaped guest', () => {
  // --demo: demo_a migrates to cpu 1 and loads libhello.so there; the default run: worker threads.
  const run = traced('--trace=sched*,elf* --demo');
  const { dump } = run;
  const workers = traced('--trace=* --threads=3 --lines=2 --busy-us=50').dump;

  it('reads the tracepoint list and both CPUs\' rings with the right samples', () => {
    const sigs = Object.fromEntries(dump.tracepoints.map((t) => [t.name, t.sig]));
    expect(sigs).toMatchObject({ sched_switch: 'P', sched_migrate: 'PI', elf_load: 'p', sched_wait: '', osvlike_joined: 'piBH?Q' });
    // Only the matching tracepoints logged anything.
    expect(new Set(dump.cpus.flat().map((s) => s.tp.name.replace(/_.*/, '')))).toEqual(new Set(['sched', 'elf']));
    expect(dump.tracepoints.find((t) => t.name === 'sched_migrate')!.format).toBe('thread=%p cpu=%d');
    expect(dump.backtraceLen).toBe(10);
    expect(dump.cpus).toHaveLength(2);
    expect(run.bufferSizes).toEqual([16 * 4096, 16 * 4096]);
    const all = mergeByTime(dump.cpus);
    const load = all.find((s) => s.tp.name === 'elf_load')!;
    expect(load).toMatchObject({ threadName: 'demo_a', cpu: 1, args: ['libhello.so'] });
    const migrate = all.find((s) => s.tp.name === 'sched_migrate')!;
    expect(migrate.args[1]).toBe(1);
    expect(migrate.args[0]).toBe(migrate.thread);
    expect(all.some((s) => s.tp.name === 'sched_switch' && s.cpu === 1)).toBe(true);
    for (const c of dump.cpus) {
      for (const s of c) expect(s.cpu).toBe(dump.cpus.indexOf(c));
      // One CPU's ring is in time order.
      expect(c.map((s) => s.time)).toEqual([...c.map((s) => s.time)].sort((a, b) => a - b));
    }
    expect(all.every((s) => s.backtrace === null)).toBe(true);
    expect(dump.modules.map((m) => m.path)).toContain('libhello.so');
    expect(dump.symbols.some((s) => s.name === '_ZN5sched3cpu8scheduleEv')).toBe(true);
  });

  it('writes an OSVT dump that parses back to the same samples', () => {
    const bytes = writeOsvt(dump);
    expect(Buffer.from(bytes.subarray(0, 4)).toString('latin1')).toBe('TVSO');
    const back = parseOsvt(bytes);
    expect(back.tracepoints.map((t) => [t.key, t.name, t.format, t.sig])).toEqual(dump.tracepoints.map((t) => [t.key, t.name, t.format, t.sig]));
    expect(plain(back)).toEqual(plain(dump));
    expect(back.modules).toEqual(dump.modules);
    expect(back.symbols.length).toBe(dump.symbols.length);
    writeFileSync(path.join(tmp, 'demo.osvt'), bytes);
  });

  it('lists samples as trace.py list does', () => {
    const lines = mergeByTime(workers.cpus).filter((s) => s.tp.name === 'osvlike_joined').map(formatSample);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^0x00000000[0-9a-f]{8} main {13}0 {9}0\.\d{9} osvlike_joined {7}worker0 index 0 byte 0xa0 half 0 last 0 big 18364758544493064720$/);
    expect(lines[2]).toMatch(/ osvlike_joined {7}worker2 index 2 byte 0xa2 half 2000 last 1 big 18364758544493064722$/);
    const migrate = formatSample(mergeByTime(dump.cpus).find((s) => s.tp.name === 'sched_migrate')!);
    expect(migrate).toMatch(/ sched_migrate {8}thread=0x00000000[0-9a-f]{8} cpu=1$/);
  });

  it('exports Chrome trace-event JSON with a track per CPU and per thread', () => {
    const all = mergeByTime(dump.cpus);
    const json = JSON.parse(perfettoJson(all)) as { traceEvents: { name: string; ph: string; pid: number; tid: number; ts: number; dur?: number; args: Record<string, unknown> }[] };
    const ev = json.traceEvents;
    const names = (pid: number) => ev.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.pid === pid).map((e) => e.args.name as string);
    expect(names(1).sort()).toEqual(['CPU 0', 'CPU 1']);
    const threadTracks = names(2);
    for (const t of ['main', 'demo_a', 'demo_b', 'idle0', 'idle1']) expect(threadTracks.some((n) => n.startsWith(`${t} 0x`))).toBe(true);
    const instants = ev.filter((e) => e.ph === 'i');
    expect(instants.filter((e) => e.pid === 1)).toHaveLength(all.length);
    expect(instants.filter((e) => e.pid === 2)).toHaveLength(all.length);
    expect(instants[0]!.ts).toBe(all[0]!.time / 1000);
    // sched_wait ... sched_wait_ret on one thread is a slice.
    const waits = ev.filter((e) => e.ph === 'X' && e.name === 'sched_wait');
    expect(waits.length).toBeGreaterThan(0);
    expect(waits.every((e) => e.pid === 2 && e.dur! >= 0)).toBe(true);
    // sched_switch: what ran on each CPU, one slice from one switch to the next.
    const runs = ev.filter((e) => e.ph === 'X' && (e as { cat?: string }).cat === 'running');
    const switches = all.filter((s) => s.tp.name === 'sched_switch');
    expect(runs).toHaveLength(switches.length);
    expect(new Set(runs.map((e) => e.tid))).toEqual(new Set([0, 1]));
    expect(runs.some((e) => e.name === 'demo_b' && e.tid === 0)).toBe(true);
  });

  it('keeps the newest records when the ring wraps, with backtraces', () => {
    const { dump: d, bufferSizes } = traced('--trace=* --trace-backtrace --trace-pages=2 --threads=4 --lines=10 --busy-us=50');
    expect(bufferSizes).toEqual([8192, 8192]);
    for (const c of d.cpus) {
      // At least the page before the one being written, at most both pages (a record is >= 128 bytes).
      expect(c.length).toBeGreaterThan(4096 / 256);
      expect(c.length).toBeLessThanOrEqual(8192 / (48 + 80));
      // The boot's records (the first few µs) were overwritten.
      expect(c[0]!.time).toBeGreaterThan(1_000_000);
      expect(c.map((s) => s.time)).toEqual([...c.map((s) => s.time)].sort((a, b) => a - b));
      for (const s of c) expect(s.backtrace).toHaveLength(10);
    }
    // The run ends with every worker done: the last records are of the power-off path, not boot.
    const last = mergeByTime(d.cpus).at(-1)!;
    expect(last.time).toBeGreaterThan(20_000_000);
    const sw = d.cpus.flat().find((s) => s.tp.name === 'sched_switch')!;
    // As in OSv the first frames are the tracepoint's own (trace.py drops names starting "tracepoint").
    const frames = sw.backtrace!.filter((f) => f !== 0n).map((f) => di.functionAt(Number(f) - 1)?.name ?? '?');
    expect(frames[0]).toMatch(/^tracepoint<.*>::log$/);
    expect(frames.find((n) => !n.startsWith('tracepoint'))).toMatch(/sched::cpu::schedule/);
    expect(formatBacktrace(sw, symbolResolver(d.symbols))).toMatch(/^ {3}\[_ZN10tracepoint\S+\+0x[0-9a-f]+, _ZN5sched3cpu8scheduleEv\+0x[0-9a-f]+, /);
    expect(plain(parseOsvt(writeOsvt(d)))).toEqual(plain(d));
    writeFileSync(path.join(tmp, 'wrap.osvt'), writeOsvt(d));
  });

  it('says when no tracepoint was enabled, and writes an empty dump', () => {
    const r = traced('--threads=1 --lines=1 --busy-us=50');
    expect(r.bufferSizes).toEqual([0, 0]);
    expect(r.note).toMatch(/no tracepoint was enabled/);
    expect(parseOsvt(writeOsvt(r.dump)).cpus).toEqual([[], []]);
  });
});

describe('OSVT files and formats', () => {
  const key = 0x40001000n;
  const tp = { key, name: 'every_kind', format: 'c=%s b=%d B=%d h=%d H=%d i=%d I=%u q=%d Q=%x ?=%d f=%g d=%.3f P=%p p=%s *=%s', sig: 'cbBhHiIqQ?fdPp*' };
  const sample = (time: number, cpu: number): TraceSample => ({
    tp, thread: 0xffff800000123040n, threadName: 'thread-with-long', time, cpu, backtrace: null,
    args: ['x', -5, 250, -300, 65000, -70000, 4000000000, -(2n ** 40n), 0xfedcba9876543210n, true, 0.5, 3.25, 0xffff8000deadbe00n, 'héllo', Uint8Array.of(1, 2, 0xff)],
  });
  const dump: TraceDump = {
    backtraceLen: 10, tracepoints: [tp], modules: [{ path: '/libosv.so', base: 0x40200000n, size: 0x1000n }], symbols: [{ name: 'main', addr: 0x40201000n, size: 16n }],
    cpus: [[sample(1000, 0), { ...sample(3000, 0), backtrace: [0x40201005n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n] }], [sample(2000, 1), sample(3000, 1)]],
  };

  it('round-trips every signature character, 64-bit addresses and blobs', () => {
    const back = parseOsvt(writeOsvt(dump));
    expect(plain(back)).toEqual(plain(dump));
    expect(back.symbols).toEqual(dump.symbols);
    expect(mergeByTime(back.cpus).map((s) => `${s.cpu}@${s.time}`)).toEqual(['0@1000', '1@2000', '0@3000', '1@3000']);
    expect(formatSample(back.cpus[1]![0]!)).toBe('0xffff800000123040 thread-with-long  1         0.000002000 every_kind           '
      + "c=b'x' b=-5 B=250 h=-300 H=65000 i=-70000 I=4000000000 q=-1099511627776 Q=fedcba9876543210 ?=1 f=0.5 d=3.250 P=0xffff8000deadbe00 p=héllo *={01 02 ff}");
  });

  it("formats as Python's % operator", () => {
    expect(pyFormat('%5d|%-4x|%04X|%#x|%+d|%.2f|%g|%g|%g|%s|%3s|%%', [42, 255, 255, 255, 3, 2.005, 1e-21, 123456789, 0, 'ab', true])).toBe('   42|ff  |00FF|0xff|+3|2.00|1e-21|1.23457e+08|0|ab|True|%');
    expect(pyFormat('%lu %ld %02x', [5n, -5n, 7])).toBe('5 -5 07');
  });

  it('rejects what is not an OSVT dump, and truncated dumps, with one line', () => {
    expect(() => parseOsvt(Buffer.from('hello, world\n'), 'x.txt')).toThrow(TraceFormatError);
    expect(() => parseOsvt(Buffer.from('hello, world\n'), 'x.txt')).toThrow(/^x\.txt: not an OSv trace dump/);
    const b = writeOsvt(dump);
    for (const cut of [20, 60, b.length - 5]) {
      expect(() => parseOsvt(b.subarray(0, cut), 'cut.osvt')).toThrow(/^cut\.osvt: (truncated|a trace record)/);
    }
    expect(() => parseLegacyTrace(Buffer.from('hello, world\n'), 'x.txt')).toThrow(/not an OSv trace file/);
  });

  it('names a kernel without trace symbols', () => {
    const none: DebugInfo = { type: () => undefined, member: () => undefined, variable: () => undefined, functionAt: () => undefined };
    expect(() => readGuestTrace(none, () => null)).toThrow(TraceError);
    expect(() => readGuestTrace(none, () => null)).toThrow(/no tracepoint_base::tp_list: was it built with tracepoints/);
  });

  it.skipIf(!HAVE_TRACE_PY)("OSv's scripts/trace.py list reads the dumps and prints the same lines", () => {
    writeFileSync(path.join(tmp, 'kinds.osvt'), writeOsvt(dump));
    for (const f of ['demo.osvt', 'wrap.osvt', 'kinds.osvt']) {
      const file = path.join(tmp, f);
      expect(existsSync(file), `${f} is written by the tests above`).toBe(true);
      const r = tracePy('list', file);
      expect(r.status, r.stderr).toBe(0);
      const ours = mergeByTime(parseOsvt(readFileSync(file)).cpus).map(formatSample);
      expect(r.stdout.replace(/\n$/, '').split('\n')).toEqual(ours);
      if (f !== 'kinds.osvt') continue;
      // trace.py convert-dump writes loader.py's format (`osv trace save`): it lists the same too.
      const legacy = `${file}.trace`;
      expect(tracePy('convert-dump', '-f', file, legacy).status).toBe(0);
      const back = mergeByTime(parseLegacyTrace(readFileSync(legacy), legacy).cpus).map(formatSample);
      expect(back).toEqual(tracePy('list', legacy).stdout.replace(/\n$/, '').split('\n'));
      expect(back).toEqual(ours);
    }
  });
});
