// Direct chaining between compiled blocks: after a compiled block returns, its successor runs at once when the
// run loop's trace link names it (Trace.next, or the successor before it, Trace.alt; valid for this linear address,
// code-cache generation, TLB epoch, address space and mode: a write that drops decoded code changes the generation,
// so self- and cross-modifying code is never run stale) and it is compiled, and nothing the run loop looks at between
// traces is pending.
// The checks are the run loop's own, made at every hop, so interrupts, device events and the budget are
// taken at exactly the same trace boundaries as without chaining.
import { NEVER_RUNS, type Trace } from '../codecache.js';
import type { Cpu } from '../cpu.js';
import { LF_REST } from '../flags.js';
import { CS, TF } from '../regs.js';
import type { BlockEnv } from './compiler.js';
import type { Jit } from './jit.js';

/** What chaining reads of the run loop (Exec). */
export interface ChainEnv extends BlockEnv {
  readonly cpu: Cpu;
  readonly cache: { gen: number };
  readonly jit: Jit | null;
  /** Linear address of the last trace run (chainFrom keeps it up to date). */
  lastLin: number;
  /** MMU epoch in which the run loop last looked a trace up through the TLB (Exec.run). */
  fetchEpoch: number;
  /** The trace the run loop's jump cache holds for linear `lin` (Exec.jumpCached), or null. */
  jumpCached(lin: number, gen: number): Trace | null;
}

/**
 * The trace t's link names at linear `lin`, its `next` or its `alt` (Trace.alt), or null when neither holds there;
 * t ran at linear `from`. The caller has checked the link's generation and address space (and mode where it can
 * change). A link holds in the current TLB epoch when it was made in it, or when it leads within t's page
 * (Trace.nextSame, altSame) while t itself ran on that page since the last lookup through the TLB, with no flush
 * since (so its page still translates as when t was fetched, and as when the link was made).
 */
export function linkedAt(t: Trace, lin: number, from: number, epoch: number, fetchEpoch: number): Trace | null {
  // Every load and comparison is made at every call: an operation only reached after the first TLB flush (or the
  // first alternation) has no type feedback when V8 optimises the run loop (which inlines this), and deoptimised it
  // there (the loads twice in a cold OSv hello, the comparison once more: "insufficient type feedback for compare").
  // The page test is spelled out, not samePage(): V8's inlining budget was spent by then (samePage stayed a call:
  // 1.7% of tst-fpu's CPU).
  const hitNext = t.nextLin === lin, hitAlt = t.altLin === lin, next = t.next, alt = t.alt;
  const onPage = from - (from & 0xfff) === lin - (lin & 0xfff), fetched = fetchEpoch === epoch;
  const same = hitNext ? t.nextSame : t.altSame;
  if (!(t.nextEpoch === epoch || (same && fetched && onPage))) return null;
  return hitNext ? next : hitAlt ? alt : null;
}

/** Whether two linear addresses lie on one 4-KiB page (they may exceed 2^32: no 32-bit shifts). */
export function samePage(a: number, b: number): boolean {
  return a - (a & 0xfff) === b - (b & 0xfff);
}

/**
 * The trace to run after t at linear `lin` without the run loop's lookup: the one a link of t names there, else the
 * one the run loop's jump cache holds (an indirect jump through a table, a return to a third call site: the run loop
 * would find it there and only rewrite the link; tst-clock's link misses were 97% two indirect jumps of 16 targets,
 * small memcpy and memset by size), else null. The caller has checked what a pure block may leave out (mode and the
 * like); env.lastLin is still where t ran.
 */
export function successorAt(env: ChainEnv, t: Trace, lin: number): Trace | null {
  const mmu = env.cpu.mmu, gen = env.cache.gen;
  const nx = t.nextGen === gen && t.nextSpace === mmu.space ? linkedAt(t, lin, env.lastLin, mmu.epoch, env.fetchEpoch) : null;
  if (nx !== null) return nx;
  const cached = env.jumpCached(lin, gen);
  // Found as the run loop's lookup finds it: valid in this TLB epoch (linkedAt's same-page rule counts from here).
  if (cached !== null) env.fetchEpoch = mmu.epoch;
  return cached;
}

/**
 * Runs the compiled successors of `t` (which has just completed) while the links allow; returns the last
 * trace that completed. A block that throws propagates to the run loop, which settles it (env.jitI/jitK).
 */
export function chainFrom(env: ChainEnv, t: Trace, end: number): Trace {
  const cpu = env.cpu, lf = cpu.lf;
  for (;;) {
    if (t.next === null || env.eventPending || env.stopReason !== 0 || cpu.icount >= end) return t;
    // After a block of plain instructions (Trace.pure) the interrupt shadow, halt and TF are as they were before it
    // (clear: the run loop or this loop saw to that), and so is the code mode, the one t was decoded and linked in.
    if (!t.pure && (cpu.intShadow || cpu.halted || (lf[LF_REST] & TF) !== 0 || t.nextMode !== cpu.mode)) return t;
    const lin = cpu.segBase[CS] + cpu.rip;
    const nx = successorAt(env, t, lin);
    if (nx === null) return t;
    let fn = nx.fn;
    if (fn === null) return t;
    // The other way of a branch (region.ts ends a path at one that often goes another way).
    if (nx !== t.next && t.relinks < NEVER_RUNS) t.relinks++;
    if (++nx.hits >= nx.regionAt) { env.jit!.regionDue(nx, env); fn = nx.fn!; }
    // Both wasm blocks: the hub follows this link itself next time (after a block with handler calls only when they
    // left nothing to check: wasm/block.ts).
    if (t.wasmIdx >= 0 && nx.wasmIdx >= 0) env.jit!.wasm!.link(t.wasmIdx, lin, nx.wasmIdx, cpu);
    env.lastLin = lin;
    t = fn(cpu, env, end) ?? nx;
  }
}
