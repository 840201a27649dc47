// The block compiler's policy: when a trace is hot enough to compile, and what a failure to compile means
// (the trace stays interpreted). One per machine; the run loop (exec.ts) asks it.
import type { Trace } from '../codecache.js';
import type { Cpu } from '../cpu.js';
import type { PhysMem } from '../physmem.js';
import { CS } from '../regs.js';
import { compileTrace, WARM_EXITS, type BlockEnv, type BlockFn } from './compiler.js';
import { compileRegion, findRegion } from './region.js';
import { countBlock, statsEnabled } from './stats.js';

/**
 * Executions of a trace before it is compiled. Compiling costs milliseconds of CPU per trace (code generation,
 * V8 parsing and optimising the function, on its background threads too): a real OSv hello boot (2.7 M
 * instructions) compiles ~400 traces at 200 and takes 1.7 s of CPU instead of 0.3 s; at 5000 it compiles 6 and
 * still pays ~0.05 s. At 20000 it compiles none, while a loop that spins is compiled within a fraction of a
 * millisecond of guest work.
 */
export const DEFAULT_THRESHOLD = 20000;
/** A compiled block runs REGION_FACTOR x threshold times before a loop through it is compiled as a region. */
export const REGION_FACTOR = Number(process.env.OSVEMU_REGION_FACTOR ?? 5);

/**
 * Compiled blocks by code mode and bytes, shared by every machine of the process. A compiled block depends only
 * on its instructions (it is relative to RIP at entry and takes the vCPU as an argument), so a machine that meets
 * code another machine already compiled runs it compiled from its first execution: the test runner's workers boot
 * the same kernel test after test. Compiled and interpreted code retire the same instructions, so a run does not
 * depend on what ran before it in the process.
 */
const shared = new Map<string, BlockFn>();
/** Bounds the cache (a key and a function per entry); beyond it new compilations are simply not shared. */
const MAX_SHARED = 50_000;

/** The cache key of t's code: its mode and bytes (null when they cannot be read). */
function codeKey(t: Trace, mem: PhysMem): string | null {
  if (t.phys < 0) return null;
  let len = 0;
  for (let k = 0; k < t.n; k++) len += t.insns[k]!.len;
  if (t.phys + len > mem.ram.byteLength) return null;
  return `${t.insns[0]!.mode}:${Buffer.from(mem.bytes(t.phys, len)).toString('latin1')}`;
}

export class Jit {
  /** Executions before compiling; 0 compiles every trace before its first run (the ISA tests). */
  threshold: number;
  /** Runs of a compiled block, in thresholds, before a loop through it is compiled as a region (region.ts). */
  regionFactor = REGION_FACTOR;
  compiled = 0;
  failed = 0;
  /** Specialised instructions / all compiled instructions (a coverage figure for benchmarks). */
  specialised = 0;
  instructions = 0;
  /** Multi-trace regions compiled (region.ts), and the traces they hold (each loop is compiled once). */
  regions = 0;
  /** Regions given up after missing too often (region.ts RegionX.miss). */
  regionsDropped = 0;
  private readonly inRegion = new WeakSet<Trace>();
  /** False: compile single traces only. */
  regionsEnabled = true;
  /**
   * Calls of a looping block (or region) that leave at its first exit so that V8 has type feedback for the
   * exit path before it optimises the loop (compiler.ts WARM_EXITS); tests set 0 to loop from the first call.
   */
  warmExits = WARM_EXITS;
  /** Traces that started out compiled because another machine of the process had compiled the same code. */
  adopted = 0;

  /** mem: the physical memory the traces live in, for the shared cache's keys (null: nothing is shared). */
  constructor(threshold = DEFAULT_THRESHOLD, readonly mem: PhysMem | null = null) {
    this.threshold = threshold;
  }

  /**
   * Compiles t (called once its hit count reaches the threshold, cpu.rip at t's start); a trace that fails
   * stays interpreted. With the vCPU and its code cache, a loop through t that spans several traces (the run
   * loop's trace links lead back to t) is compiled as one region, which t then runs.
   */
  compile(t: Trace, ctx?: { cpu: Cpu; cache: { gen: number } }): void {
    try {
      const r = compileTrace(t, this.warmExits);
      if (process.env.OSVEMU_JIT_DEBUG === 'source-all') console.error(r.source);
      t.fn = statsEnabled ? countBlock(t, r.fn, r.source, r.specialised) : r.fn;
      this.compiled++;
      const key = this.mem !== null && shared.size < MAX_SHARED ? codeKey(t, this.mem) : null;
      if (key !== null) shared.set(key, r.fn);
      this.specialised += r.specialised;
      this.instructions += t.n;
    } catch (e) {
      if (process.env.OSVEMU_JIT_DEBUG) console.error('jit: compile failed:', e);
      this.failed++;
      t.hits = -Infinity;
      return;
    }
    if (ctx !== undefined) this.countToRegion(t, t.fn!, t.hits);
  }

  /**
   * Runs t's compiled block and counts its runs; at regionThreshold it looks for a loop through t to compile as
   * a region. A region costs far more to make than a block (a bigger function that V8 optimises on its own), so
   * only code that keeps running long after it was compiled earns one: a boot's loops run their thousands of
   * times and are done, a benchmark's or a spinning guest's run on.
   */
  private countToRegion(t: Trace, fn: BlockFn, runs: number): void {
    if (!this.regionsEnabled) {
      t.fn = fn;
      return;
    }
    const counting = (cpu: Cpu, env: BlockEnv, end: number): void => {
      if (++runs >= this.threshold * this.regionFactor) {
        t.fn = fn;
        this.regionAt(t, { cpu, cache: env.cache }, fn);
      }
      fn(cpu, env, end);
    };
    t.fn = counting;
  }

  /** Compiles the loop through t that the trace links describe, if any, as a region t then runs. */
  private regionAt(t: Trace, ctx: { cpu: Cpu; cache: { gen: number } }, plain: BlockFn): void {
    if (!this.regionsEnabled || this.inRegion.has(t)) return;
    const cpu = ctx.cpu, gen = ctx.cache.gen;
    const region = findRegion(t, cpu, gen, cpu.segBase[CS] + cpu.rip);
    if (region === null) return;
    try {
      const c = compileRegion(region, cpu, gen, plain, this.warmExits, () => {
        this.regionsDropped++;
        t.fn = null;
        t.hits = 0;
        for (const m of region.traces) this.inRegion.delete(m);
      });
      if (process.env.OSVEMU_JIT_DEBUG?.startsWith('source')) console.error(c.source);
      t.fn = c.fn;
      for (const m of region.traces) this.inRegion.add(m);
      this.regions++;
    } catch (e) {
      if (process.env.OSVEMU_JIT_DEBUG) console.error('jit: region compile failed:', e);
    }
  }

  /** On a trace's first run: takes the compiled form another machine made of the same code, if any. */
  adopt(t: Trace, mem: PhysMem): void {
    if (shared.size === 0) return;
    const key = codeKey(t, mem);
    const fn = key === null ? undefined : shared.get(key);
    if (fn === undefined) return;
    this.adopted++;
    // Regions are this machine's own (they depend on where the code is mapped): an adopted block counts its
    // runs towards one as a block compiled here does.
    this.countToRegion(t, fn, t.hits);
  }
}
