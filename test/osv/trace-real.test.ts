// A real OSv kernel traced under osvemu: `--trace=sched* --trace-backtrace` on OSv's command line,
// `osvemu run --trace-save` writes the buffers when the run ends. Skipped unless OSV_KERNEL
// (loader-stripped.elf) and OSV_LOADER_ELF (its loader.elf) are set; with OSV_SOURCE (an OSv tree)
// and python3, OSv's scripts/trace.py lists the dump and must print what `osvemu trace list` prints.
// Optional: OSV_CMDLINE (default "/hello"). TRACE_SHOW=1 prints the sample counts.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../src/cli/guest.js';
import { loadDebugInfoFile } from '../../src/osv/dwarf/dwarf-info.js';
import { mergeByTime } from '../../src/osv/trace-model.js';
import { parseOsvt } from '../../src/osv/trace-osvt.js';

const KERNEL = process.env.OSV_KERNEL ?? '';
const LOADER_ELF = process.env.OSV_LOADER_ELF ?? '';
const CMDLINE = process.env.OSV_CMDLINE ?? '/hello';
const OSV_SOURCE = process.env.OSV_SOURCE ?? '';
const READY = existsSync(KERNEL) && existsSync(LOADER_ELF);
const TRACE_PY = path.join(OSV_SOURCE, 'scripts', 'trace.py');
const HAVE_TRACE_PY = OSV_SOURCE !== '' && existsSync(TRACE_PY) && spawnSync('python3', ['--version']).status === 0;
const CLI = path.join(repoRoot(), 'dist', 'src', 'cli', 'main.js');

describe.skipIf(!READY)('tracing a real OSv kernel', () => {
  it('saves the sched* tracepoints of a whole run; trace.py reads the dump', () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'osvemu-trace-real-'));
    const osvt = path.join(tmp, 'hello.osvt');
    const json = path.join(tmp, 'hello.json');
    const run = spawnSync(process.execPath, [CLI, 'run', KERNEL, '--symbols', LOADER_ELF, '-c', '2',
      '-e', `--trace=sched* --trace-backtrace ${CMDLINE}`, '--trace-save', osvt, '--perfetto', json], { encoding: 'utf8', timeout: 240_000 });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Hello from C code/);
    const summary = /(\d+) trace samples \((\d+)\+(\d+) on 2 CPUs, (\d+) tracepoints\)/.exec(run.stderr);
    expect(summary, run.stderr).not.toBeNull();
    if (process.env.TRACE_SHOW) console.log(summary![0]);

    const dump = parseOsvt(readFileSync(osvt));
    const all = mergeByTime(dump.cpus);
    expect(all.length).toBe(Number(summary![1]));
    expect(dump.cpus[0]!.length).toBeGreaterThan(100);
    expect(dump.cpus[1]!.length).toBeGreaterThan(10);
    expect(dump.tracepoints.length).toBeGreaterThan(100);
    expect(new Set(all.map((s) => s.tp.name))).toEqual(new Set(all.map((s) => s.tp.name).filter((n) => n.startsWith('sched'))));
    expect(all.find((s) => s.tp.name === 'sched_switch')!.tp.sig).toBe('Pff');
    // OSv turns backtraces on only after smp_launch (loader.cc): the later records carry them.
    const sw = all.find((s) => s.tp.name === 'sched_switch' && s.backtrace !== null)!;
    expect(sw?.backtrace).toHaveLength(10);
    // The backtraces are OSv's: the first frames are in the scheduler.
    const di = loadDebugInfoFile(LOADER_ELF);
    const frames = sw.backtrace!.filter((f) => f !== 0n).map((f) => di.functionAt(Number(f) - 1)?.name ?? '?');
    expect(frames.join(' ')).toMatch(/sched::cpu::reschedule_from_interrupt|sched::cpu::schedule|sched::thread::wait/);
    // (No MODS entries here: after power-off elf::program::s_objs is empty.)
    expect(dump.symbols.length).toBeGreaterThan(1000);
    expect(JSON.parse(readFileSync(json, 'utf8')).traceEvents.filter((e: { ph: string }) => e.ph === 'i')).toHaveLength(2 * all.length);

    const list = spawnSync(process.execPath, [CLI, 'trace', 'list', osvt], { encoding: 'utf8', timeout: 60_000 });
    expect(list.status, list.stderr).toBe(0);
    const ours = list.stdout.replace(/\n$/, '').split('\n');
    expect(ours).toHaveLength(all.length);
    if (HAVE_TRACE_PY) {
      const stub = path.join(tmp, 'pystub');
      mkdirSync(stub);
      if (spawnSync('python3', ['-c', 'import requests']).status !== 0) writeFileSync(path.join(stub, 'requests.py'), '');
      const py = spawnSync('python3', [TRACE_PY, 'list', osvt], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, PYTHONPATH: stub } });
      expect(py.status, py.stderr).toBe(0);
      expect(py.stdout.replace(/\n$/, '').split('\n')).toEqual(ours);
    }
  }, 300_000);
});
