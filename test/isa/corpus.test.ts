// Replays every committed ISA corpus (test/isa/corpus/<vendor>.json.gz, see corpus.ts) against osvemu's
// model of that vendor, on any host: a change that breaks the Intel model is caught on an AMD machine and
// the reverse. Shared references (cases another vendor's corpus recorded, seen to hold for this vendor too)
// are replayed from that corpus; a reference whose input no longer matches is reported as skipped.
import { describe, expect, it } from 'vitest';
import type { CpuVendorName } from '../../src/cpu/vendor.js';
import { Blob } from './blob.js';
import { firstDiff, formatMismatch, undefMask } from './compare.js';
import { type CorpusCase, type CorpusFile, caseInput, caseOutput, committedCorpora, hexBytes, inputHash } from './corpus.js';
import { runEmulated } from './emu.js';
import { type Form } from './formkit.js';
import { compactPage, fillPage } from './corpus.js';
import { FORMS } from './forms.js';
import { Rng } from './rng.js';

const corpora = committedCorpora();

function replay(vendor: CpuVendorName, cases: readonly CorpusCase[]): string[] {
  const bad: string[] = [];
  let shown = 0;
  for (const c of cases) {
    const input = caseInput(c);
    const want = caseOutput(c, input);
    const code = hexBytes(c.code);
    const got = runEmulated(input.slice(), code, vendor);
    const mask = undefMask(new Blob(want).vector === 3 ? c.undef ?? null : null);
    if (firstDiff(want, got, mask) < 0) continue;
    bad.push(`${c.suite} '${c.form}' seed ${c.seed} case ${c.index}`);
    if (shown++ < 4) {
      const form: Form = { name: c.form, asm: c.asm, gen: () => { throw new Error('corpus case'); } };
      console.error(`[corpus ${vendor}] ` + formatMismatch({ form, seed: c.seed, index: c.index, code, input: new Blob(input),
        native: new Blob(want), emulated: new Blob(got), mask }));
    }
  }
  return bad;
}

/** The shared references of `file` resolved in the corpus they name: usable cases and stale references. */
function resolveShared(file: CorpusFile): { cases: CorpusCase[]; stale: number; why: string } {
  if (!file.shared) return { cases: [], stale: 0, why: '' };
  const from = corpora.get(file.shared.from);
  if (!from) return { cases: [], stale: file.shared.cases.length, why: `${file.shared.from}.json.gz is missing` };
  const byKey = new Map(from.file.cases.map((c) => [`${c.suite}\0${c.form}\0${c.index}`, c]));
  const cases: CorpusCase[] = [];
  let stale = 0;
  for (const [suite, form, index, hash] of file.shared.cases) {
    const c = byKey.get(`${suite}\0${form}\0${index}`);
    if (c && inputHash(caseInput(c)) === hash) cases.push(c); else stale++;
  }
  return { cases, stale, why: `${file.shared.from}.json.gz was re-recorded with other inputs; rebuild with npm run isa:intel-ref` };
}

describe('recorded ISA corpora replay on the matching vendor model', () => {
  it('stores a generated data page as its fill seed plus the bytes written over it', () => {
    const form = FORMS.find((f) => f.name === 'add %rax,(%rsi)')!;
    const b = form.gen(new Rng(7));
    const { pageSeed, patch } = compactPage(b.mem);
    expect(pageSeed).toBeGreaterThanOrEqual(0);
    expect(patch.length).toBeLessThan(4);
    const page = new Uint8Array(4096);
    fillPage(pageSeed, page);
    for (const [off, d] of patch) page.set(Buffer.from(d, 'base64'), off);
    expect(page).toEqual(b.mem);
  });
  if (!corpora.size) it.skip('no corpus committed under test/isa/corpus', () => {});
  for (const [vendor, { path, file }] of corpora) {
    it(`${vendor}: ${file.cases.length} recorded cases (${path.split('/').pop()})`, () => {
      console.log(`[corpus] ${vendor}: ${file.source}`);
      const bad = replay(vendor, file.cases);
      expect(bad, `cases where osvemu's ${vendor} model differs from the recorded host result`).toEqual([]);
      // How many cases only this vendor's model passes (what the corpus adds over the other one).
      const other: CpuVendorName = vendor === 'intel' ? 'amd' : 'intel';
      const specific = file.cases.filter((c) => {
        const input = caseInput(c), want = caseOutput(c, input);
        const got = runEmulated(input.slice(), hexBytes(c.code), other);
        return firstDiff(want, got, undefMask(new Blob(want).vector === 3 ? c.undef ?? null : null)) >= 0;
      }).length;
      console.log(`[corpus] ${vendor}: ${file.cases.length} cases pass on the ${vendor} model; ${specific} of them fail on the ${other} model`);
    });
    if (file.shared) {
      const { cases, stale, why } = resolveShared(file);
      if (cases.length) {
        it(`${vendor}: ${cases.length} cases shared from the ${file.shared.from} corpus (${file.shared.why})`, () => {
          expect(replay(vendor, cases)).toEqual([]);
        });
      }
      if (stale) it.skip(`${vendor}: ${stale} shared references not replayed: ${why}`, () => {});
    }
  }
});
