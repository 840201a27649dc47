/**
 * The contract between the virtio transport (pci-transport.ts) and a device model (blk, net,
 * rng...), in TinyEMU's virtio.h split: the transport owns the registers, feature negotiation,
 * status, queues and interrupts; the device model owns its configuration space and what its
 * queues mean; a host back end (disk file, socket, entropy source) sits behind the device
 * model's own interface. See README.md in this folder.
 */
import type { AccessSize, Clock, TimerCallback, TimerQueue } from '../bus.js';
import type { DeviceState } from '../snapshottable.js';
import type { VirtQueue } from './virtqueue.js';

/** What a device may do with guest RAM (DMA). Addresses are guest-physical. */
export interface GuestMemory {
  /** A live view of RAM [addr, addr + len), or null when any byte of it is not RAM. */
  view(addr: number, len: number): Uint8Array | null;
  /** Tells the board that a device wrote RAM [addr, addr + len) through a view (drops decoded code there). */
  written(addr: number, len: number): void;
}

/** Services the transport gives a device model (see README.md). */
export interface VirtioDeviceContext {
  /** "virtio-blk 00:03.0": prefix for messages. */
  readonly label: string;
  readonly mem: GuestMemory;
  /** Virtual time; device latencies are scheduled on `timers` against it, never on the host clock. */
  readonly clock: Clock;
  readonly timers: TimerQueue;
  /** Queue `index` (0-based, fewer than `queueSizes.length`). */
  queue(index: number): VirtQueue;
  /** Whether the driver accepted feature `bit` (0-63). */
  negotiated(bit: number): boolean;
  /** The device configuration changed (link status...): bumps the generation and interrupts the guest. */
  configChanged(): void;
  /**
   * The guest broke the protocol: the device enters DEVICE_NEEDS_RESET, prints `message` as one
   * line on stderr, and ignores its queues until the driver resets it. The emulator keeps running.
   */
  fail(message: string): void;
  /** A host-side problem worth one line on stderr (a failed disk read...); the device keeps working. */
  warn(message: string): void;
  /** True between `fail` and the driver's reset. */
  readonly broken: boolean;
}

/** A virtio device type, independent of the bus that carries it. */
export interface VirtioDeviceModel {
  /** Virtio device type (VIRTIO_ID_*): PCI subsystem ID, and 0x1040 + type for modern IDs. */
  readonly deviceType: number;
  /** 24-bit PCI class code (class << 16 | subclass << 8 | prog-if). */
  readonly pciClass: number;
  /** Short name for messages: "virtio-blk". */
  readonly name: string;
  /** Maximum size of each queue (power of two); the length is the number of queues. */
  readonly queueSizes: readonly number[];
  /** Device-specific feature bits as [bits 0-31, bits 32-63]; the transport adds the ring bits. */
  readonly features: readonly [number, number];
  /** Device configuration space (little-endian), read by the guest as it is now. */
  readonly config: Uint8Array;
  /** Called once, before any other call, when the transport is built. */
  attach(ctx: VirtioDeviceContext): void;
  /** Guest write into the configuration space (after bounds checks); most devices ignore it. */
  writeConfig?(offset: number, size: AccessSize, value: number): void;
  /** The driver set DRIVER_OK: features are final (`ctx.negotiated`). */
  driverOk?(): void;
  /** The guest kicked queue `index`: take what is available (`ctx.queue(index).pop()`). */
  queueNotify(index: number): void;
  /** The driver reset the device (status 0) or the transport failed it: drop in-flight work. */
  reset(): void;
  /**
   * Snapshots: the model's own state (in-flight requests, back-end position); the transport saves
   * queues and registers. A model without these cannot be saved once the guest has started it.
   */
  saveState?(): DeviceState;
  /** Called after the transport's state is back (queues usable), on a model built with the same options. */
  loadState?(s: DeviceState): void;
  /** The callbacks the model schedules on `ctx.timers`, by stable name. */
  timerCallbacks?(): Record<string, TimerCallback>;
}
