// One boot in this (fresh) process, then one JSON line: peak RSS, guest memory touched (RAM pages that are
// not all zero) and the resident size of the guest RAM mapping (/proc/self/smaps), both read before the
// page scan. Used by bench/suite.ts: issue 12's goal is peak RSS <= touched + 150 MB.
// usage: node dist/bench/rss-probe.js KERNEL [CMDLINE]
import { readFileSync } from 'node:fs';
import { Machine } from '../src/machine/machine.js';

const MiB = 1024 * 1024;

/**
 * Resident MiB of the smallest mapping at least `bytes` long: the guest RAM buffer (V8's larger reservations,
 * such as its pointer cage, are bigger); NaN off Linux.
 */
function residentOfMapping(bytes: number): number {
  let text: string;
  try {
    text = readFileSync('/proc/self/smaps', 'utf8');
  } catch {
    return NaN;
  }
  let best = Infinity, bestRss = NaN, size = 0;
  for (const line of text.split('\n')) {
    const s = /^Size:\s+(\d+) kB/.exec(line);
    if (s) { size = Number(s[1]) * 1024; continue; }
    const r = /^Rss:\s+(\d+) kB/.exec(line);
    if (r && size >= bytes && size < best) { best = size; bestRss = Number(r[1]) * 1024 / MiB; }
  }
  return bestRss;
}

/** Pages of guest RAM holding anything but zeros. */
function touchedPages(m: Machine): number {
  const words = new Int32Array(m.mem.ram);
  let n = 0;
  for (let p = 0; p < words.length; p += 1024) {
    for (let w = p; w < p + 1024; w++) {
      if (words[w] !== 0) { n++; break; }
    }
  }
  return n;
}

function main(): void {
  const [kernelPath, cmdline = ''] = process.argv.slice(2);
  if (!kernelPath) {
    process.stderr.write('usage: rss-probe KERNEL [CMDLINE]\n');
    process.exit(2);
  }
  const m = new Machine({ kernel: readFileSync(kernelPath), cmdline, memMiB: 256, serialOut: () => {} });
  const r = m.run({ maxInsns: 2e9, timeoutMs: 300_000 });
  const maxRssMiB = process.resourceUsage().maxRSS * 1024 / MiB;
  const ramResidentMiB = residentOfMapping(m.mem.size);
  const touchedMiB = touchedPages(m) * 4096 / MiB;
  process.stdout.write(`${JSON.stringify({ maxRssMiB, touchedMiB, ramResidentMiB, cause: r.cause, instructions: r.instructions })}\n`);
}

main();
