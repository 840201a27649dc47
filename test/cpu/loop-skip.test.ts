// The loop fast-forward (src/cpu/loop-skip.ts) leaves exactly the state running the skipped iterations would:
// the same state hash, instruction count, guest time and output with it on and off, at the end and at budget
// cuts in the middle of skipped loops, on the idlepoll guest (OSv's idle poll and a spin on a flag), on
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

describe.skipIf(!have)('loop fast-forward on the idlepoll guest', () => {
  const kernel = have ? readFileSync(buildImage('idlepoll')) : new Uint8Array();

  it('jumps over most of the poll, and the run is the same run', () => {
    const on = same(kernel, {});
    expect(reportProblems('idlepoll', on.out), on.out).toEqual([]);
    expect(on.r.cause).toBe('debug-exit');
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
