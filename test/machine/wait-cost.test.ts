// PAUSE and TSC reads take guest time (src/machine/wait-cost.ts): a guest spinning on its clock reaches the deadline in
// far fewer instructions, the run stays a pure function of the instruction stream, and a timer that falls
// due while the vCPU spins in PAUSE still interrupts it on time (the quantum is guest time, not instructions).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Machine, MachineError } from '../../src/machine/machine.js';
import { captureMachine, machineFromSnapshot } from '../../src/machine/snapshot-state.js';
import { DEFAULT_PAUSE_NS, DEFAULT_TSC_READ_NS, extraNs } from '../../src/machine/wait-cost.js';
import { buildImage, toolchainAvailable } from '../images/build.js';
import { reportProblems } from '../images/report.js';

const have = toolchainAvailable();

function spin(opts: { pauseNs?: number; tscReadNs?: number; icountShift?: number; cpus?: number; jit?: boolean } = {}) {
  let out = '';
  const m = new Machine({
    kernel: readFileSync(buildImage('spinwait')), memMiB: 64, cmdline: 'console=test', ...opts,
    debugOut: (b) => (out += String.fromCharCode(b)),
  });
  const r = m.run({ maxInsns: 50_000_000 });
  return { m, r, out };
}

/** The pause iterations the guest reports for its first wait (1 ms spun on the TSC). */
function iterations(out: string): number {
  return Number(/(\d+) ns passed in (\d+) pause iterations/.exec(out)![2]);
}

describe('pause cost arithmetic', () => {
  it('a PAUSE lasts the cost in all, never less than one instruction', () => {
    expect(extraNs(100, 1)).toBe(99);
    expect(extraNs(100, 128)).toBe(0);
    expect(extraNs(0, 1)).toBe(0);
    expect(DEFAULT_PAUSE_NS).toBeGreaterThanOrEqual(40);
    expect(DEFAULT_PAUSE_NS).toBeLessThanOrEqual(140);
    expect(DEFAULT_TSC_READ_NS).toBeGreaterThanOrEqual(20);
    expect(DEFAULT_TSC_READ_NS).toBeLessThanOrEqual(40);
  });
});

describe.skipIf(!have)('PAUSE takes guest time (spinwait guest)', () => {
  it('reaches the deadline in far fewer instructions with the cost on, the timer still on time', () => {
    const off = spin({ pauseNs: 0, tscReadNs: 0 }), on = spin();
    for (const x of [off, on]) {
      expect(reportProblems('spinwait', x.out), x.out).toEqual([]);
      expect(x.r.cause).toBe('debug-exit');
    }
    // The spin loop (rdtsc, subtract, compare, branch, pause, count) is ~10 instructions per iteration.
    expect(iterations(off.out)).toBeGreaterThan(50_000);
    expect(iterations(on.out)).toBeLessThan(iterations(off.out) / 8);
    expect(on.r.instructions * 5).toBeLessThan(off.r.instructions);
    // Guest time covers the same waits either way.
    expect(on.r.virtualNs).toBeGreaterThan(1_300_000);
    expect(Math.abs(on.r.virtualNs - off.r.virtualNs)).toBeLessThan(off.r.virtualNs / 10);
  });

  it('is deterministic: the same instructions, time and output on every run', () => {
    const a = spin(), b = spin();
    expect(b.r.instructions).toBe(a.r.instructions);
    expect(b.r.virtualNs).toBe(a.r.virtualNs);
    expect(b.out).toBe(a.out);
  });

  it('scales with the cost given and with --icount-shift', () => {
    const p40 = spin({ pauseNs: 40, tscReadNs: 0 }), p140 = spin({ pauseNs: 140, tscReadNs: 0 });
    expect(iterations(p40.out)).toBeGreaterThan(iterations(p140.out) * 2);
    // At 8 ns per instruction a 100-ns PAUSE still costs more than an instruction; at 128 ns it costs one.
    const s3 = spin({ icountShift: 3 }), s7 = spin({ icountShift: 7 }), s7off = spin({ icountShift: 7, pauseNs: 0 });
    // (At 128 ns per instruction, interrupt entry alone passes the guest's 2-µs on-time bound.)
    for (const x of [p40, p140, s3]) expect(reportProblems('spinwait', x.out), x.out).toEqual([]);
    expect(iterations(s3.out)).toBeLessThan(iterations(spin({ icountShift: 3, pauseNs: 0, tscReadNs: 0 }).out) / 2);
    expect(s7.r.instructions).toBe(s7off.r.instructions);
  });

  it('a snapshot taken mid-spin resumes to the same end as the uninterrupted run', () => {
    const whole = spin();
    let out = '';
    const m = new Machine({ kernel: readFileSync(buildImage('spinwait')), memMiB: 64, cmdline: 'console=test', debugOut: (b) => (out += String.fromCharCode(b)) });
    m.run({ maxInsns: Math.floor(whole.r.instructions / 3) });
    const snap = captureMachine(m);
    let rest = '';
    const r = machineFromSnapshot(snap, { debugOut: (b) => (rest += String.fromCharCode(b)) }).run({ maxInsns: 50_000_000 });
    expect(r.instructions).toBe(whole.r.instructions);
    expect(r.virtualNs).toBe(whole.r.virtualNs);
    expect(out + rest).toBe(whole.out);
  });

  it('the block compiler on and off retire the same instructions', () => {
    for (const cpus of [1, 2]) {
      const on = spin({ cpus }), off = spin({ cpus, jit: false });
      expect([off.r.instructions, off.r.virtualNs, off.out]).toEqual([on.r.instructions, on.r.virtualNs, on.out]);
    }
  });

  it('two vCPUs: the same run twice', () => {
    const a = spin({ cpus: 2 }), b = spin({ cpus: 2 });
    expect(reportProblems('spinwait', a.out), a.out).toEqual([]);
    expect([b.r.instructions, b.r.virtualNs, b.out]).toEqual([a.r.instructions, a.r.virtualNs, a.out]);
  });

  it('a TSC read costs its latency too: a clock loop without PAUSE also gets there sooner', () => {
    const none = spin({ pauseNs: 0, tscReadNs: 0 }), tsc = spin({ pauseNs: 0 });
    expect(reportProblems('spinwait', tsc.out), tsc.out).toEqual([]);
    // ~10 instructions and one rdtsc per iteration: 10 ns against 10 + 24.
    expect(iterations(tsc.out) * 3).toBeLessThan(iterations(none.out));
  });

  it('rejects a bad cost', () => {
    for (const pauseNs of [-1, 1.5, 2e6]) expect(() => spin({ pauseNs })).toThrow(MachineError);
    expect(() => spin({ tscReadNs: -1 })).toThrow(/bad rdtsc cost/);
  });
});
