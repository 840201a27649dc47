// npm run isa:record: records this host's results for a compact, fixed set of cases of the differential
// suites into test/isa/corpus/<host vendor>.json.gz (see corpus.ts). Per form, PER_FORM of the cases the
// suite's normal run generates (same seeds, same indices), chosen to cover different outcomes (normal end,
// each exception). Needs an x86-64 Linux host with gcc and binutils.
import { BLOB_SIZE, Blob } from './blob.js';
import { assemble } from './assemble.js';
import { assemblerUnavailableReason } from './assemble.js';
import { type CorpusCase, corpusPath, makeCase, writeCorpus } from './corpus.js';
import { SUITES, defaultSeed } from './corpus-suites.js';
import { runEmulated } from './emu.js';
import { firstDiff, undefMask } from './compare.js';
import { hostDescription, hostVendor } from './host-vendor.js';
import { nativeUnavailableReason, runNative } from './native.js';
import { Rng } from './rng.js';

const PER_FORM = Number(process.env.OSVEMU_CORPUS_PER_FORM) || 3;

function main(): number {
  const vendor = hostVendor();
  const why = nativeUnavailableReason() ?? assemblerUnavailableReason() ??
    (vendor ? null : `host CPU is ${hostDescription()}: osvemu models only GenuineIntel and AuthenticAMD`);
  if (why) { console.error(`isa:record: cannot record here: ${why}`); return 1; }
  const cases: CorpusCase[] = [];
  let disagree = 0;
  const t0 = Date.now();
  for (const s of SUITES) {
    const chunk = Math.max(1, Math.floor(8000 / s.count));
    for (let f0 = 0; f0 < s.forms.length; f0 += chunk) {
      const forms = s.forms.slice(f0, f0 + chunk);
      const codes = assemble(forms.map((f) => f.asm));
      const inputs: Uint8Array[][] = forms.map((form) => {
        const rng = new Rng(defaultSeed(form));
        const slab = new Uint8Array(s.count * BLOB_SIZE);
        const out: Uint8Array[] = [];
        for (let k = 0; k < s.count; k++) out.push(form.gen(rng, slab.subarray(k * BLOB_SIZE, (k + 1) * BLOB_SIZE)).bytes);
        return out;
      });
      const natives = runNative(forms.flatMap((_, i) => inputs[i]!.map((input) => ({ code: codes[i]!, input }))));
      forms.forEach((form, i) => {
        const outs = natives.slice(i * s.count, (i + 1) * s.count);
        for (const k of pick(outs.map((o) => new Blob(o).vector))) {
          const input = inputs[i]![k]!, native = outs[k]!;
          const nb = new Blob(native);
          const undef = nb.vector === 3 && form.undef ? form.undef(new Blob(input.slice())) : null;
          cases.push(makeCase(s.suite, form, defaultSeed(form), k, codes[i]!, input, native, undef));
          const emu = runEmulated(input.slice(), codes[i]!, vendor!);
          if (firstDiff(native, emu, undefMask(undef)) >= 0) {
            disagree++;
            console.warn(`[corpus] osvemu (${vendor} model) differs from this host: ${s.suite} '${form.name}' case ${k}`);
          }
        }
      });
    }
    console.log(`[corpus] ${s.suite}: ${s.forms.length} forms`);
  }
  const path = corpusPath(vendor!);
  const size = writeCorpus(path, {
    format: 'osvemu-isa-corpus/1', vendor: vendor!,
    source: `recorded by npm run isa:record on ${hostDescription()}, ${new Date().toISOString().slice(0, 10)}`,
    note: `${PER_FORM} cases per form of each suite's normal run (same seed and case index), chosen for different outcomes`,
    cases,
  });
  console.log(`[corpus] wrote ${path}: ${cases.length} cases, ${(size / 1024).toFixed(0)} KiB, ${Date.now() - t0} ms` +
    (disagree ? `; osvemu's ${vendor} model differs from the host on ${disagree} of them (the replay test will fail)` : ''));
  return 0;
}

/** Case indices to keep: the first case of each distinct outcome (exception vector), then the next ones. */
function pick(vectors: number[]): number[] {
  const chosen: number[] = [];
  const seen = new Set<number>();
  vectors.forEach((v, k) => { if (!seen.has(v) && chosen.length < PER_FORM) { seen.add(v); chosen.push(k); } });
  for (let k = 0; chosen.length < Math.min(PER_FORM, vectors.length); k++) if (!chosen.includes(k)) chosen.push(k);
  return chosen.sort((a, b) => a - b);
}

process.exitCode = main();
