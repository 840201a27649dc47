/**
 * virtio-rng device model (virtio 1.2 §5.4): one queue of device-writable buffers, each filled
 * with bytes from an EntropySource. QEMU's virtio-rng-pci uses 8-entry queues.
 */
import type { EntropySource } from '../backends/entropy.js';
import type { DeviceState } from '../snapshottable.js';
import { VIRTIO_ID_RNG } from './constants.js';
import type { VirtioDeviceContext, VirtioDeviceModel } from './device.js';

export class VirtioRng implements VirtioDeviceModel {
  readonly deviceType = VIRTIO_ID_RNG;
  readonly pciClass = 0x00ff00; // "other", as QEMU
  readonly name = 'virtio-rng';
  readonly queueSizes = [8];
  readonly features: readonly [number, number] = [0, 0];
  readonly config = new Uint8Array(0);
  /** Bytes handed out so far. */
  bytes = 0;
  private ctx!: VirtioDeviceContext;

  /** Replaceable: --record puts a tape in front of host entropy (src/machine/reverse-inputs.ts). */
  constructor(public source: EntropySource) {}

  attach(ctx: VirtioDeviceContext): void {
    this.ctx = ctx;
  }

  queueNotify(index: number): void {
    const q = this.ctx.queue(index);
    for (let c = q.pop(); c !== null; c = q.pop()) {
      const n = Math.min(c.writableBytes, 64 * 1024);
      c.forEach(true, 0, n, (piece) => this.source.fill(piece));
      this.bytes += n;
      q.push(c, n);
    }
    q.notify();
  }

  reset(): void {}

  saveState(): DeviceState {
    return { bytes: this.bytes, source: this.source.saveState?.() ?? null };
  }

  /** The generator's position comes back; a host source keeps drawing fresh bytes. */
  loadState(s: DeviceState): void {
    this.bytes = typeof s.bytes === 'number' ? s.bytes : 0;
    if (s.source !== null && s.source !== undefined) this.source.loadState?.(s.source);
  }
}
