// Differential test of the x87 instruction handlers against the host CPU, on the forms of
// x87-forms.ts (the lead's test/isa covers the common ones).
// Uses the ISA harness machinery (native runner + test/isa/emu.ts); skips cleanly without gcc.
import { describe, expect, it } from 'vitest';
import { assemblerUnavailableReason } from '../isa/assemble.js';
import { Blob } from '../isa/blob.js';
import { generate, runAllNative } from '../isa/cases.js';
import { caseMask, firstDiff, formatMismatch } from '../isa/compare.js';
import { runEmulated } from '../isa/emu.js';
import { nativeUnavailableReason } from '../isa/native.js';
import { X87_FORMS as forms } from './x87-forms.js';

const skip = nativeUnavailableReason() ?? assemblerUnavailableReason();
const COUNT = process.env.OSVEMU_ISA_FULL === '1' ? 3000 : 250;

describe.skipIf(skip !== null)('x87 handlers vs host CPU', () => {
  it(`agree on ${forms.length} x87 forms`, () => {
    const sets = generate(forms, COUNT);
    const natives = runAllNative(sets);
    const failing: string[] = [];
    const shown: string[] = [];
    sets.forEach((s, i) => {
      let bad = 0;
      s.inputs.forEach((input, k) => {
        const native = new Blob(natives[i]![k]!);
        const emulated = new Blob(runEmulated(input.bytes.slice(), s.code));
        const mask = caseMask(s.form, input, native);
        if (firstDiff(native.bytes, emulated.bytes, mask) < 0) return;
        if (!bad++ && shown.length < 6) shown.push(formatMismatch({ form: s.form, seed: s.seed, index: k, code: s.code, input, native, emulated, mask }));
      });
      if (bad) failing.push(`${s.form.name}: ${bad}/${s.inputs.length}`);
    });
    if (shown.length) console.error(shown.join('\n\n'));
    expect(failing).toEqual([]);
  });
});
