/**
 * A split virtqueue (virtio 1.2 §2.7) as the device sees it: the descriptor table, the
 * available ring the driver fills and the used ring the device fills, with indirect
 * descriptors and EVENT_IDX notification suppression.
 *
 * Everything read from the rings comes from the guest and is checked. A bad descriptor (outside
 * RAM, a loop, a chain longer than the queue, a bad indirect table length, a readable buffer
 * after a writable one, nested indirection) or an available index that jumps ahead by more than
 * the queue size makes `pop` report through `fail` (the transport's needs-reset path) and
 * return null; it never throws.
 */
import { DescriptorChain } from './chain.js';
import {
  VRING_AVAIL_F_NO_INTERRUPT, VRING_DESC_F_INDIRECT, VRING_DESC_F_NEXT, VRING_DESC_F_WRITE,
} from './constants.js';
import type { GuestMemory } from './device.js';

const TWO32 = 2 ** 32;

export interface VirtQueueHost {
  readonly mem: GuestMemory;
  /** Raise the queue's interrupt (MSI-X vector or INTx + ISR bit 0). */
  signal(queue: number): void;
  /** Report a broken queue: the device goes to needs-reset. */
  fail(message: string): void;
  /** True while the device is broken: the queue hands out nothing. */
  readonly broken: boolean;
}

/** (new - event - 1) < (new - old), modulo 2^16: the spec's vring_need_event. */
export function vringNeedEvent(event: number, newIdx: number, oldIdx: number): boolean {
  return ((newIdx - event - 1) & 0xffff) < ((newIdx - oldIdx) & 0xffff);
}

export class VirtQueue {
  /** Size the device offers; the driver may pick a smaller power of two (modern). */
  readonly maxSize: number;
  size: number;
  descAddr = 0;
  availAddr = 0;
  usedAddr = 0;
  /** MSI-X vector of this queue (NO_VECTOR = none). */
  vector = 0xffff;
  ready = false;
  /** Negotiated ring features, set by the transport when the driver commits its features. */
  eventIdx = false;
  indirect = false;
  private desc: DataView | null = null;
  private avail: DataView | null = null;
  private used: DataView | null = null;
  /** Next available-ring slot the device reads, and next used-ring slot it writes (both free-running 16-bit). */
  lastAvail = 0;
  usedIdx = 0;
  private signalledUsed = 0;
  private signalledValid = false;
  private pushedSinceSignal = false;
  /** Visit stamps for loop detection: a chain marks the descriptors it went through with its own stamp. */
  private visited: Uint32Array;
  private stamp = 0;

  constructor(
    readonly index: number,
    maxSize: number,
    private readonly host: VirtQueueHost,
  ) {
    if (!Number.isInteger(maxSize) || maxSize < 1 || maxSize > 32768 || (maxSize & (maxSize - 1)) !== 0) {
      throw new Error(`virtqueue ${index}: size ${maxSize} is not a power of two up to 32768`);
    }
    this.maxSize = maxSize;
    this.size = maxSize;
    this.visited = new Uint32Array(maxSize);
  }

  /** Back to the reset state (addresses 0, not ready, counters 0, size = max). */
  reset(): void {
    this.size = this.maxSize;
    this.descAddr = this.availAddr = this.usedAddr = 0;
    this.vector = 0xffff;
    this.ready = false;
    this.eventIdx = this.indirect = false;
    this.desc = this.avail = this.used = null;
    this.lastAvail = this.usedIdx = this.signalledUsed = 0;
    this.signalledValid = this.pushedSinceSignal = false;
  }

  /**
   * Makes the queue live at the addresses set so far. Returns false (after `fail`) when a ring
   * is not in RAM.
   */
  enable(): boolean {
    const n = this.size;
    if (n < 1 || n > this.maxSize || (n & (n - 1)) !== 0) {
      this.host.fail(`queue ${this.index}: size ${n} is not a power of two up to ${this.maxSize}`);
      return false;
    }
    const d = this.dataView(this.descAddr, 16 * n, 'descriptor table');
    const a = d && this.dataView(this.availAddr, 6 + 2 * n, 'available ring');
    const u = a && this.dataView(this.usedAddr, 6 + 8 * n, 'used ring');
    if (!u) return false;
    this.desc = d;
    this.avail = a;
    this.used = u;
    if (this.visited.length < n) this.visited = new Uint32Array(n);
    this.ready = true;
    return true;
  }

  /**
   * After a snapshot restore put the fields back: re-creates the ring views of a ready queue (the
   * addresses were checked when the guest enabled it; a machine of the same RAM size has them).
   */
  restoreViews(): void {
    this.desc = this.avail = this.used = null;
    if (!this.ready) return;
    const n = this.size;
    const d = this.host.mem.view(this.descAddr, 16 * n), a = this.host.mem.view(this.availAddr, 6 + 2 * n);
    const u = this.host.mem.view(this.usedAddr, 6 + 8 * n);
    if (d === null || a === null || u === null) throw new Error(`queue ${this.index}: saved ring addresses are outside RAM`);
    this.desc = new DataView(d.buffer, d.byteOffset, d.byteLength);
    this.avail = new DataView(a.buffer, a.byteOffset, a.byteLength);
    this.used = new DataView(u.buffer, u.byteOffset, u.byteLength);
  }

  /** Disables the queue (legacy PFN 0). */
  disable(): void {
    const size = this.size, vector = this.vector;
    this.reset();
    this.size = size;
    this.vector = vector;
  }

  private dataView(addr: number, len: number, what: string): DataView | null {
    const v = this.host.mem.view(addr, len);
    if (v === null) {
      this.host.fail(`queue ${this.index}: ${what} at 0x${addr.toString(16)}+${len} is outside RAM`);
      return null;
    }
    return new DataView(v.buffer, v.byteOffset, v.byteLength);
  }

  /** The driver's available index (free-running). */
  get availIdx(): number {
    return this.avail === null ? 0 : this.avail.getUint16(2, true);
  }

  /** Chains the driver made available and the device has not taken yet. */
  get pending(): number {
    return this.avail === null ? 0 : (this.availIdx - this.lastAvail) & 0xffff;
  }

  /** Takes the next available chain, or null when there is none, the queue is off or the device broke. */
  pop(): DescriptorChain | null {
    if (!this.ready || this.host.broken) return null;
    const avail = this.avail!;
    const pending = (avail.getUint16(2, true) - this.lastAvail) & 0xffff;
    if (pending === 0) return null;
    if (pending > this.size) {
      this.host.fail(`queue ${this.index}: available index moved ${pending} entries ahead of the device on a ${this.size}-entry queue`);
      return null;
    }
    const head = avail.getUint16(4 + 2 * (this.lastAvail & (this.size - 1)), true);
    this.lastAvail = (this.lastAvail + 1) & 0xffff;
    if (this.eventIdx) {
      this.used!.setUint16(4 + 8 * this.size, this.lastAvail, true);
      this.host.mem.written(this.usedAddr + 4 + 8 * this.size, 2);
    }
    const chain = this.walk(head);
    return chain;
  }

  /** Follows the chain at `head`, checking every descriptor. */
  private walk(head: number): DescriptorChain | null {
    const n = this.size;
    if (head >= n) return this.bad(`head descriptor ${head} is beyond the ${n}-entry table`);
    const chain = new DescriptorChain(head, this.host.mem);
    if (++this.stamp === 0xffffffff) {
      this.visited.fill(0);
      this.stamp = 1;
    }
    let table = this.desc!;
    let tableLen = n;
    let indirect = false;
    let i = head;
    let count = 0;
    for (;;) {
      const off = 16 * i;
      const addr = table.getUint32(off + 4, true) * TWO32 + table.getUint32(off, true);
      const len = table.getUint32(off + 8, true);
      const flags = table.getUint16(off + 12, true);
      const next = table.getUint16(off + 14, true);
      if (!indirect) {
        if (this.visited[i] === this.stamp) return this.bad(`descriptor chain at head ${head} loops back to descriptor ${i}`);
        this.visited[i] = this.stamp;
      }
      if (++count > tableLen) return this.bad(`descriptor chain at head ${head} is longer than its ${tableLen}-entry table`);
      if (flags & VRING_DESC_F_INDIRECT) {
        if (indirect) return this.bad(`descriptor ${i} of an indirect table is itself indirect`);
        if (!this.indirect) return this.bad(`descriptor ${i} is indirect but INDIRECT_DESC was not negotiated`);
        if (flags & VRING_DESC_F_NEXT) return this.bad(`indirect descriptor ${i} also has NEXT set`);
        if (chain.views.length > 0) return this.bad(`indirect descriptor ${i} follows direct buffers in the chain at head ${head}`);
        if (len === 0 || len % 16 !== 0 || len / 16 > 65536) return this.bad(`indirect descriptor ${i} has a bad table length ${len}`);
        const v = this.host.mem.view(addr, len);
        if (v === null) return this.bad(`indirect table of descriptor ${i} at 0x${addr.toString(16)}+${len} is outside RAM`);
        table = new DataView(v.buffer, v.byteOffset, v.byteLength);
        tableLen = len / 16;
        indirect = true;
        i = 0;
        count = 0;
        continue;
      }
      const v = this.host.mem.view(addr, len);
      if (v === null) return this.bad(`descriptor ${i} at 0x${addr.toString(16)}+${len} is outside RAM`);
      if (flags & VRING_DESC_F_WRITE) chain.writableBytes += len;
      else {
        if (chain.views.length > chain.readableCount) return this.bad(`descriptor ${i} is device-readable after a device-writable one`);
        chain.readableCount++;
        chain.readableBytes += len;
      }
      if (chain.readableBytes + chain.writableBytes > TWO32) return this.bad(`descriptor chain at head ${head} is longer than 4 GiB`);
      chain.addrs.push(addr);
      chain.views.push(v);
      if (!(flags & VRING_DESC_F_NEXT)) return chain;
      if (next >= tableLen) return this.bad(`descriptor ${i} links to ${next}, beyond its ${tableLen}-entry table`);
      i = next;
    }
  }

  private bad(message: string): null {
    this.host.fail(`queue ${this.index}: ${message}`);
    return null;
  }

  /** Returns a chain to the driver with `written` bytes written into its writable part. */
  push(chain: { readonly head: number }, written: number): void {
    if (!this.ready || this.host.broken) return;
    const used = this.used!;
    const slot = 4 + 8 * (this.usedIdx & (this.size - 1));
    used.setUint32(slot, chain.head, true);
    used.setUint32(slot + 4, written, true);
    this.usedIdx = (this.usedIdx + 1) & 0xffff;
    used.setUint16(2, this.usedIdx, true);
    this.host.mem.written(this.usedAddr + slot, 8);
    this.host.mem.written(this.usedAddr + 2, 2);
    this.pushedSinceSignal = true;
  }

  /** Interrupts the driver for what was pushed since the last call, unless it asked not to be. */
  notify(): void {
    if (!this.ready || !this.pushedSinceSignal) return;
    this.pushedSinceSignal = false;
    const avail = this.avail!;
    if (this.eventIdx) {
      const old = this.signalledUsed, now = this.usedIdx, valid = this.signalledValid;
      this.signalledUsed = now;
      this.signalledValid = true;
      const usedEvent = avail.getUint16(4 + 2 * this.size, true);
      if (valid && !vringNeedEvent(usedEvent, now, old)) return;
    } else if (avail.getUint16(0, true) & VRING_AVAIL_F_NO_INTERRUPT) return;
    this.host.signal(this.index);
  }
}
