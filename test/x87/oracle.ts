// Runs test/x87/oracle.c (compiled by the host gcc into a temp dir) to get real x87 results.
// Only meaningful on an x86-64 host with gcc; `oracleAvailable()` lets tests skip cleanly otherwise.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir, arch } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

let bin: string | null | undefined;

function build(): string | null {
  if (arch() !== 'x64') return null;
  try {
    const dir = mkdtempSync(join(tmpdir(), 'osvemu-x87-'));
    const out = join(dir, 'oracle');
    const src = join(dirname(fileURLToPath(import.meta.url)), 'oracle.c');
    execFileSync('gcc', ['-O1', '-o', out, src], { stdio: 'pipe' });
    return out;
  } catch {
    return null;
  }
}

export function oracleAvailable(): boolean {
  if (bin === undefined) bin = build();
  return bin !== null;
}

export interface Case {
  op: number;
  cw: number;
  a: [number, number, number]; // se, hi, lo
  b: [number, number, number];
}

export interface HostResult {
  fsw: number;
  st0: [number, number, number];
  mem: [number, number]; // hi, lo
  eflags: number;
  st1: [number, number, number];
}

const hex = (v: number) => (v >>> 0).toString(16);

export function runOracle(cases: Case[]): HostResult[] {
  if (!oracleAvailable()) throw new Error('x87 oracle unavailable');
  const input = cases
    .map((c) => `${c.op} ${hex(c.cw)} ${hex(c.a[0])} ${hex(c.a[1])} ${hex(c.a[2])} ${hex(c.b[0])} ${hex(c.b[1])} ${hex(c.b[2])}\n`)
    .join('');
  const r = spawnSync(bin!, [], { input, maxBuffer: 1 << 28, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`oracle failed: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  if (lines.length !== cases.length) throw new Error(`oracle returned ${lines.length} lines for ${cases.length} cases`);
  return lines.map((l) => {
    const v = l.split(' ').map((x) => parseInt(x, 16));
    return { fsw: v[0], st0: [v[1], v[2], v[3]], mem: [v[4], v[5]], eflags: v[6], st1: [v[7], v[8], v[9]] };
  });
}
