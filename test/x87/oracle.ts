// Runs test/x87/oracle.c (compiled once by the host gcc, cached under build/x87) to get real x87 results.
// Only meaningful on an x86-64 host with gcc; `oracleAvailable()` lets tests skip cleanly otherwise.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { arch } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const BUILD_DIR = resolve(here, '..', '..', 'build', 'x87');
let bin: string | null | undefined;

/** Compiles oracle.c once (cached under build/x87 by source hash); null when impossible here. */
function build(): string | null {
  if (arch() !== 'x64' || process.platform !== 'linux') return null;
  try {
    const src = join(here, 'oracle.c');
    const tag = createHash('sha256').update(readFileSync(src)).digest('hex').slice(0, 16);
    const exe = join(BUILD_DIR, `oracle-${tag}`);
    if (existsSync(exe)) return exe;
    mkdirSync(BUILD_DIR, { recursive: true });
    const tmp = `${exe}.${process.pid}.tmp`; // parallel workers: compile privately, rename atomically
    const r = spawnSync('gcc', ['-O1', '-o', tmp, src], { encoding: 'utf8' });
    if (r.error || r.status !== 0) return null;
    renameSync(tmp, exe);
    return exe;
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
