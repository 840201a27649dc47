/**
 * A settable virtual clock: the simplest `Clock`. The board can wrap its instruction counter
 * instead; tests and the "all vCPUs halted, jump to the next deadline" path use `setNs`.
 */
import type { Clock } from './bus.js';

export class ManualClock implements Clock {
  private ns = 0;

  constructor(startNs = 0) {
    this.ns = startNs;
  }

  nowNs(): number {
    return this.ns;
  }

  /** Moves time forward to `ns`; going backwards is a bug in the caller and throws. */
  setNs(ns: number): void {
    if (!(ns >= this.ns)) throw new Error(`ManualClock: time cannot go backwards (${this.ns} -> ${ns})`);
    this.ns = ns;
  }

  advance(deltaNs: number): void {
    this.setNs(this.ns + deltaNs);
  }
}
