// Short traces (jit.ts DEFAULT_MIN_INSNS) compile only at their second time at the threshold in one machine; one
// that got there once compiles at its first run in the process's next machines (the test runner's next boots),
// which retire the same instructions and print the same bytes as with the compiler off. Its own file: the
// process-wide caches of jit-warm.test.ts's machines would otherwise have compiled the same code already.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildGuest } from '../../src/cli/guest.js';
import { Machine } from '../../src/machine/machine.js';
import { toolchainAvailable } from '../images/build.js';

function run(kernel: Uint8Array, jit: boolean, threshold = Infinity, regionFactor?: number) {
  const m = new Machine({ kernel, cpus: 2, cmdline: '--app=300', memMiB: 64, jit, wasm: false });
  if (m.jit) {
    m.jit.threshold = threshold;
    if (regionFactor !== undefined) m.jit.regionFactor = regionFactor;
  }
  const r = m.run({ maxInsns: 200_000_000 });
  return { out: { cause: r.cause, instructions: r.instructions, icounts: m.cpus.map((c) => c.icount), console: m.console }, jit: m.jit };
}

describe.skipIf(!toolchainAvailable())('short traces hot in an earlier machine', () => {
  it('compile at their first run in the next machine, with the same instructions retired', () => {
    const osvlike = readFileSync(buildGuest('osvlike'));
    const off = run(osvlike, false).out;
    // The second look of a short trace comes after regionFactor x threshold runs: never, here.
    const first = run(osvlike, true, 50, 1e9);
    const shortWaiting = first.jit!.compiled;
    const warm = run(osvlike, true);
    expect(warm.jit!.preheated, 'short traces compiled at their first run').toBeGreaterThan(5);
    expect(warm.jit!.compiled).toBe(warm.jit!.preheated);
    // A machine whose traces never reach the threshold marks nothing for the next.
    const again = run(osvlike, true);
    expect(again.jit!.compiled).toBe(0);
    for (const r of [first, warm, again]) expect(r.out).toEqual(off);
    expect(shortWaiting).toBeLessThan(warm.jit!.preheated);
  });
});
