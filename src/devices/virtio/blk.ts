/**
 * virtio-blk device model (virtio 1.2 §5.2) over a BlockBackend. A request is a chain: a
 * 16-byte header (type, reserved, sector) in the readable part, data, and a status byte at the
 * very end of the writable part. The host I/O is done when the request is taken; its completion
 * (used ring + interrupt) is posted at a virtual time given by a fixed per-request cost plus a
 * per-byte cost, requests on one device completing in order, so a run repeats exactly and the
 * guest sees disk I/O take time.
 *
 * As QEMU's virtio-blk-pci: one queue per vCPU (MQ), 256 entries, seg_max = 254, 512-byte
 * blocks, write cache on (FLUSH, CONFIG_WCE), DISCARD and WRITE_ZEROES, RO for read-only disks.
 */
import type { TimerCallback, TimerHandle } from '../bus.js';
import { SnapshotStateError, type DeviceState } from '../snapshottable.js';
import { loadDiskState, saveDiskState } from '../backends/disk-overlay-state.js';
import { DiskError, writeZeroes, type BlockBackend } from '../backends/block.js';
import type { DescriptorChain } from './chain.js';
import { VIRTIO_ID_BLOCK } from './constants.js';
import type { VirtioDeviceContext, VirtioDeviceModel } from './device.js';

export const BLK_F_SIZE_MAX = 1;
export const BLK_F_SEG_MAX = 2;
export const BLK_F_GEOMETRY = 4;
export const BLK_F_RO = 5;
export const BLK_F_BLK_SIZE = 6;
export const BLK_F_FLUSH = 9;
export const BLK_F_TOPOLOGY = 10;
export const BLK_F_CONFIG_WCE = 11;
export const BLK_F_MQ = 12;
export const BLK_F_DISCARD = 13;
export const BLK_F_WRITE_ZEROES = 14;

export const BLK_T_IN = 0;
export const BLK_T_OUT = 1;
export const BLK_T_FLUSH = 4;
export const BLK_T_GET_ID = 8;
export const BLK_T_DISCARD = 11;
export const BLK_T_WRITE_ZEROES = 13;

export const BLK_S_OK = 0;
export const BLK_S_IOERR = 1;
export const BLK_S_UNSUPP = 2;

const SECTOR = 512;
const CONFIG_SIZE = 60;
const MAX_DISCARD_SECTORS = 0x3fffff;

/** Virtual cost of a request: fixed + per byte (defaults: 10 µs + 0.5 ns/byte, a 2 GB/s SSD). */
export interface DiskTiming {
  requestNs: number;
  nsPerByte: number;
}
export const DEFAULT_DISK_TIMING: DiskTiming = { requestNs: 10_000, nsPerByte: 0.5 };

export interface VirtioBlkOptions {
  backend: BlockBackend;
  /** Request queues (QEMU: one per vCPU). */
  queues?: number;
  queueSize?: number;
  /** GET_ID string (up to 20 bytes). */
  serial?: string;
  timing?: DiskTiming;
}

export class VirtioBlk implements VirtioDeviceModel {
  readonly deviceType = VIRTIO_ID_BLOCK;
  readonly pciClass = 0x010000; // mass storage, SCSI (QEMU's choice for virtio-blk)
  readonly name = 'virtio-blk';
  readonly queueSizes: readonly number[];
  readonly features: readonly [number, number];
  readonly config = new Uint8Array(CONFIG_SIZE);
  readonly backend: BlockBackend;
  private ctx!: VirtioDeviceContext;
  private readonly timing: DiskTiming;
  private readonly serial: Uint8Array;
  /** Requests done on the host, waiting for their completion time; deadlines rise, so they complete in order. */
  private inflight: { queue: number; head: number; written: number; handle: TimerHandle }[] = [];
  /** When the device is next free (requests complete in order). */
  private busyUntil = 0;
  /** Requests and bytes done (for benchmarks and tests). */
  requests = 0;
  bytes = 0;

  constructor(opts: VirtioBlkOptions) {
    this.backend = opts.backend;
    const queues = opts.queues ?? 1;
    const qsize = opts.queueSize ?? 256;
    this.queueSizes = new Array<number>(queues).fill(qsize);
    this.timing = opts.timing ?? DEFAULT_DISK_TIMING;
    this.serial = new TextEncoder().encode((opts.serial ?? '').slice(0, 20));
    let f = (1 << BLK_F_SEG_MAX) | (1 << BLK_F_BLK_SIZE) | (1 << BLK_F_FLUSH) | (1 << BLK_F_CONFIG_WCE) |
      (1 << BLK_F_DISCARD) | (1 << BLK_F_WRITE_ZEROES);
    if (!this.backend.writable) f |= 1 << BLK_F_RO;
    if (queues > 1) f |= 1 << BLK_F_MQ;
    this.features = [f, 0];
    const c = new DataView(this.config.buffer);
    const sectors = Math.floor(this.backend.size / SECTOR);
    c.setUint32(0, sectors % 2 ** 32, true);
    c.setUint32(4, Math.floor(sectors / 2 ** 32), true);
    c.setUint32(12, qsize - 2, true); // seg_max
    c.setUint32(20, SECTOR, true); // blk_size
    c.setUint8(32, 1); // writeback
    c.setUint16(34, queues, true);
    c.setUint32(36, MAX_DISCARD_SECTORS, true);
    c.setUint32(40, 1, true);
    c.setUint32(44, 1, true);
    c.setUint32(48, MAX_DISCARD_SECTORS, true);
    c.setUint32(52, 1, true);
  }

  attach(ctx: VirtioDeviceContext): void {
    this.ctx = ctx;
  }

  writeConfig(offset: number, size: 1 | 2 | 4, value: number): void {
    if (offset === 32 && size === 1) this.config[32] = value & 1; // writeback toggle (CONFIG_WCE)
  }

  queueNotify(index: number): void {
    const q = this.ctx.queue(index);
    for (let c = q.pop(); c !== null; c = q.pop()) {
      const r = this.execute(c);
      if (r === null) return; // the device failed
      this.complete(index, c, r.written, r.bytes);
    }
  }

  /** Runs one request; returns bytes written into the chain and bytes moved, or null after `fail`. */
  private execute(c: DescriptorChain): { written: number; bytes: number } | null {
    if (c.readableBytes < 16 || c.writableBytes < 1) {
      this.ctx.fail(`request at head ${c.head} has no ${c.readableBytes < 16 ? '16-byte header' : 'status byte'}`);
      return null;
    }
    const hdr = new Uint8Array(16);
    c.read(0, hdr);
    const dv = new DataView(hdr.buffer);
    const type = dv.getUint32(0, true);
    const sector = dv.getUint32(8, true) + dv.getUint32(12, true) * 2 ** 32;
    const dataIn = c.writableBytes - 1; // device-writable data before the status byte
    const dataOut = c.readableBytes - 16;
    let status = BLK_S_OK;
    let written = 0;
    let bytes = 0;
    try {
      switch (type) {
        case BLK_T_IN: {
          if (!this.inRange(sector, dataIn)) {
            status = BLK_S_IOERR;
            break;
          }
          const base = sector * SECTOR;
          c.forEach(true, 0, dataIn, (piece, pos) => this.backend.read(base + pos, piece));
          written = dataIn;
          bytes = dataIn;
          break;
        }
        case BLK_T_OUT: {
          if (!this.backend.writable) status = BLK_S_IOERR;
          else if (!this.inRange(sector, dataOut)) status = BLK_S_IOERR;
          else {
            const base = sector * SECTOR;
            c.forEach(false, 16, dataOut, (piece, pos) => this.backend.write(base + pos, piece));
            bytes = dataOut;
          }
          break;
        }
        case BLK_T_FLUSH:
          this.backend.flush();
          break;
        case BLK_T_GET_ID: {
          const id = new Uint8Array(Math.min(20, dataIn));
          id.set(this.serial.subarray(0, id.length));
          written = c.write(0, id);
          break;
        }
        case BLK_T_DISCARD:
        case BLK_T_WRITE_ZEROES:
          status = this.ranges(c, dataOut, type);
          break;
        default:
          status = BLK_S_UNSUPP;
      }
    } catch (e) {
      if (!(e instanceof DiskError)) throw e;
      this.ctx.warn(`I/O error: ${e.message}`);
      status = BLK_S_IOERR;
    }
    c.write(c.writableBytes - 1, Uint8Array.of(status));
    return { written: written + 1, bytes };
  }

  /** DISCARD / WRITE_ZEROES: 16-byte segments (sector u64, num_sectors u32, flags u32). */
  private ranges(c: DescriptorChain, len: number, type: number): number {
    if (!this.backend.writable) return BLK_S_IOERR;
    if (len % 16 !== 0 || len === 0) return BLK_S_UNSUPP;
    const seg = new Uint8Array(len);
    c.read(16, seg);
    const dv = new DataView(seg.buffer);
    for (let o = 0; o < len; o += 16) {
      const sector = dv.getUint32(o, true) + dv.getUint32(o + 4, true) * 2 ** 32;
      const count = dv.getUint32(o + 8, true);
      const flags = dv.getUint32(o + 12, true);
      if (count > MAX_DISCARD_SECTORS || !this.inRange(sector, count * SECTOR)) return BLK_S_IOERR;
      if (type === BLK_T_DISCARD) {
        if (flags !== 0) return BLK_S_UNSUPP;
        this.backend.discard(sector * SECTOR, count * SECTOR);
      } else {
        if (flags & ~1) return BLK_S_UNSUPP;
        writeZeroes(this.backend, sector * SECTOR, count * SECTOR);
      }
    }
    return BLK_S_OK;
  }

  private inRange(sector: number, len: number): boolean {
    return sector * SECTOR + len <= this.backend.size;
  }

  /** Posts the used entry at the request's virtual completion time. */
  private complete(queue: number, c: DescriptorChain, written: number, bytes: number): void {
    this.requests++;
    this.bytes += bytes;
    const now = this.ctx.clock.nowNs();
    const done = Math.max(now, this.busyUntil) + this.timing.requestNs + Math.ceil(bytes * this.timing.nsPerByte);
    this.busyUntil = done;
    const handle = this.ctx.timers.schedule(done, this.completeNext);
    this.inflight.push({ queue, head: c.head, written, handle });
  }

  /** One timer callback for every request (snapshots name it): the oldest request completes. */
  private readonly completeNext = (): void => {
    const r = this.inflight.shift();
    if (r === undefined) return;
    const q = this.ctx.queue(r.queue);
    q.push(r, r.written);
    q.notify();
  };

  reset(): void {
    for (const r of this.inflight) this.ctx.timers.cancel(r.handle);
    this.inflight = [];
    this.busyUntil = 0;
  }

  saveState(): DeviceState {
    return {
      config: this.config.slice(), busyUntil: this.busyUntil, requests: this.requests, bytes: this.bytes,
      inflight: this.inflight.map((r) => ({ ...r })), disk: saveDiskState(this.backend),
    };
  }

  loadState(s: DeviceState): void {
    const inflight = s.inflight as { queue: number; head: number; written: number; handle: number }[];
    const okRequest = (r: unknown): boolean => {
      const o = r as { queue?: unknown; head?: unknown; written?: unknown; handle?: unknown } | null;
      return o !== null && typeof o === 'object' && Number.isInteger(o.queue) && (o.queue as number) >= 0 && (o.queue as number) < this.queueSizes.length &&
        Number.isInteger(o.head) && Number.isInteger(o.written) && Number.isInteger(o.handle);
    };
    if (!(s.config instanceof Uint8Array) || s.config.length !== this.config.length || !Array.isArray(inflight) || !inflight.every(okRequest) ||
      typeof s.busyUntil !== 'number' || typeof s.requests !== 'number' || typeof s.bytes !== 'number') {
      throw new SnapshotStateError(`${this.ctx.label}: bad virtio-blk state`);
    }
    this.config.set(s.config);
    this.busyUntil = s.busyUntil as number;
    this.requests = s.requests as number;
    this.bytes = s.bytes as number;
    this.inflight = inflight.map((r) => ({ ...r }));
    loadDiskState(this.backend, s.disk ?? null, this.ctx.label);
  }

  timerCallbacks(): Record<string, TimerCallback> {
    return { complete: this.completeNext };
  }
}
