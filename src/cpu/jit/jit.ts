// The block compiler's policy: when a trace is hot enough to compile, and what a failure to compile means
// (the trace stays interpreted). One per machine; the run loop (exec.ts) asks it.
import type { Trace } from '../codecache.js';
import { compileTrace } from './compiler.js';
import { countBlock, statsEnabled } from './stats.js';

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

  constructor(threshold = DEFAULT_THRESHOLD) {
    this.threshold = threshold;
  }

  /** Compiles t (called once its hit count reaches the threshold); a trace that fails stays interpreted. */
  compile(t: Trace): void {
    try {
      const r = compileTrace(t);
      t.fn = statsEnabled ? countBlock(t, r.fn, r.source, r.specialised) : r.fn;
      this.compiled++;
      this.specialised += r.specialised;
      this.instructions += t.n;
    } catch (e) {
      if (process.env.OSVEMU_JIT_DEBUG) console.error('jit: compile failed:', e);
      this.failed++;
      t.hits = -Infinity;
    }
  }
}
