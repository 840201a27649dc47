// Guest RAM size vs host cost: for -m 256M up to 16G, the time to create the machine, the host RSS after
// that, and the boot of the OSv-shaped guest to power-off (CPU time, RSS at the end). Each size runs in its
// own process so RSS figures do not mix. Prints figures; asserts nothing.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { buildGuest } from '../src/cli/guest.js';
import { Machine } from '../src/machine/machine.js';

const MiB = 2 ** 20;

function one(memMiB: number): void {
  const kernel = readFileSync(buildGuest('osvlike'));
  const rss0 = process.memoryUsage().rss;
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const m = new Machine({ kernel, memMiB, cmdline: '--threads=2' });
  const createMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const rssCreated = process.memoryUsage().rss;
  const r = m.run({ maxInsns: 2_000_000_000 });
  const cu = process.cpuUsage(c0);
  console.log(JSON.stringify({
    memMiB, createMs, cause: r.cause, insns: r.instructions, bootCpuMs: (cu.user + cu.system) / 1000,
    rssBefore: rss0 / MiB, rssCreated: rssCreated / MiB, rssEnd: process.memoryUsage().rss / MiB,
  }));
}

function main(): void {
  if (process.argv[2] === '--one') return one(Number(process.argv[3]));
  buildGuest('osvlike');
  const sizes = [256, 1024, 4096, 8192, 16384].filter((s) => s * MiB < totalmem());
  console.log('guest RAM   create ms   RSS after create   boot to power-off (CPU ms, insns)   RSS at end');
  for (const s of sizes) {
    const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--one', String(s)], { encoding: 'utf8' });
    const r = JSON.parse(out.trim().split('\n').pop()!);
    console.log(`${String(s).padStart(6)} MiB  ${r.createMs.toFixed(1).padStart(8)}   ${r.rssCreated.toFixed(0).padStart(8)} MiB (+${(r.rssCreated - r.rssBefore).toFixed(1)})` +
      `   ${r.cause} ${r.bootCpuMs.toFixed(0).padStart(6)} ms, ${r.insns}   ${r.rssEnd.toFixed(0).padStart(6)} MiB`);
  }
}

main();
