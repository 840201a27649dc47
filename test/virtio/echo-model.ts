// A toy device model for transport tests: queue 0 copies each chain's readable bytes, reversed,
// into its writable part.
import { VIRTIO_ID_CONSOLE } from '../../src/devices/virtio/constants.js';
import type { VirtioDeviceContext, VirtioDeviceModel } from '../../src/devices/virtio/device.js';

export class EchoModel implements VirtioDeviceModel {
  readonly deviceType = VIRTIO_ID_CONSOLE;
  readonly pciClass = 0x078000;
  readonly name = 'virtio-echo';
  readonly queueSizes = [8, 4];
  readonly features: readonly [number, number] = [1 << 0, 0];
  readonly config = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
  ctx!: VirtioDeviceContext;
  resets = 0;
  driverOks = 0;
  configWrites: [number, number, number][] = [];
  attach(ctx: VirtioDeviceContext): void {
    this.ctx = ctx;
  }
  writeConfig(offset: number, size: 1 | 2 | 4, value: number): void {
    this.configWrites.push([offset, size, value]);
  }
  driverOk(): void {
    this.driverOks++;
  }
  queueNotify(index: number): void {
    const q = this.ctx.queue(index);
    for (let c = q.pop(); c !== null; c = q.pop()) {
      const data = new Uint8Array(c.readableBytes);
      c.read(0, data);
      data.reverse();
      q.push(c, c.write(0, data));
    }
    q.notify();
  }
  reset(): void {
    this.resets++;
  }
}
