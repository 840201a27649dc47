// The board as the gdb stub sees it (GdbTarget): vCPUs, registers, virtual memory, breakpoints and
// watchpoints kept outside the guest, and a run loop that runs the machine in slices and yields to the
// event loop between them, so gdb's Ctrl-C (and anything else on the sockets) gets through.
//
// Without breakpoints, watchpoints or a step pending the vCPUs run at full speed (Exec.debug null).
// Stepping one vCPU holds the others (they would otherwise run a whole quantum per instruction
// stepped), unless the stepped vCPU is halted: then everything gdb resumed runs until it wakes.
import { STOP_BREAK, STOP_STEP, STOP_WATCH } from '../cpu/exec.js';
import {
  SIGNAL, type BreakpointType, type CpuAction, type CpuStopEvent, type GdbTarget, type ResumeOptions, type StopListener,
} from '../gdbstub/target.js';
import { readVirtual, writeVirtual } from './debug-mem.js';
import { addrBig, addrNum, DebugPoints, VcpuDebug, type WatchKind } from './debug-points.js';
import { readCpuRegister, writeCpuRegister } from './debug-regs.js';
import { Machine, type RunResult } from './machine.js';
import { Recorder, type RecordOptions } from './reverse.js';
import { stateHash } from './snapshot-state.js';
import { detectAbort } from '../osv/abort.js';
import { snapshotMonitor } from './snapshot-monitor.js';

export interface MachineGdbTargetOptions {
  /** Instructions per slice between event-loop turns (Ctrl-C latency). */
  sliceInsns?: number;
  /**
   * Called once the machine has ended (powered off, killed, or stuck in a final state) and no
   * debugger is left to look at it.
   */
  onFinish?: (result: RunResult) => void;
  log?: (message: string) => void;
  /** Record for reverse execution (checkpoints every `interval` instructions). */
  record?: RecordOptions | boolean;
}

const DEFAULT_SLICE = 500_000;
const WATCH_KIND: Record<string, WatchKind> = { write: 'write', read: 'read', access: 'access' };
const WATCH_REASON = { write: 'watch', read: 'rwatch', access: 'awatch' } as const;

export class MachineGdbTarget implements GdbTarget {
  readonly machine: Machine;
  private readonly points = new DebugPoints();
  private dbg: VcpuDebug[] = [];
  private listener: StopListener | null = null;
  private running = false;
  private scheduled = false;
  private stepping = false;
  /** vCPU whose single step waits for the other resumed vCPUs' round (-1: none). */
  private lockstep = -1;
  private finished = false;
  /** A debugger has been attached since the machine got stuck (post-mortem inspection happened). */
  private inspected = false;
  private waitingLogged = false;
  private readonly sliceInsns: number;
  private readonly opts: MachineGdbTargetOptions;
  /** Non-null with --record: checkpoints, history segments and replays (reverse.ts). */
  recorder: Recorder | null = null;
  /** Recording: Ctrl-C is honoured between slices (a stop inside a quantum would change history). */
  private stopAtBoundary = false;

  constructor(machine: Machine, opts: MachineGdbTargetOptions = {}) {
    this.machine = machine;
    this.opts = opts;
    this.sliceInsns = opts.sliceInsns ?? DEFAULT_SLICE;
    this.attachVcpus();
    // Until resumed, every vCPU is held (so `-S` really stops before the first instruction).
    for (let k = 0; k < machine.paused.length; k++) machine.paused[k] = true;
    if (opts.record) this.startRecording();
  }

  private startRecording(): void {
    const m = this.machine;
    this.recorder = new Recorder({
      machine: m, vcpuDebug: () => this.dbg, applyDebugMode: () => this.applyDebugMode(), log: (msg) => this.opts.log?.(msg),
    }, typeof this.opts.record === 'object' ? this.opts.record : {});
    this.applyDebugMode();
    // Console input becomes part of the recording, replayed at the same instruction.
    const input = Machine.prototype.serialInput;
    m.serialInput = (bytes: Uint8Array) => {
      const copy = Uint8Array.from(bytes);
      if (this.recorder) this.recorder.input(() => input.call(m, copy));
      else input.call(m, copy);
    };
  }

  canReverse(): boolean {
    return this.recorder !== null;
  }

  reverse(kind: 'step' | 'continue', cpu: number): void {
    const rec = this.recorder;
    if (rec === null) return;
    this.running = true;
    setImmediate(() => this.report(kind === 'step' ? rec.reverseStep(cpu) : rec.reverseContinue(cpu)));
  }

  get cpuCount(): number {
    return this.machine.cpus.length;
  }

  // ---- registers and memory --------------------------------------------------------------------
  readRegister(cpu: number, reg: number, out: Uint8Array): boolean {
    const c = this.machine.cpus[cpu];
    return c !== undefined && readCpuRegister(c, reg, out);
  }

  writeRegister(cpu: number, reg: number, data: Uint8Array): boolean {
    const c = this.machine.cpus[cpu];
    if (c === undefined || !writeCpuRegister(c, reg, data)) return false;
    // IF or TPR may have opened a window for a pending interrupt: have the run loop look again.
    this.machine.execs[cpu].eventPending = true;
    return true;
  }

  readMemory(cpu: number, addr: bigint, length: number): Uint8Array | null {
    const c = this.machine.cpus[cpu];
    return c === undefined ? null : readVirtual(c, addrNum(addr), length);
  }

  writeMemory(cpu: number, addr: bigint, data: Uint8Array): boolean {
    const c = this.machine.cpus[cpu];
    return c !== undefined && writeVirtual(c, addrNum(addr), data);
  }

  readPhysical(addr: bigint, length: number): Uint8Array | null {
    const mem = this.machine.mem;
    if (addr < 0n || addr > BigInt(Number.MAX_SAFE_INTEGER)) return null;
    const a = Number(addr);
    return mem.isRam(a, length) ? mem.readBytes(a, length) : null;
  }

  // ---- breakpoints and watchpoints -----------------------------------------------------------------
  insertBreakpoint(type: BreakpointType, addr: bigint, length: number): boolean {
    if (type === 'sw' || type === 'hw') {
      this.points.insertBreak(type === 'hw', addrNum(addr));
    } else {
      if (!this.points.insertWatch(WATCH_KIND[type], addrNum(addr), length)) return false;
      // Watched pages must leave every TLB so their accesses reach the MMU's slow path.
      for (const c of this.machine.cpus) c.mmu.flush();
    }
    this.applyDebugMode();
    return true;
  }

  removeBreakpoint(type: BreakpointType, addr: bigint, length: number): boolean {
    const ok = type === 'sw' || type === 'hw'
      ? this.points.removeBreak(type === 'hw', addrNum(addr))
      : this.points.removeWatch(WATCH_KIND[type], addrNum(addr), length);
    this.applyDebugMode();
    return ok;
  }

  // ---- execution -----------------------------------------------------------------------------------
  resume(actions: readonly CpuAction[], options: ResumeOptions): void {
    const m = this.machine;
    m.debugStop = null;
    for (let k = 0; k < m.paused.length; k++) {
      m.paused[k] = true;
      const d = this.dbg[k];
      d.step = false;
      d.skipRip = NaN;
      d.watchHit = false;
      d.rangeStart = d.rangeEnd = NaN;
      d.interrupted = false;
    }
    const stepper = actions.find((a) => a.kind === 'step');
    const rec = this.recorder;
    if (rec !== null && !rec.live) {
      // Showing the past: forward execution replays the recording up to its end.
      const cpu = stepper?.cpu ?? actions[0]?.cpu ?? 0;
      this.running = true;
      setImmediate(() => this.report(stepper ? rec.forwardStep(cpu) : rec.forwardContinue(cpu)));
      return;
    }
    const live = stepper !== undefined && !m.cpus[stepper.cpu].halted;
    // Recording replays history through plain slices: stepping holds the other vCPUs then.
    const solo = live && (!options.othersRunWhileStepping || rec !== null);
    // A single step with the others running: they get one round before each stepped instruction.
    this.lockstep = live && !solo && options.othersRunWhileStepping && stepper.range === undefined ? stepper.cpu : -1;
    for (const a of actions) {
      if (a.cpu < 0 || a.cpu >= m.cpus.length || (solo && a.cpu !== stepper.cpu)) continue;
      m.paused[a.cpu] = false;
      const d = this.dbg[a.cpu];
      d.skipRip = m.cpus[a.cpu].rip;
      if (a.kind === 'step') {
        d.step = true;
        d.stepIrq = options.stepIntoInterrupts;
        if (a.range !== undefined) {
          d.rangeStart = addrNum(a.range.start);
          d.rangeEnd = addrNum(a.range.end);
        }
      }
    }
    this.stepping = stepper !== undefined;
    this.applyDebugMode();
    rec?.noteResume({
      paused: [...m.paused], step: this.dbg.map((d) => d.step), stepIrq: this.dbg.map((d) => d.stepIrq), skipRip: this.dbg.map((d) => d.skipRip),
      rangeStart: this.dbg.map((d) => d.rangeStart), rangeEnd: this.dbg.map((d) => d.rangeEnd),
    });
    this.running = true;
    this.schedule();
  }

  interrupt(): void {
    if (!this.running) return;
    if (this.recorder) this.stopAtBoundary = true;
    else this.machine.requestStop();
  }

  isRunning(): boolean {
    return this.running;
  }

  setStopListener(listener: StopListener | null): void {
    this.listener = listener;
    // A debugger that leaves while the guest still runs has not seen whatever stops it later.
    this.inspected = listener !== null || this.machine.state !== 'running';
    if (listener === null && !this.running) this.finishIfDone();
  }

  /** Power-on reset; the machine stays stopped (gdb resumes it) and keeps the debugger's breakpoints. */
  reset(): void {
    const m = this.machine;
    m.reset();
    this.finished = false;
    this.attachVcpus();
    for (let k = 0; k < m.paused.length; k++) m.paused[k] = true;
    // History before a reset is not replayable into the new vCPU objects: recording starts again.
    if (this.recorder) this.startRecording();
  }

  kill(): void {
    this.running = false;
    this.machine.terminate('killed by gdb');
    this.finishIfDone();
  }

  instructionCount(): bigint {
    return BigInt(this.machine.instructions);
  }

  cpuState(cpu: number): string {
    return this.machine.cpus[cpu]?.halted ? 'halted' : 'running';
  }

  initialStop(): Extract<CpuStopEvent, { kind: 'stopped' }> | null {
    if (this.machine.state === 'running') return null;
    const ev = this.finalEvent();
    return ev.kind === 'stopped' ? ev : null;
  }

  monitor(command: string): string | undefined {
    const snap = snapshotMonitor(this.machine, command);
    if (snap !== undefined) return snap;
    if (command === 'state-hash') return `state hash ${stateHash(this.machine)} at ${this.machine.instructions} instructions`;
    if (command === 'record status') return this.recorder?.status() ?? 'not recording (start osvemu with --record)';
    if (command === 'info machine') {
      const m = this.machine;
      return `state ${m.state}${m.stateMessage ? ` (${m.stateMessage})` : ''}, ${m.cpus.length} vCPU(s), ` +
        `${m.mem.ramSize / 2 ** 20} MiB, ${m.instructions} instructions, ${m.nowNs()} ns virtual time`;
    }
    return undefined;
  }

  // ---- internals ------------------------------------------------------------------------------------
  /** (Re)creates the per-vCPU debug state; the machine makes new Cpu/Exec objects on reset. */
  private attachVcpus(): void {
    this.dbg = this.machine.cpus.map(() => new VcpuDebug(this.points));
    this.applyDebugMode();
  }

  /** Debug mode only while something needs the checks; otherwise the vCPUs run the plain loop. */
  private applyDebugMode(): void {
    const m = this.machine;
    const on = !this.points.empty || this.stepping || this.recorder !== null;
    const watching = this.points.watches.length > 0;
    for (let k = 0; k < m.cpus.length; k++) {
      m.execs[k].debug = on ? this.dbg[k] : null;
      m.cpus[k].mmu.watch = watching ? this.dbg[k] : null;
    }
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.runSlice();
    });
  }

  private runSlice(): void {
    if (!this.running) return;
    const m = this.machine;
    if (this.lockstep >= 0) {
      const c = this.lockstep;
      this.lockstep = -1;
      const others: number[] = [];
      for (let k = 0; k < m.cpus.length; k++) {
        if (k !== c && !m.paused[k] && (!m.cpus[k].halted || m.execs[k].eventPending)) others.push(k);
      }
      for (const k of m.paused.keys()) if (k !== c && !others.includes(k)) m.paused[k] = true;
      if (others.length > 0) {
        m.paused[c] = true;
        const reported = this.sliceAndReport(1);
        m.paused[c] = false;
        for (const k of others) m.paused[k] = true;
        if (reported) return;
      }
    }
    if (this.sliceAndReport(this.sliceInsns)) return;
    // Every vCPU idles waiting for the network: wait for host input (or the next timer) in wall time.
    if (this.machine.idlePending) void this.machine.waitIdle().then(() => this.schedule());
    else this.schedule();
  }

  /** Runs one slice; true when it ended in a stop that was reported. */
  private sliceAndReport(budget: number): boolean {
    const m = this.machine;
    let r: RunResult | null;
    try {
      r = m.slice(budget, true);
    } catch (e) {
      // A bug in the emulator, not the guest: say so and leave the state inspectable.
      this.opts.log?.(`osvemu: internal error while running: ${(e as Error).message.split('\n')[0]}`);
      this.report({ kind: 'stopped', cpu: m.currentCpu, signal: SIGNAL.ILL });
      return true;
    }
    if (r === null) {
      this.recorder?.afterSlice();
      if (!this.stopAtBoundary) return false;
      this.stopAtBoundary = false;
      this.recorder?.noteStop('boundary', 0);
      this.report({ kind: 'stopped', cpu: this.firstRunning(), signal: SIGNAL.INT, reason: { type: 'interrupt' } });
      return true;
    }
    const ds = m.debugStop;
    m.debugStop = null;
    this.recorder?.noteStop(ds !== null ? ds.reason : m.state === 'running' ? 'boundary' : 'final', ds?.cpu ?? 0);
    if (ds !== null) {
      const d = this.dbg[ds.cpu];
      if (ds.reason === STOP_BREAK) {
        const rip = m.cpus[ds.cpu].rip;
        this.report({ kind: 'stopped', cpu: ds.cpu, signal: SIGNAL.TRAP, reason: { type: this.points.breakKind(rip) } });
      } else if (ds.reason === STOP_WATCH) {
        const type = WATCH_REASON[d.hitKind];
        this.report({ kind: 'stopped', cpu: ds.cpu, signal: SIGNAL.TRAP, reason: { type, addr: addrBig(d.hitAddr) } });
      } else if (ds.reason === STOP_STEP) {
        const reason = d.interrupted ? { type: 'step' as const, interrupted: true } : { type: 'step' as const };
        this.report({ kind: 'stopped', cpu: ds.cpu, signal: SIGNAL.TRAP, reason });
      }
      return true;
    }
    if (m.state === 'running') {
      // Ctrl-C, or nothing the debugger let run can make progress.
      this.report({ kind: 'stopped', cpu: this.firstRunning(), signal: SIGNAL.INT, reason: { type: 'interrupt' } });
      return true;
    }
    this.report(this.finalEvent());
    return true;
  }

  /** How a machine that cannot go on is reported: exits as exits, stuck states as a stop to look at. */
  private finalEvent(): CpuStopEvent {
    const m = this.machine;
    switch (m.state) {
      case 'poweroff':
      case 'debug-exit':
      case 'reset':
        return { kind: 'exited', status: m.exitStatus };
      case 'stopped':
        return { kind: 'terminated', signal: SIGNAL.KILL };
      case 'unimplemented':
        return { kind: 'stopped', cpu: m.currentCpu, signal: SIGNAL.ILL };
      case 'triple-fault':
        return { kind: 'stopped', cpu: detectAbort(m)?.cpu ?? m.currentCpu, signal: SIGNAL.SEGV };
      default: { // halted for good: an OSv abort selects the aborting vCPU, so `bt` is the abort's
        const a = detectAbort(m);
        return a ? { kind: 'stopped', cpu: a.cpu, signal: SIGNAL.ABRT } : { kind: 'stopped', cpu: m.currentCpu, signal: SIGNAL.TRAP };
      }
    }
  }

  private firstRunning(): number {
    const i = this.machine.paused.indexOf(false);
    return i < 0 ? 0 : i;
  }

  private report(ev: CpuStopEvent): void {
    this.running = false;
    this.stepping = false;
    for (const d of this.dbg) d.step = false;
    this.applyDebugMode();
    const listener = this.listener;
    if (listener !== null) listener(ev);
    if (this.listener === null && !this.running) this.finishIfDone();
  }

  /** With nobody to show it to, a machine that cannot go on has finished. */
  private finishIfDone(): void {
    const m = this.machine;
    if (this.finished || m.state === 'running' || this.listener !== null) return;
    // As with QEMU's stub, a guest that got stuck (abort, triple fault, unimplemented instruction) stays
    // inspectable: the run ends only after a debugger has attached and left.
    const stuck = m.state === 'halted' || m.state === 'triple-fault' || m.state === 'unimplemented';
    if (stuck && !this.inspected) {
      if (!this.waitingLogged) {
        this.waitingLogged = true;
        this.opts.log?.(`osvemu: ${m.stateMessage}; waiting for gdb to inspect it (Ctrl-C to quit)`);
      }
      return;
    }
    this.finished = true;
    this.opts.onFinish?.({ cause: 'stopped', message: m.stateMessage, instructions: m.instructions, virtualNs: m.nowNs() });
  }
}
