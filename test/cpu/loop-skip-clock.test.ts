// The clock-loop fast-forward (src/cpu/loop-skip-clock.ts) leaves exactly the state running the skipped iterations
// would: the same state hash, instruction count, guest time and output with the skipper on and off, on the
// clockspin guest (a pvclock read with the exact scale in tst-pin's loop, tst-clock's monotonic check; an inexact
// scale, a loop folding every read into a kept value and a bare rdtsc loop, which must run in full), at
// budget cuts inside the skipped loops, with the compiler off, with two vCPUs, at --icount-shift 10 across the
// TSC's 2^32 wrap (eax wraps, edx moves on), and with no TSC-read charge.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Machine, type MachineOptions } from '../../src/machine/machine.js';
import { stateHash } from '../../src/machine/snapshot-state.js';
import { buildImage, toolchainAvailable } from '../images/build.js';
import { reportProblems } from '../images/report.js';
import { Decoder } from '../../src/cpu/decoder.js';
import { decodeSample } from '../../src/cpu/jit/forms.js';
import { clockForm } from '../../src/cpu/loop-skip-clock.js';

const have = toolchainAvailable();

function run(kernel: Uint8Array, opts: Partial<MachineOptions>, maxInsns = 100_000_000) {
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

describe.skipIf(!have)('clock-loop fast-forward on the clockspin guest', () => {
  const kernel = have ? readFileSync(buildImage('clockspin')) : new Uint8Array();

  it('jumps over the exact-scale and monotonic loops, and the run is the same run', () => {
    const on = same(kernel, {});
    expect(reportProblems('clockspin', on.out), on.out).toEqual([]);
    expect(on.out).toMatch(/exact-scale loop from \d+ to \d+ ns/);
    // ~4.04 M instructions, ~3.2 M of them in the two skippable loops (all but their first and last iterations).
    const s = on.m.loopSkip!;
    expect(s.clockSkippedInsns).toBeGreaterThan(on.r.instructions * 0.75);
    expect(s.clockSkippedInsns).toBe(s.skippedInsns);
  });

  it('never jumps over the inexact scale (0.8) or a loop keeping a value that is not affine in the TSC', () => {
    const on = same(kernel, { cmdline: 'console=test unskippable' });
    expect(reportProblems('clockspin', on.out), on.out).toEqual([]);
    expect(on.out).toMatch(/inexact-scale loop/);
    expect(on.out).toMatch(/xor loop/);
    expect(on.m.loopSkip!.clockSkips).toBe(0);
  });

  it('the same state at budget cuts inside the skipped loops, with the compiler off and with two vCPUs', () => {
    for (const cut of [700_001, 1_500_000, 2_300_007, 3_300_001]) same(kernel, {}, cut);
    expect(same(kernel, { jit: false }).m.loopSkip!.clockSkips).toBeGreaterThan(0);
    const two = same(kernel, { cpus: 2 });
    expect(reportProblems('clockspin', two.out)).toEqual([]);
    expect(two.m.loopSkip!.clockSkips).toBeGreaterThan(0);
  });

  it('at --icount-shift 10 across the TSC\'s 2^32 wrap, and with no TSC-read charge', () => {
    // Quanta of 300,007 instructions: with one vCPU every quantum (2^20 instructions of 2^10 ns) would end at the
    // wrap itself, and the jump would stop there whatever the bound said.
    const wrap = same(kernel, { cmdline: 'console=test tsc-wrap', icountShift: 10, cpus: 2, quantum: 300_007 });
    expect(reportProblems('clockspin', wrap.out), wrap.out).toEqual([]);
    expect(wrap.out).toMatch(/tsc-wrap loop/);
    expect(wrap.m.loopSkip!.clockSkippedInsns).toBeGreaterThan(wrap.r.instructions * 0.9);
    expect(same(kernel, { tscReadNs: 0 }).m.loopSkip!.clockSkips).toBeGreaterThan(0);
  });
});

describe('what counts as a clock read', () => {
  it('rdtsc, rdtscp and lfence only: not the nops, mfence or sfence that share lfence\'s handler', () => {
    // A multi-byte nop in a counted loop once made it a "clock loop" that failed its proof: tst-condvar's
    // wake_all loop stopped being skipped (548 M of 600 M instructions skipped before, 4.6 M after).
    const d = new Decoder();
    const form = (hex: string) => clockForm(decodeSample(d, hex)!);
    expect([form('0f 31'), form('0f 01 f9'), form('0f ae e8')]).toEqual(['rdtsc', 'rdtscp', 'lfence']);
    for (const hex of ['90', '66 90', '0f 1f 00', '0f 1f 44 00 00', '66 2e 0f 1f 84 00 00 00 00 00', '0f ae f0', '0f ae f8']) {
      expect(form(hex), hex).toBeNull();
    }
  });
});
