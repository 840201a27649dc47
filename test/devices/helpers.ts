/** Shared fakes for the device tests: a manual clock + timer queue and counting sinks/lines. */
import type { InterruptSink, IrqLine } from '../../src/devices/bus.js';
import { ManualClock } from '../../src/devices/clock.js';
import { HeapTimerQueue } from '../../src/devices/timer-queue.js';

export class CountingSink implements InterruptSink {
  kicks = 0;
  requestInterrupt(): void {
    this.kicks++;
  }
}

export class RecordingLine implements IrqLine {
  level = false;
  raises = 0;
  lowers = 0;
  raise(): void {
    this.level = true;
    this.raises++;
  }
  lower(): void {
    this.level = false;
    this.lowers++;
  }
}

/** A clock and timer queue that advance together, as the board does. */
export class VirtualTime {
  readonly clock = new ManualClock();
  readonly timers = new HeapTimerQueue();
  advance(ns: number): void {
    this.to(this.clock.nowNs() + ns);
  }
  /** Runs every deadline up to `ns` at its own time (as the board does), then stops at `ns`. */
  to(ns: number): void {
    for (let d = this.timers.nextDeadline(); d <= ns; d = this.timers.nextDeadline()) {
      if (d > this.clock.nowNs()) this.clock.setNs(d);
      this.timers.runDue(this.clock.nowNs());
    }
    this.clock.setNs(ns);
  }
  get now(): number {
    return this.clock.nowNs();
  }
}
