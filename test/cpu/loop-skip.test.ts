// The loop fast-forward (src/cpu/loop-skip.ts) leaves exactly the state running the skipped iterations would:
// the same state hash, instruction count, guest time and output with it on and off, at the end and at budget
// cuts in the middle of skipped loops, on the idlepoll guest (OSv's idle poll and a spin on a flag), on the
// mmxspin guest (tst-mmx-fpu's and tst-condvar's loops and the shapes around them), on
// osvlike with one and two vCPUs, and, when OSV_TESTS_KERNEL is set, on a real OSv unit test.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildGuest } from '../../src/cli/guest.js';
import { Machine, type MachineOptions } from '../../src/machine/machine.js';
import { captureMachine, machineFromSnapshot, stateHash } from '../../src/machine/snapshot-state.js';
import { buildImage, toolchainAvailable } from '../images/build.js';
import { reportProblems } from '../images/report.js';

const have = toolchainAvailable();

function run(kernel: Uint8Array, opts: Partial<MachineOptions>, maxInsns = 200_000_000) {
  let out = '';
  const m = new Machine({ kernel, memMiB: 64, cmdline: 'console=test', ...opts, debugOut: (b) => (out += String.fromCharCode(b)) });
  const r = m.run({ maxInsns });
  return { m, r, out, hash: stateHash(m), console: m.console };
}

function same(kernel: Uint8Array, opts: Partial<MachineOptions>, maxInsns?: number) {
  const on = run(kernel, { ...opts, loopSkip: true }, maxInsns), off = run(kernel, { ...opts, loopSkip: false }, maxInsns);
  expect(off.m.loopSkip).toBeNull();
  expect([on.r.cause, on.r.instructions, on.r.virtualNs, on.out, on.console, on.hash])
    .toEqual([off.r.cause, off.r.instructions, off.r.virtualNs, off.out, off.console, off.hash]);
  return on;
}

/** The same run on and off, and the guest's own checks passed. */
function passes(name: string, kernel: Uint8Array) {
  const on = same(kernel, {});
  expect(reportProblems(name, on.out), on.out).toEqual([]);
  expect(on.r.cause).toBe('debug-exit');
  return on;
}

describe.skipIf(!have)('loop fast-forward on the idlepoll guest', () => {
  const kernel = have ? readFileSync(buildImage('idlepoll')) : new Uint8Array();

  it('jumps over most of the poll, and the run is the same run', () => {
    const on = passes('idlepoll', kernel);
    expect(on.out).toMatch(/200000 iterations in \d+ ns/);
    // The guest runs ~13 M instructions, most of them in the polls and the spin.
    const s = on.m.loopSkip!;
    expect(s.skippedInsns).toBeGreaterThan(on.r.instructions * 0.8);
    expect(s.skips).toBeGreaterThan(0);
  });

  it('the same state at budget cuts inside skipped loops, and from a snapshot taken mid-poll', () => {
    const whole = run(kernel, {});
    for (const cut of [3_000_001, 7_777_777, whole.r.instructions - 1_234_567]) same(kernel, {}, cut);
    const half = run(kernel, {}, 2_000_000);
    let rest = '';
    const r = machineFromSnapshot(captureMachine(half.m), { debugOut: (b) => (rest += String.fromCharCode(b)) }).run({ maxInsns: 200_000_000 });
    expect([r.instructions, r.virtualNs, half.out + rest]).toEqual([whole.r.instructions, whole.r.virtualNs, whole.out]);
  });

  it('with the block compiler off, with --icount-shift 3, and with two vCPUs', () => {
    same(kernel, { jit: false });
    expect(reportProblems('idlepoll', same(kernel, { icountShift: 3 }).out)).toEqual([]);
    expect(reportProblems('idlepoll', same(kernel, { cpus: 2 }).out)).toEqual([]);
  });
});

// MMX instructions (loop-skip-mmx.ts), flags dead at the head (loop-skip-flags.ts), calls through a PLT stub and
// loops counting up to a bound (signed and unsigned exit tests), on the mmxspin guest.
describe.skipIf(!have)('loop fast-forward on the mmxspin guest', () => {
  const kernel = have ? readFileSync(buildImage('mmxspin')) : new Uint8Array();

  it('jumps over the MMX, empty, PLT-call and counted-up loops, stops a signed one at 2^31, runs the two it cannot prove, and the run is the same run', () => {
    const on = passes('mmxspin', kernel);
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

describe('loop fast-forward on osvlike', () => {
  const osvlike = readFileSync(buildGuest('osvlike'));
  it.each([1, 2])('-c %i: the same run on and off', (cpus) => {
    const on = same(osvlike, { cpus, cmdline: '' });
    expect(on.console).toContain('osvlike: all threads done');
  });
  it('-c 2, budget cut mid-run', () => {
    same(osvlike, { cpus: 2, cmdline: '' }, 3_000_000);
  });
});

const real = process.env.OSV_TESTS_KERNEL;
describe.skipIf(!real)('loop fast-forward on a real OSv unit test (OSV_TESTS_KERNEL)', () => {
  it('tst-align.so, -c 2 -m 2G: the same state hash and instruction count; the idle poll is skipped', () => {
    const kernel = readFileSync(real!);
    const opts = { cpus: 2, memMiB: 2048, cmdline: '--power-off-on-abort /tests/tst-align.so' };
    const on = same(kernel, opts, 40_000_000);
    expect(on.m.loopSkip!.skippedInsns).toBeGreaterThan(100_000);
  }, 120_000);
});
