// The run loop: find the trace at CS:RIP (through the fetch shortcut and the physical-address cache),
// run its handlers back to back, count retired instructions per trace, and turn thrown guest exceptions
// into delivery. Interrupts and other events are looked at only between traces.
import { CodeCache, MAX_TRACE, NEVER_RUNS, Trace } from './codecache.js';
import type { Cpu } from './cpu.js';
import { Decoder, INSN_TOO_LONG, NEED_MORE_BYTES } from './decoder.js';
import { CPU_FAULT, CPU_TRAP, raise, Unimplemented } from './exceptions.js';
import { Insn } from './insn.js';
import { opUD } from './ops/invalid.js';
import { stackSegmentFault } from './operands.js';
import { Lf } from './flags.js';
import { Fl, Seg, VEC_DB, VEC_GP } from './regs.js';
import type { Jit } from './jit/jit.js';
import { chainFrom, linkedAt, samePage } from './jit/chain.js';
import { doubleFields, mutableFlags } from './shapes.js';

export const STOP_NONE = 0;
/** The instruction budget ran out. */
export const STOP_BUDGET = 1;
/** The vCPU halted with nothing to wake it. */
export const STOP_HALT = 2;
/** An exception was handed to a stopping hook (test harness, triple fault). */
export const STOP_FAULT = 3;
/** Something outside asked the vCPU to stop (debugger, power-off, device). */
export const STOP_REQUEST = 4;
/** Debug mode: RIP reached a breakpoint (the instruction there has not run). */
export const STOP_BREAK = 5;
/** Debug mode: the last instruction accessed a watched address (it completed). */
export const STOP_WATCH = 6;
/** Debug mode: the single step asked for is done. */
export const STOP_STEP = 7;

/**
 * What the run loop consults while a debugger is attached (Exec.debug). Breakpoints live here, not in
 * guest memory, so they work before the code is loaded, in any mode and on any page.
 */
export interface ExecDebug {
  /** Breakpoint addresses as cpu.rip holds them (64-bit addresses are signed numbers). */
  readonly breaks: ReadonlySet<number>;
  /** Run one instruction, then stop with STOP_STEP (cleared when the step is done). */
  step: boolean;
  /** While stepping, take pending interrupts: the step then ends on the handler's first instruction. */
  stepIrq: boolean;
  /** RIP whose breakpoint is not checked before the first instruction after a resume (x86 RF); NaN: none. */
  skipRip: number;
  /** Set by the MMU's watch hook when an access touched a watched range. */
  watchHit: boolean;
  /** Stop (STOP_STEP) right after the instruction that brings icount to this value (replays); NaN or absent: never. */
  stopAt?: number;
  /**
   * When set, breakpoint and watchpoint hits are reported here (with the icount of the stop they would
   * have made) and execution goes on: replays search history without changing it.
   */
  observe?: ((reason: number, icount: number) => void) | null;
  /**
   * Range stepping (gdb's vCont;r): while stepping, the step goes on as long as RIP stays in
   * [rangeStart, rangeEnd); NaN bounds (or an empty range) make it a single step.
   */
  rangeStart: number;
  rangeEnd: number;
  /**
   * Set when a step ended because an interrupt or fault was delivered instead of the instruction
   * completing (RIP is then the handler's first instruction; the interrupted instruction will run
   * again after the handler returns). Cleared by whoever starts the step.
   */
  interrupted: boolean;
}

/** run()'s note that fetching the next trace faulted (the exception is recorded in cpu). */
const FETCH_FAULT = Object.freeze({ fetchFault: true });

// jumpTrace()'s cache size. tst-eventfd's 15.6 K traces missed a 1,024-entry cache at 21% of the 14.8 M jumps its
// first 400 M instructions make (a trace link names only the last successor), each miss two map lookups; at
// 16 K entries 4%: CPU for 300 M instructions 11.25 -> 10.75 s (median of 3 alternating).
const enum Jump { BITS = 14, SIZE = 16384, MASK = 16383, OFF_STEP = 281474976710656, OFF_MAX = 8725724278030336, LIN_LIMIT = 140737488355328 }

const decoder = new Decoder();
const crossBuf = new Uint8Array(32);

/** Per-vCPU execution context: the fetch shortcut and what to do on exceptions and events. */
export class Exec {
  readonly cpu: Cpu;
  readonly cache: CodeCache;
  private fetchTraces: Map<number, Trace> = new Map();
  private fetchGen = -1;
  private fetchMode = 0;
  private fetchIsRam = false;
  stopReason = STOP_NONE;
  /**
   * Called with the exception recorded in cpu.excVector/excError/excAddr and RIP at the faulting
   * instruction (or after a trap). Delivers it (system mode) or sets stopReason (tests).
   */
  onException: (cpu: Cpu) => void = () => { this.stopReason = STOP_FAULT; };
  /** Set by devices and IPIs; the loop calls onEvent between traces while it is true. */
  eventPending = false;
  onEvent: (cpu: Cpu) => void = () => { this.eventPending = false; };
  /** Non-null while a debugger is attached: run() then takes the checked loop (runDebug). */
  debug: ExecDebug | null = null;
  /** The block compiler (null: interpret only). Debug mode always interprets. */
  jit: Jit | null = null;
  /** Index in its trace of the instruction a compiled block was running when it threw, and that instruction. */
  jitK = 0;
  jitI: Insn | null = null;
  /**
   * Delivered faults so far, each of which cut one instruction off its run()'s budget: a caller that splits
   * one budget over several run() calls (src/cpu/loop-skip.ts) cuts its own end by the same amount.
   */
  budgetCuts = 0;
  /** run()'s budget end as between() left it. */
  private runEnd = 0;
  /** Linear address of the trace that ran last, and the MMU epoch of the last trace lookup (chain.ts linkedAt). */
  lastLin = 0;
  fetchEpoch = -1;
  /** jumpTrace()'s cache: linear address tags (NaN: empty), their traces, and the state they are valid in. */
  private readonly jumpTag = new Float64Array(Jump.SIZE).fill(NaN);
  private readonly jumpTo: (Trace | null)[] = new Array<Trace | null>(Jump.SIZE).fill(null);
  private jumpGen = -1;
  private jumpEpoch = -1;
  private jumpMode = 0;
  /** Added to a linear address to make its jumpTrace() tag: a multiple of 2^48 that changes at each invalidation. */
  private jumpOff = 0;

  constructor(cpu: Cpu, cache: CodeCache) {
    this.cpu = cpu;
    this.cache = cache;
    mutableFlags(this, 'eventPending');
    doubleFields(this, 'runEnd', 'lastLin', 'crossPhys', 'jumpOff');
    // A page that (again) holds decoded code must lose this vCPU's write shortcuts to it, so that the next
    // write takes the slow path and drops the stale decodes (self- and cross-modifying code).
    const mem = cache.mem, prev = mem.onCodePageAdded;
    mem.onCodePageAdded = (ppn) => { prev(ppn); cpu.mmu.dropWritesTo(ppn * 4096); };
  }

  /** Runs up to about `budget` instructions (whole traces); returns the stop reason. */
  run(budget: number): number {
    if (this.debug !== null) return this.runDebug(budget, this.debug);
    const cpu = this.cpu;
    // Delivered exceptions use up budget too, so that a guest stuck re-faulting at one RIP (a handler on an
    // unmapped page with an IST stack never runs out of stack) cannot keep run() from returning.
    this.runEnd = cpu.icount + budget;
    let end = 0;
    const mmu = cpu.mmu;
    const lf = cpu.lf;
    /** The trace that just ran completely, whose link may name the next one. */
    let prev: Trace | null = null;
    // A fault (or a fetch fault, FETCH_FAULT) the last trace ended with: run() only notes it; between() settles it.
    // The catch clauses below only copy locals: the first guest fault reaches them after V8 has optimised this loop, and
    // a property load or a sum there had no type feedback ("insufficient type feedback", a deopt of run() per cold
    // boot). between() reads the instruction's fields.
    let faulted = false, thrown: unknown = null, thrownT: Trace | null = null, thrownI: Insn | null = null, thrownRip0 = 0;
    this.stopReason = STOP_NONE;
    let enter = true;
    for (;;) {
      // Events, interrupt shadows, halts, TF, faults and the budget's end are all handled out of line, through
      // the one call that every run() makes on entry: V8 then has its type feedback before optimising run(),
      // which a path first taken later would deoptimise (a cold boot recompiled run() 7-8 times).
      if (enter || faulted || this.stopReason !== STOP_NONE || cpu.intShadow || this.eventPending || cpu.halted ||
          cpu.icount >= end || (lf[Lf.REST] & Fl.TF) !== 0) {
        if (faulted || (lf[Lf.REST] & Fl.TF) !== 0) prev = null;
        const stop = this.between(faulted ? thrown : null, thrownT, thrownI, thrownRip0);
        enter = false; faulted = false; thrown = null; thrownT = null; thrownI = null;
        if (stop) break;
        end = this.runEnd;
      }
      const cache = this.cache, gen = cache.gen;
      const lin = cpu.segBase[Seg.CS] + cpu.rip;
      let t: Trace | null;
      if (prev !== null && prev.nextGen === gen && prev.nextSpace === mmu.space && prev.nextMode === cpu.mode &&
          (t = linkedAt(prev, lin, this.lastLin, mmu.epoch, this.fetchEpoch)) !== null) {
        if (t !== prev.next && prev.relinks < NEVER_RUNS) prev.relinks++;
      } else {
        t = this.jumpTrace(lin, gen);
        if (t === null) {
          faulted = true; thrown = FETCH_FAULT;
          prev = null;
          continue;
        }
        this.fetchEpoch = mmu.epoch;
        if (prev !== null && t.cached) {
          // The link it replaces stays as the second one (Trace.alt) while both are made under the same conditions.
          const kept = prev.nextGen === gen && prev.nextEpoch === mmu.epoch && prev.nextSpace === mmu.space && prev.nextMode === cpu.mode;
          const old: Trace | null = prev.next;
          if (old !== t) {
            if (prev.relinks < NEVER_RUNS) prev.relinks++;
            if (kept && old !== null) { prev.alt = old; prev.altLin = prev.nextLin; prev.altSame = prev.nextSame; }
            else { prev.alt = null; prev.altLin = NaN; }
          } else if (!kept) { prev.alt = null; prev.altLin = NaN; }
          prev.next = t; prev.nextLin = lin; prev.nextGen = gen; prev.nextEpoch = mmu.epoch;
          prev.nextSpace = mmu.space; prev.nextMode = cpu.mode;
          // Not to a page-crossing instruction: its second page must be looked up again after a flush.
          prev.nextSame = t.phys2 < 0 && samePage(this.lastLin, lin);
        }
      }
      this.lastLin = lin;
      const jit = this.jit;
      if (jit !== null && t!.fn === null && t!.cached) {
        if (++t!.hits >= jit.threshold) jit.compile(t!, this);
        // First run: code another machine of this process compiled (the test runner's next boot) runs compiled now.
        else if (t!.hits === 1) jit.adopt(t!, cpu.mem, this);
      }
      let fn = t!.fn;
      if (fn !== null) {
        if (++t!.hits >= t!.regionAt && jit !== null) { jit.regionDue(t!, this); fn = t!.fn!; }
        try {
          prev = chainFrom(this, fn(cpu, this, end) ?? t!, end);
        } catch (e) {
          prev = null;
          faulted = true; thrown = e; thrownT = t; thrownI = null; // null: the compiled block says where (jitI, jitK)
        }
        continue;
      }
      // RIP is stored only before handlers that read it (Insn.sync) and once after the trace, from the trace's
      // start and the instruction's end offset; a throw settles it below as if it had been stored all along.
      const rip0 = cpu.rip;
      let i: Insn = t!.first;
      try {
        for (;;) {
          if (i.sync) cpu.rip = rip0 + i.end;
          i.h(cpu, i);
          const nx = i.next;
          // A write dropped decoded code (maybe this trace's own page): continue from fresh decodes.
          if (nx === null || cache.gen !== gen) break;
          i = nx;
        }
        // Only a trace's last instruction transfers control, and then it has set RIP itself. The sum is made either
        // way: made only for the rare trace cut short, it had no type feedback when V8 first optimised this loop.
        const after = rip0 + i.end;
        if (!i.ends) cpu.rip = after;
        cpu.icount += i.idx + 1;
        prev = t!.cached ? t : null;
      } catch (e) {
        prev = null;
        faulted = true; thrown = e; thrownT = t; thrownI = i; thrownRip0 = rip0;
      }
    }
    return this.stopReason;
  }

  /**
   * run()'s out-of-line part, entered when something other than the next trace is due: settles the fault the
   * last trace ended with (`thrown`, thrown by instruction i of trace t, which started at rip0; i null: by t's
   * compiled block; FETCH_FAULT: fetching the trace faulted), then takes events, interrupt shadows, halts and TF as
   * the loop's head always did. Returns true when run() must stop (stopReason says why). The budget's end lives in
   * runEnd, cut by one per delivered fault.
   */
  private between(thrown: unknown, t: Trace | null, i: Insn | null, rip0: number): boolean {
    const cpu = this.cpu;
    let end = this.runEnd;
    if (thrown !== null) {
      let fault: boolean;
      if (thrown === FETCH_FAULT) fault = true;
      else if (i === null) fault = this.settleThrow(thrown, this.jitI ?? t!.insns[this.jitK], this.jitK);
      else {
        // RIP as if it had been stored all along (the run loop stores it only before handlers that read it).
        if (!i.sync) cpu.rip = rip0 + i.end;
        fault = this.settleThrow(thrown, i, i.idx);
      }
      if (fault) { end--; this.budgetCuts++; }
      this.onException(cpu);
    }
    while (this.stopReason === STOP_NONE) {
      // After sti / mov ss exactly one more instruction runs before a pending event is looked at (sti; hlt).
      if (cpu.intShadow) {
        cpu.intShadow = false;
        if (this.eventPending && !cpu.halted) {
          this.step();
          continue;
        }
      } else if (this.eventPending) {
        this.onEvent(cpu);
        if (this.stopReason !== STOP_NONE) break;
      }
      if (cpu.halted) { this.stopReason = STOP_HALT; break; }
      if (cpu.icount >= end) { this.stopReason = STOP_BUDGET; break; }
      if (cpu.lf[Lf.REST] & Fl.TF) { this.singleStepTrap(); continue; }
      this.runEnd = end;
      return false;
    }
    return true;
  }

  /** The trace run() would run next at CS:RIP (decoded and cached as run() would), or null when fetching it faults. */
  peekTrace(): Trace | null {
    return this.fetchTrace();
  }

  /**
   * run() with a debugger attached: the same trace loop, with a breakpoint check before and a
   * watchpoint / single-step check after every instruction. Kept apart so run() pays nothing for it.
   */
  private runDebug(budget: number, dbg: ExecDebug): number {
    const cpu = this.cpu;
    const end = cpu.icount + budget;
    const breaks = dbg.breaks;
    const stopAt = dbg.stopAt ?? NaN;
    const observe = dbg.observe ?? null;
    this.stopReason = STOP_NONE;
    dbg.watchHit = false;
    while (this.stopReason === STOP_NONE) {
      if (cpu.intShadow) cpu.intShadow = false;
      // A step keeps interrupts pending unless asked (as QEMU); a halted vCPU can only wake through one.
      else if (this.eventPending && (!dbg.step || dbg.stepIrq || cpu.halted)) {
        const rip = cpu.rip, halted = cpu.halted;
        this.onEvent(cpu);
        if (this.stopReason !== STOP_NONE) break;
        if (dbg.step && (cpu.rip !== rip || (halted && !cpu.halted))) {
          if (!halted) dbg.interrupted = true;
          this.endStep(dbg);
          break;
        }
      }
      if (cpu.halted) { this.stopReason = STOP_HALT; break; }
      // A single step always completes; a range step may run long and yields like a continue.
      if (cpu.icount >= end && (!dbg.step || dbg.rangeEnd > dbg.rangeStart)) { this.stopReason = STOP_BUDGET; break; }
      const t = this.fetchTrace();
      if (t === null) {
        dbg.skipRip = NaN;
        this.onException(cpu);
        if (dbg.step && this.stopReason === STOP_NONE) {
          dbg.interrupted = true;
          this.endStep(dbg);
        }
        continue;
      }
      const ins = t.insns, n = t.n;
      const cache = this.cache, gen = cache.gen;
      let k = 0;
      try {
        for (; k < n; k++) {
          const rip = cpu.rip;
          // Observing (a replay's search), arriving at a breakpoint counts even where a resume started.
          if (breaks.size !== 0 && breaks.has(rip) && (rip !== dbg.skipRip || observe !== null)) {
            if (observe === null) { this.stopReason = STOP_BREAK; break; }
            observe(STOP_BREAK, cpu.icount + k);
          }
          dbg.skipRip = NaN;
          const i = ins[k];
          cpu.rip += i.len;
          i.h(cpu, i);
          if (dbg.watchHit) {
            if (observe === null) { k++; this.stopReason = STOP_WATCH; dbg.step = false; break; }
            dbg.watchHit = false;
            observe(STOP_WATCH, cpu.icount + k + 1);
          }
          if (cpu.icount + k + 1 === stopAt) { k++; this.stopReason = STOP_STEP; break; }
          if (dbg.step) {
            const r = cpu.rip;
            // Still inside the range: keep stepping (only a trace's last instruction branches). The loop's
            // own k++ counts this instruction when it goes on; the breaks count it themselves.
            if (!(r >= dbg.rangeStart && r < dbg.rangeEnd)) { k++; this.endStep(dbg); break; }
            if (cache.gen !== gen) { k++; break; }
            continue;
          }
          if (cache.gen !== gen) { k++; break; }
        }
        cpu.icount += k;
      } catch (e) {
        const fault = this.settleThrow(e, ins[k], k);
        dbg.skipRip = NaN;
        this.onException(cpu);
        if (this.stopReason === STOP_NONE) {
          if (dbg.watchHit && observe !== null) { dbg.watchHit = false; observe(STOP_WATCH, cpu.icount); }
          if (dbg.watchHit) { this.stopReason = STOP_WATCH; dbg.step = false; }
          else if (dbg.step) {
            if (fault) dbg.interrupted = true;
            this.endStep(dbg);
          }
          else if (cpu.icount === stopAt) this.stopReason = STOP_STEP;
        }
      }
    }
    return this.stopReason;
  }

  /**
   * Accounts for instruction `i`, the k-th of its trace, having thrown `e`: a trap has retired it (RIP is
   * already past it), a fault rewinds RIP to it and retires only the k before it (a fault on a stack
   * access becomes #SS). Anything else is a host error and is rethrown, RIP on the instruction.
   * Returns true for a fault. Called only when something was thrown, so run() pays nothing for it.
   */
  private settleThrow(e: unknown, i: Insn, k: number): boolean {
    const cpu = this.cpu;
    if (e === CPU_TRAP) {
      cpu.icount += k + 1;
      return false;
    }
    cpu.rip -= i.len;
    cpu.icount += k;
    if (e !== CPU_FAULT) throw e;
    stackSegmentFault(cpu, i);
    return true;
  }

  private endStep(dbg: ExecDebug): void {
    dbg.step = false;
    this.stopReason = STOP_STEP;
  }

  /** Runs exactly one instruction (debugger stepping); returns the stop reason. */
  step(): number {
    const cpu = this.cpu;
    this.stopReason = STOP_NONE;
    const t = this.fetchTrace();
    if (t === null) {
      this.onException(cpu);
      return this.stopReason;
    }
    const i = t.insns[0];
    try {
      cpu.rip += i.len;
      i.h(cpu, i);
      cpu.icount++;
    } catch (e) {
      this.settleThrow(e, i, 0);
      this.onException(cpu);
    }
    return this.stopReason;
  }

  /** RFLAGS.TF: one instruction, then a single-step #DB trap (none when the instruction raised an exception). */
  private singleStepTrap(): void {
    const cpu = this.cpu;
    const before = cpu.icount;
    const deliver = this.onException;
    let raised = false;
    this.onException = (c) => { raised = true; deliver(c); };
    try {
      this.step();
    } finally {
      this.onException = deliver;
    }
    if (raised || cpu.icount === before || this.stopReason !== STOP_NONE) return;
    cpu.dr[6] = (cpu.dr[6] | 0x4000) >>> 0; // DR6.BS
    cpu.excVector = VEC_DB;
    cpu.excError = -1;
    cpu.excAddr = 0;
    this.onException(cpu);
  }

  /** Drops the fetch shortcut (after CR3/CR0/EFER/CS changes the MMU already does this). */
  invalidateFetch(): void {
    this.cpu.mmu.fetchPage = NaN;
  }

  /**
   * fetchTrace() for run() when the last trace's link did not name the next one: a trace ending in a conditional
   * branch has two successors and one ending in ret or an indirect jump many, but its link remembers one. A
   * direct-mapped cache by linear address (QEMU's tb_jmp_cache) then finds the trace without the page lookup. Its
   * entries are valid under the same conditions as a link (cache generation, this MMU's flush epoch, code mode),
   * checked once for all of them.
   */
  private jumpTrace(lin: number, gen: number): Trace | null {
    const cpu = this.cpu;
    if (this.jumpStale(gen)) {
      // Invalidated by a new tag offset rather than by clearing the tags: OSv's TLB shootdowns change the epoch ~80
      // times per million instructions of tst-threadcomplete, and clearing 16 K tags each time was 2% of its run.
      // Linear addresses lie in [-2^47, 2^47) (others are not cached), so no tag made under another offset matches;
      // the offsets go up to 31 x 2^48 (exact doubles), then the tags are cleared once.
      this.jumpOff += Jump.OFF_STEP;
      if (this.jumpOff > Jump.OFF_MAX) { this.jumpTag.fill(NaN); this.jumpOff = 0; }
      this.jumpGen = gen; this.jumpEpoch = cpu.mmu.epoch; this.jumpMode = cpu.mode;
    }
    const hit = this.jumpHit(lin);
    if (hit !== null) return hit;
    const t = this.fetchTrace();
    if (t !== null && t.cached && lin < Jump.LIN_LIMIT && lin >= -Jump.LIN_LIMIT) {
      const idx = (lin ^ (lin >>> Jump.BITS)) & Jump.MASK;
      this.jumpTag[idx] = lin + this.jumpOff; this.jumpTo[idx] = t;
    }
    return t;
  }

  /** Whether jumpTrace()'s cache was filled under another cache generation, TLB epoch or code mode than now's. */
  private jumpStale(gen: number): boolean {
    const cpu = this.cpu;
    return gen !== this.jumpGen || cpu.mmu.epoch !== this.jumpEpoch || cpu.mode !== this.jumpMode;
  }

  /** The cache's trace for linear `lin` under its current tag offset, or null (its staleness is the caller's). */
  private jumpHit(lin: number): Trace | null {
    const idx = (lin ^ (lin >>> Jump.BITS)) & Jump.MASK;
    const inRange = lin < Jump.LIN_LIMIT && lin >= -Jump.LIN_LIMIT;
    return this.jumpTag[idx] === lin + this.jumpOff && inRange ? this.jumpTo[idx] : null;
  }

  /**
   * jumpTrace()'s cached trace for linear `lin`, or null (none, or the cache is stale: jumpTrace renews it); no fetch.
   * For chainFrom, which follows compiled successors that no link names.
   */
  jumpCached(lin: number, gen: number): Trace | null {
    return this.jumpStale(gen) ? null : this.jumpHit(lin);
  }

  /** The trace at CS:RIP, or null when fetching it faulted (the exception is recorded in cpu, not yet delivered). */
  private fetchTrace(): Trace | null {
    try {
      return this.lookup();
    } catch (e) {
      if (e !== CPU_FAULT) throw e;
      return null;
    }
  }

  private lookup(): Trace {
    const cpu = this.cpu;
    const mmu = cpu.mmu;
    const lin = cpu.segBase[Seg.CS] + cpu.rip;
    const off = lin & 0xfff;
    const page = lin - off;
    if (page !== mmu.fetchPage || this.fetchGen !== this.cache.gen || this.fetchMode !== cpu.mode) {
      const phys = mmu.translateExec(lin) - off;
      mmu.fetchPage = page;
      mmu.fetchPhys = phys;
      this.fetchGen = this.cache.gen;
      this.fetchMode = cpu.mode;
      this.fetchIsRam = cpu.mem.isRam(phys, 4096);
      this.fetchTraces = this.fetchIsRam ? this.cache.page(cpu.mode, phys / 4096) : new Map();
    }
    const t = this.fetchTraces.get(off);
    // A page-crossing instruction is valid while its tail's page maps where it did (its bytes are watched: addCross).
    // The next page's address is computed whether or not it is needed: an addition first made at the boot's first
    // page-crossing trace deoptimised the run loop, which inlines this (no type feedback for it).
    const nextPage = page + 4096;
    if (t !== undefined && (t.phys2 < 0 || mmu.translateExec(nextPage) === t.phys2)) return t;
    return this.build(lin, mmu.fetchPhys + off);
  }

  /** Decodes a trace starting at linear `lin` / physical `phys`. */
  private build(lin: number, phys: number): Trace {
    const cpu = this.cpu;
    if (!this.fetchIsRam) {
      throw new Unimplemented(`instruction fetch from non-RAM physical address 0x${phys.toString(16)}`);
    }
    const pageEnd = phys - (phys & 0xfff) + 4096;
    // The decoder reads a Uint8Array; above the reach of mem.u8 it gets a view of this page alone.
    const inLow = pageEnd <= cpu.mem.u8.length;
    const base = inLow ? 0 : pageEnd - 4096;
    const u8 = inLow ? cpu.mem.u8 : cpu.mem.bytes(base, 4096);
    const insns: Insn[] = [];
    let p = phys;
    let l = lin;
    while (insns.length < MAX_TRACE && p < pageEnd) {
      const i = new Insn(opUD);
      let len: number;
      if (pageEnd - p >= 16) {
        decoder.limit = Infinity;
        decoder.more = null;
        try {
          len = decoder.decode(u8, p - base, cpu.mode, i);
        } catch (e) {
          if (e === INSN_TOO_LONG) { i.h = opGP; i.len = 15; i.ends = true; len = 15; }
          else throw e;
        }
      } else {
        const r = this.decodeAtPageEnd(l, p, pageEnd, i, insns.length === 0);
        if (r < 0) break;
        len = r;
        if (p + len > pageEnd) {
          // Crosses into the next page: run it on its own.
          if (insns.length > 0) break;
          // Cached only when its tail's page already holds code (the common case: the code goes on there), so
          // that a write there drops decodes and ends the running trace exactly where it did before.
          const phys2 = this.crossPhys;
          if (!cpu.mem.codePage[phys2 / 4096]) return new Trace([i], false);
          const t = new Trace([i]);
          t.phys = phys;
          t.phys2 = phys2;
          this.cache.addCross(t, this.fetchTraces, phys & 0xfff);
          return t;
        }
      }
      insns.push(i);
      p += len;
      l += len;
      if (i.ends) break;
    }
    const t = new Trace(insns);
    t.phys = phys;
    this.fetchTraces.set(phys & 0xfff, t);
    return t;
  }

  /** The physical page decodeAtPageEnd read the next bytes from. */
  private crossPhys = 0;

  /** Decodes an instruction that starts within 15 bytes of the page end; -1 ends the trace before it. */
  private decodeAtPageEnd(lin: number, phys: number, pageEnd: number, i: Insn, first: boolean): number {
    const cpu = this.cpu;
    const avail = pageEnd - phys;
    crossBuf.set(cpu.mem.bytes(phys, pageEnd - phys), 0);
    let limit = avail;
    const nextLin = lin + avail;
    try {
      const nextPhys = cpu.mmu.translateExec(nextLin);
      this.crossPhys = nextPhys;
      if (cpu.mem.isRam(nextPhys, 16)) {
        crossBuf.set(cpu.mem.bytes(nextPhys, 16), avail);
        limit = avail + 16;
      }
    } catch (e) {
      if (e !== CPU_FAULT) throw e;
    }
    decoder.limit = limit;
    decoder.more = null;
    try {
      return decoder.decode(crossBuf, 0, cpu.mode, i);
    } catch (e) {
      if (e === INSN_TOO_LONG) { i.h = opGP; i.len = 15; i.ends = true; return 15; }
      if (e !== NEED_MORE_BYTES) throw e;
      if (!first) return -1;
      cpu.mmu.translateExec(nextLin); // raises the fetch #PF (or #GP) for the missing bytes
      throw new Unimplemented(`instruction at 0x${lin.toString(16)} runs into non-RAM memory`);
    } finally {
      decoder.limit = Infinity;
    }
  }
}

/**
 * Gives fetchTrace()'s catch clause its type feedback before any guest runs. The first instruction fetch that faults
 * (a cold OSv boot has a few) reached it after V8 had optimised the run loop, which inlines it, and its comparison,
 * never made before, deoptimised run() ("insufficient type feedback for compare operation"). The probe is not an
 * Exec: only its lookup() is called, and it faults.
 */
function warmFetchFault(): void {
  const probe = { lookup(): never { throw CPU_FAULT; } };
  const fetch = (Exec.prototype as unknown as { fetchTrace(this: typeof probe): Trace | null }).fetchTrace;
  // V8 gives a function its feedback vector only after its first few calls.
  for (let k = 0; k < 64; k++) if (fetch.call(probe) !== null) throw new Error('warmFetchFault: the probe did not fault');
}
warmFetchFault();

function opGP(cpu: Cpu, _i: Insn): void {
  raise(cpu, VEC_GP, 0);
}
