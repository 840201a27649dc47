// The slowest OSv tests side by side: osvemu's figures (bench/osv-tests.ts, OSV_TEST_OUT) against
// QEMU TCG's (bench/qemu-osv-tests.ts), wall and CPU seconds, with totals over the tests both ran.
// usage: node dist/bench/osv-tests-table.js OSVEMU.json QEMU.json [ROWS]
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { outcomeCounts, type TestFigure } from './qemu-osv-tests.js';

const s1 = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(1));

/** The slowest tests (by osvemu's wall time), with QEMU's figures beside them, then totals. */
export function slowestTable(osv: TestFigure[], qemu: TestFigure[] | null, rows = 25): string {
  const q = new Map((qemu ?? []).map((f) => [f.name, f]));
  const lines = [`${'test'.padEnd(30)} ${'osvemu'.padEnd(25)} ${'QEMU TCG'.padEnd(25)} wall`,
    `${''.padEnd(30)} ${'outcome    wall s  cpu s'.padEnd(25)} ${'outcome    wall s  cpu s'.padEnd(25)} ratio`];
  for (const f of [...osv].sort((a, b) => b.wallS - a.wallS).slice(0, rows)) {
    const g = q.get(f.name);
    lines.push(`${f.name.padEnd(30)} ${f.outcome.slice(0, 10).padEnd(10)} ${s1(f.wallS).padStart(6)} ${s1(f.cpuS).padStart(6)}  ` +
      `${(g?.outcome ?? '-').slice(0, 10).padEnd(10)} ${s1(g?.wallS).padStart(6)} ${s1(g?.cpuS).padStart(6)}  ${g ? (f.wallS / g.wallS).toFixed(1) : '-'}`);
  }
  if (qemu) {
    const both = osv.filter((f) => q.has(f.name));
    // CPU time unknown (a killed QEMU): counted as 0, so CPU sums of timed-out tests are lower bounds.
    const sum = (xs: TestFigure[], k: 'wallS' | 'cpuS') => xs.reduce((a, f) => a + (Number.isNaN(f[k]) ? 0 : f[k]), 0);
    const qb = both.map((f) => q.get(f.name)!);
    lines.push('', `${both.length} tests both ran: osvemu ${sum(both, 'wallS').toFixed(0)} test-s wall, ${sum(both, 'cpuS').toFixed(0)} s cpu ` +
      `(${outcomeCounts(both.map((f) => f.outcome))}); QEMU ${sum(qb, 'wallS').toFixed(0)} test-s wall, ${sum(qb, 'cpuS').toFixed(0)} s cpu ` +
      `(${outcomeCounts(qb.map((f) => f.outcome))})`);
    const passedBoth = both.filter((f) => f.outcome === 'passed' && q.get(f.name)!.outcome === 'passed');
    const qp = passedBoth.map((f) => q.get(f.name)!);
    lines.push(`${passedBoth.length} passed in both: osvemu ${sum(passedBoth, 'wallS').toFixed(0)} s wall, ${sum(passedBoth, 'cpuS').toFixed(0)} s cpu; ` +
      `QEMU ${sum(qp, 'wallS').toFixed(0)} s wall, ${sum(qp, 'cpuS').toFixed(0)} s cpu`);
    const differ = both.filter((f) => (f.outcome === 'passed') !== (q.get(f.name)!.outcome === 'passed'));
    if (differ.length) lines.push(`outcomes differ: ${differ.map((f) => `${f.name} (osvemu ${f.outcome}, QEMU ${q.get(f.name)!.outcome})`).join(', ')}`);
  }
  return lines.join('\n');
}

/** A figures file; unknown times (NaN, which JSON writes as null) come back as NaN. */
export function readFigures(file: string): TestFigure[] {
  return (JSON.parse(readFileSync(file, 'utf8')).figures as TestFigure[]).map((f) => ({ ...f, cpuS: f.cpuS ?? NaN, wallS: f.wallS ?? NaN }));
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  const [osvFile, qemuFile, rows] = process.argv.slice(2);
  if (!osvFile) {
    console.error('usage: osv-tests-table OSVEMU.json [QEMU.json] [ROWS]');
    process.exit(2);
  }
  const osv = readFigures(osvFile);
  const qemu = qemuFile ? readFigures(qemuFile) : null;
  console.log(slowestTable(osv, qemu, rows ? Number(rows) : 25));
}
