// A driver-side split ring in a plain ArrayBuffer, for device and transport tests: what a guest
// driver would write into RAM, without a CPU.
import type { GuestMemory } from '../../src/devices/virtio/device.js';

export const F_NEXT = 1, F_WRITE = 2, F_INDIRECT = 4;

export class FakeRam implements GuestMemory {
  readonly u8: Uint8Array;
  readonly dv: DataView;
  writes = 0;
  constructor(size = 1 << 20) {
    this.u8 = new Uint8Array(size);
    this.dv = new DataView(this.u8.buffer);
  }
  view(addr: number, len: number): Uint8Array | null {
    return addr >= 0 && len >= 0 && addr + len <= this.u8.length ? this.u8.subarray(addr, addr + len) : null;
  }
  written(): void {
    this.writes++;
  }
}

export interface Desc { addr: number; len: number; flags?: number; next?: number }

/** The driver side of a split ring at desc/avail/used addresses in `ram`. */
export class DriverRing {
  availIdx = 0;
  usedSeen = 0;
  constructor(
    readonly ram: FakeRam,
    readonly size: number,
    readonly desc: number,
    readonly avail: number,
    readonly used: number,
  ) {}

  /** Legacy layout from a page-aligned base (used ring on the next 4 KiB boundary). */
  static legacy(ram: FakeRam, size: number, base: number): DriverRing {
    const avail = base + 16 * size;
    const used = Math.ceil((avail + 6 + 2 * size) / 4096) * 4096;
    return new DriverRing(ram, size, base, avail, used);
  }

  setDesc(i: number, d: Desc, table = this.desc): void {
    const o = table + 16 * i;
    this.ram.dv.setUint32(o, d.addr % 2 ** 32, true);
    this.ram.dv.setUint32(o + 4, Math.floor(d.addr / 2 ** 32), true);
    this.ram.dv.setUint32(o + 8, d.len, true);
    this.ram.dv.setUint16(o + 12, d.flags ?? 0, true);
    this.ram.dv.setUint16(o + 14, d.next ?? 0, true);
  }

  /** Writes descriptors 0..n-1 of a table as one chain (NEXT links added) and makes `head` available. */
  chain(descs: Desc[], first = 0): number {
    descs.forEach((d, k) => {
      const last = k === descs.length - 1;
      this.setDesc(first + k, { ...d, flags: (d.flags ?? 0) | (last ? 0 : F_NEXT), next: last ? 0 : first + k + 1 });
    });
    this.offer(first);
    return first;
  }

  offer(head: number): void {
    this.ram.dv.setUint16(this.avail + 4 + 2 * (this.availIdx % this.size), head, true);
    this.availIdx = (this.availIdx + 1) & 0xffff;
    this.ram.dv.setUint16(this.avail + 2, this.availIdx, true);
  }

  set availFlags(v: number) {
    this.ram.dv.setUint16(this.avail, v, true);
  }
  /** used_event (EVENT_IDX): interrupt when the used index passes this. */
  set usedEvent(v: number) {
    this.ram.dv.setUint16(this.avail + 4 + 2 * this.size, v, true);
  }
  get availEvent(): number {
    return this.ram.dv.getUint16(this.used + 4 + 8 * this.size, true);
  }
  get usedIdx(): number {
    return this.ram.dv.getUint16(this.used + 2, true);
  }
  /** Used entries since the last call, as [id, len]. */
  takeUsed(): [number, number][] {
    const out: [number, number][] = [];
    while (this.usedSeen !== this.usedIdx) {
      const o = this.used + 4 + 8 * (this.usedSeen % this.size);
      out.push([this.ram.dv.getUint32(o, true), this.ram.dv.getUint32(o + 4, true)]);
      this.usedSeen = (this.usedSeen + 1) & 0xffff;
    }
    return out;
  }
}
