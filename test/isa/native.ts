// Builds and drives the native harness (test/isa/native/harness.c): runs cases on the host CPU.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BLOB_SIZE, CODE_MAX } from './blob.js';

const here = dirname(fileURLToPath(import.meta.url));
const SOURCE = join(here, 'native', 'harness.c');
const BUILD_DIR = resolve(here, '..', '..', 'build', 'isa');

export interface NativeCase { code: Uint8Array; input: Uint8Array }

/** Why native runs are impossible on this machine, or null when they are possible. */
export function nativeUnavailableReason(): string | null {
  if (process.platform !== 'linux' || process.arch !== 'x64') return `host is ${process.platform}/${process.arch}, needs linux/x64`;
  const gcc = spawnSync('gcc', ['--version'], { encoding: 'utf8' });
  if (gcc.error || gcc.status !== 0) return 'gcc not found';
  return null;
}

let built: string | undefined;

/** Compiles the harness once per process (cached on disk by source hash) and returns the executable's path. */
export function buildHarness(): string {
  if (built) return built;
  const src = readFileSync(SOURCE);
  const tag = createHash('sha256').update(src).digest('hex').slice(0, 16);
  const exe = join(BUILD_DIR, `harness-${tag}`);
  if (!existsSync(exe)) {
    mkdirSync(BUILD_DIR, { recursive: true });
    // Parallel test workers may build at once: compile to a private name, then rename atomically.
    const tmp = `${exe}.${process.pid}.tmp`;
    const r = spawnSync('gcc', ['-O2', '-Wall', '-Wextra', '-o', tmp, SOURCE], { encoding: 'utf8' });
    if (r.error) throw new Error(`cannot run gcc: ${r.error.message}`);
    if (r.status !== 0) throw new Error(`gcc failed building the ISA harness:\n${r.stderr}`);
    renameSync(tmp, exe);
  }
  built = exe;
  return exe;
}

const REC = 1 + CODE_MAX + BLOB_SIZE;

/** Runs all cases in one harness process; returns one output blob per case. */
export function runNative(cases: NativeCase[]): Uint8Array[] {
  const exe = buildHarness();
  const input = Buffer.alloc(4 + REC * cases.length);
  input.writeUInt32LE(cases.length, 0);
  cases.forEach((c, i) => {
    if (c.code.length > CODE_MAX) throw new Error(`case ${i}: code is ${c.code.length} bytes, max ${CODE_MAX}`);
    if (c.input.length !== BLOB_SIZE) throw new Error(`case ${i}: input blob is ${c.input.length} bytes, need ${BLOB_SIZE}`);
    const o = 4 + REC * i;
    input[o] = c.code.length;
    input.set(c.code, o + 1);
    input.set(c.input, o + 1 + CODE_MAX);
  });
  const r = spawnSync(exe, [], { input, maxBuffer: BLOB_SIZE * cases.length + 1024 });
  if (r.error) throw new Error(`ISA harness failed to run: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`ISA harness exited with ${r.status ?? r.signal}: ${r.stderr.toString().trim()}`);
  const out = r.stdout;
  if (out.length !== BLOB_SIZE * cases.length) {
    throw new Error(`ISA harness returned ${out.length} bytes for ${cases.length} cases: ${r.stderr.toString().trim()}`);
  }
  const res: Uint8Array[] = [];
  for (let i = 0; i < cases.length; i++) res.push(new Uint8Array(out.buffer, out.byteOffset + BLOB_SIZE * i, BLOB_SIZE));
  return res;
}
