/**
 * The bus-independent half of a virtio transport: device status, feature negotiation, the
 * queues, the ISR and config-vector state, interrupt routing (MSI-X vector or INTx) and the
 * needs-reset path. pci-transport.ts maps registers onto it; a virtio-mmio transport could too.
 * It is also the `VirtioDeviceContext` device models get.
 */
import type { AccessSize, Clock, TimerQueue } from '../bus.js';
import {
  F_ANY_LAYOUT, F_HI_VERSION_1, F_RING_EVENT_IDX, F_RING_INDIRECT_DESC, ISR_CONFIG, ISR_QUEUE, NO_VECTOR,
  STATUS_DRIVER_OK, STATUS_FEATURES_OK, STATUS_NEEDS_RESET,
} from './constants.js';
import type { GuestMemory, VirtioDeviceContext, VirtioDeviceModel } from './device.js';
import { VirtQueue, type VirtQueueHost } from './virtqueue.js';

export interface VirtioTransportOptions {
  mem: GuestMemory;
  clock: Clock;
  timers: TimerQueue;
  /** One line per guest protocol error (default: stderr). */
  log?: (line: string) => void;
  /** Message prefix; the PCI layer renames it "virtio-blk 00:03.0" once plugged in. */
  label?: string;
}

/** How the bus delivers interrupts: an MSI-X vector (false when MSI-X is off) or the INTx level. */
export interface InterruptRoute {
  msi(vector: number): boolean;
  intx(level: boolean): void;
}

const RING_FEATURES = (1 << F_RING_INDIRECT_DESC) | (1 << F_RING_EVENT_IDX);

export class VirtioTransport implements VirtioDeviceContext, VirtQueueHost {
  label: string;
  readonly mem: GuestMemory;
  readonly clock: Clock;
  readonly timers: TimerQueue;
  readonly queues: VirtQueue[];
  status = 0;
  /** Feature words the driver wrote (index 0: bits 0-31, 1: bits 32-63). */
  readonly driverFeatures = new Uint32Array(2);
  isr = 0;
  configVector = NO_VECTOR;
  configGeneration = 0;
  broken = false;
  /** Selector registers (shared by the legacy and modern interfaces, as in QEMU). */
  queueSelect = 0;
  deviceFeatureSelect = 0;
  driverFeatureSelect = 0;
  /** Errors reported through `fail` since the last reset (for tests and debuggers). */
  readonly errors: string[] = [];
  route: InterruptRoute = { msi: () => false, intx: () => {} };
  private readonly log: (line: string) => void;

  constructor(
    readonly model: VirtioDeviceModel,
    opts: VirtioTransportOptions,
  ) {
    this.mem = opts.mem;
    this.clock = opts.clock;
    this.timers = opts.timers;
    this.label = opts.label ?? model.name;
    this.log = opts.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.queues = model.queueSizes.map((size, i) => new VirtQueue(i, size, this));
    model.attach(this);
  }

  /** Feature word `sel` the device offers through the modern interface (VERSION_1 included). */
  deviceFeatures(sel: number): number {
    if (sel === 0) return (this.model.features[0] | RING_FEATURES) >>> 0;
    if (sel === 1) return (this.model.features[1] | (1 << F_HI_VERSION_1)) >>> 0;
    return 0;
  }

  /** The 32 feature bits the legacy interface offers (no VERSION_1; ANY_LAYOUT is a legacy bit). */
  legacyFeatures(): number {
    return (this.model.features[0] | RING_FEATURES | (1 << F_ANY_LAYOUT)) >>> 0;
  }

  setDriverFeatures(sel: number, value: number): void {
    if (sel > 1 || this.status & STATUS_FEATURES_OK) return; // features are frozen once accepted
    this.driverFeatures[sel] = value >>> 0;
    this.applyRingFeatures();
  }

  /** Legacy drivers write all their features at once and never set FEATURES_OK. */
  setLegacyDriverFeatures(value: number): void {
    this.driverFeatures[0] = (value & this.legacyFeatures()) >>> 0;
    this.driverFeatures[1] = 0;
    this.applyRingFeatures();
  }

  negotiated(bit: number): boolean {
    return bit < 32 ? (this.driverFeatures[0]! & (1 << bit)) !== 0 : (this.driverFeatures[1]! & (1 << (bit - 32))) !== 0;
  }

  private applyRingFeatures(): void {
    for (const q of this.queues) {
      q.eventIdx = this.negotiated(F_RING_EVENT_IDX);
      q.indirect = this.negotiated(F_RING_INDIRECT_DESC);
    }
  }

  /** A guest write of the status register. */
  setStatus(value: number): void {
    value &= 0xff;
    if (value === 0) {
      this.reset();
      return;
    }
    const was = this.status;
    if (value & STATUS_FEATURES_OK && !(was & STATUS_FEATURES_OK)) {
      // The driver may only accept what was offered; otherwise FEATURES_OK does not stick.
      const ok = (this.driverFeatures[0]! & ~this.deviceFeatures(0)) === 0 && (this.driverFeatures[1]! & ~this.deviceFeatures(1)) === 0;
      if (!ok) value &= ~STATUS_FEATURES_OK;
    }
    this.status = (value & ~STATUS_NEEDS_RESET) | (was & STATUS_NEEDS_RESET);
    if (value & STATUS_DRIVER_OK && !(was & STATUS_DRIVER_OK)) this.model.driverOk?.();
  }

  /** Status 0: everything back to power-on state, device model included. */
  reset(): void {
    this.status = 0;
    this.driverFeatures.fill(0);
    this.configVector = NO_VECTOR;
    this.broken = false;
    this.queueSelect = this.deviceFeatureSelect = this.driverFeatureSelect = 0;
    for (const q of this.queues) q.reset();
    this.model.reset();
    this.lowerIsr();
  }

  queue(index: number): VirtQueue {
    const q = this.queues[index];
    if (q === undefined) throw new Error(`${this.label}: no queue ${index}`);
    return q;
  }

  /** The guest kicked queue `index` (out-of-range and unready queues are ignored, as QEMU does). */
  notify(index: number): void {
    const q = this.queues[index];
    if (q === undefined || !q.ready || this.broken) return;
    this.model.queueNotify(index);
  }

  /** Guest read of the device configuration space; bytes past its end read as 0xFF. */
  readDeviceConfig(offset: number, size: AccessSize): number {
    const c = this.model.config;
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + (offset + i < c.length ? c[offset + i]! : 0xff);
    return v >>> 0;
  }

  /** Guest write of the device configuration space; writes past its end are dropped. */
  writeDeviceConfig(offset: number, size: AccessSize, value: number): void {
    if (offset + size > this.model.config.length) return;
    this.model.writeConfig?.(offset, size, value);
  }

  /** ISR read: returns and clears it, and lowers INTx. */
  readIsr(): number {
    const v = this.isr;
    this.lowerIsr();
    return v;
  }

  private lowerIsr(): void {
    this.isr = 0;
    this.route.intx(false);
  }

  /** VirtQueueHost: used buffers are ready on `queue`. */
  signal(queue: number): void {
    this.raise(ISR_QUEUE, this.queues[queue]!.vector);
  }

  configChanged(): void {
    this.configGeneration = (this.configGeneration + 1) & 0xff;
    this.raise(ISR_CONFIG, this.configVector);
  }

  private raise(isrBit: number, vector: number): void {
    if (vector !== NO_VECTOR && this.route.msi(vector)) return;
    if (this.route.msi(NO_VECTOR)) return; // MSI-X on but no vector assigned: nothing is sent
    this.isr |= isrBit;
    this.route.intx(true);
  }

  warn(message: string): void {
    this.log(`osvemu: ${this.label}: ${message}`);
  }

  fail(message: string): void {
    if (this.broken) return;
    this.broken = true;
    this.errors.push(message);
    this.log(`osvemu: ${this.label}: ${message}; device needs reset`);
    this.status |= STATUS_NEEDS_RESET;
    this.configChanged();
  }
}
