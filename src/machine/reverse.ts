// Reverse execution by checkpoint and replay (--record). The machine is deterministic: from a
// checkpoint (an in-memory snapshot), re-running with the same debugger actions and the same host
// inputs reproduces history exactly. What the debugger did matters (a stop ends the quantum loop
// early, a step holds the other vCPUs), so history is kept as segments: one per resume, with the
// resume's configuration and how it ended. Positions are "right after vCPU k retired its N-th
// instruction"; replays stop there with ExecDebug.stopAt, and search for breakpoint/watchpoint hits
// with ExecDebug.observe without stopping. Every replay is checked against the recorded checkpoints
// (instruction counts and state hash); a divergence is logged and kept for `monitor record status`.
import { STOP_BREAK, STOP_STEP, STOP_WATCH } from '../cpu/exec.js';
import { SIGNAL, type CpuStopEvent, type StopReason } from '../gdbstub/target.js';
import type { VcpuDebug } from './debug-points.js';
import type { Machine } from './machine.js';
import { captureMachine, restoreMachine, stateHash, type MachineSnapshot } from './snapshot-state.js';
import { RecordedInputs } from './reverse-inputs.js';
import { OverlayDisk } from '../devices/backends/disk-overlay.js';

export interface ResumeConfig {
  paused: boolean[];
  step: boolean[];
  stepIrq: boolean[];
  skipRip: number[];
  /** Range stepping (vCont;r) bounds per vCPU; NaN: a single step. */
  rangeStart?: number[];
  rangeEnd?: number[];
}

type SegmentEnd =
  | { kind: 'retire'; cpu: number; icount: number } // a breakpoint, watchpoint or replay stop
  | { kind: 'natural' } // a step ends by itself
  | { kind: 'boundary'; t: number } // Ctrl-C, honoured between slices
  | { kind: 'final' }; // the machine ended

interface Segment {
  config: ResumeConfig;
  start: number[];
  startT: number;
  end: SegmentEnd | null;
  endIcounts: number[];
  endT: number;
}

interface Checkpoint {
  /** Segment the machine runs next from here. */
  seg: number;
  /** Taken before the segment's resume configuration was applied (its start, or the live end). */
  atStart: boolean;
  t: number;
  icounts: number[];
  skipRip: number[];
  snap: MachineSnapshot;
  /** Position in the recorded host input (network frames, idle waits) from here. */
  inputPos: number;
  hash: string;
  /** Made during a replay to speed up the next one nearby; dropped first. */
  fine: boolean;
}

interface Hit {
  t: number;
  cpu: number;
  icount: number;
  reason: number;
  addr: number;
  kind: 'write' | 'read' | 'access';
}

type Stop = { kind: 'retire'; cpu: number; icount: number } | { kind: 'boundary'; t: number } | { kind: 'segment-end' };

interface InputEvent {
  seg: number;
  t: number;
  apply: () => void;
}

export interface ReverseHost {
  readonly machine: Machine;
  vcpuDebug(): VcpuDebug[];
  applyDebugMode(): void;
  log(message: string): void;
}

export interface RecordOptions {
  /** Instructions between checkpoints while running live. */
  interval?: number;
  /** Replay checkpoints kept (every slice boundary passed during a replay). */
  fineCheckpoints?: number;
}

const REPLAY_SLICE = 500_000;
const WATCH_REASON = { write: 'watch', read: 'rwatch', access: 'awatch' } as const;

export class Recorder {
  readonly segments: Segment[] = [];
  readonly checkpoints: Checkpoint[] = [];
  readonly divergences: string[] = [];
  private readonly inputs: InputEvent[] = [];
  /** Inputs that arrived while the machine showed the past: applied when it is live again. */
  private pendingInputs: (() => void)[] = [];
  private readonly interval: number;
  private readonly maxFine: number;
  private lastCheckpointT = 0;
  /** Null while live; else the machine shows this past position, and `end` holds the live state. */
  private past: { seg: number; cpu: number; icount: number; t: number } | null = null;
  private end: Checkpoint | null = null;
  replays = 0;
  replayedInsns = 0;
  /** Network frames, idle waits and host entropy of the recorded run. */
  readonly hostInput: RecordedInputs;

  constructor(private readonly host: ReverseHost, opts: RecordOptions = {}) {
    this.interval = opts.interval ?? 5_000_000;
    this.maxFine = opts.fineCheckpoints ?? 32;
    this.hostInput = new RecordedInputs(host.machine);
    // Checkpoints hold a snapshot-mode disk's writes (its overlay), not a file the guest writes to.
    const files = (host.machine.options.disks ?? []).map((d) => ('backend' in d ? d.backend : d)).filter((b) => b.writable && !(b instanceof OverlayDisk));
    if (files.length > 0) host.log(`osvemu: --record: writes to ${files.map((b) => b.description).join(', ')} are not undone by reverse execution (open the disk without ",writable")`);
    this.checkpoint(0, true, false);
  }

  private get m(): Machine {
    return this.host.machine;
  }

  get live(): boolean {
    return this.past === null;
  }

  private icounts(): number[] {
    return this.m.cpus.map((c) => c.icount);
  }

  private checkpoint(seg: number, atStart: boolean, fine: boolean): Checkpoint {
    const snap = captureMachine(this.m);
    const cp: Checkpoint = {
      seg, atStart, t: this.m.instructions, icounts: this.icounts(), skipRip: this.host.vcpuDebug().map((d) => d.skipRip),
      snap, inputPos: this.hostInput.position(), hash: fine ? '' : stateHash(this.m), fine,
    };
    const at = this.checkpoints.findIndex((c) => c.t > cp.t || (c.t === cp.t && c.seg > cp.seg));
    if (at < 0) this.checkpoints.push(cp);
    else this.checkpoints.splice(at, 0, cp);
    if (fine) {
      const fines = this.checkpoints.filter((c) => c.fine);
      if (fines.length > this.maxFine) this.checkpoints.splice(this.checkpoints.indexOf(fines[0]!), 1);
    } else this.lastCheckpointT = cp.t;
    return cp;
  }

  // ---- live recording (called by the gdb target) ------------------------------------------------
  /** A resume while live starts a segment. */
  noteResume(config: ResumeConfig): void {
    this.segments.push({ config, start: this.icounts(), startT: this.m.instructions, end: null, endIcounts: [], endT: 0 });
  }

  /** Between slices of a live run: periodic checkpoints. */
  afterSlice(): void {
    if (this.live && this.m.instructions - this.lastCheckpointT >= this.interval && this.segments.length > 0) {
      this.checkpoint(this.segments.length - 1, false, false);
    }
  }

  /** A live run stopped: the open segment ends here. */
  noteStop(reason: number | 'boundary' | 'final', cpu: number): void {
    const seg = this.segments[this.segments.length - 1];
    if (seg === undefined || seg.end !== null) return;
    const m = this.m;
    seg.end = reason === 'boundary' ? { kind: 'boundary', t: m.instructions }
      : reason === 'final' ? { kind: 'final' }
      : reason === STOP_STEP ? { kind: 'natural' }
      : { kind: 'retire', cpu, icount: m.cpus[cpu]!.icount };
    seg.endIcounts = this.icounts();
    seg.endT = m.instructions;
  }

  /** Host input (console bytes; network frames and entropy later) goes through here to be replayed. */
  input(apply: () => void): void {
    if (!this.live) {
      this.pendingInputs.push(apply);
      return;
    }
    this.inputs.push({ seg: Math.max(0, this.segments.length - 1), t: this.m.instructions, apply });
    apply();
  }

  // ---- moving in history --------------------------------------------------------------------------
  /**
   * Where the machine is now: `icount` of the vCPU asked about, and the stop that shows this position
   * (a past position is reached by a replay stopping on stop.cpu; the live end by the last segment's end).
   */
  private here(cpu: number): { seg: number; icount: number; t: number; stop: { cpu: number; icount: number } } {
    const icount = this.m.cpus[cpu]!.icount;
    if (this.past) return { seg: this.past.seg, icount, t: this.past.t, stop: { cpu: this.past.cpu, icount: this.past.icount } };
    return { seg: this.segments.length, icount, t: this.m.instructions, stop: { cpu, icount } };
  }

  /** Keeps the live state before the first move into the past. */
  private leaveLive(): void {
    if (this.past !== null) return;
    const seg = this.segments[this.segments.length - 1];
    if (seg && seg.end === null) this.noteStop('boundary', 0);
    this.end = this.checkpoint(this.segments.length, true, false);
  }

  /** Back to the live end (exact state); inputs that came meanwhile are applied now. */
  private goLive(): void {
    if (this.end) this.restore(this.end);
    this.hostInput.live();
    this.past = null;
    const pending = this.pendingInputs;
    this.pendingInputs = [];
    for (const apply of pending) this.input(apply);
  }

  /** The segment in which vCPU `cpu` retires instruction `icount`, or -1 (before) / segments.length (after). */
  private segmentOf(cpu: number, icount: number): number {
    for (let j = 0; j < this.segments.length; j++) {
      const s = this.segments[j]!;
      if (s.end === null) continue;
      if (s.start[cpu]! < icount && icount <= s.endIcounts[cpu]!) return j;
    }
    const first = this.checkpoints[0]!;
    return icount <= first.icounts[cpu]! ? -1 : this.segments.length;
  }

  /** The latest checkpoint from which `cpu` still has to retire `icount` in segment `seg`. */
  private checkpointBefore(seg: number, cpu: number, icount: number): Checkpoint {
    let best = this.checkpoints[0]!;
    for (const c of this.checkpoints) {
      if (c.seg < seg || (c.seg === seg && c.icounts[cpu]! < icount)) best = c;
    }
    return best;
  }

  /** reverse-stepi on `cpu`. */
  reverseStep(cpu: number): CpuStopEvent {
    const here = this.here(cpu);
    this.leaveLive();
    return this.moveTo(cpu, here.icount - 1, { type: 'step' });
  }

  /** stepi while showing the past. */
  forwardStep(cpu: number): CpuStopEvent {
    const here = this.here(cpu);
    return this.moveTo(cpu, here.icount + 1, { type: 'step' });
  }

  private moveTo(cpu: number, icount: number, reason: StopReason): CpuStopEvent {
    const seg = this.segmentOf(cpu, icount);
    if (seg < 0) return this.toBeginning(cpu);
    const last = this.segments[this.segments.length - 1];
    if (seg >= this.segments.length || (seg === this.segments.length - 1 && last!.endIcounts[cpu] === icount && this.end !== null)) {
      this.goLive();
      return { kind: 'stopped', cpu, signal: SIGNAL.TRAP, reason };
    }
    const cp = this.checkpointBefore(seg, cpu, icount);
    // The target comes before the position we step back from: a checkpoint just before that makes the next step cheap.
    this.replay(cp, seg, { kind: 'retire', cpu, icount }, null, this.past?.t ?? this.end?.t);
    this.past = { seg, cpu, icount, t: this.m.instructions };
    return { kind: 'stopped', cpu, signal: SIGNAL.TRAP, reason };
  }

  private toBeginning(cpu: number): CpuStopEvent {
    const first = this.checkpoints[0]!;
    this.restore(first);
    this.past = { seg: first.seg, cpu, icount: first.icounts[cpu]!, t: first.t };
    return { kind: 'stopped', cpu, signal: SIGNAL.TRAP, reason: { type: 'replaylog', at: 'begin' } };
  }

  /** reverse-continue: back to the last breakpoint or watchpoint hit before here, else the beginning. */
  reverseContinue(cpu: number): CpuStopEvent {
    const here = this.here(cpu);
    this.leaveLive();
    const hereStop: Stop = here.seg >= this.segments.length ? { kind: 'segment-end' } : { kind: 'retire', ...here.stop };
    const hereSeg = Math.min(here.seg, this.segments.length - 1);
    const starts = this.checkpoints.filter((c) => !c.fine && c.t <= here.t && c.seg <= here.seg);
    let upto: { seg: number; stop: Stop } = { seg: hereSeg, stop: hereStop };
    for (let i = starts.length - 1; i >= 0; i--) {
      const cp = starts[i]!;
      const hits: Hit[] = [];
      if (cp.seg <= upto.seg && this.segments.length > 0) this.replay(cp, upto.seg, upto.stop, hits);
      // Going back, a watchpoint shows the machine before the access: that is where it would stop.
      const before = hits.filter((h) => (h.reason === STOP_WATCH ? h.t - 1 : h.t) < here.t);
      if (before.length > 0) return this.stopAtHit(before[before.length - 1]!, true);
      upto = { seg: cp.seg, stop: { kind: 'boundary', t: cp.t } };
    }
    return this.toBeginning(cpu);
  }

  /** continue while showing the past: the next hit after here, else the live end. */
  forwardContinue(cpu: number): CpuStopEvent {
    const here = this.here(cpu);
    const cp = this.checkpointBefore(here.seg, here.stop.cpu, here.stop.icount);
    const hits: Hit[] = [];
    this.replay(cp, this.segments.length - 1, { kind: 'segment-end' }, hits);
    const after = hits.filter((h) => h.t > here.t);
    if (after.length > 0) return this.stopAtHit(after[0]!, false);
    this.goLive();
    return { kind: 'stopped', cpu, signal: SIGNAL.TRAP, reason: { type: 'replaylog', at: 'end' } };
  }

  /**
   * Shows the machine at a hit: a breakpoint before its instruction ran; a watchpoint, going back,
   * before the accessing instruction ran (gdb then shows the value it had), going forward after it.
   */
  private stopAtHit(h: Hit, backwards: boolean): CpuStopEvent {
    const icount = h.reason === STOP_WATCH && backwards ? h.icount - 1 : h.icount;
    const seg = this.segmentOf(h.cpu, icount);
    const reason: StopReason = h.reason === STOP_BREAK ? { type: 'swbreak' } : { type: WATCH_REASON[h.kind], addr: BigInt(h.addr) };
    if (seg < 0) return this.toBeginning(h.cpu);
    const cp = this.checkpointBefore(seg, h.cpu, icount);
    this.replay(cp, seg, { kind: 'retire', cpu: h.cpu, icount }, null);
    this.past = { seg, cpu: h.cpu, icount, t: this.m.instructions };
    return { kind: 'stopped', cpu: h.cpu, signal: SIGNAL.TRAP, reason };
  }

  // ---- replay -------------------------------------------------------------------------------------
  private restore(cp: Checkpoint): void {
    restoreMachine(this.m, cp.snap);
    this.m.debugStop = null;
    const dbg = this.host.vcpuDebug();
    dbg.forEach((d, k) => {
      d.skipRip = cp.skipRip[k]!; d.step = false; d.stopAt = NaN; d.observe = null; d.watchHit = false;
      d.rangeStart = d.rangeEnd = NaN; d.interrupted = false;
    });
    for (let k = 0; k < this.m.paused.length; k++) this.m.paused[k] = true;
  }

  private diverged(what: string): void {
    const msg = `replay diverged from the recording: ${what}`;
    this.divergences.push(msg);
    this.host.log(`osvemu: ${msg}`);
  }

  /**
   * Restores `cp` and re-runs history up to `stop` in segment `untilSeg`. With `hits`, breakpoint and
   * watchpoint hits are collected instead of stopping.
   */
  private replay(cp: Checkpoint, untilSeg: number, stop: Stop, hits: Hit[] | null, hintT?: number): void {
    const m = this.m;
    this.restore(cp);
    this.hostInput.replayFrom(cp.inputPos);
    this.replays++;
    const startT = m.instructions;
    const dbg = this.host.vcpuDebug();
    const observe = (k: number) => (reason: number, icount: number): void => {
      if (hits === null) return;
      const d = dbg[k]!;
      hits.push({ t: m.instructions - m.cpus[k]!.icount + icount, cpu: k, icount, reason, addr: d.hitAddr, kind: d.hitKind });
    };
    for (let seg = cp.seg; seg <= untilSeg && seg < this.segments.length; seg++) {
      const s = this.segments[seg]!;
      const c = s.config;
      for (let k = 0; k < m.cpus.length; k++) {
        const d = dbg[k]!;
        m.paused[k] = c.paused[k]!;
        d.step = c.step[k]!;
        d.stepIrq = c.stepIrq[k]!;
        d.rangeStart = c.rangeStart?.[k] ?? NaN;
        d.rangeEnd = c.rangeEnd?.[k] ?? NaN;
        if (seg !== cp.seg || cp.atStart) d.skipRip = c.skipRip[k]!;
        d.stopAt = NaN;
        d.observe = observe(k);
      }
      this.host.applyDebugMode();
      const last = seg === untilSeg;
      const end: Stop | SegmentEnd = last && stop.kind !== 'segment-end' ? stop : s.end!;
      if (end.kind === 'retire') dbg[end.cpu]!.stopAt = end.icount;
      if (!this.runSegment(seg, end, cp, last ? hintT : undefined)) break;
    }
    for (const d of dbg) { d.stopAt = NaN; d.observe = null; d.step = false; }
    for (let k = 0; k < m.paused.length; k++) m.paused[k] = true;
    this.host.applyDebugMode();
    this.replayedInsns += m.instructions - startT;
    // A replay to the end of history must arrive at the live state exactly.
    const e = this.end;
    if (e !== null && stop.kind === 'segment-end' && untilSeg >= this.segments.length - 1 && this.divergences.length === 0) {
      if (e.icounts.some((n, k) => n !== m.cpus[k]!.icount)) this.diverged('instruction counts at the end of the recording');
      else if (stateHash(m) !== e.hash) this.diverged('machine state at the end of the recording');
    }
  }

  /** Runs one segment of a replay to `end`; false (after reporting it) when history did not repeat. */
  private runSegment(seg: number, end: Stop | SegmentEnd, from: Checkpoint, hintT?: number): boolean {
    const m = this.m;
    const inputs = this.inputs.filter((e) => e.seg === seg);
    let nextInput = inputs.findIndex((e) => e.t >= m.instructions && !(seg === from.seg && e.t === from.t && !from.atStart));
    if (nextInput < 0) nextInput = inputs.length;
    const checks = this.checkpoints.filter((c) => c.seg === seg && !c.fine && c !== from && c.t > m.instructions);
    let lastFine = m.instructions;
    // A fine checkpoint at a quantum boundary safely before hintT (quanta are a few thousand instructions).
    const margin = 2 * (m.options.quantum ?? 2000) * m.cpus.length + 1000;
    let fineAt = hintT !== undefined && hintT - margin > m.instructions + margin &&
      !this.checkpoints.some((c) => c.seg === seg && c.t >= hintT - 3 * margin && c.t < hintT) ? hintT - margin : NaN;
    for (;;) {
      while (nextInput < inputs.length && inputs[nextInput]!.t <= m.instructions) inputs[nextInput++]!.apply();
      const check = checks.find((c) => c.t === m.instructions);
      if (check) {
        if (check.icounts.some((n, k) => n !== m.cpus[k]!.icount)) { this.diverged(`instruction counts at checkpoint ${check.t}`); return false; }
        if (stateHash(m) !== check.hash) { this.diverged(`machine state at checkpoint ${check.t}`); return false; }
      }
      if (end.kind === 'boundary' && m.instructions >= end.t) {
        if (m.instructions !== end.t) { this.diverged(`ran past instruction ${end.t}`); return false; }
        return true;
      }
      let budget = REPLAY_SLICE;
      if (end.kind === 'boundary') budget = Math.min(budget, end.t - m.instructions);
      const nextCheck = checks.find((c) => c.t > m.instructions);
      if (nextCheck) budget = Math.min(budget, nextCheck.t - m.instructions);
      if (fineAt > m.instructions) budget = Math.min(budget, fineAt - m.instructions);
      const r = m.slice(budget, this.hostInput.waitsForHost);
      if (r === null && m.idlePending && !this.hostInput.replayIdle()) {
        this.diverged(`the guest went idle at instruction ${m.instructions}, where the recording has no wait for the host`);
        return false;
      }
      if (r === null) {
        if (m.instructions >= fineAt) {
          fineAt = NaN;
          lastFine = m.instructions;
          this.checkpoint(seg, false, true);
        } else if (m.instructions - lastFine >= REPLAY_SLICE && this.maxFine > 0) {
          lastFine = m.instructions;
          this.checkpoint(seg, false, true);
        }
        continue;
      }
      const ds = m.debugStop;
      m.debugStop = null;
      if (ds !== null) {
        if (ds.reason === STOP_STEP && (end.kind === 'natural' || (end.kind === 'retire' && ds.cpu === end.cpu && m.cpus[ds.cpu]!.icount === end.icount))) {
          while (nextInput < inputs.length && inputs[nextInput]!.t <= m.instructions) inputs[nextInput++]!.apply();
          return true;
        }
        this.diverged(`unexpected stop on vCPU ${ds.cpu} at instruction ${m.cpus[ds.cpu]!.icount}`);
        return false;
      }
      if (m.state !== 'running') {
        if (end.kind === 'final') return true;
        this.diverged(`machine ended (${m.stateMessage}) before the recorded stop`);
        return false;
      }
      this.diverged('no vCPU could make progress');
      return false;
    }
  }

  /** `monitor record status` */
  status(): string {
    const cps = this.checkpoints.filter((c) => !c.fine).length;
    const bytes = this.checkpoints.reduce((n, c) => n + c.snap.ram.length, 0);
    return [
      `recording: ${this.segments.length} segment(s), ${cps} checkpoint(s) (+${this.checkpoints.length - cps} replay), ` +
        `${(bytes / 1048576).toFixed(1)} MiB of pages, ${this.inputs.length} console input(s), ${this.hostInput.count} network/idle event(s)` +
        `${this.hostInput.tapes.length > 0 ? `, ${this.hostInput.tapes.reduce((n, t) => n + t.draws, 0)} host entropy draw(s)` : ''}`,
      this.past ? `showing the past: vCPU ${this.past.cpu} at instruction ${this.past.icount} (machine total ${this.past.t})` : 'live',
      `${this.replays} replay(s), ${this.replayedInsns} instructions replayed`,
      this.divergences.length === 0 ? 'no divergence' : `DIVERGENCES:\n${this.divergences.join('\n')}`,
    ].join('\n');
  }
}
