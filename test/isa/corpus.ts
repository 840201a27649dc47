// Recorded ISA oracles: cases of the differential suites with a host CPU's results, kept under
// test/isa/corpus/<vendor>.json.gz so that osvemu's model of each vendor is checked on any host (and without
// gcc or binutils). Written by `npm run isa:record` (corpus-record.ts) on a host of that vendor; the Intel
// corpus can also hold cases rebuilt from an Intel host's mismatch report (corpus-intel-ref.ts).
// A case is self-contained: code bytes, the whole input state, the expected output (as the bytes that differ
// from the input) and the SDM-undefined state to mask. The data page, 4 KB of random bytes from the suites'
// generator, is stored as the 32-bit seed of its xorshift32 fill (rng.ts Rng.bytes) plus the bytes the form
// generator wrote over it.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { CpuVendorName } from '../../src/cpu/vendor.js';
import { BLOB_SIZE, OFF_FX, OFF_MEM, PAGE_SIZE } from './blob.js';
import type { Form, Undef } from './formkit.js';

export const CORPUS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'corpus');
export const CORPUS_FORMAT = 'osvemu-isa-corpus/1';

export type Suite = 'isa' | 'sse' | 'x87';

export interface CorpusCase {
  suite: Suite;
  form: string;
  /** The form's assembly text (for reports). */
  asm: string;
  /** Where the case comes from: the suite seed and case index it was generated as. */
  seed: number;
  index: number;
  code: string;          // hex
  head: string;          // base64 of input bytes [0, OFF_FX): GPRs, RFLAGS, RIP, vector/error/CR2 (zero)
  fx: string;            // base64 of the 512-byte FXSAVE image
  pageSeed: number;      // xorshift32 state of the data page fill, or -1: `patch` is the whole page
  patch: [number, string][]; // [page offset, base64 bytes] written over the fill
  out: [number, string][];   // [blob offset, base64 bytes]: where the expected output differs from the input
  undef?: Undef;         // state the manuals leave undefined (applied when the case ended at the int3)
}

/** A case of another corpus (by suite, form, index and input hash) that also holds for this vendor. */
export type SharedRef = [Suite, string, number, string];

export interface CorpusFile {
  format: string;
  vendor: CpuVendorName;
  /** How and where it was recorded (host vendor and model, date, command). */
  source: string;
  note?: string;
  cases: CorpusCase[];
  /** Cases of `shared.from`'s corpus whose recorded output this vendor's host was seen to produce too; `forms`
   *  ("suite:name") are the forms that host ran, the only ones a rebuild may share. */
  shared?: { from: CpuVendorName; why: string; cases: SharedRef[]; forms?: string[] };
}

// ---- the page fill (must stay identical to Rng.bytes for pages) ----
export function fillPage(seed: number, out: Uint8Array): void {
  const w = new Uint32Array(out.buffer, out.byteOffset, PAGE_SIZE >>> 2);
  let x = seed | 0;
  for (let k = 0; k < w.length; k++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; w[k] = x >>> 0; }
}

/** Inverse of one xorshift32 (13, 17, 5) step. */
function unstep(y: number): number {
  let x = y >>> 0;
  // undo x ^= x << 5
  let t = x; for (let i = 0; i < 7; i++) t = (x ^ (t << 5)) >>> 0; x = t;
  // undo x ^= x >>> 17
  t = x; for (let i = 0; i < 2; i++) t = (x ^ (t >>> 17)) >>> 0; x = t;
  // undo x ^= x << 13
  t = x; for (let i = 0; i < 3; i++) t = (x ^ (t << 13)) >>> 0; x = t;
  return x;
}

const scratch = new Uint8Array(PAGE_SIZE);

/** Finds the fill seed of a generated page (most of it untouched) and the runs written over it. */
export function compactPage(page: Uint8Array): { pageSeed: number; patch: [number, string][] } {
  const words = new DataView(page.buffer, page.byteOffset, PAGE_SIZE);
  for (let k = 0; k < 32; k++) {
    let x = words.getUint32(4 * k, true);
    for (let j = 0; j <= k; j++) x = unstep(x);
    fillPage(x, scratch);
    let same = 0;
    for (let i = 0; i < PAGE_SIZE; i++) if (scratch[i] === page[i]) same++;
    if (same > PAGE_SIZE - 1024) return { pageSeed: x >>> 0, patch: diffRuns(scratch, page, 0) };
  }
  return { pageSeed: -1, patch: [[0, b64(page)]] };
}

/** Runs of bytes where `b` differs from `a`, as [offset + base, base64]; runs closer than 8 bytes merge. */
export function diffRuns(a: Uint8Array, b: Uint8Array, base: number): [number, string][] {
  const runs: [number, string][] = [];
  let i = 0;
  while (i < b.length) {
    if (a[i] === b[i]) { i++; continue; }
    let j = i + 1, last = i;
    while (j < b.length && j - last <= 8) { if (a[j] !== b[j]) last = j; j++; }
    runs.push([base + i, b64(b.subarray(i, last + 1))]);
    i = last + 1;
  }
  return runs;
}

const b64 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('base64');
const unb64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

export function hexBytes(s: string): Uint8Array { return new Uint8Array(Buffer.from(s, 'hex')); }

/** The case's input blob. */
export function caseInput(c: CorpusCase): Uint8Array {
  const b = new Uint8Array(BLOB_SIZE);
  b.set(unb64(c.head), 0);
  b.set(unb64(c.fx), OFF_FX);
  const page = b.subarray(OFF_MEM, OFF_MEM + PAGE_SIZE);
  if (c.pageSeed >= 0) fillPage(c.pageSeed, page);
  for (const [off, d] of c.patch) page.set(unb64(d), off);
  return b;
}

/** The case's expected output blob. */
export function caseOutput(c: CorpusCase, input = caseInput(c)): Uint8Array {
  const b = input.slice();
  for (const [off, d] of c.out) b.set(unb64(d), off);
  return b;
}

/** Builds a case from an input and the host's output. */
export function makeCase(suite: Suite, form: Form, seed: number, index: number, code: Uint8Array, input: Uint8Array,
  output: Uint8Array, undef: Undef | null): CorpusCase {
  const { pageSeed, patch } = compactPage(input.subarray(OFF_MEM, OFF_MEM + PAGE_SIZE));
  const c: CorpusCase = {
    suite, form: form.name, asm: form.asm, seed, index, code: Buffer.from(code).toString('hex'),
    head: b64(input.subarray(0, OFF_FX)), fx: b64(input.subarray(OFF_FX, OFF_MEM)), pageSeed, patch,
    out: diffRuns(input, output, 0),
  };
  if (undef && Object.keys(undef).length) c.undef = undef;
  return c;
}

/** Short hash of an input blob: a shared reference only holds while the input is the one that was seen. */
export function inputHash(input: Uint8Array): string {
  return createHash('sha256').update(input).digest('hex').slice(0, 16);
}

export function corpusPath(vendor: CpuVendorName): string { return join(CORPUS_DIR, `${vendor}.json.gz`); }

export function readCorpus(path: string): CorpusFile {
  const f = JSON.parse(gunzipSync(readFileSync(path)).toString('utf8')) as CorpusFile;
  if (f.format !== CORPUS_FORMAT) throw new Error(`${path}: format ${f.format}, expected ${CORPUS_FORMAT}`);
  return f;
}

export function writeCorpus(path: string, f: CorpusFile): number {
  const data = gzipSync(Buffer.from(JSON.stringify(f)), { level: 9 });
  writeFileSync(path, data);
  return data.length;
}

/** Every committed corpus, by vendor. */
export function committedCorpora(): Map<CpuVendorName, { path: string; file: CorpusFile }> {
  const out = new Map<CpuVendorName, { path: string; file: CorpusFile }>();
  if (!existsSync(CORPUS_DIR)) return out;
  for (const name of readdirSync(CORPUS_DIR).sort()) {
    if (!name.endsWith('.json.gz')) continue;
    const path = join(CORPUS_DIR, name);
    const file = readCorpus(path);
    out.set(file.vendor, { path, file });
  }
  return out;
}
