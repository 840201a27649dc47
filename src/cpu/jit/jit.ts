// The block compiler's policy: when a trace is hot enough to compile, and what a failure to compile means
// (the trace stays interpreted). One per machine; the run loop (exec.ts) asks it.
import type { Trace } from '../codecache.js';
import { compileTrace } from './compiler.js';

/** Executions of a trace before it is compiled (V8 needs a few hundred runs before a function pays off). */
export const DEFAULT_THRESHOLD = 200;

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
      t.fn = r.fn;
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
