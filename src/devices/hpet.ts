/**
 * HPET at 0xFED00000 with the figures of QEMU's: 10 ns period (10,000,000 fs, an exact
 * multiple of 1 ns as OSv requires), 64-bit main counter, 3 comparators, vendor 0x8086,
 * legacy-replacement capable.
 *
 * The main counter is never ticked: while enabled it is `base + floor((now - baseNs) / 10)`,
 * with (base, baseNs) re-taken whenever the counter is enabled, disabled or written. The 64-bit
 * counter is kept as two 32-bit halves so guest-written values above 2^53 stay exact.
 * Comparators support one-shot and periodic mode, 32-bit mode, edge or level interrupts routed
 * to an IOAPIC pin (Tn_INT_ROUTE, or IRQ0->GSI 2 / IRQ8->GSI 8 in legacy-replacement mode).
 * FSB (MSI) delivery is not offered.
 */
import type { AccessSize, Clock, IrqLine, MmioDevice, TimerCallback, TimerQueue } from './bus.js';
import { captureFields, restoreFields, type DeviceState, type Snapshottable } from './snapshottable.js';

export const HPET_DEFAULT_BASE = 0xfed00000;
export const HPET_MMIO_SIZE = 0x400;
export const HPET_PERIOD_FS = 10_000_000;
export const HPET_TICK_NS = 10;
export const HPET_TIMERS = 3;

const TWO32 = 2 ** 32;
const CONF_ENABLE = 1;
const CONF_LEGACY = 2;
const TN_LEVEL = 1 << 1;
const TN_INT_ENB = 1 << 2;
const TN_PERIODIC = 1 << 3;
const TN_PERIODIC_CAP = 1 << 4;
const TN_SIZE_CAP = 1 << 5;
const TN_SETVAL = 1 << 6;
const TN_32BIT = 1 << 8;
const TN_WRITABLE = TN_LEVEL | TN_INT_ENB | TN_PERIODIC | TN_SETVAL | TN_32BIT | (0x1f << 9);
/** Tn_INT_ROUTE_CAP: the comparators may be routed to IOAPIC pins 20–23. */
const ROUTE_CAP = 0x00f00000;

class Comparator {
  conf = TN_PERIODIC_CAP | TN_SIZE_CAP;
  cmpLo = 0xffffffff;
  cmpHi = 0xffffffff;
  periodLo = 0;
  periodHi = 0;
  handle = 0;
  line: IrqLine | null = null;
}

export class Hpet implements MmioDevice, Snapshottable {
  private config = 0;
  private isr = 0;
  private baseLo = 0;
  private baseHi = 0;
  private baseNs = 0;
  private readonly timers: Comparator[] = [];
  // Scratch result of sampleCounter(), so reads allocate nothing.
  private cLo = 0;
  private cHi = 0;
  /** One stable callback per comparator, so a snapshot can name the pending timers. */
  private readonly fireBound: ((deadline: number) => void)[] = [];

  /**
   * `irqForGsi` gives the IOAPIC input for a pin (null if absent). The HPET asks for it when
   * a comparator fires, so re-routing by the guest takes effect at once.
   */
  constructor(
    private readonly clock: Clock,
    private readonly timerQueue: TimerQueue,
    private readonly irqForGsi: (gsi: number) => IrqLine | null = () => null,
  ) {
    for (let i = 0; i < HPET_TIMERS; i++) {
      this.timers.push(new Comparator());
      this.fireBound.push(() => this.fire(i));
    }
  }

  get enabled(): boolean {
    return (this.config & CONF_ENABLE) !== 0;
  }

  /** Main counter as a number (exact below 2^53; for tests and the debugger). */
  counter(): number {
    this.sampleCounter();
    return this.cHi * TWO32 + this.cLo;
  }

  readMmio(offset: number, size: AccessSize): number {
    const v = this.readDword(offset & ~3) >>> ((offset & 3) * 8);
    return size === 4 ? v >>> 0 : size === 2 ? v & 0xffff : v & 0xff;
  }

  writeMmio(offset: number, size: AccessSize, value: number): void {
    if (size !== 4 || offset & 3) return; // the HPET only defines 32- and 64-bit accesses
    this.writeDword(offset, value >>> 0);
  }

  private readDword(off: number): number {
    switch (off) {
      case 0x000:
        // rev 1, 3 timers (NUM_TIM_CAP = 2), 64-bit counter, legacy route capable, vendor 8086
        return ((0x8086 << 16) | (1 << 15) | (1 << 13) | ((HPET_TIMERS - 1) << 8) | 0x01) >>> 0;
      case 0x004:
        return HPET_PERIOD_FS;
      case 0x010:
        return this.config;
      case 0x014:
        return 0;
      case 0x020:
        return this.isr;
      case 0x0f0:
        this.sampleCounter();
        return this.cLo;
      case 0x0f4:
        this.sampleCounter();
        return this.cHi;
    }
    if (off >= 0x100 && off < 0x100 + 0x20 * HPET_TIMERS) {
      const t = this.timers[(off - 0x100) >> 5]!;
      switch (off & 0x1f) {
        case 0x00: return t.conf;
        case 0x04: return ROUTE_CAP;
        case 0x08: return t.cmpLo;
        case 0x0c: return t.conf & TN_32BIT ? 0 : t.cmpHi;
        default: return 0;
      }
    }
    return 0;
  }

  private writeDword(off: number, v: number): void {
    switch (off) {
      case 0x010: {
        const wasEnabled = this.enabled;
        this.sampleCounter();
        this.config = v & (CONF_ENABLE | CONF_LEGACY);
        // Re-base at the current value: enabling resumes counting, disabling freezes it.
        this.rebase(this.cLo, this.cHi);
        if (wasEnabled !== this.enabled) for (let i = 0; i < HPET_TIMERS; i++) this.arm(i);
        return;
      }
      case 0x020:
        // Write 1 to clear a level-triggered interrupt status bit.
        for (let i = 0; i < HPET_TIMERS; i++) {
          if (v & this.isr & (1 << i)) {
            this.isr &= ~(1 << i);
            this.timers[i]!.line?.lower();
          }
        }
        return;
      case 0x0f0:
        this.sampleCounter();
        this.rebase(v, this.cHi);
        this.rearmAll();
        return;
      case 0x0f4:
        this.sampleCounter();
        this.rebase(this.cLo, v);
        this.rearmAll();
        return;
    }
    if (off >= 0x100 && off < 0x100 + 0x20 * HPET_TIMERS) {
      const i = (off - 0x100) >> 5;
      const t = this.timers[i]!;
      switch (off & 0x1f) {
        case 0x00: {
          const wasLevel = t.conf & TN_LEVEL;
          t.conf = (t.conf & ~TN_WRITABLE) | (v & TN_WRITABLE);
          if (wasLevel && !(t.conf & TN_LEVEL) && this.isr & (1 << i)) {
            this.isr &= ~(1 << i);
            t.line?.lower();
          }
          this.arm(i);
          return;
        }
        case 0x08:
        case 0x0c: {
          const high = (off & 0x1f) === 0x0c;
          if (high && t.conf & TN_32BIT) return;
          const periodic = (t.conf & TN_PERIODIC) !== 0;
          if (!periodic || t.conf & TN_SETVAL) {
            if (high) t.cmpHi = v;
            else t.cmpLo = v;
          }
          if (periodic) {
            if (high) t.periodHi = v;
            else t.periodLo = v;
          }
          // SETVAL covers one write; a 64-bit guest write is low half then high half.
          if (high || t.conf & TN_32BIT) t.conf &= ~TN_SETVAL;
          this.arm(i);
          return;
        }
      }
    }
  }

  saveState(): DeviceState {
    const s = captureFields(this, { nested: ['timers'] });
    // The line a comparator last raised, as its GSI (-1: none), so a re-route after restore lowers it.
    s.lineGsi = this.timers.map((t) => {
      if (t.line === null) return -1;
      for (let g = 0; g < 32; g++) if (this.irqForGsi(g) === t.line) return g;
      return -1;
    });
    return s;
  }

  loadState(s: DeviceState): void {
    const { lineGsi, ...fields } = s;
    restoreFields(this, fields, { nested: ['timers'] });
    (lineGsi as number[]).forEach((g, i) => { this.timers[i]!.line = g < 0 ? null : this.irqForGsi(g); });
  }

  timerCallbacks(): Record<string, TimerCallback> {
    return Object.fromEntries(this.fireBound.map((f, i) => [`fire${i}`, f]));
  }

  private rebase(lo: number, hi: number): void {
    this.baseLo = lo >>> 0;
    this.baseHi = hi >>> 0;
    this.baseNs = this.clock.nowNs();
  }

  private elapsedTicks(): number {
    return this.enabled ? Math.floor((this.clock.nowNs() - this.baseNs) / HPET_TICK_NS) : 0;
  }

  /** Sets (cLo, cHi) to the current main counter value. */
  private sampleCounter(): void {
    const ticks = this.elapsedTicks();
    const tLo = ticks % TWO32;
    const sum = this.baseLo + tLo;
    const carry = sum >= TWO32 ? 1 : 0;
    this.cLo = (sum - carry * TWO32) >>> 0;
    this.cHi = (this.baseHi + Math.floor(ticks / TWO32) + carry) >>> 0;
  }

  private rearmAll(): void {
    for (let i = 0; i < HPET_TIMERS; i++) this.arm(i);
  }

  /** (Re)schedules comparator `i` for the moment the counter reaches its comparator value. */
  private arm(i: number): void {
    const t = this.timers[i]!;
    if (t.handle !== 0) this.timerQueue.cancel(t.handle);
    t.handle = 0;
    if (!this.enabled || !(t.conf & TN_INT_ENB)) return;
    this.sampleCounter();
    let diffLo: number;
    let diffHi: number;
    if (t.conf & TN_32BIT) {
      diffLo = (t.cmpLo - this.cLo) >>> 0;
      diffHi = 0;
    } else {
      diffLo = (t.cmpLo - this.cLo) >>> 0;
      diffHi = (t.cmpHi - this.cHi - (t.cmpLo < this.cLo ? 1 : 0)) >>> 0;
    }
    if (diffHi >= 1 << 20) return; // more than ~360 years of virtual time away
    const ticks = this.elapsedTicks() + diffHi * TWO32 + diffLo;
    t.handle = this.timerQueue.schedule(this.baseNs + ticks * HPET_TICK_NS, this.fireBound[i]!);
  }

  private fire(i: number): void {
    const t = this.timers[i]!;
    t.handle = 0;
    if (t.conf & TN_PERIODIC && (t.periodLo !== 0 || t.periodHi !== 0)) {
      // Advance the comparator past the counter by whole periods (a time jump coalesces the
      // missed ones), modulo 2^32 in 32-bit mode.
      const counter = this.counter();
      const period = t.conf & TN_32BIT ? t.periodLo : t.periodHi * TWO32 + t.periodLo;
      let cmp = t.conf & TN_32BIT ? t.cmpLo : t.cmpHi * TWO32 + t.cmpLo;
      const now = t.conf & TN_32BIT ? counter % TWO32 : counter;
      cmp += period;
      if (cmp <= now) cmp += (Math.floor((now - cmp) / period) + 1) * period;
      if (t.conf & TN_32BIT) cmp %= TWO32;
      t.cmpLo = cmp % TWO32 >>> 0;
      if (!(t.conf & TN_32BIT)) t.cmpHi = Math.floor(cmp / TWO32) >>> 0;
    }
    this.interrupt(i);
    if (t.conf & TN_PERIODIC) this.arm(i);
  }

  private interrupt(i: number): void {
    const t = this.timers[i]!;
    const line = this.routeOf(i);
    if (t.line !== line && t.line !== null && this.isr & (1 << i)) t.line.lower();
    t.line = line;
    if (t.conf & TN_LEVEL) {
      this.isr |= 1 << i;
      line?.raise();
    } else {
      line?.raise();
      line?.lower();
    }
  }

  private routeOf(i: number): IrqLine | null {
    if (this.config & CONF_LEGACY && i < 2) return this.irqForGsi(i === 0 ? 2 : 8);
    return this.irqForGsi((this.timers[i]!.conf >> 9) & 0x1f);
  }
}
