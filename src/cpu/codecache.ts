// Decoded-instruction cache keyed by physical address (one per code mode), shared by all vCPUs: code
// mapped at several linear addresses shares one decode, and a write to a page drops that page's traces.
import { Ea, type Insn } from './insn.js';
import { PhysMem } from './physmem.js';
import { doubleFields, mutableFlags, mutableNumbers } from './shapes.js';
import type { BlockFn } from './jit/compiler.js';

/** A run count no trace reaches before its count is reset (2^30: a small integer to V8). */
export const NEVER_RUNS = 2 ** 30;

/** Straight-line run of pre-decoded instructions; only the last one may transfer control. */
export class Trace {
  readonly insns: Insn[];
  readonly n: number;
  /** False for a trace that is not in the cache (an instruction crossing into the next page). */
  readonly cached: boolean;
  // The trace that ran after this one last time, valid while the linear address, the address space (the
  // translation regime, Mmu.space, and the machine's TLB epoch), the code mode and the cache generation are
  // unchanged, on whichever vCPU: the run loop then skips the lookup.
  next: Trace | null = null;
  nextLin = NaN;
  nextGen = -1;
  nextEpoch = -1;
  nextMode = 0;
  nextSpace = -1;
  /**
   * The link leads to the linear page this trace ran on when it was made. Such a link survives TLB flushes (the
   * epoch): coming from a trace whose page was translated since the last flush, the next one on that page is
   * where it was (chain.ts sameEpoch). OSv reloads CR3 for every TLB shootdown; thread stacks freed and huge
   * pages unmapped made thousands per second of guest time, each of which used to unlink all code.
   */
  nextSame = false;
  /**
   * The successor the link named before `next` (a branch taken both ways, a return to two call sites), at linear
   * altLin: kept only while the link's generation, epoch, address space and mode stay those of `next` (both were
   * made under them), and checked as `next` is, altSame standing for nextSame. Without it every alternation went
   * back through the run loop's lookup (tst-clock: a link missed at 12% of the compiled blocks' hops).
   */
  alt: Trace | null = null;
  altLin = NaN;
  altSame = false;
  /**
   * Runs counted towards compiling this trace (jit/jit.ts); its compiled form once that happened. Both counts
   * stay small integers (NEVER_RUNS, not Infinity): V8 then keeps them in the object, where a field that once held
   * a non-integer is a separate heap number that every run's count reads and writes through.
   */
  hits = 0;
  /**
   * Times the run loop found this trace followed by another trace than its link named (from 0 again when it is
   * compiled, as its hits): a branch that often goes another way ends a path region there (region.ts).
   */
  relinks = 0;
  fn: BlockFn | null = null;
  /**
   * The compiled block runs only plain instructions (no handler calls: no halt, interrupt shadow, TF, mode or
   * address-space change), so chainFrom need not look at those after it (they held when it started).
   */
  pure = false;
  /**
   * Runs (hits) at which the compiled block is due to look for a loop through it (jit.ts Jit.regionDue);
   * NEVER_RUNS: not due. A field the run loop and chainFrom test, instead of a counting wrapper around the block.
   */
  regionAt = NEVER_RUNS;
  /** Set when the cache dropped this trace (its page was written): a compiled region holding it is stale. */
  dropped = false;
  /** Its wasm block's index in the machine's function table (src/cpu/jit/wasm/block.ts), or -1. */
  wasmIdx = -1;
  /** Physical address of the first byte (-1: not known); the block compiler's process-wide cache reads the code there. */
  phys = -1;
  /**
   * A single instruction that runs from the end of its page into the next one (CodeCache.addCross): the physical
   * page its last bytes were read from; -1 for a trace within one page.
   */
  phys2 = -1;
  /** insns[0], the head of the list their `next` fields make (an instruction belongs to one trace). */
  readonly first: Insn;
  constructor(insns: Insn[], cached = true) {
    this.insns = insns;
    this.n = insns.length;
    this.cached = cached;
    if (insns.length === 0) throw new Error('empty trace');
    this.first = insns[0]!;
    // Set from the instruction TLB's Float64Array: a double field from the start, or the first page-crossing
    // trace deprecates Trace's map (and V8 aborts or deoptimises the run loop it was optimising, cold boot).
    doubleFields(this, 'phys2');
    mutableFlags(this, 'dropped', 'altSame');
    // The second link's fields get their final kinds now (a double, any trace or null), not at the first alternation.
    doubleFields(this, 'altLin');
    this.alt = this;
    this.alt = null;
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
  /**
   * Cached page-crossing instructions by the physical page of their tail: a write there drops them from the page
   * they start on too. Without this cache such an instruction was decoded again at every run (a hot loop in OSv's
   * TCP stack with one: 80,000 decodes in 100 M instructions) and broke the trace links around it.
   */
  private readonly cross = new Map<number, { t: Trace; page: Map<number, Trace>; off: number }[]>();

  constructor(mem: PhysMem) {
    this.mem = mem;
    mem.onCodeWrite = (ppn) => this.dropPage(ppn);
    mutableNumbers(this, 'gen');
  }

  /** Traces were dropped: a new generation, which also ends the wasm hub's links (arena.ts Arena.bump). */
  private newGen(): void {
    this.gen++;
    this.mem.arena?.bump();
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

  /**
   * Caches the page-crossing single-instruction trace t at offset `off` of its first page's `page` (as returned by
   * page()); t.phys2 is the physical page of its tail, which must already hold code (so that a write to it
   * reaches dropPage without ending a trace anywhere it did not before).
   */
  addCross(t: Trace, page: Map<number, Trace>, off: number): void {
    const ppn2 = t.phys2 / 4096;
    page.set(off, t);
    // Entries whose first page was dropped since (their traces retired) go: code rewritten there again and again
    // does not grow the list.
    const l = (this.cross.get(ppn2) ?? []).filter((c) => !c.t.dropped);
    l.push({ t, page, off });
    this.cross.set(ppn2, l);
  }

  private dropCross(ppn: number): boolean {
    const l = this.cross.get(ppn);
    if (l === undefined) return false;
    this.cross.delete(ppn);
    for (const c of l) {
      c.t.dropped = true;
      if (c.page.get(c.off) === c.t) c.page.delete(c.off);
    }
    return true;
  }

  dropPage(ppn: number): void {
    let dropped = this.dropCross(ppn);
    for (const m of this.pages) {
      const p = m.get(ppn);
      if (p === undefined) continue;
      retire(p);
      m.delete(ppn);
      dropped = true;
    }
    if (dropped) this.newGen();
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
    for (const ppn of [...this.cross.keys()]) this.dropCross(ppn);
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
    this.newGen();
  }

  dropAll(): void {
    for (const ppn of [...this.cross.keys()]) this.dropCross(ppn);
    for (const m of this.pages) {
      for (const [ppn, p] of m) { this.mem.codePage[ppn] = 0; retire(p); }
      m.clear();
    }
    this.newGen();
  }
}

function retire(p: Map<number, Trace>): void {
  for (const t of p.values()) t.dropped = true;
}
