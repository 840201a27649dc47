// The block compiler's policy: when a trace is hot enough to compile, and what a failure to compile means
// (the trace stays interpreted). One per machine; the run loop (exec.ts) asks it.
import type { Trace } from '../codecache.js';
import type { PhysMem } from '../physmem.js';
import { compileTrace, type BlockFn } from './compiler.js';

/**
 * Executions of a trace before it is compiled. Compiling costs milliseconds of CPU per trace (code generation,
 * V8 parsing and optimising the function, on its background threads too): a real OSv hello boot (2.7 M
 * instructions) compiles ~400 traces at 200 and takes 1.7 s of CPU instead of 0.3 s; at 5000 it compiles 6 and
 * still pays ~0.05 s. At 20000 it compiles none, while a loop that spins is compiled within a fraction of a
 * millisecond of guest work.
 */
export const DEFAULT_THRESHOLD = 20000;

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
  compiled = 0;
  failed = 0;
  /** Specialised instructions / all compiled instructions (a coverage figure for benchmarks). */
  specialised = 0;
  instructions = 0;
  /** Traces that started out compiled because another machine of the process had compiled the same code. */
  adopted = 0;

  /** mem: the physical memory the traces live in, for the shared cache's keys (null: nothing is shared). */
  constructor(threshold = DEFAULT_THRESHOLD, readonly mem: PhysMem | null = null) {
    this.threshold = threshold;
  }

  /** Compiles t (called once its hit count reaches the threshold); a trace that fails stays interpreted. */
  compile(t: Trace): void {
    try {
      const r = compileTrace(t);
      t.fn = r.fn;
      this.compiled++;
      const key = this.mem !== null && shared.size < MAX_SHARED ? codeKey(t, this.mem) : null;
      if (key !== null) shared.set(key, r.fn);
      this.specialised += r.specialised;
      this.instructions += t.n;
    } catch (e) {
      if (process.env.OSVEMU_JIT_DEBUG) console.error('jit: compile failed:', e);
      this.failed++;
      t.hits = -Infinity;
    }
  }

  /** On a trace's first run: takes the compiled form another machine made of the same code, if any. */
  adopt(t: Trace, mem: PhysMem): void {
    if (shared.size === 0) return;
    const key = codeKey(t, mem);
    const fn = key === null ? undefined : shared.get(key);
    if (fn === undefined) return;
    t.fn = fn;
    this.adopted++;
  }
}
