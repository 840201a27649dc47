/**
 * One descriptor chain popped from a virtqueue, already checked: every buffer is a live view of
 * guest RAM, device-readable buffers come before device-writable ones. Device models copy in
 * and out through it as if the readable and the writable parts were each one byte string
 * (VIRTIO_F_ANY_LAYOUT semantics, which also covers the legacy "one descriptor per part" layout).
 */
import type { GuestMemory } from './device.js';

export class DescriptorChain {
  /** Head descriptor index: what goes into the used ring. */
  readonly head: number;
  /** Guest-physical address and view of each buffer, readable ones first. */
  readonly addrs: number[] = [];
  readonly views: Uint8Array[] = [];
  /** Number of leading buffers that are device-readable. */
  readableCount = 0;
  /** Total bytes of the device-readable and device-writable parts. */
  readableBytes = 0;
  writableBytes = 0;

  constructor(
    head: number,
    private readonly mem: GuestMemory,
  ) {
    this.head = head;
  }

  /** Copies readable bytes from `offset` into `dst`; returns the count copied (short at the end). */
  read(offset: number, dst: Uint8Array): number {
    return this.forEach(false, offset, dst.length, (piece, pos) => dst.set(piece, pos));
  }

  /** Copies `src` into the writable part at `offset`; returns the count copied (short at the end). */
  write(offset: number, src: Uint8Array): number {
    return this.forEach(true, offset, src.length, (piece, pos) => piece.set(src.subarray(pos, pos + piece.length)));
  }

  /**
   * Calls `fn(view, position)` for each piece of the readable (`writable` false) or writable part
   * within [offset, offset + len): the zero-copy path for disk I/O. `position` counts from `offset`.
   * For writable pieces the board is told the RAM changed. Returns the bytes covered.
   */
  forEach(writable: boolean, offset: number, len: number, fn: (piece: Uint8Array, position: number) => void): number {
    const first = writable ? this.readableCount : 0;
    const end = writable ? this.views.length : this.readableCount;
    let pos = 0;
    for (let i = first; i < end && pos < len; i++) {
      const v = this.views[i]!;
      if (offset >= v.length) {
        offset -= v.length;
        continue;
      }
      const n = Math.min(v.length - offset, len - pos);
      const piece = v.subarray(offset, offset + n);
      if (writable) this.mem.written(this.addrs[i]! + offset, n);
      fn(piece, pos);
      pos += n;
      offset = 0;
    }
    return pos;
  }
}
