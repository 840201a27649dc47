// OSv threads as gdb threads (the stub's ThreadProvider): thread id = sched::thread::_id, name =
// _attr._name, extra info = status, cpu and the function it waits in. A thread is on a vCPU when
// its TCB is that vCPU's FS_BASE, or, during the few instructions of switch_to between setting
// FS_BASE and loading the next stack, when the vCPU's RSP is inside its stack. A thread that is
// not on a vCPU shows its saved context: rsp, rbp, rip (and fs_base = its TCB); every other
// register is unavailable.
//
// Stepping thread T (stepi/step/next/finish/until, vCont;s and vCont;r) stops only once T itself
// executed: T's vCPU steps with interrupts enabled; when an interrupt or fault was delivered
// instead, the handler runs freely (an internal breakpoint waits for T to be back at the same rip
// and rsp, on whichever vCPU) and the instruction is stepped again; when T's instruction switched
// it out, the same kind of breakpoint waits at T's saved resume point. Other vCPUs keep running
// unless gdb left them out (scheduler-locking: then a single step also holds T's interrupts).
// Everything is decided from guest state, so the same gdb session replays the same stops.
//
// Loaded objects are gdb's link maps: lm = the elf::object's address, main-lm = the kernel's
// (elf::s_program->_core). A __thread variable of an application object lives in the thread's
// block sched::thread::_tls[object->_module_index]; the kernel's ends at the thread's TCB.
//
// Before the scheduler exists (thread map empty or unreadable) threads are vCPUs, exactly as the
// default provider (vcpu-threads.ts) numbers them.

import type { BreakpointType, CpuAction, CpuStopEvent, GdbTarget, ResumeOptions, StepRange, ThreadAction, ThreadId, ThreadInfo, ThreadProvider, ThreadStop } from '../gdbstub/target.js';
import { REG } from '../gdbstub/tdesc.js';
import { VcpuThreadProvider } from '../gdbstub/vcpu-threads.js';
import { PT_LOAD, type ElfFile } from '../machine/elf.js';
import type { DebugInfo } from './debug-info.js';
import { LayoutError, OsvKernel, type OsvObject, type OsvThread } from './kernel.js';
import { OSV_MONITOR_HELP, osvMonitor } from './monitor.js';
import { Roster, Snapshot, VCPU_TID_BASE, type SnapshotHost } from './thread-snapshot.js';

export { VCPU_TID_BASE };
const PT_TLS = 7;

export interface OsvThreadsOptions {
  target: GdbTarget;
  debug: DebugInfo;
  /** The kernel ELF (its PT_TLS gives the static TLS block size). */
  kernelElf?: ElfFile;
}

interface StepJob {
  thread: ThreadId;
  range?: StepRange;
  /** gdb resumed other threads too (scheduler-locking off). */
  others: boolean;
  /** vCPUs gdb let run. */
  cpus: number[];
  phase: 'step' | 'wait';
  cpu: number;
  rip0: number;
  rsp0: number;
  watch: { rip: number; rsp: number } | null;
  thenStep: boolean;
}

const scratch = new Uint8Array(8);

export class OsvThreadProvider implements ThreadProvider {
  readonly kernel: OsvKernel;
  readonly monitorHelp = OSV_MONITOR_HELP;
  readonly linuxAbi = true;
  /** What stepping had to run through: interrupts/faults handled, switches out waited for. */
  readonly stepStats = { interrupts: 0, switches: 0 };
  private readonly target: GdbTarget;
  private readonly vcpus: VcpuThreadProvider;
  private readonly kernelElf?: ElfFile;
  private snap: Snapshot | null = null;
  private job: StepJob | null = null;
  private stepIntoInterrupts = false;
  private readonly userBreaks = new Map<number, number>();
  private readonly userWatches: { addr: number; end: number }[] = [];
  private internalBreak: number | null = null;
  private libWatch: number | null = null;
  private readonly funcCache = new Map<number, string>();

  constructor(opts: OsvThreadsOptions) {
    this.target = opts.target;
    this.kernelElf = opts.kernelElf;
    this.vcpus = new VcpuThreadProvider(opts.target);
    this.kernel = new OsvKernel(opts.debug, (addr, len) => opts.target.readMemory(0, BigInt(addr), len));
    this.host = this.makeHost();
  }

  // ---- the thread list -----------------------------------------------------------------------------
  private reg(cpu: number, reg: number): number {
    if (!this.target.readRegister(cpu, reg, scratch)) return 0;
    const v = new DataView(scratch.buffer);
    return v.getUint32(4, true) * 4294967296 + v.getUint32(0, true);
  }

  private roster: Roster | null = null;
  private readonly host: SnapshotHost;

  private makeHost(): SnapshotHost {
    return {
      kernel: this.kernel,
      cpuCount: this.target.cpuCount,
      register: (cpu, reg) => this.reg(cpu, reg === 'rsp' ? REG.rsp : REG.fs_base),
      cpuState: (cpu) => this.target.cpuState?.(cpu),
      extraText: (t, c) => c !== undefined
        ? `running on vCPU ${c}, in ${this.functionName(this.reg(c, REG.rip))}`
        : `${t.status}${t.cpu >= 0 ? ` on cpu ${t.cpu}` : ''}, in ${this.waitingIn(t)}`,
      vcpuThreads: () => this.vcpus.threads(),
    };
  }

  /** Who runs where, taken once per stop; thread details are read as they are asked for. */
  snapshot(): Snapshot {
    if (this.snap !== null) return this.snap;
    this.kernel.invalidate();
    let roster: Roster | null = null;
    try {
      roster = Roster.read(this.kernel, this.roster);
    } catch (e) {
      if (!(e instanceof LayoutError)) throw e;
    }
    this.roster = roster;
    this.snap = new Snapshot(this.host, roster !== null && roster.list.length > 0 ? roster : null);
    return this.snap;
  }

  private functionName(addr: number): string {
    let name = this.funcCache.get(addr);
    if (name !== undefined) return name;
    if (!this.inKernelImage(addr)) {
      // Application code: the kernel's symbols know nothing there (gdb names it from the object's own).
      let obj;
      try {
        obj = this.kernel.objects().find((o) => addr >= o.base && addr < o.end);
      } catch {
        obj = undefined;
      }
      return obj !== undefined ? `${obj.path}+0x${(addr - obj.base).toString(16)}` : `0x${addr.toString(16)}`;
    }
    // Assembly entry points (thread_main) have no DWARF function: the ELF symbol then.
    name = this.kernel.debug.functionAt(addr)?.name ?? this.kernelElf?.symbolAt(addr)?.symbol.name ?? `0x${addr.toString(16)}`;
    this.funcCache.set(addr, name);
    return name;
  }

  private inKernelImage(addr: number): boolean {
    return this.kernelElf === undefined || this.kernelElf.inLoadedSpan(addr);
  }

  /** The first function on a waiting thread's stack that is not the switch path itself. */
  waitingIn(t: OsvThread): string {
    let rip = t.rip;
    let rbp = t.rbp;
    for (let depth = 0; depth < 8; depth++) {
      const name = this.functionName(rip);
      if (!/switch_to|schedule\b|::schedule|reschedule/.test(name)) return name;
      // Frames may continue on the thread's interrupt stack: follow any plausible frame pointer.
      if (rbp === 0 || rbp % 8 !== 0) return name;
      try {
        rip = this.kernel.ptr(rbp + 8);
        rbp = this.kernel.ptr(rbp);
      } catch {
        return name;
      }
    }
    return this.functionName(t.rip);
  }

  threads(): readonly ThreadInfo[] {
    return this.snapshot().infos;
  }

  /** The vCPU thread `id` is on, or -1 when it waits (or is unknown). */
  private cpuOfThread(snap: Snapshot, id: ThreadId): number {
    if (!snap.osv) return id >= 1 && id <= this.target.cpuCount ? id - 1 : -1;
    return snap.cpuOf.get(id) ?? -1;
  }

  readRegister(thread: ThreadId, reg: number, out: Uint8Array): boolean {
    const snap = this.snapshot();
    const c = this.cpuOfThread(snap, thread);
    if (c >= 0) return this.target.readRegister(c, reg, out);
    const t = snap.state(thread);
    if (t === undefined) return false;
    const v = reg === REG.rip ? t.rip : reg === REG.rsp ? t.rsp : reg === REG.rbp ? t.rbp : reg === REG.fs_base ? t.tcb : null;
    if (v === null) return false;
    const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
    view.setUint32(0, v >>> 0, true);
    view.setUint32(4, Math.floor(v / 4294967296), true);
    return true;
  }

  writeRegister(thread: ThreadId, reg: number, data: Uint8Array): boolean {
    const snap = this.snapshot();
    const c = this.cpuOfThread(snap, thread);
    if (c >= 0) return this.target.writeRegister(c, reg, data);
    const t = snap.state(thread);
    const path = reg === REG.rip ? '_state.rip' : reg === REG.rsp ? '_state.rsp' : reg === REG.rbp ? '_state.rbp' : null;
    if (t === undefined || path === null) return false;
    const ok = this.target.writeMemory(0, BigInt(t.addr + this.kernel.off('sched::thread', path)), data);
    this.snap = null;
    return ok;
  }

  memoryCpu(thread: ThreadId): number {
    return Math.max(0, this.cpuOfThread(this.snapshot(), thread));
  }

  // ---- running and stepping ---------------------------------------------------------------------------
  resume(actions: readonly ThreadAction[], options: ResumeOptions): void {
    const snap = this.snapshot();
    this.endJob();
    this.stepIntoInterrupts = options.stepIntoInterrupts;
    if (!snap.osv) {
      this.snap = null;
      this.vcpus.resume(actions, options);
      return;
    }
    const step = actions.find((a) => a.kind === 'step');
    const all = actions.length >= snap.count;
    // scheduler-locking: only the vCPUs of the listed threads run (a waiting thread's own cpu).
    const cpus = new Set<number>();
    for (let c = 0; c < this.target.cpuCount; c++) if (all) cpus.add(c);
    for (const a of all ? [] : actions) {
      const c = this.cpuOfThread(snap, a.thread);
      const home = c >= 0 ? -1 : snap.state(a.thread)?.cpu ?? -1;
      if (c >= 0) cpus.add(c);
      else if (home >= 0 && home < this.target.cpuCount) cpus.add(home);
    }
    if (step === undefined) {
      // A continue always runs every vCPU: a thread gdb lets run may migrate to any of them
      // (scheduler-locking freezes other vCPUs only while a thread steps).
      this.run(Array.from({ length: this.target.cpuCount }, (_, k) => k), options.stepIntoInterrupts);
      return;
    }
    this.job = {
      thread: step.thread, range: step.range, others: actions.some((a) => a.kind === 'continue'), cpus: [...cpus],
      phase: 'step', cpu: -1, rip0: 0, rsp0: 0, watch: null, thenStep: true,
    };
    const c = this.cpuOfThread(snap, step.thread);
    const t = c >= 0 ? undefined : snap.state(step.thread);
    if (c >= 0) this.stepOn(c);
    else if (t !== undefined) this.waitFor(t.rip, t.rsp, true);
    else this.run([...cpus], options.stepIntoInterrupts);
  }

  private run(cpus: number[], stepIntoInterrupts: boolean): void {
    this.snap = null;
    this.target.resume(cpus.map((cpu): CpuAction => ({ cpu, kind: 'continue', signal: 0 })), { stepIntoInterrupts });
  }

  /** Steps the job's thread, which is on vCPU c. */
  private stepOn(c: number): void {
    const job = this.job!;
    job.phase = 'step';
    job.cpu = c;
    job.rip0 = this.reg(c, REG.rip);
    job.rsp0 = this.reg(c, REG.rsp);
    const actions: CpuAction[] = [{ cpu: c, kind: 'step', signal: 0, range: job.range }];
    if (job.others) for (const k of job.cpus) if (k !== c) actions.push({ cpu: k, kind: 'continue', signal: 0 });
    this.snap = null;
    // Interrupts are let in: the stop then says one was taken, and it is run through unless the user
    // asked to step into handlers. With scheduler-locking (gdb resumed only this thread) a single
    // step holds them instead, as QEMU does: no preemption or wakeup IPI can switch the thread out
    // under the step; it still switches when it blocks itself. A range step always lets them in (a
    // long `next` must not freeze the guest's timers).
    const hold = !job.others && job.range === undefined && !this.stepIntoInterrupts;
    this.target.resume(actions, { stepIntoInterrupts: !hold, othersRunWhileStepping: job.others });
  }

  /** Runs until the job's thread is about to execute at rip with stack pointer rsp. */
  private waitFor(rip: number, rsp: number, thenStep: boolean): void {
    const job = this.job!;
    job.phase = 'wait';
    job.watch = { rip, rsp };
    job.thenStep = thenStep;
    this.setInternalBreak(rip);
    // A thread waiting for the others must be able to migrate: with scheduler-locking it is
    // resumed on the vCPUs gdb allowed plus its own cpu.
    const cpus = new Set(job.others ? Array.from({ length: this.target.cpuCount }, (_, k) => k) : job.cpus);
    const home = this.snapshot().state(job.thread)?.cpu ?? -1;
    if (home >= 0 && home < this.target.cpuCount) cpus.add(home);
    this.run([...cpus], false);
  }

  private setInternalBreak(addr: number | null): void {
    if (this.internalBreak === addr) return;
    if (this.internalBreak !== null) this.target.removeBreakpoint('hw', BigInt.asUintN(64, BigInt(this.internalBreak)), 1);
    this.internalBreak = addr;
    if (addr !== null) this.target.insertBreakpoint('hw', BigInt.asUintN(64, BigInt(addr)), 1);
  }

  private endJob(): void {
    this.job = null;
    this.setInternalBreak(null);
  }

  stopThread(ev: Extract<CpuStopEvent, { kind: 'stopped' }>): ThreadId | ThreadStop | null {
    this.snap = null;
    const snap = this.snapshot();
    if (!snap.osv) {
      this.endJob();
      return this.vcpus.stopThread(ev);
    }
    const here = snap.onCpu[ev.cpu] ?? snap.infos[0].id;
    const reason = ev.reason;
    if (reason?.type === 'watch' && this.libWatch !== null && this.isLibraryWatch(reason.addr)) {
      this.endJob();
      return { thread: here, reason: { type: 'library' } };
    }
    const job = this.job;
    if (job === null) return here;
    if (job.phase === 'step') {
      if (reason?.type === 'step' && ev.cpu === job.cpu) {
        if (reason.interrupted && !this.stepIntoInterrupts) {
          this.stepStats.interrupts++;
          this.waitFor(job.rip0, job.rsp0, true);
          return null;
        }
        if (here === job.thread) {
          this.endJob();
          return job.thread;
        }
        const t = snap.state(job.thread);
        if (t !== undefined && t.status !== 'terminated') {
          this.stepStats.switches++;
          this.waitFor(t.rip, t.rsp, false);
          return null;
        }
      }
      this.endJob();
      return here;
    }
    const w = job.watch!;
    if ((reason?.type === 'hwbreak' || reason?.type === 'swbreak') && this.reg(ev.cpu, REG.rip) === w.rip) {
      if (this.reg(ev.cpu, REG.rsp) === w.rsp) {
        if (job.thenStep) {
          this.setInternalBreak(null);
          this.stepOn(ev.cpu);
          return null;
        }
        this.endJob();
        return { thread: job.thread, reason: { type: 'step' } };
      }
      if (!this.userBreaks.has(w.rip)) {
        this.waitFor(w.rip, w.rsp, job.thenStep);
        return null;
      }
    }
    this.endJob();
    return here;
  }

  // ---- breakpoints gdb set ------------------------------------------------------------------------
  noteBreakpoint(type: BreakpointType, addr: bigint, length: number, inserted: boolean): void {
    const a = Number(BigInt.asIntN(64, addr));
    if (type === 'sw' || type === 'hw') {
      const n = (this.userBreaks.get(a) ?? 0) + (inserted ? 1 : -1);
      if (n > 0) this.userBreaks.set(a, n);
      else this.userBreaks.delete(a);
    } else if (inserted) {
      this.userWatches.push({ addr: a, end: a + length });
    } else {
      const i = this.userWatches.findIndex((w) => w.addr === a && w.end === a + length);
      if (i >= 0) this.userWatches.splice(i, 1);
    }
  }

  private isLibraryWatch(addr: bigint): boolean {
    const a = Number(addr);
    const lw = this.libWatch!;
    if (a < lw || a >= lw + 8) return false;
    return !this.userWatches.some((w) => a >= w.addr && a < w.end);
  }

  /** Drops what this provider put into the machine (gdb detached). */
  release(): void {
    this.endJob();
    if (this.libWatch !== null) this.target.removeBreakpoint('write', BigInt(this.libWatch), 8);
    this.libWatch = null;
  }

  // ---- thread-local storage and loaded objects ----------------------------------------------------------
  tlsAddress(thread: ThreadId, offset: bigint, lm: bigint): bigint | string {
    const snap = this.snapshot();
    const t = snap.state(thread);
    const c = this.cpuOfThread(snap, thread);
    // A thread's TCB; a vCPU not running a known thread: its FS_BASE.
    const tp = t !== undefined ? t.tcb : c >= 0 ? this.reg(c, REG.fs_base) : 0;
    if (tp === 0) return 'the thread has no TCB yet';
    // lm is what librariesSvr4 reported: an elf::object's address; the kernel's is main-lm (or 0).
    if (lm !== 0n && Number(lm) !== this.coreObject()) {
      let objects: OsvObject[];
      try {
        objects = this.kernel.objects();
      } catch (e) {
        if (!(e instanceof LayoutError)) throw e;
        return e.message;
      }
      const o = objects.find((x) => x.addr === Number(lm));
      if (o === undefined) return `no loaded object at lm 0x${lm.toString(16)}`;
      return this.objectTlsAddress(t, o.addr, offset);
    }
    const seg = this.kernelElf?.programHeaders.find((p) => p.type === PT_TLS);
    if (seg === undefined) return 'the kernel has no PT_TLS segment';
    const align = Math.max(1, Number(seg.align));
    const block = Math.ceil(Number(seg.memsz) / align) * align;
    // x86-64 TLS variant II: the kernel's block ends where the TCB (the thread pointer) begins.
    return BigInt(tp - block) + offset;
  }

  /** An application object's __thread variable: thread._tls[object._module_index] + offset, as OSv's get_tls. */
  private objectTlsAddress(t: OsvThread | undefined, object: number, offset: bigint): bigint | string {
    if (t === undefined) return 'not an OSv thread';
    try {
      const block = this.kernel.tlsBlock(t.addr, this.kernel.moduleIndex(object));
      if (block === 0) return `thread ${t.id} has not used this object's thread-local variables yet`;
      return BigInt(block) + offset;
    } catch (e) {
      if (e instanceof LayoutError) return e.message;
      throw e;
    }
  }

  librariesSvr4(): string | null {
    // Armed even while the list cannot be read yet (early boot): its first change is then reported.
    this.armLibraryWatch();
    let objects;
    try {
      objects = this.kernel.objects();
    } catch (e) {
      if (e instanceof LayoutError) return null;
      throw e;
    }
    const hex = (n: number) => `0x${n.toString(16)}`;
    const esc = (s: string) => s.replace(/[<>&"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
    const core = this.coreObject();
    const main = core !== 0 ? ` main-lm="${hex(core)}"` : '';
    // The kernel itself is not a library (gdb already has its symbols).
    const libs = objects.filter((o) => o.addr !== core).map((o) => `<library name="${esc(o.path)}" lm="${hex(o.addr)}" l_addr="${hex(o.base)}" l_ld="${hex(o.dynamic)}" lmid="0x0"/>`);
    return `<library-list-svr4 version="1.0"${main}>${libs.join('')}</library-list-svr4>`;
  }

  /**
   * The kernel's elf::object: elf::s_program->_core; without it (no such variable yet, an older
   * layout) the object whose base is where the kernel ELF is loaded.
   */
  private coreObject(): number {
    try {
      const core = this.kernel.coreObject();
      if (core !== 0) return core;
      const load = this.kernelElf?.programHeaders.filter((p) => p.type === PT_LOAD).map((p) => Number(p.vaddr));
      const base = load !== undefined && load.length > 0 ? Math.min(...load) : -1;
      return this.kernel.objects().find((o) => o.base === base)?.addr ?? 0;
    } catch (e) {
      if (e instanceof LayoutError) return 0;
      throw e;
    }
  }

  /** Once gdb follows the object list, a change to it stops the machine with a `library` stop. */
  private armLibraryWatch(): void {
    if (this.libWatch !== null) return;
    try {
      this.libWatch = this.kernel.objectListEndAddress();
    } catch {
      return;
    }
    this.target.insertBreakpoint('write', BigInt(this.libWatch), 8);
  }

  monitor(command: string, thread: ThreadId): string | undefined {
    return osvMonitor(this, command, thread);
  }

  /** For monitor commands: a register of a vCPU as a number. */
  vcpuRegister(cpu: number, reg: number): number {
    return this.reg(cpu, reg);
  }

  get machineTarget(): GdbTarget {
    return this.target;
  }
}
