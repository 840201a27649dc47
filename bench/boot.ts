// Boot benchmark: wall time from machine creation to power-off for the project's OSv-shaped guest (and a
// real OSv kernel when OSV_KERNEL is set), with instruction counts. Prints figures; asserts nothing.
import { readFileSync } from 'node:fs';
import { buildGuest } from '../src/cli/guest.js';
import { Machine } from '../src/machine/machine.js';

interface Case { name: string; kernel: Uint8Array; cmdline: string; cpus: number; jit: boolean; }

function bootOnce(c: Case): { ms: number; cpuMs: number; insns: number; cause: string; last: string } {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const m = new Machine({ kernel: c.kernel, cmdline: c.cmdline, cpus: c.cpus, memMiB: 256, jit: c.jit });
  const r = m.run({ maxInsns: 2_000_000_000, timeoutMs: 120_000 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const cu = process.cpuUsage(c0);
  const last = m.console.trimEnd().split('\n').pop() ?? '';
  return { ms, cpuMs: (cu.user + cu.system) / 1000, insns: r.instructions, cause: r.cause, last };
}

function main(): void {
  const cases: Case[] = [];
  const osvlike = readFileSync(buildGuest('osvlike'));
  // Each boot with the block compiler (default) and without (--no-jit).
  const both = (c: Omit<Case, 'jit' | 'name'> & { name: string }) => {
    cases.push({ ...c, jit: true }, { ...c, name: `${c.name} no-jit`, jit: false });
  };
  for (const cpus of [1, 2]) both({ name: `osvlike -c ${cpus}`, kernel: osvlike, cmdline: '', cpus });
  const real = process.env.OSV_KERNEL;
  if (real) {
    const k = readFileSync(real);
    const cmd = process.env.OSV_CMDLINE ?? '/hello';
    for (const cpus of [1, 2]) both({ name: `OSv ${cmd} -c ${cpus}`, kernel: k, cmdline: cmd, cpus });
  }
  for (const c of cases) {
    bootOnce(c); // warm-up: JIT and decode caches of the process
    const runs = [bootOnce(c), bootOnce(c), bootOnce(c)].sort((a, b) => a.ms - b.ms);
    const med = runs[1];
    console.log(`${c.name.padEnd(29)} ${med.cause.padEnd(9)} ${(med.ms / 1000).toFixed(3)} s wall (cpu ${(med.cpuMs / 1000).toFixed(3)} s), ` +
      `${(med.insns / 1e6).toFixed(2)} M insns, ${(med.insns / med.ms / 1000).toFixed(1)} MIPS; last line: ${med.last.slice(0, 60)}`);
  }
}

main();
