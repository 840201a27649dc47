// Child-process measurements for bench/suite.ts: cold command-line runs of osvemu and QEMU (wall time, and
// CPU time from bash's `times`), QEMU's loop speed, and the RSS probe.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ColdFigures {
  wallS: number;
  cpuS: number;
  rc: number;
  runs: number;
}

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
 * Runs a command with output discarded: wall seconds and the user + system CPU seconds of it and its children
 * (bash's `times`, whose second line is the children's), or NaN CPU where bash is missing.
 */
export function timed(cmd: string[], timeoutMs = 120_000): { wallS: number; cpuS: number; rc: number } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('bash', ['-c', '"$@" >/dev/null 2>&1 </dev/null; rc=$?; times >&2; exit $rc', 'bash', ...cmd],
    { encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL' });
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  const lines = (r.stderr ?? '').trim().split('\n');
  const [u, s] = (lines[lines.length - 1] ?? '').trim().split(/\s+/);
  return { wallS, cpuS: clock(u ?? '') + clock(s ?? ''), rc: r.status ?? -1 };
}

function coldMedian(cmd: string[], runs: number): ColdFigures | null {
  const all = Array.from({ length: runs }, () => timed(cmd));
  if (all.every((r) => r.rc < 0)) return null;
  return { wallS: median(all.map((r) => r.wallS)), cpuS: median(all.map((r) => r.cpuS)), rc: all[0]!.rc, runs };
}

/** `node dist/src/cli/main.js run KERNEL [-e CMDLINE]`, as a user types it: median of `runs` cold processes. */
export function cliCold(cli: string, kernel: string, cmdline: string, runs: number): ColdFigures | null {
  return coldMedian([process.execPath, cli, 'run', kernel, ...(cmdline ? ['-e', cmdline] : [])], runs);
}

/** QEMU TCG booting the same kernel as ../shared/reference/osv-under-qemu.md (pc machine: OSv powers it off). */
export function qemuCold(qemu: string, kernel: string, cmdline: string, runs: number): ColdFigures | null {
  return coldMedian([qemu, '-kernel', kernel, '-append', cmdline, '-nographic', '-m', '256M', '-no-reboot'], runs);
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
