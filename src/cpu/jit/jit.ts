// The block compiler's policy: when a trace is hot enough to compile, and what a failure to compile means
// (the trace stays interpreted). One per machine; the run loop (exec.ts) asks it.
import { NEVER_RUNS, type Trace } from '../codecache.js';
import type { Cpu } from '../cpu.js';
import type { PhysMem } from '../physmem.js';
import { CS } from '../regs.js';
import { compileTrace, SLOW_CALLS, WARM_EXITS, type BlockEnv, type BlockFn } from './compiler.js';
import { compileRegion, findRegion, pathPrefix, type Region } from './region.js';
import { countBlock, statsEnabled } from './stats.js';
import { statBlock } from './block-stats.js';
import { hasWasmPlan, wasmWarm, type WasmBlocks } from './wasm/block.js';
import type { WasmPlan } from './wasm/compile.js';

const blockStats = process.env.OSVEMU_JIT_STATS === 'blocks';
const sources = new WeakMap<BlockFn, string>();
/** Compiled blocks of plain instructions only (Trace.pure), so that machines adopting them know it too. */
const pureBlocks = new WeakSet<BlockFn>();

/**
 * Executions of a trace before it is compiled. Compiling costs milliseconds of CPU per trace (code generation,
 * V8 parsing and optimising the function, on its background threads too): a real OSv hello boot (2.7 M
 * instructions) compiles ~400 traces at 200 and takes 1.7 s of CPU instead of 0.3 s; at 5000 it compiles 6 and
 * still pays ~0.05 s. At 20000 it compiles none, while a loop that spins is compiled within a fraction of a
 * millisecond of guest work.
 */
export const DEFAULT_THRESHOLD = Number(process.env.OSVEMU_JIT_THRESHOLD ?? 20000);
/**
 * Traces of fewer instructions compile only after regionFactor x threshold runs (and look for a region through
 * them at once), unless they loop on their own (a branch back to their start). A short block saves the
 * interpreter only a few handler calls per run, and what it costs besides its runs does not shrink with it: V8
 * runs it unoptimised (~10x slower than the interpreter) for its first calls, optimises it on a background
 * thread, and again after each deoptimisation on a path its first calls did not take (a slow memory path). In
 * the scheduler-bound phase of OSv's tests (tst-eventfd: ~150 threads, each switch a different short path through
 * the scheduler) new blocks kept appearing, ~600 of them, and compiled code ran slower there than the interpreter
 * (OSVEMU_JIT_STATS=blocks with node --allow-natives-syntax shows the tiers' shares). Short code that runs five
 * times as often (a boot's, which the test runner's next boots adopt) still compiles. 16 rather than 8: CPU s at
 * 150 M instructions, alternating (3 / 2 pairs): tst-eventfd 16.0 / 15.5 / 16.3 -> 12.9 / 14.1 / 13.1, tst-rwlock
 * 8.95 / 9.69 -> 7.64 / 8.01, warm boots 3+4 median 5.39 -> 5.14 s; 32 was no better than 16.
 */
export const DEFAULT_MIN_INSNS = Number(process.env.OSVEMU_JIT_MIN_INSNS ?? 16);
/** OSVEMU_JIT_PATHS=0: no path regions (region.ts), for comparisons. */
const PATHS = process.env.OSVEMU_JIT_PATHS !== '0';
/**
 * Runs of a hot trace, after a path (not a loop) through it was first found, before the path is compiled.
 * Alternating pairs at 500 M instructions, paths after 100 K runs: tst-fpu 8.8 -> 6.5 s, but tst-queue-mpsc
 * 13.5-14.1 -> 17.6-18.3 s and tst-clock +12% (kernel and Boost paths run ~100-400 K times each: their V8
 * compiles, and the time they run unoptimised, cost more than the block calls they save).
 */
const PATH_WAIT = Number(process.env.OSVEMU_PATH_WAIT ?? 1_000_000);
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
/** Bounds the caches (a key and a value per entry); beyond it new code is simply not shared or counted. */
const MAX_SHARED = 50_000;
/**
 * Runs of not-yet-compiled code, by code key, summed over the process's finished machines (Jit.foldHeat). A
 * boot runs most of its code a few thousand times, well under the threshold, and every machine's counts start
 * at zero: without this a worker's hundredth boot would interpret what its first did. Code that has run
 * Jit.heatThreshold times in earlier machines is compiled at its first run in the next one.
 */
const heat = new Map<string, number>();
/**
 * Code keys of short traces (jit.ts DEFAULT_MIN_INSNS) that reached the threshold once in some machine and wait to
 * reach it again there. A boot runs such code 20-100 K times (the tests image's: 55% of what it interprets), too
 * few for a second look in the same machine; the process's next machines compile it at its first run.
 */
const shortHot = new Set<string>();
/** Code keys of traces that headed a region in some machine: an adopted block there looks for its loop early. */
const regionHeads = new Set<string>();
/** The newest machine's compiler: its traces' counts are folded into `heat` when the next machine starts. */
let newest: Jit | null = null;
/** Traces of fewer runs are not folded (they are not worth a key). */
const MIN_FOLD = 8;
/**
 * Default Jit.heatThreshold: off (OSVEMU_HEAT_THRESHOLD=N sets it). Measured on the test runner's warm boots of
 * tests-ramfs (bench/warm-boot.ts): at 2000 a warm boot runs 93-95% of its instructions compiled instead of
 * ~72%, in ~8.3 M block calls, and takes more CPU, not less (5.5 vs 3.2-3.8 s on a loaded host; every boot
 * compiles the code that just crossed the line, and a lukewarm block called a few thousand times per boot is no
 * faster than the interpreter: the time goes to the calls, not the instructions).
 */
export const DEFAULT_HEAT_THRESHOLD = Number(process.env.OSVEMU_HEAT_THRESHOLD ?? Infinity);
/** Runs of an adopted block, once region.ts found a loop through it in an earlier machine, before it looks again here. */
const REGION_RELOOK = 64;

/** The cache key of t's code: its mode and bytes (null when they cannot be read). */
function codeKey(t: Trace, mem: PhysMem): string | null {
  // A page-crossing instruction's bytes are not contiguous in physical memory: not shared.
  if (t.phys < 0 || t.phys2 >= 0) return null;
  const len = t.insns[t.n - 1]!.end;
  if (t.phys + len > mem.size) return null;
  return `${t.insns[0]!.mode}:${Buffer.from(mem.bytes(t.phys, len)).toString('latin1')}`;
}

/** Traces planWasm declined: they wait for the JS compiler's threshold. */
const wasmDeclined = new WeakSet<Trace>();

export class Jit {
  /** Executions before compiling; 0 compiles every trace before its first run (the ISA tests). */
  threshold: number;
  /**
   * The JS compiler's threshold, from which its policy counts (short traces, regions): `threshold` unless wasm blocks
   * compile traces earlier, at `threshold` (the machine then sets this to the JS compiler's own).
   */
  get jsThreshold(): number { return this.jsOwn ?? this.threshold; }
  set jsThreshold(v: number) { this.jsOwn = v; }
  private jsOwn: number | null = null;
  /** Compiles traces to wasm (block.ts) before the JS compiler would, or null. */
  wasm: WasmBlocks | null = null;
  /** Runs of a compiled block, in thresholds, before a loop through it is compiled as a region (region.ts). */
  regionFactor = REGION_FACTOR;
  compiled = 0;
  failed = 0;
  /** Specialised instructions / all compiled instructions (a coverage figure for benchmarks). */
  specialised = 0;
  instructions = 0;
  /** Multi-trace regions compiled (region.ts), and the traces they hold (each loop is compiled once). */
  regions = 0;
  /** Of those, straight paths (region.ts: hot traces whose links do not come back; not loops). */
  paths = 0;
  /** Regions given up after missing too often (region.ts RegionX.miss). */
  regionsDropped = 0;
  /** Loops left as blocks because their region's source is longer than V8 optimises (region.ts MAX_REGION_SOURCE). */
  regionsTooBig = 0;
  private readonly inRegion = new WeakSet<Trace>();
  /** Heads whose path (no loop) was found once: the next look, PATH_WAIT runs later, compiles it. */
  private readonly pathDue = new WeakSet<Trace>();
  /** False: compile single traces only. */
  regionsEnabled = true;
  /** False: regions only for loops (a hot trace whose links lead on without coming back keeps its block). */
  pathsEnabled = PATHS;
  /** Runs between finding a path through a hot trace and compiling it (PATH_WAIT; tests set 0). */
  pathWait = PATH_WAIT;
  /**
   * Calls of a looping block (or region) that leave at its first exit so that V8 has type feedback for the
   * exit path before it optimises the loop (compiler.ts WARM_EXITS); tests set 0 to loop from the first call.
   */
  warmExits = WARM_EXITS;
  /**
   * First calls of each new block whose memory accesses take the MMU's slow path (compiler.ts SLOW_CALLS); a Jit made
   * with an explicit threshold (the ISA and block tests) has 0, so that the tests run the inline paths at once.
   */
  slowCalls: number;
  /** Traces that started out compiled because another machine of the process had compiled the same code. */
  adopted = 0;
  /**
   * Whether machines record their traces' runs into the process's heat at all: only when some machine may use it
   * (OSVEMU_HEAT_THRESHOLD set; tests set it). Off, a machine keeps no list of its traces, the next machine does
   * not key them, and no machine is kept reachable after the next one starts.
   */
  static collectHeat = Number.isFinite(DEFAULT_HEAT_THRESHOLD);
  /** Process-wide runs (earlier machines) after which a trace compiles at its first run here; Infinity: never. */
  heatThreshold = DEFAULT_HEAT_THRESHOLD;
  /** Traces compiled at their first run because earlier machines ran them heatThreshold times. */
  preheated = 0;
  /** Traces run here and not compiled at their first run: their counts go into the process's heat. */
  private seen: Trace[] = [];

  /**
   * Traces shorter than this compile only when they loop (DEFAULT_MIN_INSNS); 0 compiles every trace. A Jit made
   * with an explicit threshold compiles every trace at it (the tests pick a threshold to have their code compiled).
   */
  minInsns: number;
  /** Short traces that reached the threshold once and wait to reach it again. */
  private readonly shortWaited = new WeakSet<Trace>();
  /** Short traces left interpreted (statistics). */
  shortKept = 0;

  /** mem: the physical memory the traces live in, for the shared cache's keys (null: nothing is shared). */
  constructor(threshold?: number, readonly mem: PhysMem | null = null) {
    this.threshold = threshold ?? DEFAULT_THRESHOLD;
    this.minInsns = threshold === undefined ? DEFAULT_MIN_INSNS : 0;
    this.slowCalls = threshold === undefined ? SLOW_CALLS : 0;
    if (mem !== null) {
      newest?.foldHeat();
      newest = Jit.collectHeat ? this : null;
    }
  }

  /**
   * Adds the runs of this machine's still interpreted traces to the process's heat (once; the machine may go on
   * running, but its later runs are not counted). Their code is read where it was decoded: a trace whose page
   * was written since is left out.
   */
  foldHeat(): void {
    const mem = this.mem, seen = this.seen;
    this.seen = [];
    if (mem === null) return;
    for (const t of seen) {
      if (t.fn !== null || t.dropped || t.hits < MIN_FOLD) continue;
      const key = codeKey(t, mem);
      if (key === null) continue;
      const h = heat.get(key);
      if (h !== undefined) heat.set(key, h + t.hits);
      else if (heat.size < MAX_SHARED) heat.set(key, t.hits);
    }
  }

  /**
   * Compiles t (called once its hit count reaches the threshold, cpu.rip at t's start); a trace that fails
   * stays interpreted. With the vCPU and its code cache, a loop through t that spans several traces (the run
   * loop's trace links lead back to t) is compiled as one region, which t then runs.
   */
  compile(t: Trace, ctx?: { cpu: Cpu; cache: { gen: number } }, preheated = false): void {
    if (this.wasm !== null && !wasmDeclined.has(t)) { this.compileWasm(t, this.wasm); return; }
    // Code earlier machines ran heatThreshold times has shown it runs often: no wait for short traces.
    if (!preheated && t.n < this.minInsns && !selfLoops(t) && !this.shortDue(t, ctx)) return;
    try {
      const r = compileTrace(t, this.warmExits, this.slowCalls);
      if (process.env.OSVEMU_JIT_DEBUG === 'source-all') console.error(r.source);
      t.fn = blockStats ? statBlock(t, r.fn, r.source) : statsEnabled ? countBlock(t, r.fn, r.source, r.specialised) : r.fn;
      t.pure = r.specialised === t.n;
      if (t.pure) pureBlocks.add(r.fn);
      this.compiled++;
      const key = this.mem !== null && shared.size < MAX_SHARED ? codeKey(t, this.mem) : null;
      if (key !== null) shared.set(key, r.fn);
      if (blockStats) sources.set(r.fn, r.source);
      this.specialised += r.specialised;
      this.instructions += t.n;
    } catch (e) {
      if (process.env.OSVEMU_JIT_DEBUG) console.error('jit: compile failed:', e);
      this.failed++;
      t.hits = -NEVER_RUNS;
      return;
    }
    if (ctx !== undefined) this.countToRegion(t, t.fn!, t.hits);
  }

  /**
   * Makes t a wasm block; a trace planWasm declines (too many handler calls, no 64-bit code) waits for the JS
   * compiler's threshold instead, counted from here.
   */
  private compileWasm(t: Trace, wasm: WasmBlocks): void {
    // Too early in a cold process's machine (WasmBlocks.started): asked again after as many runs.
    if (!wasm.started()) { t.hits = 0; return; }
    let plan: WasmPlan | null = null;
    // Not counted again while its batch waits; runs counted from 0 once it is a block.
    t.hits = -NEVER_RUNS;
    try {
      const key = this.mem !== null ? codeKey(t, this.mem) : null;
      plan = wasm.queue(t, key, (fn, p) => {
        t.pure = p.specialised === t.n;
        this.compiled++;
        this.specialised += p.specialised;
        this.instructions += t.n;
        this.countToRegion(t, fn, 0);
      });
    } catch (e) {
      if (process.env.OSVEMU_JIT_DEBUG) console.error('jit: wasm compile failed:', e);
    }
    if (plan === null) {
      wasmDeclined.add(t);
      t.hits = this.threshold - this.jsThreshold;
    }
  }

  /**
   * Whether short trace t (at the threshold) compiles now: at its second time there, after as many runs as a
   * compiled block waits before it looks for a loop through it (regionFactor x threshold), when it looks for one
   * at once. Code that runs that often pays for V8's tiering; a boot's (the test runner's next boots adopt its
   * blocks) mostly does. Without the run loop's context (no region to look for) it stays interpreted.
   */
  private shortDue(t: Trace, ctx?: { cpu: Cpu; cache: { gen: number } }): boolean {
    if (ctx === undefined) { this.shortKept++; t.hits = -NEVER_RUNS; return false; }
    if (this.shortWaited.has(t)) {
      this.shortWaited.delete(t);
      // Its region (if any) is due at once: compile() then the run loop's regionDue().
      t.hits = this.jsThreshold * this.regionFactor - 1;
      return true;
    }
    this.shortWaited.add(t);
    t.hits = this.threshold - this.jsThreshold * Math.max(1, this.regionFactor - 1);
    // Hot in this machine: the process's next machines (the test runner's next boots) compile it at its first run.
    if (this.mem !== null && shortHot.size < MAX_SHARED) {
      const key = codeKey(t, this.mem);
      if (key !== null) shortHot.add(key);
    }
    return false;
  }

  /**
   * Makes t run its compiled block, its runs counted (t.hits, by the run loop and chainFrom) towards
   * regionThreshold, where it looks for a loop through t to compile as a region (regionDue). A region costs far
   * more to make than a block (a bigger function that V8 optimises on its own), so only code that keeps running
   * long after it was compiled earns one: a boot's loops run their thousands of times and are done, a
   * benchmark's or a spinning guest's run on. The count is a field, not a wrapper function: a wrapper was one
   * more megamorphic call per block run, until the region threshold, which most of a boot's blocks never reach.
   */
  private countToRegion(t: Trace, fn: BlockFn, runs: number): void {
    t.fn = fn;
    t.relinks = 0;
    if (!this.regionsEnabled) return;
    t.hits = runs;
    t.regionAt = this.jsThreshold * this.regionFactor;
  }

  /**
   * Called (cpu.rip at t's start) when t's runs reach t.regionAt: looks for a loop through t, or a path from it (the
   * first time one is found, only for a look pathWait runs later).
   */
  regionDue(t: Trace, ctx: { cpu: Cpu; cache: { gen: number } }): void {
    // Its runs are counted on (the run loop and chainFrom do not test for a due look): from 0, so that the count
    // stays a small integer; after NEVER_RUNS more runs it looks again, which finds the loop it found now.
    t.regionAt = NEVER_RUNS;
    if (t.fn !== null) this.regionAt(t, ctx, t.fn);
    t.hits = 0;
  }

  /** Compiles the loop (or path) through t that the trace links describe, if any, as a region t then runs. */
  private regionAt(t: Trace, ctx: { cpu: Cpu; cache: { gen: number } }, plain: BlockFn): void {
    if (!this.regionsEnabled || this.inRegion.has(t)) return;
    const cpu = ctx.cpu, gen = ctx.cache.gen;
    let region = findRegion(t, cpu, gen, cpu.segBase[CS] + cpu.rip, this.pathsEnabled);
    if (region === null) return;
    if (!region.loops && !this.pathDue.has(t)) {
      // A path pays for its compile and V8's tier-up only on code that keeps running: look again after
      // PATH_WAIT more runs (musl's sin in tst-fpu gets there, most kernel paths of a test do not).
      this.pathDue.add(t);
      t.regionAt = this.pathWait;
      return;
    }
    try {
      const compile = (r: Region) => compileRegion(r, cpu, gen, plain, this.warmExits, () => {
        this.regionsDropped++;
        t.fn = null;
        t.pure = false;
        t.hits = 0;
        for (const m of r.traces) this.inRegion.delete(m);
      }, this.slowCalls);
      let c = compile(region);
      // A path too long for V8 to optimise (SSE code: ~2 KB of source per instruction) is cut to its first half.
      while (c === null && !region.loops && region.traces.length > 2) {
        region = pathPrefix(region, Math.ceil(region.traces.length / 2));
        c = compile(region);
      }
      if (c === null) { this.regionsTooBig++; return; }
      if (process.env.OSVEMU_JIT_DEBUG?.startsWith('source')) console.error(c.source);
      t.fn = c.fn;
      // A region may hold blocks with handler calls; chainFrom then checks everything after it.
      t.pure = false;
      // Its wasm block (if it had one) is no longer what runs: the hub's links to it end, and no new ones are made.
      if (t.wasmIdx >= 0) { t.wasmIdx = -1; this.wasm?.arena.bump(); }
      for (const m of region.traces) this.inRegion.add(m);
      this.regions++;
      if (!region.loops) this.paths++;
      const key = this.mem !== null && regionHeads.size < MAX_SHARED ? codeKey(t, this.mem) : null;
      if (key !== null) regionHeads.add(key);
    } catch (e) {
      if (process.env.OSVEMU_JIT_DEBUG) console.error('jit: region compile failed:', e);
    }
  }

  /**
   * On a trace's first run: takes the compiled form another machine made of the same code, if any, or compiles
   * it now when earlier machines ran it often (heat, shortHot); else its runs are counted towards the process's heat.
   */
  adopt(t: Trace, mem: PhysMem, ctx?: { cpu: Cpu; cache: { gen: number } }): void {
    if (shared.size === 0 && heat.size === 0 && shortHot.size === 0 && !wasmWarm()) {
      if (Jit.collectHeat) this.seen.push(t);
      return;
    }
    const key = codeKey(t, mem);
    if (key === null) return;
    // Code an earlier machine made a wasm block of: one here too, from its first run (the plan is shared).
    if (this.wasm !== null && hasWasmPlan(key) && !wasmDeclined.has(t)) { this.compileWasm(t, this.wasm); return; }
    const fn = shared.get(key);
    if (fn === undefined) {
      const h = heat.get(key);
      // Hot in earlier machines: by their summed runs (heat), or a short trace that reached the threshold once in one
      // of them (shortHot; a compiler that takes short traces at the threshold anyway, minInsns 0, needs no such help).
      if ((shortHot.has(key) && this.minInsns > 0) || (h !== undefined && h >= this.heatThreshold)) {
        this.preheated++;
        this.compile(t, ctx, true);
      } else if (Jit.collectHeat) this.seen.push(t);
      return;
    }
    this.adopted++;
    const fnS = blockStats ? statBlock(t, fn, sources.get(fn) ?? '') : fn;
    t.pure = pureBlocks.has(fn);
    // Regions are this machine's own (they depend on where the code is mapped): an adopted block counts its runs
    // towards one as a block compiled here does, and where an earlier machine found a loop through it, it looks
    // for that loop after a few runs (the region's factory is most likely made already, region.ts).
    this.countToRegion(t, fnS, regionHeads.has(key) ? Math.max(t.hits, this.jsThreshold * this.regionFactor - REGION_RELOOK) : t.hits);
  }
}

/** Whether t ends with a branch back to its own start (a loop on its own: compiled whatever its length). */
function selfLoops(t: Trace): boolean {
  const last = t.insns[t.n - 1]!;
  if (!last.ends) return false;
  return last.end + last.imm === 0;
}
