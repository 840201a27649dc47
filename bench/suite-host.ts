// Child-process measurements for bench/suite.ts: cold command-line runs of osvemu and QEMU (wall time, and
// CPU time from bash's `times`), QEMU's loop speed, and the RSS probe.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ColdFigures {
  wallS: number;
  cpuS: number;
  /** Median peak RSS in MiB (GNU time's %M), NaN where /usr/bin/time is missing. */
  rssMiB: number;
  rc: number;
  runs: number;
}

/** GNU time, for the peak RSS of a child (bash's `times` gives CPU only); optional. */
const GNU_TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

export function median(l: number[]): number {
  const s = [...l].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor(s.length / 2)]!;
}

export function findQemu(): string | null {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = path.join(dir || '.', 'qemu-system-x86_64');
    if (existsSync(p)) return p;
  }
  return null;
}

/** "1m2.345s" -> seconds */
function clock(s: string): number {
  const m = /^(\d+)m([\d.]+)s$/.exec(s);
  return m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
}

/**
 * Runs a command with output discarded: wall seconds, the user + system CPU seconds of it and its children
 * (bash's `times`, whose second line is the children's; NaN where bash is missing) and its peak RSS in MiB
 * (NaN without GNU time).
 */
export function timed(cmd: string[], timeoutMs = 120_000): { wallS: number; cpuS: number; rssMiB: number; rc: number } {
  const dir = GNU_TIME ? mkdtempSync(path.join(os.tmpdir(), 'osvemu-bench-')) : null;
  const rssFile = dir ? path.join(dir, 'rss') : '';
  const argv = GNU_TIME ? [GNU_TIME, '-f', '%M', '-o', rssFile, ...cmd] : cmd;
  const t0 = process.hrtime.bigint();
  const r = spawnSync('bash', ['-c', '"$@" >/dev/null 2>&1 </dev/null; rc=$?; times >&2; exit $rc', 'bash', ...argv],
    { encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL' });
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  const lines = (r.stderr ?? '').trim().split('\n');
  const [u, s] = (lines[lines.length - 1] ?? '').trim().split(/\s+/);
  let rssMiB = NaN;
  if (dir) {
    try {
      // GNU time writes "Command exited with non-zero status N" first when the command failed.
      const kib = Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop());
      if (kib > 0) rssMiB = kib / 1024;
    } catch {
      // killed by the timeout: no figure
    }
    rmSync(dir, { recursive: true, force: true });
  }
  return { wallS, cpuS: clock(u ?? '') + clock(s ?? ''), rssMiB, rc: r.status ?? -1 };
}

type Timed = ReturnType<typeof timed>;

function summarize(all: Timed[]): ColdFigures | null {
  if (all.length === 0 || all.every((r) => r.rc < 0)) return null;
  return { wallS: median(all.map((r) => r.wallS)), cpuS: median(all.map((r) => r.cpuS)),
    rssMiB: median(all.map((r) => r.rssMiB)), rc: all[0]!.rc, runs: all.length };
}

function coldMedian(cmd: string[], runs: number): ColdFigures | null {
  return summarize(Array.from({ length: runs }, () => timed(cmd)));
}

/** The command line of a cold `osvemu run` as a user types it. */
function cliArgs(cli: string, kernel: string, cmdline: string): string[] {
  return [process.execPath, cli, 'run', kernel, ...(cmdline ? ['-e', cmdline] : [])];
}

/** The QEMU command line of qemuCold. */
function qemuArgs(qemu: string, kernel: string, cmdline: string): string[] {
  return [qemu, '-kernel', kernel, '-append', cmdline, '-nographic', '-m', '256M', '-no-reboot'];
}

/**
 * Cold osvemu and QEMU runs of the same kernel taken in turns (one of each per round, after one unmeasured
 * round that fills the code cache and the page cache), so that a change of host load weighs on both alike.
 */
export function coldPair(cli: string, qemu: string, kernel: string, cmdline: string, runs: number):
  { osvemu: ColdFigures | null; qemu: ColdFigures | null } {
  const o: Timed[] = [], q: Timed[] = [];
  timed(cliArgs(cli, kernel, cmdline));
  timed(qemuArgs(qemu, kernel, cmdline));
  for (let k = 0; k < runs; k++) {
    o.push(timed(cliArgs(cli, kernel, cmdline)));
    q.push(timed(qemuArgs(qemu, kernel, cmdline)));
  }
  return { osvemu: summarize(o), qemu: summarize(q) };
}

/** `node dist/src/cli/main.js run KERNEL [-e CMDLINE]`, as a user types it: median of `runs` cold processes. */
export function cliCold(cli: string, kernel: string, cmdline: string, runs: number): ColdFigures | null {
  return coldMedian(cliArgs(cli, kernel, cmdline), runs);
}

/** QEMU TCG booting the same kernel as ../shared/reference/osv-under-qemu.md (pc machine: OSv powers it off). */
export function qemuCold(qemu: string, kernel: string, cmdline: string, runs: number): ColdFigures | null {
  return coldMedian(qemuArgs(qemu, kernel, cmdline), runs);
}

/**
 * QEMU TCG's speed on the loop image: CPU time with `iters` iterations minus CPU time with none (QEMU's own
 * start-up and the guest's boot cancel out), `insnsPerIter` instructions per iteration; median of `runs`.
 */
export function qemuLoopMips(qemu: string, elf: string, kind: string, iters: number, insnsPerIter: number, runs: number): number {
  const run = (n: number) => timed([qemu, '-kernel', elf, '-append', `${kind} ${n}`, '-display', 'none', '-nodefaults',
    '-m', '64M', '-device', 'isa-debug-exit,iobase=0xf4,iosize=4', '-no-reboot']);
  const base = median(Array.from({ length: runs }, () => run(0).cpuS));
  const full = median(Array.from({ length: runs }, () => run(iters).cpuS));
  return (iters * insnsPerIter) / Math.max(full - base, 1e-3) / 1e6;
}

export interface RssFigures {
  maxRssMiB: number;
  touchedMiB: number;
  ramResidentMiB: number;
}

/** Boots `kernel` in a fresh node (bench/rss-probe.ts) and reads its peak RSS and touched guest memory. */
export function rssProbe(kernel: string, cmdline: string): RssFigures | null {
  const probe = path.join(path.dirname(fileURLToPath(import.meta.url)), 'rss-probe.js');
  const r = spawnSync(process.execPath, [probe, kernel, cmdline], { encoding: 'utf8', timeout: 300_000 });
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as RssFigures;
  } catch {
    return null;
  }
}
