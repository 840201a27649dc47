// The machine state (what snapshots save and reverse execution compares by hash at its checkpoints) is the same
// whichever engine ran the instructions: interpreter, compiled blocks, or compiled blocks still in their
// slow-path warm-up. Scratch values that only carry a result within one instruction (Mmu.hi, the high half of
// a 64-bit read) are not machine state: the compiled code's inline TLB hits never set it, so it told the
// engines apart, and a replay that ran the code compiled where the recording had interpreted it (or the
// reverse) reported a divergence that was not there.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildGuest } from '../../src/cli/guest.js';
import { Machine } from '../../src/machine/machine.js';
import { stateHash } from '../../src/machine/snapshot-state.js';
import { toolchainAvailable } from '../images/build.js';

describe.skipIf(!toolchainAvailable())('machine state does not depend on the engine', () => {
  const osvlike = readFileSync(buildGuest('osvlike'));
  const hashAt = (insns: number, jit: boolean, threshold?: number, slowCalls?: number) => {
    // The JavaScript compiler's slow-path warm-up (wasm blocks: test/cpu/wasm-blocks.test.ts).
    const m = new Machine({ kernel: osvlike, cpus: 2, memMiB: 64, jit, wasm: false });
    if (m.jit !== null) {
      if (threshold !== undefined) m.jit.threshold = threshold;
      if (slowCalls !== undefined) m.jit.slowCalls = slowCalls;
    }
    const r = m.run({ maxInsns: insns });
    return { m, hash: stateHash(m), instructions: r.instructions };
  };

  it('the high half a 64-bit read leaves in the MMU is not machine state', () => {
    const a = hashAt(1_000_003, false), b = hashAt(1_000_003, false);
    b.m.cpus[0]!.mmu.hi = 0x1000;
    expect(stateHash(b.m)).toBe(a.hash);
  });

  it('interpreted, compiled at once and compiled after the slow-path warm-up: same state hash mid-run', () => {
    for (const insns of [700_001, 2_500_001]) {
      const off = hashAt(insns, false);
      const eager = hashAt(insns, true, 2, 0);
      const warm = hashAt(insns, true, 2, 64);
      expect(eager.instructions).toBe(off.instructions);
      expect(eager.hash, `${insns} instructions, compiled at once`).toBe(off.hash);
      expect(warm.hash, `${insns} instructions, slow-path warm-up`).toBe(off.hash);
    }
  });
});
