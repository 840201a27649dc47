/**
 * The APIC "bus": every LAPIC of the machine, and the routing of interrupt messages between
 * them — IPIs from an ICR, redirection entries from the IOAPIC, MSI writes from PCI devices —
 * plus the EOI broadcast back to IOAPICs for level-triggered vectors.
 *
 * Delivery is immediate (no message latency) and in CPU-index order, so it is deterministic.
 * Lowest-priority delivery picks the matching LAPIC with the lowest processor priority, ties
 * broken by the lowest CPU index.
 */
import type { AccessSize, Clock, InterruptSink, MmioDevice, TimerQueue } from './bus.js';
import { DeliveryMode, LocalApic, type IpiRouter } from './lapic.js';

export enum Shorthand {
  NONE = 0,
  SELF = 1,
  ALL = 2,
  ALL_BUT_SELF = 3,
}

/** Base of the MSI address window: address bits 19:12 hold the destination APIC id. */
export const MSI_ADDRESS_BASE = 0xfee00000;

export class ApicBus implements IpiRouter {
  readonly lapics: LocalApic[] = [];
  /** CPU index of the first vCPU that sent an NMI to all-but-self (OSv's osv::halt on abort), or -1. */
  nmiAllButSelfFrom = -1;
  private readonly eoiListeners: ((vector: number) => void)[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly timers: TimerQueue,
  ) {}

  /** Creates the LAPIC of the next CPU: APIC id = CPU index, CPU 0 is the BSP. */
  addCpu(sink: InterruptSink, apicId = this.lapics.length): LocalApic {
    const cpuIndex = this.lapics.length;
    const lapic = new LocalApic({
      cpuIndex,
      apicId,
      bsp: cpuIndex === 0,
      clock: this.clock,
      timers: this.timers,
      sink,
      router: this,
    });
    this.lapics.push(lapic);
    return lapic;
  }

  /** Registers an EOI listener (the IOAPIC's `eoi`). */
  onEoi(listener: (vector: number) => void): void {
    this.eoiListeners.push(listener);
  }

  eoiBroadcast(vector: number): void {
    for (const l of this.eoiListeners) l(vector);
  }

  sendIpi(from: LocalApic, icrLo: number, dest: number, x2apic: boolean): void {
    const vector = icrLo & 0xff;
    const mode = ((icrLo >> 8) & 7) as DeliveryMode;
    const logical = (icrLo & (1 << 11)) !== 0;
    const assert = (icrLo & (1 << 14)) !== 0;
    const level = (icrLo & (1 << 15)) !== 0;
    const shorthand = ((icrLo >> 18) & 3) as Shorthand;
    // INIT level de-assert only resynchronises arbitration ids on old parts: nothing to do.
    if (mode === DeliveryMode.INIT && !assert && level) return;
    if ((mode === DeliveryMode.FIXED || mode === DeliveryMode.LOWEST) && vector < 16) {
      from.signalSendIllegalVector();
      return;
    }
    switch (shorthand) {
      case Shorthand.SELF:
        from.deliver(mode, vector, level);
        return;
      case Shorthand.ALL:
      case Shorthand.ALL_BUT_SELF:
        if (mode === DeliveryMode.NMI && shorthand === Shorthand.ALL_BUT_SELF && this.nmiAllButSelfFrom < 0) this.nmiAllButSelfFrom = from.cpuIndex;
        for (const l of this.lapics) {
          if ((shorthand === Shorthand.ALL_BUT_SELF && l === from) || l.mode === 'disabled') continue;
          l.deliver(mode, vector, level);
        }
        return;
      default:
        this.deliver(dest, logical, mode, vector, level, x2apic);
    }
  }

  /**
   * Delivers one message to the LAPICs matching `dest`. `x2apicFormat` says whether `dest` is
   * a 32-bit x2APIC destination (broadcast 0xFFFFFFFF) or an 8-bit xAPIC one (broadcast 0xFF);
   * IOAPIC entries and MSIs always use the 8-bit form.
   */
  deliver(dest: number, logical: boolean, mode: DeliveryMode, vector: number, level: boolean, x2apicFormat: boolean): void {
    dest >>>= 0;
    if (mode === DeliveryMode.LOWEST) {
      let best: LocalApic | undefined;
      for (const l of this.lapics) {
        if (this.matches(l, dest, logical, x2apicFormat) && (best === undefined || l.ppr < best.ppr)) best = l;
      }
      best?.deliver(mode, vector, level);
      return;
    }
    for (const l of this.lapics) {
      if (this.matches(l, dest, logical, x2apicFormat)) l.deliver(mode, vector, level);
    }
  }

  /**
   * An MSI write by a device: `addressLo` in the 0xFEExxxxx window (destination id in bits
   * 19:12, logical mode in bit 2), `data` with the vector in bits 7:0, delivery mode in 10:8
   * and trigger mode in bit 15.
   */
  deliverMsi(addressLo: number, data: number): void {
    if ((addressLo & 0xfff00000) >>> 0 !== MSI_ADDRESS_BASE) return;
    const dest = (addressLo >>> 12) & 0xff;
    const logical = (addressLo & 4) !== 0;
    const mode = ((data >> 8) & 7) as DeliveryMode;
    this.deliver(dest, logical, mode, data & 0xff, (data & 0x8000) !== 0, false);
  }

  private matches(l: LocalApic, dest: number, logical: boolean, x2apicFormat: boolean): boolean {
    if (l.mode === 'disabled') return false;
    const broadcast = x2apicFormat ? 0xffffffff : 0xff;
    if (dest === broadcast) return true;
    if (!logical) return l.apicId === dest;
    const ldr = l.logicalDest;
    if (l.mode === 'x2apic') {
      if (!x2apicFormat) return ((ldr & 0xffff) & dest) !== 0 && (ldr >>> 16) === 0;
      return ldr >>> 16 === dest >>> 16 && (ldr & dest & 0xffff) !== 0;
    }
    const logicalId = ldr >>> 24;
    const d = dest & 0xff;
    if (l.flatModel) return (logicalId & d) !== 0;
    return (logicalId >>> 4) === (d >>> 4) && (logicalId & d & 0xf) !== 0;
  }
}

/**
 * The 0xFEE00000 MMIO window: one physical range that shows each vCPU its own LAPIC. The
 * board maps this once and supplies `currentCpu` (the index of the vCPU doing the access).
 */
export class LapicMmioWindow implements MmioDevice {
  constructor(
    private readonly bus: ApicBus,
    private readonly currentCpu: () => number,
  ) {}

  readMmio(offset: number, size: AccessSize): number {
    const l = this.bus.lapics[this.currentCpu()];
    return l === undefined ? 0xffffffff : l.readMmio(offset, size);
  }

  writeMmio(offset: number, size: AccessSize, value: number): void {
    this.bus.lapics[this.currentCpu()]?.writeMmio(offset, size, value);
  }
}
