// A process's later machines start warm: code that ran often in earlier machines compiles at its first run here
// (the process's heat), and a loop region whose source an earlier machine compiled reuses that factory. Either
// way the machine retires the same instructions and prints the same bytes as with the compiler off.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildGuest } from '../../src/cli/guest.js';
import { Machine } from '../../src/machine/machine.js';
import { Jit } from '../../src/cpu/jit/jit.js';
import * as region from '../../src/cpu/jit/region.js';
import { toolchainAvailable } from '../images/build.js';

interface Knobs { jit: boolean; threshold?: number; heatThreshold?: number }

function run(kernel: Uint8Array, k: Knobs) {
  const m = new Machine({ kernel, cpus: 2, cmdline: '--app=300', memMiB: 64, jit: k.jit, wasm: false });
  if (m.jit) {
    if (k.threshold !== undefined) m.jit.threshold = k.threshold;
    if (k.heatThreshold !== undefined) m.jit.heatThreshold = k.heatThreshold;
  }
  const r = m.run({ maxInsns: 200_000_000 });
  const out = { cause: r.cause, instructions: r.instructions, icounts: m.cpus.map((c) => c.icount), console: m.console };
  return { out, jit: m.jit! };
}

describe.skipIf(!toolchainAvailable())('later machines of the process start warm', () => {
  // The process's heat is recorded only when it may be used (OSVEMU_HEAT_THRESHOLD): these machines use it.
  Jit.collectHeat = true;
  const osvlike = readFileSync(buildGuest('osvlike'));
  const off = run(osvlike, { jit: false }).out;

  it('code an earlier machine ran often compiles at its first run, with the same instructions retired', () => {
    // Nothing reaches the per-machine threshold: only the process's heat compiles anything.
    const first = run(osvlike, { jit: true, threshold: Infinity });
    expect(first.jit.compiled).toBe(0);
    const warm = run(osvlike, { jit: true, threshold: Infinity, heatThreshold: 50 });
    expect(warm.jit.preheated, 'traces compiled from the heat of the first machine').toBeGreaterThan(10);
    expect(warm.jit.compiled).toBe(warm.jit.preheated);
    const cold = run(osvlike, { jit: true, threshold: Infinity, heatThreshold: Infinity });
    expect(cold.jit.preheated).toBe(0);
    for (const r of [first, warm, cold]) expect(r.out).toEqual(off);
  });

  it('a region an earlier machine compiled reuses its factory, with the same instructions retired', () => {
    const first = run(osvlike, { jit: true, threshold: 10 });
    expect(first.jit.regions).toBeGreaterThan(0);
    const before = region.factoryHits;
    const again = run(osvlike, { jit: true, threshold: 10 });
    expect(again.jit.regions).toBeGreaterThan(0);
    expect(region.factoryHits - before, 'regions made from an earlier machine\'s factories').toBeGreaterThan(0);
    for (const r of [first, again]) expect(r.out).toEqual(off);
  });
});
