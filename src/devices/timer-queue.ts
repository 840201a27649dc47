/**
 * A binary min-heap of device timers in virtual nanoseconds (the `TimerQueue` contract of
 * bus.ts). Order is (deadline, scheduling sequence), so equal deadlines fire in the order they
 * were scheduled and a run is reproducible. Cancellation is lazy: a cancelled entry stays in
 * the heap, flagged, and is dropped when it reaches the top.
 */
import type { TimerCallback, TimerHandle, TimerQueue } from './bus.js';

interface Entry {
  deadline: number;
  seq: number;
  callback: TimerCallback;
  cancelled: boolean;
}

export class HeapTimerQueue implements TimerQueue {
  private heap: Entry[] = [];
  private readonly live = new Map<TimerHandle, Entry>();
  private seq = 0;
  /** Told of every deadline scheduled (the board cuts a running quantum that would pass it). */
  onSchedule: ((deadlineNs: number) => void) | null = null;

  schedule(deadlineNs: number, callback: TimerCallback): TimerHandle {
    if (Number.isNaN(deadlineNs)) throw new Error('TimerQueue: deadline is NaN');
    this.onSchedule?.(deadlineNs);
    const handle = ++this.seq;
    const e: Entry = { deadline: deadlineNs, seq: handle, callback, cancelled: false };
    this.live.set(handle, e);
    this.push(e);
    return handle;
  }

  cancel(handle: TimerHandle): void {
    const e = this.live.get(handle);
    if (e === undefined) return;
    e.cancelled = true;
    this.live.delete(handle);
    this.dropCancelledTop();
  }

  nextDeadline(): number {
    this.dropCancelledTop();
    return this.heap.length === 0 ? Infinity : this.heap[0]!.deadline;
  }

  /** Number of live timers (for tests and diagnostics). */
  get size(): number {
    return this.live.size;
  }

  /** Live timers in scheduling order, and the last handle given out (snapshots). */
  pending(): { deadline: number; seq: number; callback: TimerCallback }[] {
    return [...this.live.values()].sort((a, b) => a.seq - b.seq).map((e) => ({ deadline: e.deadline, seq: e.seq, callback: e.callback }));
  }

  get lastHandle(): number {
    return this.seq;
  }

  /** Replaces every timer by `entries` (handles kept, so devices' saved handles stay valid). */
  restore(lastHandle: number, entries: readonly { deadline: number; seq: number; callback: TimerCallback }[]): void {
    this.heap = [];
    this.live.clear();
    this.seq = lastHandle;
    for (const { deadline, seq, callback } of entries) {
      const e: Entry = { deadline, seq, callback, cancelled: false };
      this.live.set(seq, e);
      this.push(e);
    }
  }

  runDue(nowNs: number): void {
    for (;;) {
      this.dropCancelledTop();
      const top = this.heap[0];
      if (top === undefined || top.deadline > nowNs) return;
      this.pop();
      this.live.delete(top.seq);
      top.callback(top.deadline);
    }
  }

  private dropCancelledTop(): void {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop();
  }

  private less(a: Entry, b: Entry): boolean {
    return a.deadline < b.deadline || (a.deadline === b.deadline && a.seq < b.seq);
  }

  private push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
      if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}
