// The differential suites whose cases the recorded corpora hold, with the case counts and seeds of their
// normal (CI) runs, so that a corpus case is one the live suite also runs.
import { SSE_EXTRA_FORMS } from '../sse/isa-extra-forms.js';
import { X87_FORMS } from '../x87/x87-forms.js';
import type { Suite } from './corpus.js';
import type { Form } from './formkit.js';
import { CI_CASES, FORMS } from './forms.js';
import { hashString } from './rng.js';

export interface SuiteDef { suite: Suite; file: string; forms: readonly Form[]; count: number }

/** Forms osvemu deliberately does not reproduce (differential.test.ts EXCLUDED): alignment checking. */
export const notReproduced = (f: Form) => f.name.endsWith('[AC]');

export const SUITES: readonly SuiteDef[] = [
  { suite: 'isa', file: 'test/isa/differential.test.ts', forms: FORMS.filter((f) => !notReproduced(f)), count: CI_CASES },
  { suite: 'sse', file: 'test/sse/isa-extra.test.ts', forms: SSE_EXTRA_FORMS, count: 120 },
  { suite: 'x87', file: 'test/x87/handlers.test.ts', forms: X87_FORMS, count: 250 },
];

/** The seed a suite's normal run uses for a form (cases.ts formSeed with the default base seed). */
export function defaultSeed(form: Form): number { return (0x05e3 ^ hashString(form.name)) >>> 0; }

export function findForm(suite: Suite, name: string): Form | undefined {
  return SUITES.find((s) => s.suite === suite)?.forms.find((f) => f.name === name);
}
