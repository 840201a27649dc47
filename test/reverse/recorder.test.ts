// The recorder without gdb: replays are checked against the checkpoints (a tampered checkpoint is a
// reported divergence, never hidden), and console input is part of the recording.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DebugPoints, VcpuDebug } from '../../src/machine/debug-points.js';
import { Machine } from '../../src/machine/machine.js';
import { Recorder } from '../../src/machine/reverse.js';
import { guestImage } from '../gdb/helpers.js';

const ELF = guestImage('osvlike');

function record(insns: number, during?: (m: Machine, rec: Recorder) => void) {
  const m = new Machine({ kernel: readFileSync(ELF!), cpus: 2, memMiB: 32 });
  const dbg = m.cpus.map(() => new VcpuDebug(new DebugPoints()));
  const apply = () => m.execs.forEach((e, k) => { e.debug = dbg[k]!; });
  apply();
  const logged: string[] = [];
  const rec = new Recorder({ machine: m, vcpuDebug: () => dbg, applyDebugMode: apply, log: (s) => logged.push(s) }, { interval: 400_000 });
  rec.noteResume({ paused: [false, false], step: [false, false], stepIrq: [false, false], skipRip: [NaN, NaN] });
  while (m.instructions < insns && m.slice(100_000) === null) {
    rec.afterSlice();
    during?.(m, rec);
  }
  rec.noteStop('boundary', 0);
  return { m, rec, logged };
}

describe.skipIf(!ELF)('recorder', () => {
  it('reverse-continue with nothing to hit replays all of history, checked at every checkpoint; a tampered checkpoint is reported', () => {
    const { rec, logged } = record(2_000_000);
    expect(rec.checkpoints.length).toBeGreaterThanOrEqual(4);
    const ev = rec.reverseContinue(0);
    expect(ev).toMatchObject({ kind: 'stopped', reason: { type: 'replaylog', at: 'begin' } });
    expect(rec.divergences).toEqual([]);
    const forward = rec.forwardContinue(0);
    expect(forward).toMatchObject({ kind: 'stopped', reason: { type: 'replaylog', at: 'end' } });
    expect(rec.divergences).toEqual([]);
    expect(rec.live).toBe(true);

    rec.checkpoints[2]!.hash = 'tampered';
    rec.reverseContinue(0);
    expect(rec.divergences.length).toBeGreaterThan(0);
    expect(rec.divergences[0]).toMatch(/^replay diverged from the recording: machine state at checkpoint \d+$/);
    expect(logged.some((l) => l.includes('replay diverged'))).toBe(true);
    expect(rec.status()).toMatch(/DIVERGENCES:/);
  }, 120_000);

  it('console input is replayed at the instruction where it arrived (and leaving it out shows as a divergence)', () => {
    let sent = false;
    const { m, rec } = record(1_500_000, (mm, r) => {
      if (!sent && mm.instructions > 700_000) {
        sent = true;
        r.input(() => mm.serialInput(Uint8Array.from([0x61, 0x62, 0x0d])));
      }
    });
    expect(sent).toBe(true);
    const end = m.instructions;
    // Only checkpoints from before the input (and the live end) stay, so every replay crosses it.
    const onlyEarly = () => {
      const last = rec.checkpoints[rec.checkpoints.length - 1]!;
      const keep = rec.checkpoints.filter((c) => c.t < 600_000 || c === last);
      rec.checkpoints.length = 0;
      rec.checkpoints.push(...keep);
    };
    rec.reverseStep(0);
    expect(rec.live).toBe(false);
    onlyEarly();
    rec.forwardContinue(0);
    expect(m.instructions).toBe(end);
    expect(rec.divergences).toEqual([]);
    (rec as unknown as { inputs: unknown[] }).inputs.length = 0;
    rec.reverseStep(0);
    onlyEarly();
    rec.forwardContinue(0);
    expect(rec.divergences.length).toBeGreaterThan(0);
  }, 120_000);
});
