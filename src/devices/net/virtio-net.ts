/**
 * The virtio-net device model (virtio 1.2 §5.1) as OSv's driver uses it (drivers/virtio-net.cc):
 * queue 0 receive, queue 1 transmit, the MAC and link status in the configuration space, and
 * mergeable receive buffers (a frame may fill several rx chains; `num_buffers` says how many).
 * Like QEMU's device in front of a back end without a vnet header (stream, passt), it offers no
 * checksum or segmentation offload, so every frame is a complete Ethernet frame on both sides.
 *
 * Frames from the host arrive through the NetPort at the board's deterministic points; when the
 * guest has posted too few buffers they wait in a bounded backlog until it kicks the rx queue.
 */
import type { NicDevice, NetPort } from './port.js';
import { MAX_FRAME, MIN_FRAME } from './backend.js';
import type { DescriptorChain } from '../virtio/chain.js';
import { F_HI_VERSION_1, VIRTIO_ID_NET } from '../virtio/constants.js';
import type { VirtioDeviceContext, VirtioDeviceModel } from '../virtio/device.js';
import { loadChain, saveChain } from '../virtio/snapshot.js';
import { SnapshotStateError, type DeviceState } from '../snapshottable.js';

export const NET_F_CSUM = 0;
export const NET_F_GUEST_CSUM = 1;
export const NET_F_MAC = 5;
export const NET_F_MRG_RXBUF = 15;
export const NET_F_STATUS = 16;
export const NET_S_LINK_UP = 1;

const RXQ = 0;
const TXQ = 1;
const QUEUE_SIZE = 256;
/** Frames kept while the guest has no rx buffers; later ones are dropped as a full NIC drops them. */
const MAX_BACKLOG = 1024;

export interface VirtioNetOptions {
  mac: Uint8Array;
  port: NetPort;
}

export class VirtioNet implements VirtioDeviceModel, NicDevice {
  readonly deviceType = VIRTIO_ID_NET;
  readonly pciClass = 0x020000;
  readonly name = 'virtio-net';
  readonly queueSizes = [QUEUE_SIZE, QUEUE_SIZE] as const;
  readonly features: readonly [number, number] = [(1 << NET_F_MAC) | (1 << NET_F_MRG_RXBUF) | (1 << NET_F_STATUS), 0];
  /** mac[6], status u16, max_virtqueue_pairs u16. */
  readonly config = new Uint8Array(10);
  private ctx!: VirtioDeviceContext;
  private linkUp = true;
  private driverReady = false;
  /** Rx chains taken from the ring but not filled yet (a frame needed more than were there). */
  private stash: DescriptorChain[] = [];
  private backlog: Uint8Array[] = [];
  private readonly hdr = new Uint8Array(12);
  readonly stats = { rxFrames: 0, rxDropped: 0, txFrames: 0, txDropped: 0 };

  constructor(private readonly opts: VirtioNetOptions) {
    this.config.set(opts.mac, 0);
    this.config[8] = 1; // one queue pair
    this.writeStatus();
  }

  attach(ctx: VirtioDeviceContext): void {
    this.ctx = ctx;
  }

  private writeStatus(): void {
    this.config[6] = this.linkUp ? NET_S_LINK_UP : 0;
    this.config[7] = 0;
  }

  /** NicDevice: the cable (back end) went up or down. */
  setLink(up: boolean): void {
    if (up === this.linkUp) return;
    this.linkUp = up;
    this.writeStatus();
    if (this.driverReady && this.ctx.negotiated(NET_F_STATUS)) this.ctx.configChanged();
  }

  get link(): boolean {
    return this.linkUp;
  }

  /** 12 bytes with mergeable buffers or VERSION_1, else 10 (virtio 1.2 §5.1.6). */
  private get hdrLen(): number {
    return this.ctx.negotiated(NET_F_MRG_RXBUF) || this.ctx.negotiated(32 + F_HI_VERSION_1) ? 12 : 10;
  }

  driverOk(): void {
    this.driverReady = true;
    this.flushBacklog();
  }

  reset(): void {
    this.driverReady = false;
    this.stash = [];
    this.backlog = [];
  }

  /** Snapshots: link, driver state, rx chains held, frames waiting for rx buffers, counters. */
  saveState(): DeviceState {
    return {
      config: this.config.slice(), linkUp: this.linkUp, driverReady: this.driverReady,
      stash: this.stash.map(saveChain), backlog: this.backlog.map((f) => f.slice()), stats: { ...this.stats },
    };
  }

  loadState(s: DeviceState): void {
    const stash = s.stash, backlog = s.backlog, stats = s.stats as Record<string, number> | null;
    if (!(s.config instanceof Uint8Array) || s.config.length !== this.config.length || !Array.isArray(stash) || !Array.isArray(backlog) ||
      typeof stats !== 'object' || stats === null || backlog.some((f) => !(f instanceof Uint8Array))) {
      throw new SnapshotStateError(`${this.ctx.label}: bad virtio-net state`);
    }
    this.config.set(s.config);
    this.linkUp = s.linkUp === true;
    this.driverReady = s.driverReady === true;
    this.stash = stash.map((c) => loadChain(this.ctx.mem, c));
    this.backlog = (backlog as Uint8Array[]).map((f) => f.slice());
    Object.assign(this.stats, stats);
  }

  queueNotify(index: number): void {
    if (index === TXQ) this.transmit();
    else if (index === RXQ) this.flushBacklog();
  }

  // ---- transmit -------------------------------------------------------------------------------
  private transmit(): void {
    const q = this.ctx.queue(TXQ);
    const hdrLen = this.hdrLen;
    for (let chain = q.pop(); chain !== null; chain = q.pop()) {
      if (chain.readableBytes < hdrLen) {
        this.ctx.fail(`tx chain at descriptor ${chain.head} holds ${chain.readableBytes} bytes, less than the ${hdrLen}-byte header`);
        return;
      }
      const len = chain.readableBytes - hdrLen;
      if (len < MIN_FRAME || len > MAX_FRAME) this.stats.txDropped++;
      else {
        const frame = new Uint8Array(len);
        chain.read(hdrLen, frame);
        this.stats.txFrames++;
        this.opts.port.transmit(frame);
      }
      q.push(chain, 0);
    }
    q.notify();
  }

  // ---- receive --------------------------------------------------------------------------------
  /** NicDevice: a frame from the host, at a deterministic point. */
  receive(frame: Uint8Array): void {
    if (!this.driverReady || !this.linkUp) {
      this.stats.rxDropped++;
      return;
    }
    if (this.backlog.length > 0 || !this.deliver(frame)) {
      if (this.backlog.length >= MAX_BACKLOG) this.stats.rxDropped++;
      else this.backlog.push(frame);
    }
    this.ctx.queue(RXQ).notify();
  }

  private flushBacklog(): void {
    if (!this.driverReady) return;
    let n = 0;
    while (n < this.backlog.length && this.deliver(this.backlog[n]!)) n++;
    if (n > 0) {
      this.backlog.splice(0, n);
      this.ctx.queue(RXQ).notify();
    }
  }

  /** Writes one frame into rx buffers; false when the guest has not posted enough of them. */
  private deliver(frame: Uint8Array): boolean {
    if (this.ctx.broken) return false;
    const q = this.ctx.queue(RXQ);
    const hdrLen = this.hdrLen;
    const need = hdrLen + frame.length;
    const mergeable = this.ctx.negotiated(NET_F_MRG_RXBUF);
    let have = 0, chains = 0;
    for (;;) {
      while (chains < this.stash.length && have < need) {
        const c = this.stash[chains]!;
        if (!mergeable && c.writableBytes < need) {
          // Without mergeable buffers a frame must fit one chain: too big for this one, dropped (as QEMU).
          this.stats.rxDropped++;
          return true;
        }
        have += c.writableBytes;
        chains++;
        if (!mergeable) break;
      }
      if (have >= need) break;
      const c = q.pop();
      if (c === null) return false;
      if (c.writableBytes === 0) {
        this.ctx.fail(`rx chain at descriptor ${c.head} has no device-writable buffer`);
        return false;
      }
      this.stash.push(c);
    }
    const hdr = this.hdr;
    hdr.fill(0);
    hdr[10] = chains & 0xff;
    hdr[11] = chains >> 8;
    let off = 0; // position in header + frame
    for (let i = 0; i < chains; i++) {
      const c = this.stash[i]!;
      let written = 0;
      if (off < hdrLen) written += c.write(0, hdr.subarray(off, hdrLen));
      const fromFrame = Math.max(0, off - hdrLen);
      const room = c.writableBytes - written;
      const n = Math.min(room, frame.length - fromFrame);
      written += c.write(written, frame.subarray(fromFrame, fromFrame + n));
      off += written;
      q.push(c, written);
    }
    this.stash.splice(0, chains);
    this.stats.rxFrames++;
    return true;
  }
}
