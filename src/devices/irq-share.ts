/**
 * Wire-OR of several level-triggered sources onto one interrupt input (PCI INTx lines sharing
 * an IOAPIC pin). The target is asserted while at least one source is, so one device lowering
 * its line cannot hide another's pending interrupt.
 */
import type { IrqLine } from './bus.js';

export class SharedIrq {
  private asserted = 0;
  /** Per source: asserted (kept here rather than in the closures so a snapshot sees it). */
  private readonly up: boolean[] = [];

  constructor(private readonly target: IrqLine) {}

  /** A new source input. Each source must be used by one device only. */
  source(): IrqLine {
    const k = this.up.length;
    this.up.push(false);
    return {
      raise: () => {
        if (this.up[k]) return;
        this.up[k] = true;
        if (this.asserted++ === 0) this.target.raise();
      },
      lower: () => {
        if (!this.up[k]) return;
        this.up[k] = false;
        if (--this.asserted === 0) this.target.lower();
      },
    };
  }

  get level(): boolean {
    return this.asserted > 0;
  }
}
