// Decoded-instruction cache keyed by physical address (one per code mode), shared by all vCPUs: code
// mapped at several linear addresses shares one decode, and a write to a page drops that page's traces.
import { Ea, type Insn } from './insn.js';
import { PhysMem } from './physmem.js';
import type { BlockFn } from './jit/compiler.js';

/** Straight-line run of pre-decoded instructions; only the last one may transfer control. */
export class Trace {
  readonly insns: Insn[];
  readonly n: number;
  /** False for a trace that is not in the cache (an instruction crossing into the next page). */
  readonly cached: boolean;
  // The trace that ran after this one last time, valid while the linear address, the vCPU's address
  // space (its MMU and that MMU's flush epoch), the code mode and the cache generation are unchanged:
  // the run loop then skips the lookup.
  next: Trace | null = null;
  nextLin = NaN;
  nextGen = -1;
  nextEpoch = -1;
  nextMode = 0;
  nextMmu: object | null = null;
  /** Runs counted towards compiling this trace (jit/jit.ts); its compiled form once that happened. */
  hits = 0;
  fn: BlockFn | null = null;
  /**
   * Runs (hits) at which the compiled block is due to look for a loop through it (jit.ts Jit.regionDue);
   * Infinity: not due. A field the run loop and chainFrom test, instead of a counting wrapper around the block.
   */
  regionAt = Infinity;
  /** Set when the cache dropped this trace (its page was written): a compiled region holding it is stale. */
  dropped = false;
  /** Physical address of the first byte (-1: not known); the block compiler's process-wide cache reads the code there. */
  phys = -1;
  /** insns[0], the head of the list their `next` fields make (an instruction belongs to one trace). */
  readonly first: Insn;
  constructor(insns: Insn[], cached = true) {
    this.insns = insns;
    this.n = insns.length;
    this.cached = cached;
    if (insns.length === 0) throw new Error('empty trace');
    this.first = insns[0]!;
    let end = 0;
    for (let k = 0; k < insns.length; k++) {
      const i = insns[k]!;
      i.next = k + 1 < insns.length ? insns[k + 1]! : null;
      end += i.len;
      i.end = end;
      i.idx = k;
      // Whatever the decoder said, anything that ends a trace or addresses relative to RIP reads RIP.
      if (i.ends || i.eaKind === Ea.RIP) i.sync = true;
    }
  }
}

export const MAX_TRACE = 32;

export class CodeCache {
  /** Per mode (16, 32, 64 -> index 0, 1, 2): physical page number -> traces by page offset. */
  private readonly pages: Map<number, Map<number, Trace>>[] = [new Map(), new Map(), new Map()];
  /** Bumped whenever any page's traces are dropped, so vCPUs re-fetch their cached page arrays. */
  gen = 0;
  readonly mem: PhysMem;

  constructor(mem: PhysMem) {
    this.mem = mem;
    mem.onCodeWrite = (ppn) => this.dropPage(ppn);
  }

  static modeIndex(mode: number): number {
    return mode === 64 ? 2 : mode === 32 ? 1 : 0;
  }

  /** The trace array of a physical page (created on first use, which marks the page as code). */
  page(mode: number, ppn: number): Map<number, Trace> {
    const m = this.pages[CodeCache.modeIndex(mode)];
    let p = m.get(ppn);
    if (p === undefined) {
      // A map, not a 4096-slot array: a page holds a few traces, and thousands of mostly empty arrays
      // cost more in garbage collection than the map lookups do.
      p = new Map();
      m.set(ppn, p);
      this.mem.markCode(ppn);
    }
    return p;
  }

  dropPage(ppn: number): void {
    let dropped = false;
    for (const m of this.pages) {
      const p = m.get(ppn);
      if (p === undefined) continue;
      retire(p);
      m.delete(ppn);
      dropped = true;
    }
    if (dropped) this.gen++;
  }

  /** Per mode, the physical pages that hold cached code (snapshots: a write to one ends a trace). */
  pageSets(): number[][] {
    return this.pages.map((m) => [...m.keys()].sort((a, b) => a - b));
  }

  /**
   * Makes the cached code pages exactly `pageSets` (per mode), so writes to them end the running trace
   * exactly where they did when the sets were saved. Traces of a page are kept when `keep(ppn)` says its
   * bytes did not change; others start empty.
   */
  restorePageSets(sets: readonly (readonly number[])[], keep: (ppn: number) => boolean = () => false): void {
    this.mem.codePage.fill(0);
    sets.forEach((list, mi) => {
      const m = this.pages[mi]!;
      const want = new Set(list);
      for (const ppn of [...m.keys()]) if (!want.has(ppn) || !keep(ppn)) { retire(m.get(ppn)!); m.delete(ppn); }
      for (const ppn of list) {
        if (!m.has(ppn)) m.set(ppn, new Map());
        this.mem.markCode(ppn);
      }
    });
    this.gen++;
  }

  dropAll(): void {
    for (const m of this.pages) {
      for (const [ppn, p] of m) { this.mem.codePage[ppn] = 0; retire(p); }
      m.clear();
    }
    this.gen++;
  }
}

function retire(p: Map<number, Trace>): void {
  for (const t of p.values()) t.dropped = true;
}
