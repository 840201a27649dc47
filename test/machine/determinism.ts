// The determinism tests' runs (jit-determinism.test.ts, wasm-determinism.test.ts): one machine run with an engine, and
// the check that a run with the compiler retires and prints what a run without it does.
import { expect } from 'vitest';
import { Machine } from '../../src/machine/machine.js';

// Traces are compiled after a few runs (not the default thousands), so that short guests run mostly compiled.
const THRESHOLD = 10;

export function run(kernel: Uint8Array, jit: boolean, cpus: number, cmdline: string, memMiB: number, maxInsns: number, wasm = false) {
  let debugcon = '';
  const m = new Machine({ kernel, cpus, cmdline, memMiB, jit, wasm, debugOut: (b) => (debugcon += String.fromCharCode(b)) });
  if (m.jit) m.jit.threshold = THRESHOLD;
  // Wasm blocks from the first trace that is hot, one module each (short guests would not fill a batch).
  if (m.jit?.wasm) { m.jit.wasm.startAt = 0; m.jit.wasm.batch = 1; }
  const r = m.run({ maxInsns });
  return { cause: r.cause, instructions: r.instructions, icounts: m.cpus.map((c) => c.icount), console: m.console, debugcon,
    compiled: (m.jit?.compiled ?? 0) + (m.jit?.adopted ?? 0), adopted: m.jit?.adopted ?? 0, regions: m.jit?.regions ?? 0,
    wasm: m.jit?.wasm?.compiled ?? 0 };
}

export function same(kernel: Uint8Array, cpus: number, cmdline = '', memMiB = 64, maxInsns = 200_000_000, wasm = false) {
  const off = run(kernel, false, cpus, cmdline, memMiB, maxInsns);
  const on = run(kernel, true, cpus, cmdline, memMiB, maxInsns, wasm);
  if (wasm) expect(on.wasm, 'wasm blocks made').toBeGreaterThan(0);
  expect(on.compiled, 'the compiler compiled something').toBeGreaterThan(0);
  expect({ ...on, compiled: 0, adopted: 0, regions: 0, wasm: 0 }).toEqual({ ...off, compiled: 0, adopted: 0, regions: 0, wasm: 0 });
  return on;
}

