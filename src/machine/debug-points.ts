// Debugger breakpoints and watchpoints, kept outside guest memory. The run loop (Exec.debug) checks
// breakpoints by RIP; the MMU (Mmu.watch) reports accesses to watched pages, which stay out of its TLB.
import type { ExecDebug } from '../cpu/exec.js';
import { ACC_WRITE, type WatchHook } from '../cpu/mmu.js';

export type WatchKind = 'write' | 'read' | 'access';

interface Watch {
  kind: WatchKind;
  /** [start, end) as signed linear numbers, the form the MMU uses. */
  start: number;
  end: number;
}

/** Longest watched range accepted (its pages are all kept out of the TLB). */
export const MAX_WATCH_BYTES = 64 << 20;
const PAGE = 4096;

function pageOf(lin: number): number {
  return lin - (lin & 0xfff);
}

/** A gdb address (64-bit, unsigned) -> the signed number the core uses; exact for canonical addresses. */
export function addrNum(addr: bigint): number {
  return Number(BigInt.asIntN(64, addr));
}

export function addrBig(n: number): bigint {
  return BigInt.asUintN(64, BigInt(n));
}

/** The machine-wide set, shared by every vCPU's VcpuDebug. */
export class DebugPoints {
  /** Breakpoint addresses -> number of insertions (sw and hw may share an address). */
  private readonly breakCount = new Map<number, { sw: number; hw: number }>();
  readonly breaks = new Set<number>();
  readonly watches: Watch[] = [];
  /** Linear pages holding a watched byte. */
  readonly watchedPages = new Set<number>();

  insertBreak(hw: boolean, addr: number): void {
    const c = this.breakCount.get(addr) ?? { sw: 0, hw: 0 };
    if (hw) c.hw++;
    else c.sw++;
    this.breakCount.set(addr, c);
    this.breaks.add(addr);
  }

  removeBreak(hw: boolean, addr: number): boolean {
    const c = this.breakCount.get(addr);
    if (!c || (hw ? c.hw : c.sw) === 0) return false;
    if (hw) c.hw--;
    else c.sw--;
    if (c.sw + c.hw === 0) {
      this.breakCount.delete(addr);
      this.breaks.delete(addr);
    }
    return true;
  }

  /** 'swbreak' when gdb placed a software breakpoint at addr (it also checks for its own int3 there). */
  breakKind(addr: number): 'swbreak' | 'hwbreak' {
    return (this.breakCount.get(addr)?.sw ?? 0) > 0 ? 'swbreak' : 'hwbreak';
  }

  insertWatch(kind: WatchKind, start: number, length: number): boolean {
    if (!(length >= 1 && length <= MAX_WATCH_BYTES)) return false;
    this.watches.push({ kind, start, end: start + length });
    this.rebuildPages();
    return true;
  }

  removeWatch(kind: WatchKind, start: number, length: number): boolean {
    const i = this.watches.findIndex((w) => w.kind === kind && w.start === start && w.end === start + length);
    if (i < 0) return false;
    this.watches.splice(i, 1);
    this.rebuildPages();
    return true;
  }

  clear(): void {
    this.breakCount.clear();
    this.breaks.clear();
    this.watches.length = 0;
    this.watchedPages.clear();
  }

  get empty(): boolean {
    return this.breaks.size === 0 && this.watches.length === 0;
  }

  private rebuildPages(): void {
    this.watchedPages.clear();
    for (const w of this.watches) {
      for (let p = pageOf(w.start); p < w.end; p += PAGE) this.watchedPages.add(p);
    }
  }
}

/** One vCPU's view: the run loop's ExecDebug and the MMU's WatchHook. */
export class VcpuDebug implements ExecDebug, WatchHook {
  step = false;
  stepIrq = false;
  skipRip = NaN;
  watchHit = false;
  rangeStart = NaN;
  rangeEnd = NaN;
  interrupted = false;
  /** Of the first hit since the flag was cleared: an address inside the watch, and the watch's kind. */
  hitAddr = 0;
  hitKind: WatchKind = 'write';
  stopAt = NaN;
  observe: ((reason: number, icount: number) => void) | null = null;
  readonly breaks: ReadonlySet<number>;

  constructor(private readonly points: DebugPoints) {
    this.breaks = points.breaks;
  }

  pageWatched(page: number): boolean {
    return this.points.watchedPages.has(page);
  }

  access(lin: number, size: number, acc: number): void {
    if (this.watchHit) return;
    const lo = size === 0 ? pageOf(lin) : lin;
    const hi = size === 0 ? lo + PAGE : lin + size;
    const write = acc === ACC_WRITE;
    for (const w of this.points.watches) {
      if (w.end <= lo || w.start >= hi) continue;
      if (w.kind === 'write' ? !write : w.kind === 'read' ? write : false) continue;
      this.watchHit = true;
      this.hitAddr = Math.max(lo, w.start);
      this.hitKind = w.kind;
      return;
    }
  }
}
