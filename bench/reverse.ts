// Reverse-execution benchmark: the cost of recording (the debug run loop plus periodic checkpoints)
// against a plain run, and the time of a reverse-stepi that lands one second of guest time back, for
// the OSv-shaped guest on 2 vCPUs. Prints figures; asserts nothing. OSVEMU_REV_LINES sets the guest's
// work (default 480 worker lines of 50 us busy and 2 ms asleep: a little over one second of guest time).
import { readFileSync } from 'node:fs';
import { buildGuest } from '../src/cli/guest.js';
import { DebugPoints, VcpuDebug } from '../src/machine/debug-points.js';
import { Machine } from '../src/machine/machine.js';
import { Recorder } from '../src/machine/reverse.js';

const lines = Number(process.env.OSVEMU_REV_LINES ?? 480);
const kernel = readFileSync(buildGuest('osvlike'));
const opts = { kernel, cpus: 2, memMiB: 64, cmdline: `--lines=${lines} --threads=1 --busy-us=50` };
const SLICE = 500_000;

function plain(): { insns: number; ms: number; ns: number } {
  const m = new Machine(opts);
  const t0 = performance.now();
  while (m.slice(SLICE) === null);
  return { insns: m.instructions, ms: performance.now() - t0, ns: m.nowNs() };
}

function recorded(limit: number) {
  const m = new Machine(opts);
  const points = new DebugPoints();
  const dbg = m.cpus.map(() => new VcpuDebug(points));
  const apply = () => m.execs.forEach((e, k) => { e.debug = dbg[k]!; });
  apply();
  const rec = new Recorder({ machine: m, vcpuDebug: () => dbg, applyDebugMode: apply, log: (s) => console.log(s) });
  rec.noteResume({ paused: m.cpus.map(() => false), step: dbg.map(() => false), stepIrq: dbg.map(() => false), skipRip: dbg.map(() => NaN) });
  const samples: { ns: number; icount: number }[] = [];
  const t0 = performance.now();
  while (m.instructions < limit && m.slice(SLICE) === null) {
    rec.afterSlice();
    samples.push({ ns: m.nowNs(), icount: m.cpus[0]!.icount });
  }
  const ms = performance.now() - t0;
  rec.noteStop('boundary', 0);
  return { m, rec, ms, samples };
}

const p = plain();
console.log(`plain run: ${p.insns} instructions, ${(p.ns / 1e9).toFixed(3)} s guest time, ${(p.ms / 1000).toFixed(1)} s, ${(p.insns / p.ms / 1000).toFixed(1)} MIPS`);
// Stop short of the power-off so the recording ends live (a finished machine has nothing to step back in).
const r = recorded(p.insns - 2 * SLICE);
const insns = r.m.instructions;
const cps = r.rec.checkpoints.length;
const pages = r.rec.checkpoints.reduce((n, c) => n + c.snap.ram.length, 0);
console.log(`recorded run: ${insns} instructions, ${(r.ms / 1000).toFixed(1)} s, ${(insns / r.ms / 1000).toFixed(1)} MIPS; ` +
  `overhead ${((r.ms / (p.ms * insns / p.insns) - 1) * 100).toFixed(0)}% against the plain run; ${cps} checkpoints, ${(pages / 1048576).toFixed(1)} MiB of pages`);

const endNs = r.m.nowNs();
const back = [...r.samples].reverse().find((s) => s.ns <= endNs - 1e9);
if (!back) {
  console.log(`guest time ${(endNs / 1e9).toFixed(3)} s is under one second: raise OSVEMU_REV_LINES`);
} else {
  const rec = r.rec as unknown as { moveTo(cpu: number, icount: number, reason: { type: 'step' }): unknown };
  let t0 = performance.now();
  r.rec.reverseStep(0);
  const one = performance.now() - t0;
  t0 = performance.now();
  rec.moveTo(0, back.icount, { type: 'step' });
  const far = performance.now() - t0;
  t0 = performance.now();
  r.rec.reverseStep(0);
  const next = performance.now() - t0;
  console.log(`reverse-stepi from the end: ${one.toFixed(0)} ms; to ${((endNs - r.m.nowNs()) / 1e9).toFixed(3)} s of guest time back: ` +
    `${far.toFixed(0)} ms; the reverse-stepi after that: ${next.toFixed(0)} ms; divergences: ${r.rec.divergences.length}`);
}
