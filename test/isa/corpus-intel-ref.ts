// npm run isa:intel-ref [REPORT]: builds test/isa/corpus/intel.json.gz without an Intel host, from an Intel
// host's run of the differential suites (default: /work/shared/reference/intel-host-isa-diffs.txt, the
// report of `npm test` and `npm run test:isa:full` on an Intel Xeon at commit ddeee38).
//  1. Every mismatching case the report prints in full: the input is regenerated from the printed seed and
//     case index (checked against the printed registers); the Intel result is osvemu's AMD-model output with
//     the printed native values of every differing field put in (the printed emulated values are checked
//     first, so the rest of the state is the one both sides agreed on).
//  2. Shared references to the AMD corpus: its cases of every form that had no mismatch at all on the Intel
//     host. Those cases are inputs of the suites' normal run (same seed and index) that the Intel host ran
//     and agreed on with osvemu, which agreed with the AMD host: the AMD host's result is the Intel result.
import { existsSync, readFileSync } from 'node:fs';
import { BLOB_SIZE, Blob, FIELDS, GPR_NAMES, OFF_MEM } from './blob.js';
import { firstDiff, undefMask } from './compare.js';
import { type CorpusCase, type SharedRef, caseInput, corpusPath, inputHash, makeCase, readCorpus, writeCorpus } from './corpus.js';
import type { Suite } from './corpus.js';
import { SUITES, findForm } from './corpus-suites.js';
import { runEmulated } from './emu.js';
import { Rng } from './rng.js';
import { isFaultVector } from '../../src/cpu/system/interrupts.js';

const REPORT = process.argv[2] ?? '/work/shared/reference/intel-host-isa-diffs.txt';
const SUITE_FILES: Record<string, Suite> = {
  'test/isa/differential.test.ts': 'isa', 'test/sse/isa-extra.test.ts': 'sse', 'test/x87/handlers.test.ts': 'x87',
};

interface Printed {
  suite: Suite; form: string; seed: number; index: number; code: Uint8Array;
  gprs: Map<string, bigint>; diffs: { field: string; native: string; emulated: string }[];
  mem: { row: number; nat: number[]; emu: number[] }[];
}

function parse(text: string): { cases: Printed[]; failing: Set<string> } {
  const lines = text.split('\n');
  const cases: Printed[] = [];
  const failing = new Set<string>();
  let suite: Suite | null = null;
  let cur: Printed | null = null;
  let inDiffs = false, inInput = false;
  for (let n = 0; n < lines.length; n++) {
    const l = lines[n]!;
    const hdr = /^stderr \| (\S+)/.exec(l);
    if (hdr) { suite = SUITE_FILES[hdr[1]!] ?? null; cur = null; continue; }
    const sum = /^\s{2}(\S.*?): (\d+ mismatching|\d+ of \d+)/.exec(l);
    if (sum) failing.add(sum[1]!);
    const fm = /^FORM {2}(.+)$/.exec(l);
    if (fm) {
      failing.add(fm[1]!);
      const m = /seed=(\d+) case=(\d+) code=([0-9a-f ]+?) {2}/.exec(lines[n + 1] ?? '');
      if (!m || !suite) { cur = null; continue; }
      cur = { suite, form: fm[1]!, seed: Number(m[1]), index: Number(m[2]), code: new Uint8Array(Buffer.from(m[3]!.replace(/ /g, ''), 'hex')),
        gprs: new Map(), diffs: [], mem: [] };
      cases.push(cur);
      inDiffs = false; inInput = false;
      continue;
    }
    if (!cur) continue;
    if (/^ {2}input:/.test(l)) { inInput = true; continue; }
    if (/^ {2}differences/.test(l)) { inInput = false; inDiffs = true; continue; }
    if (inInput) for (const g of l.matchAll(/\b(r\w+)=([0-9a-f]{16})\b/g)) cur.gprs.set(g[1]!, BigInt('0x' + g[2]!));
    if (!inDiffs) continue;
    if (!l.trim() || /^\s*\.\.\. and/.test(l) || /^\S/.test(l)) { inDiffs = false; cur = null; continue; }
    const mr = /^ {4}mem\[0x([0-9a-f]+)\] in/.exec(l);
    if (mr) {
      const bytes = (s: string) => s.trim().split(/\s+/).slice(1).map((x) => parseInt(x, 16));
      cur.mem.push({ row: parseInt(mr[1]!, 16), nat: bytes(lines[n + 1]!), emu: bytes(lines[n + 2]!) });
      n += 2;
      continue;
    }
    const fl = /^ {4}(\S+)\s+(\S+)/.exec(l);
    const next = /^ {18,}(\S+)/.exec(lines[n + 1] ?? '');
    if (fl && next && FIELDS.some((f) => f.name === fl[1])) { cur.diffs.push({ field: fl[1]!, native: fl[2]!, emulated: next[1]! }); n++; }
  }
  return { cases, failing };
}

/** A printed field value as its little-endian bytes. */
function fieldBytes(field: string, shown: string): Uint8Array {
  const f = FIELDS.find((x) => x.name === field)!;
  const len = f.end - f.start;
  let hex: string;
  if (field === 'vector') hex = Number(shown).toString(16);
  else if (field === 'ftw(abridged)') hex = parseInt(shown.slice(2), 2).toString(16);
  else hex = shown.replace(/^0x/, '').replace(/[:_]/g, '');
  hex = hex.padStart(2 * len, '0');
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) out[i] = parseInt(hex.slice(2 * (len - 1 - i), 2 * (len - i)), 16);
  return out;
}

function main(): number {
  const { cases: printed, failing } = parse(readFileSync(REPORT, 'utf8'));
  const out: CorpusCase[] = [];
  const problems: string[] = [];
  for (const p of printed) {
    const form = findForm(p.suite, p.form);
    if (!form) { problems.push(`${p.suite} '${p.form}': no such form`); continue; }
    const rng = new Rng(p.seed);
    let input = new Uint8Array(BLOB_SIZE);
    for (let k = 0; k <= p.index; k++) input = form.gen(rng, new Uint8Array(BLOB_SIZE)).bytes;
    const ib = new Blob(input);
    const badReg = GPR_NAMES.find((r) => p.gprs.has(r) && p.gprs.get(r) !== ib.gpr(r));
    if (badReg || p.gprs.size !== 16) { problems.push(`${p.form} case ${p.index}: regenerated input differs (${badReg ?? 'registers not printed'})`); continue; }
    const amd = runEmulated(input.slice(), p.code, 'amd');
    const intel = amd.slice();
    let consistent = true;
    for (const d of p.diffs) {
      const f = FIELDS.find((x) => x.name === d.field)!;
      const e = fieldBytes(d.field, d.emulated);
      // RF: the report's harness masked it; osvemu's frame image now has it.
      const ok = d.field === 'rflags'
        ? (new Blob(amd).rflags & ~0x10000) === (Number(BigInt('0x' + d.emulated.slice(2))) & ~0x10000)
        : e.every((v, i) => v === amd[f.start + i]);
      if (!ok) { consistent = false; problems.push(`${p.form} case ${p.index}: osvemu's AMD model no longer gives the printed ${d.field}`); }
      intel.set(fieldBytes(d.field, d.native), f.start);
    }
    for (const m of p.mem) {
      for (let i = 0; i < 16; i++) {
        if (amd[OFF_MEM + m.row + i] !== m.emu[i]) consistent = false;
        intel[OFF_MEM + m.row + i] = m.nat[i]!;
      }
    }
    if (!consistent) { problems.push(`${p.form} case ${p.index}: skipped (emulated side changed since the report)`); continue; }
    // The report's harness masked RF: the frame image has it exactly when the case ended with a fault.
    const ib2 = new Blob(intel);
    ib2.rflags = (ib2.rflags & ~0x10000) | (isFaultVector(ib2.vector) ? 0x10000 : 0);
    const undef = new Blob(intel).vector === 3 && form.undef ? form.undef(new Blob(input.slice())) : null;
    out.push(makeCase(p.suite, form, p.seed, p.index, p.code, input, intel, undef));
    const got = runEmulated(input.slice(), p.code, 'intel');
    if (firstDiff(intel, got, undefMask(undef)) >= 0) problems.push(`${p.form} case ${p.index}: osvemu's Intel model differs from the Intel host`);
  }
  // Shared: AMD corpus cases of forms with no mismatch on the Intel host. Only forms the Intel run had: the
  // list is kept in intel.json.gz (first written from the suites as they were at the report's commit).
  const prev = existsSync(corpusPath('intel')) ? readCorpus(corpusPath('intel')) : null;
  const ran = new Set(prev?.shared?.forms ?? SUITES.flatMap((s) => s.forms.map((f) => `${s.suite}:${f.name}`)));
  if (!prev?.shared?.forms) console.warn('[intel-ref] no form list in a previous intel.json.gz: taking the current suites as the forms the Intel run had');
  const amdFile = readCorpus(corpusPath('amd'));
  const counts = new Map(SUITES.map((s) => [s.suite, s.count]));
  const shared: SharedRef[] = amdFile.cases
    .filter((c) => ran.has(`${c.suite}:${c.form}`) && !failing.has(c.form) && c.index < counts.get(c.suite)!)
    .map((c) => [c.suite, c.form, c.index, inputHash(caseInput(c))]);
  const size = writeCorpus(corpusPath('intel'), {
    format: 'osvemu-isa-corpus/1', vendor: 'intel',
    source: `rebuilt by npm run isa:intel-ref from ${REPORT.split('/').pop()} (Intel Xeon host, osvemu ddeee38, 2026-12-02)`,
    note: `${out.length} cases: every mismatching case the report prints in full (Intel host result). Shared: the AMD corpus's ` +
      `cases of the ${SUITES.reduce((n, s) => n + s.forms.length, 0) - failing.size} forms without any mismatch on the Intel host.`,
    cases: out,
    shared: { from: 'amd', why: 'forms without any mismatch on the Intel host', cases: shared, forms: [...ran] },
  });
  for (const p of problems) console.warn(`[intel-ref] ${p}`);
  console.log(`[intel-ref] ${printed.length} printed cases, ${out.length} kept, ${failing.size} forms with Intel mismatches, ` +
    `${shared.length} shared AMD cases; wrote ${corpusPath('intel')} (${(size / 1024).toFixed(0)} KiB)`);
  return problems.some((p) => p.includes('Intel model differs')) ? 1 : 0;
}

process.exitCode = main();
