// Direct chaining between compiled blocks: after a compiled block returns, its successor runs at once when the
// run loop's trace link names it (Trace.next, valid for this linear address, code-cache generation, TLB
// epoch, address space and mode: a write that drops decoded code changes the generation, so self- and cross-modifying
// code is never run stale) and it is compiled, and nothing the run loop looks at between traces is pending.
// The checks are the run loop's own, made at every hop, so interrupts, device events and the budget are
// taken at exactly the same trace boundaries as without chaining.
import type { Trace } from '../codecache.js';
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
}

/**
 * Whether the link from trace t (which ran at linear `from`) to `to` holds in the current TLB epoch: made in it, or
 * a link within t's page (Trace.nextSame) while t itself ran on that page since the last lookup through the TLB,
 * with no flush since (so its page still translates as when t was fetched, and as when the link was made).
 */
export function linkEpochOk(t: Trace, from: number, to: number, epoch: number, fetchEpoch: number): boolean {
  // Both fields, and the page comparison, are evaluated at every call: an operation only reached after the first TLB
  // flush has no type feedback when V8 optimises the run loop (which inlines this), and deoptimised it there (the
  // loads twice in a cold OSv hello, the comparison once more: "insufficient type feedback for compare").
  const same = t.nextSame;
  // samePage spelled out: the run loop inlines this function into itself and chainFrom, and V8's inlining budget
  // was spent by then (samePage stayed a call: 1.7% of tst-fpu's CPU).
  const onPage = from - (from & 0xfff) === to - (to & 0xfff), fetched = fetchEpoch === epoch;
  return t.nextEpoch === epoch || (same && fetched && onPage);
}

/** Whether two linear addresses lie on one 4-KiB page (they may exceed 2^32: no 32-bit shifts). */
export function samePage(a: number, b: number): boolean {
  return a - (a & 0xfff) === b - (b & 0xfff);
}

/**
 * Runs the compiled successors of `t` (which has just completed) while the links allow; returns the last
 * trace that completed. A block that throws propagates to the run loop, which settles it (env.jitI/jitK).
 */
export function chainFrom(env: ChainEnv, t: Trace, end: number): Trace {
  const cpu = env.cpu, mmu = cpu.mmu, cache = env.cache, lf = cpu.lf;
  for (;;) {
    const nx = t.next;
    if (nx === null) return t;
    let fn = nx.fn;
    if (fn === null || env.eventPending || env.stopReason !== 0 || cpu.icount >= end) return t;
    // After a block of plain instructions (Trace.pure) the interrupt shadow, halt and TF are as they were before it
    // (clear: the run loop or this loop saw to that), and so is the code mode, the one t was decoded and linked in.
    if (!t.pure && (cpu.intShadow || cpu.halted || (lf[LF_REST] & TF) !== 0 || t.nextMode !== cpu.mode)) return t;
    const lin = cpu.segBase[CS] + cpu.rip;
    if (t.nextLin !== lin || t.nextGen !== cache.gen || t.nextSpace !== mmu.space ||
        !linkEpochOk(t, env.lastLin, lin, mmu.epoch, env.fetchEpoch)) return t;
    if (++nx.hits >= nx.regionAt) { env.jit!.regionDue(nx, env); fn = nx.fn!; }
    env.lastLin = lin;
    fn(cpu, env, end);
    t = nx;
  }
}
