// Sanity of the form table and of the generators, checked against the host CPU alone.
import { describe, expect, it } from 'vitest';
import { assemble, assemblerUnavailableReason } from './assemble.js';
import { Blob } from './blob.js';
import { generate, runAllNative } from './cases.js';
import { caseMask, firstDiff } from './compare.js';
import { FORMS } from './forms.js';
import { nativeUnavailableReason } from './native.js';

const skip = nativeUnavailableReason() ?? assemblerUnavailableReason();
if (skip) console.warn(`[isa] form table tests skipped: ${skip}`);

const N = 30;

/** Forms that can never end normally. */
const ALWAYS_FAULT = new Set(['ud2', 'jmp .-0x8', 'movabs %eax,0x100000ffe', 'mov 0x10,%ecx', 'incsspq %rax', 'addr32 mov (%esi),%eax  [32-bit address: #PF below 4G]']);

describe.skipIf(skip !== null)('ISA form table', () => {
  it('has at least 300 uniquely named forms that all assemble to 1..15 bytes', () => {
    expect(FORMS.length).toBeGreaterThanOrEqual(300);
    expect(new Set(FORMS.map((f) => f.name)).size).toBe(FORMS.length);
    const codes = assemble(FORMS.map((f) => f.asm));
    for (const c of codes) expect(c.length).toBeGreaterThan(0);
  });

  it('generates the same inputs for the same seed', () => {
    const a = generate(FORMS.slice(0, 40), 5); const b = generate(FORMS.slice(0, 40), 5);
    a.forEach((s, i) => s.inputs.forEach((x, k) => expect(Buffer.compare(x.bytes, b[i]!.inputs[k]!.bytes)).toBe(0)));
  });

  it('every form runs natively, deterministically, without timeouts, and mostly ends normally', () => {
    const sets = generate(FORMS, N);
    const first = runAllNative(sets);
    const again = runAllNative(sets);
    const problems: string[] = [];
    sets.forEach((s, i) => {
      const vectors = new Map<number, number>();
      first[i]!.forEach((o, k) => {
        const n = new Blob(o);
        vectors.set(n.vector, (vectors.get(n.vector) ?? 0) + 1);
        const d = firstDiff(o, again[i]![k]!, caseMask(s.form, s.inputs[k]!, n));
        if (d >= 0) problems.push(`${s.form.name}: case ${k} not deterministic on the host (byte ${d})`);
      });
      if (s.form.name.includes('[#UD: ') && vectors.get(6) !== N) problems.push(`${s.form.name}: expected #UD in all cases, got ${[...vectors].map(([v, n]) => `v${v}:${n}`).join(' ')}`);
      if (s.form.name.includes('[CPL 3: #GP]') && vectors.get(13) !== N) problems.push(`${s.form.name}: expected #GP in all cases, got ${[...vectors].map(([v, n]) => `v${v}:${n}`).join(' ')}`);
      if (vectors.has(0xffffffff)) problems.push(`${s.form.name}: timeout`);
      const normal = vectors.get(3) ?? 0;
      const isAc = s.form.name.endsWith('[AC]');
      if (isAc && !vectors.get(17)) problems.push(`${s.form.name}: no #AC case`);
      if (!ALWAYS_FAULT.has(s.form.name) && !s.form.name.includes('[CPL 3: #GP]') && !s.form.name.includes('[#UD: ') && normal < N * (isAc ? 0.1 : 0.2)) {
        problems.push(`${s.form.name}: only ${normal}/${N} cases end normally (${[...vectors].map(([v, n]) => `v${v}:${n}`).join(' ')})`);
      }
    });
    expect(problems).toEqual([]);
  });
});
