// The block compiler's policy: when a trace is hot enough to compile, and what a failure to compile means
// (the trace stays interpreted). One per machine; the run loop (exec.ts) asks it.
import type { Trace } from '../codecache.js';
import { compileTrace } from './compiler.js';

/**
 * Executions of a trace before it is compiled. Compiling costs ~1 ms of CPU per trace (code generation, V8
 * parsing and optimising the function): a real OSv hello boot (2.7 M instructions) compiles ~400 traces at
 * 200 and pays more than it gains; at 5000 only what loops is compiled.
 */
export const DEFAULT_THRESHOLD = 5000;

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
