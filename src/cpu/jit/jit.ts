// The block compiler's policy: when a trace is hot enough to compile, and what a failure to compile means
// (the trace stays interpreted). One per machine; the run loop (exec.ts) asks it.
import type { Trace } from '../codecache.js';
import type { Cpu } from '../cpu.js';
import { CS } from '../regs.js';
import { compileTrace, WARM_EXITS } from './compiler.js';
import { compileRegion, findRegion } from './region.js';

/**
 * Executions of a trace before it is compiled. Compiling costs milliseconds of CPU per trace (code generation,
 * V8 parsing and optimising the function, on its background threads too): a real OSv hello boot (2.7 M
 * instructions) compiles ~400 traces at 200 and takes 1.7 s of CPU instead of 0.3 s; at 5000 it compiles 6 and
 * still pays ~0.05 s. At 20000 it compiles none, while a loop that spins is compiled within a fraction of a
 * millisecond of guest work.
 */
export const DEFAULT_THRESHOLD = 20000;

export class Jit {
  /** Executions before compiling; 0 compiles every trace before its first run (the ISA tests). */
  threshold: number;
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

  constructor(threshold = DEFAULT_THRESHOLD) {
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
      t.fn = r.fn;
      this.compiled++;
      this.specialised += r.specialised;
      this.instructions += t.n;
    } catch (e) {
      if (process.env.OSVEMU_JIT_DEBUG) console.error('jit: compile failed:', e);
      this.failed++;
      t.hits = -Infinity;
      return;
    }
    if (ctx === undefined || !this.regionsEnabled || this.inRegion.has(t)) return;
    const cpu = ctx.cpu, gen = ctx.cache.gen;
    const region = findRegion(t, cpu, gen, cpu.segBase[CS] + cpu.rip);
    if (region === null) return;
    try {
      const c = compileRegion(region, cpu, gen, t.fn, this.warmExits, () => {
        this.regionsDropped++;
        t.fn = null;
        t.hits = 0;
        for (const m of region.traces) this.inRegion.delete(m);
      });
      if (process.env.OSVEMU_JIT_DEBUG === 'source') console.error(c.source);
      t.fn = c.fn;
      for (const m of region.traces) this.inRegion.add(m);
      this.regions++;
    } catch (e) {
      if (process.env.OSVEMU_JIT_DEBUG) console.error('jit: region compile failed:', e);
    }
  }
}
