// Case generation shared by the ISA tests: per-form deterministic seeds and batched native runs.
import { assemble, disassembly } from './assemble.js';
import { BLOB_SIZE, type Blob } from './blob.js';
import type { Form } from './formkit.js';
import { FORMS } from './forms.js';
import { runNative } from './native.js';
import { Rng, hashString } from './rng.js';

/** Base seed: OSVEMU_ISA_SEED or a fixed default, so CI runs are reproducible. */
export function baseSeed(): number {
  const s = Number(process.env.OSVEMU_ISA_SEED);
  return Number.isFinite(s) && process.env.OSVEMU_ISA_SEED ? s >>> 0 : 0x05e3;
}

/** The seed of one form: printed on failure, and OSVEMU_ISA_SEED=<it> with OSVEMU_ISA_FORM=<name> reproduces. */
export function formSeed(form: Form, base = baseSeed()): number {
  return process.env.OSVEMU_ISA_FORM ? base : (base ^ hashString(form.name)) >>> 0;
}

/** Forms selected by OSVEMU_ISA_FORM (exact name or substring), else all. */
export function selectedForms(): readonly Form[] {
  const want = process.env.OSVEMU_ISA_FORM;
  if (!want) return FORMS;
  const exact = FORMS.filter((f) => f.name === want);
  return exact.length ? exact : FORMS.filter((f) => f.name.includes(want));
}

export interface FormCases { form: Form; seed: number; code: Uint8Array; inputs: Blob[] }

export function generate(forms: readonly Form[], count: number): FormCases[] {
  const codes = assemble(forms.map((f) => f.asm));
  return forms.map((form, i) => {
    const seed = formSeed(form);
    const rng = new Rng(seed);
    const inputs: Blob[] = [];
    const slab = new Uint8Array(count * BLOB_SIZE); // one allocation per form instead of one per case
    for (let k = 0; k < count; k++) inputs.push(form.gen(rng, slab.subarray(k * BLOB_SIZE, (k + 1) * BLOB_SIZE)));
    return { form, seed, code: codes[i]!, inputs };
  });
}

/** Runs all cases natively, several forms per harness process (bounded batch size). */
export function runAllNative(sets: FormCases[], maxBatch = 8000): Uint8Array[][] {
  const out: Uint8Array[][] = sets.map(() => []);
  let batch: { set: number; code: Uint8Array; input: Uint8Array }[] = [];
  const flush = () => {
    if (!batch.length) return;
    const res = runNative(batch.map((c) => ({ code: c.code, input: c.input })));
    batch.forEach((c, i) => out[c.set]!.push(res[i]!));
    batch = [];
  };
  sets.forEach((s, i) => {
    for (const inp of s.inputs) batch.push({ set: i, code: s.code, input: inp.bytes });
    if (batch.length >= maxBatch) flush();
  });
  flush();
  return out;
}

export { disassembly };
