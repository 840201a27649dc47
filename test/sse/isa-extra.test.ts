// Whole-instruction differential test of the SSE handlers against the host CPU for the forms the shared
// form table (test/isa/forms.ts) does not list: SSSE3/SSE4.1 integer ops, the remaining moves and
// conversions, packed compares, rounding, and misaligned/unmasked-exception edge cases. Uses the test/isa
// harness (assembler, native runner, emulated long-mode vCPU) unchanged.
import { describe, expect, it } from 'vitest';
import { assemblerUnavailableReason } from '../isa/assemble.js';
import { Blob, FX_XMM0, OFF_FX } from '../isa/blob.js';
import { generate, runAllNative } from '../isa/cases.js';
import { type Mismatch, caseMask, firstDiff, formatMismatch } from '../isa/compare.js';
import { runEmulated } from '../isa/emu.js';
import { type Form, form, mv } from '../isa/formkit.js';
import { nativeUnavailableReason } from '../isa/native.js';
import { SSE_EXTRA_FORMS } from './isa-extra-forms.js';

const skip = nativeUnavailableReason() ?? assemblerUnavailableReason();
// OSVEMU_ISA_CASES=N overrides the count; OSVEMU_ISA_FORM=<substring> selects forms.
const COUNT = Number(process.env.OSVEMU_ISA_CASES) || (process.env.OSVEMU_ISA_FULL === '1' ? 2000 : 120);

const FORMS = SSE_EXTRA_FORMS;

const SELECTED = process.env.OSVEMU_ISA_FORM ? FORMS.filter((f) => f.name.includes(process.env.OSVEMU_ISA_FORM!)) : FORMS;

// One test per chunk of forms: bounded memory (each case is two 4.7 KB blobs) and no long event-loop stalls.
const CHUNK = Math.max(1, Math.floor(8000 / COUNT));
const chunks: Form[][] = [];
for (let f0 = 0; f0 < SELECTED.length; f0 += CHUNK) chunks.push(SELECTED.slice(f0, f0 + CHUNK));

describe.skipIf(skip !== null)('SSE instructions vs host CPU (forms beyond test/isa/forms.ts)', () => {
  if (!chunks.length) it.skip(`no form matches OSVEMU_ISA_FORM=${process.env.OSVEMU_ISA_FORM}`, () => {});
  chunks.forEach((forms, c) => {
    it(`forms ${c * CHUNK + 1}-${c * CHUNK + forms.length} of ${SELECTED.length} agree on every compared byte`, async () => {
      // Let the worker's event loop answer vitest's RPC between long synchronous chunks.
      await new Promise((r) => setImmediate(r));
      const failing: string[] = [];
      const sets = generate(forms, COUNT);
      const natives = runAllNative(sets);
      sets.forEach((s, i) => {
        const bad: Mismatch[] = [];
        s.inputs.forEach((input, k) => {
          const native = new Blob(natives[i]![k]!);
          const out = runEmulated(input.bytes.slice(), s.code);
          const mask = caseMask(s.form, input, native);
          if (firstDiff(native.bytes, out, mask) >= 0) {
            bad.push({ form: s.form, seed: s.seed, index: k, code: s.code, input, native, emulated: new Blob(out), mask });
          }
        });
        if (bad.length) {
          failing.push(`${s.form.name}: ${bad.length} of ${s.inputs.length}`);
          console.error(bad.slice(0, 2).map(formatMismatch).join('\n\n'));
        }
      });
      expect(failing, `SSE forms whose emulation differs from the host CPU:\n  ${failing.join('\n  ')}\n`).toEqual([]);
    });
  });
});

// rcp/rsqrt approximations differ between CPU vendors: everything but the result must match exactly, the
// result within the architectural error (1.5 * 2^-12 each side), special values exactly.
const APPROX = ['rcpps %xmm1,%xmm0', 'rsqrtps %xmm1,%xmm0', 'rcpss %xmm1,%xmm0', 'rsqrtss %xmm1,%xmm0', 'rcpps (%rsi),%xmm0',
  'rsqrtss (%rsi),%xmm0'].map((a) => form(a, { sse: 'ps', msize: a.includes('ss (') ? 4 : 16, align: 16, memval: mv.xmm('ps') }));

describe.skipIf(skip !== null)('rcp/rsqrt vs host CPU (within the architectural error)', () => {
  it('agrees exactly outside the result and within 2^-10 relative on it', () => {
    const sets = generate(APPROX, COUNT);
    const natives = runAllNative(sets);
    const f = new Float32Array(2), u = new Uint32Array(f.buffer);
    const bad: string[] = [];
    sets.forEach((s, i) => s.inputs.forEach((input, k) => {
      const native = new Blob(natives[i]![k]!);
      const out = runEmulated(input.bytes.slice(), s.code);
      const mask = caseMask(s.form, input, native);
      mask.fill(0, OFF_FX + FX_XMM0, OFF_FX + FX_XMM0 + 16);
      if (firstDiff(native.bytes, out, mask) >= 0) { bad.push(`${s.form.name} case ${k}: state differs`); return; }
      const emu = new Blob(out);
      for (let lane = 0; lane < 4; lane++) {
        u[0] = new DataView(native.xmm(0).buffer, native.xmm(0).byteOffset).getUint32(4 * lane, true);
        u[1] = new DataView(emu.xmm(0).buffer, emu.xmm(0).byteOffset).getUint32(4 * lane, true);
        const h = f[0], e = f[1];
        const ok = u[0] === u[1] || (Number.isFinite(h) && h !== 0 && Math.abs(e - h) <= Math.abs(h) * 2 ** -10);
        if (!ok) bad.push(`${s.form.name} case ${k} lane ${lane}: host ${u[0].toString(16)} emu ${u[1].toString(16)}`);
      }
    }));
    expect(bad.slice(0, 20)).toEqual([]);
  });
});
