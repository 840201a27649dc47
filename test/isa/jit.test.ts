// The differential ISA suite again, with every case run by compiled code (the block compiler compiles each
// trace before its first run): single-instruction blocks for every form, and random multi-instruction
// blocks built from the integer forms whose results the SDM fully defines, all against the host CPU.
// A sequence often faults in its middle (a later instruction's memory operand points nowhere): that checks
// that a fault inside a compiled block leaves exactly the state the host reports.
// Reproduce: OSVEMU_ISA_FORM='<name>' OSVEMU_ISA_SEED=<seed> npx vitest run test/isa/jit.test.ts
import { describe, expect, it } from 'vitest';
import { assemble, assemblerUnavailableReason } from './assemble.js';
import { BLOB_SIZE, Blob } from './blob.js';
import { generate, runAllNative, selectedForms, baseSeed } from './cases.js';
import { caseMask, firstDiff, formatMismatch } from './compare.js';
import type { Form } from './formkit.js';
import { nativeUnavailableReason } from './native.js';
import { runNative } from './native.js';
import { runEmulated, runEmulatedJit, runEmulatedWasm } from './emu.js';
import { Rng } from './rng.js';

const skip = nativeUnavailableReason() ?? assemblerUnavailableReason();
if (skip) console.warn(`[isa] jit differential test skipped: ${skip}`);

const ALL = new Uint8Array(BLOB_SIZE).fill(0xff);
const CASES = Number(process.env.OSVEMU_ISA_JIT_CASES ?? 12);
const SEQUENCES = Number(process.env.OSVEMU_ISA_JIT_SEQS ?? 3000);

// Forms compiled code specialises or calls. Blocks whose every part the SDM fully defines (no undef())
// are compared with the host; every block is compared byte for byte with the interpreter.
// Integer, control and the SSE forms compiled code specialises (moves, bitwise, scalar double).
const SEQ_MNEMONIC = new RegExp('^(?!popf)(j[a-z]+|call|ret|leave|sh[lr]|sar|ro[lr]|rc[lr]|imul|mov|movabs|movz|movs|add|sub|and|or|xor|cmp|' +
  'test|inc|dec|lea|push|pop|cmov|set|neg|not|xchg|xadd|lock|adc|sbb|bs[fr]|p?unpck|sh[lr]d|mul|pxor|pand|por|u?comis[sd]|cvtt?sd2si|cvtsi2s[sd]|cvts[sd]2s[sd]|sqrts[sd]|mins[sd]|maxs[sd]|muls[sd]|divs[sd])[a-z]*\\s');

/**
 * Lets vitest's worker answer its runner between chunks: a wasm block is a module compiled per case here, and a minute
 * of synchronous work made the worker's RPC time out ("Timeout calling onTaskUpdate", an unhandled error that fails
 * the run).
 */
const yieldToVitest = () => new Promise<void>((resolve) => setImmediate(resolve));

// Both block compilers: JavaScript (compiler.ts) and wasm (wasm/compile.ts; traces it declines run as JavaScript).
describe.skipIf(skip !== null).each([['js', runEmulatedJit], ['wasm', runEmulatedWasm]] as const)('compiled blocks (%s) vs host CPU', (_engine, runCompiled) => {
  it('single-instruction blocks agree with the host on every form', async () => {
    const forms = selectedForms().filter((f) => !f.name.endsWith('[AC]'));
    const failing: string[] = [];
    let total = 0;
    const chunk = Math.max(1, Math.floor(8000 / CASES));
    for (let f0 = 0; f0 < forms.length; f0 += chunk) {
      await yieldToVitest();
      const sets = generate(forms.slice(f0, f0 + chunk), CASES);
      const natives = runAllNative(sets);
      sets.forEach((s, i) => {
        let shown = 0, bad = 0;
        s.inputs.forEach((input, k) => {
          total++;
          const native = new Blob(natives[i]![k]!);
          const out = runCompiled(input.bytes.slice(), s.code);
          const mask = caseMask(s.form, input, native);
          if (firstDiff(native.bytes, out, mask) >= 0) {
            bad++;
            if (shown++ < 1) console.error(formatMismatch({ form: s.form, seed: s.seed, index: k, code: s.code, input, native, emulated: new Blob(out), mask }));
          }
        });
        if (bad) failing.push(`${s.form.name}: ${bad} of ${s.inputs.length} (seed ${s.seed})`);
      });
    }
    console.log(`[isa] jit: ${forms.length} forms, ${total} single-instruction cases, ${failing.length} failing forms`);
    expect(failing).toEqual([]);
  }, 600_000);

  it('random multi-instruction blocks agree with the host', async () => {
    const pool = selectedForms().filter((f) => SEQ_MNEMONIC.test(f.asm.trim() + ' ') && !f.name.endsWith('[AC]'));
    const codes = assemble(pool.map((f) => f.asm));
    const usable = pool.map((f, i) => ({ f, code: codes[i]! })).filter((x) => x.code.length > 0 && x.code.length <= 10);
    expect(usable.length).toBeGreaterThan(50);
    const rng = new Rng(baseSeed() ^ 0x11f);
    const cases: { forms: Form[]; code: Uint8Array; input: Blob }[] = [];
    for (let n = 0; n < SEQUENCES; n++) {
      const parts: typeof usable = [];
      let len = 0;
      for (let tries = 0; tries < 12 && parts.length < 6; tries++) {
        const x = usable[rng.int(usable.length)]!;
        if (len + x.code.length > 15) continue;
        parts.push(x); len += x.code.length;
      }
      const code = new Uint8Array(len);
      let o = 0;
      for (const p of parts) { code.set(p.code, o); o += p.code.length; }
      // Inputs from one of the parts: its registers point its memory operand into the data page.
      const input = parts[rng.int(parts.length)]!.f.gen(rng);
      cases.push({ forms: parts.map((p) => p.f), code, input });
    }
    const natives = runNative(cases.map((c) => ({ code: c.code, input: c.input.bytes })));
    const failing: string[] = [];
    const interpBugs: string[] = [];
    for (let k = 0; k < cases.length; k++) {
      const c = cases[k]!;
      if (k % 250 === 0) await yieldToVitest();
      const native = new Blob(natives[k]!);
      const out = runCompiled(c.input.bytes.slice(), c.code);
      const interp = runEmulated(c.input.bytes.slice(), c.code);
      // Every part is fully defined: compare everything the last part's form would (its mask covers nothing).
      const mask = caseMask(c.forms[c.forms.length - 1]!, c.input, native);
      // The compiler must reproduce the interpreter exactly; where the interpreter itself differs from the
      // host (its own bug, reported but not this test's failure) the host is not the reference.
      const defined = c.forms.every((f) => !f.undef);
      const interpOk = defined && firstDiff(native.bytes, interp, mask) < 0;
      if (defined && !interpOk) interpBugs.push(c.forms.map((f) => f.name).join(' ; '));
      if (firstDiff(interp, out, ALL) >= 0 || (interpOk && firstDiff(native.bytes, out, mask) >= 0)) {
        if (failing.length < 3) {
          console.error(`sequence ${k}: ${c.forms.map((f) => f.name).join(' ; ')}\n` +
            formatMismatch({ form: c.forms[0]!, seed: baseSeed(), index: k, code: c.code, input: c.input, native, emulated: new Blob(out), mask }));
        }
        failing.push(c.forms.map((f) => f.name).join(' ; '));
      }
    }
    console.log(`[isa] jit: ${cases.length} random blocks from ${usable.length} forms, ${failing.length} failing`);
    if (interpBugs.length) console.warn(`[isa] ${interpBugs.length} blocks where the interpreter differs from the host (not a compiler failure), e.g.\n  ${interpBugs.slice(0, 5).join('\n  ')}`);
    expect(failing.slice(0, 20)).toEqual([]);
  }, 600_000);
});
