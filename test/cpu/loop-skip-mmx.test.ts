// The loop fast-forward over loops with MMX instructions (src/cpu/loop-skip-mmx.ts), over loops whose head
// carries the counter's flags (src/cpu/loop-skip-flags.ts), over calls through a PLT stub and over loops that
// count up to a bound (signed and unsigned exit tests), on the mmxspin guest: the same state hash,
// instruction count, guest time and output with it on and off, also at budget cuts inside skipped loops.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Machine, type MachineOptions } from '../../src/machine/machine.js';
import { stateHash } from '../../src/machine/snapshot-state.js';
import { buildImage, toolchainAvailable } from '../images/build.js';
import { reportProblems } from '../images/report.js';

const have = toolchainAvailable();

function run(kernel: Uint8Array, opts: Partial<MachineOptions>, maxInsns = 50_000_000) {
  let out = '';
  const m = new Machine({ kernel, memMiB: 64, cmdline: 'console=test', ...opts, debugOut: (b) => (out += String.fromCharCode(b)) });
  const r = m.run({ maxInsns });
  return { m, r, out, hash: stateHash(m) };
}

function same(kernel: Uint8Array, opts: Partial<MachineOptions>, maxInsns?: number) {
  const on = run(kernel, { ...opts, loopSkip: true }, maxInsns), off = run(kernel, { ...opts, loopSkip: false }, maxInsns);
  expect([on.r.cause, on.r.instructions, on.r.virtualNs, on.out, on.hash]).toEqual([off.r.cause, off.r.instructions, off.r.virtualNs, off.out, off.hash]);
  return on;
}

describe.skipIf(!have)('loop fast-forward on the mmxspin guest', () => {
  const kernel = have ? readFileSync(buildImage('mmxspin')) : new Uint8Array();

  it('jumps over the MMX, empty, PLT-call and counted-up loops, stops a signed one at 2^31, runs the two it cannot prove, and the run is the same run', () => {
    const on = same(kernel, {});
    expect(reportProblems('mmxspin', on.out), on.out).toEqual([]);
    expect(on.r.cause).toBe('debug-exit');
    expect(on.out).toMatch(/mmx loop of 500000 in \d+ ns/);
    expect(on.out).toMatch(/wake_all loop of 500000 in \d+ ns/);
    expect(on.out).toMatch(/counted wake_all loop of 500000 in \d+ ns/);
    // 6, 2, 8 and 9 x 500 k instructions in the four skippable loops, 3 x 65,536 in the one that stops where its
    // counter crosses 2^31 (skipped up to there), 3 x 62.5 k in each of the two it cannot prove.
    const s = on.m.loopSkip!;
    expect(s.skippedInsns).toBeGreaterThan(12_500_000);
    expect(s.skippedInsns).toBeLessThan(12_700_000);
  });

  it('the same state at budget cuts inside the skipped loops, with the compiler off, and with two vCPUs', () => {
    for (const cut of [400_003, 2_500_001, 10_400_001]) same(kernel, {}, cut);
    same(kernel, { jit: false });
    expect(reportProblems('mmxspin', same(kernel, { cpus: 2 }).out)).toEqual([]);
  });
});
