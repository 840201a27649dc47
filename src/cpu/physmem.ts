// Guest physical memory: one ArrayBuffer indexed by physical address, everything that is not RAM goes to
// an MMIO bus. RAM may have one hole (the PCI hole below 4 GiB when RAM continues above it): the buffer
// spans the hole too, so a physical address is its own buffer offset and the TLB stores no translation;
// the hole's pages are never touched, so they cost address space, not memory.
// Shared by all vCPUs; tracks which RAM pages hold decoded code so writes there can drop stale decodes.
import { Arena } from './jit/wasm/arena.js';

/** What sits behind physical addresses that are not RAM (device registers). 64-bit accesses arrive split in two. */
export interface MmioHandler {
  mmioRead(addr: number, size: 1 | 2 | 4): number;
  mmioWrite(addr: number, size: 1 | 2 | 4, value: number): void;
}

const NO_MMIO: MmioHandler = {
  mmioRead: () => -1,
  mmioWrite: () => {},
};

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;
/** Longest Uint8Array V8 makes (Node 20): `u8` covers RAM up to here; DataView has no such limit. */
export const U8_VIEW_MAX = 2 ** 32;

/** Physical addresses [start, end) inside the buffer that are not RAM. */
export interface RamHole {
  start: number;
  end: number;
}

/** Where a vCPU's hot state lives when RAM shares a WebAssembly.Memory with it (arena.ts). */
export interface StateHome {
  buffer: ArrayBuffer;
  /** Byte offset of the vCPU's slice (arena.ts St gives the layout). */
  base: number;
}

export class PhysMem {
  ram: ArrayBuffer;
  /** Byte view of the first 4 GiB at most (U8_VIEW_MAX): for bulk work, check `addr + len <= u8.length` or use bytes(). */
  u8: Uint8Array;
  /** The whole buffer: the access path for any physical address. */
  dv: DataView;
  /**
   * 16- and 32-bit views of what `u8` covers: the MMU's fast paths read and write aligned values through
   * them (a DataView access costs several times a typed-array element in the handlers, measured).
   */
  u16: Uint16Array;
  i32: Int32Array;
  /** First byte past the highest RAM address (the buffer's length). */
  readonly size: number;
  /** Bytes of RAM (size minus the hole). */
  readonly ramSize: number;
  /** RAM is [0, lowEnd) and [highStart, size); lowEnd = highStart = size without a hole. */
  readonly lowEnd: number;
  readonly highStart: number;
  mmio: MmioHandler = NO_MMIO;
  /** 1 where a RAM page holds cached decoded instructions. */
  readonly codePage: Uint8Array;
  /** Called when a write hits a page with cached code; the page's decodes must be dropped. */
  onCodeWrite: (ppn: number) => void = () => {};
  /** Called when a page becomes a code page: every vCPU must forget write shortcuts (TLB entries) to it. */
  onCodePageAdded: (ppn: number) => void = () => {};
  /**
   * The MMUs of the vCPUs sharing this memory and the last TLB epoch handed out: a flush or invlpg on any of
   * them gives every one of them a new epoch (mmu.ts Mmu.flush says why).
   */
  readonly mmus: { epoch: number }[] = [];
  tlbEpoch = 0;
  /** Translation regimes (Mmu.space) seen so far, numbered from 0: a small integer compares without a heap number. */
  readonly spaces = new Map<number, number>();

  /** The WebAssembly.Memory RAM lives in with the vCPUs' state (arena.ts), or null: a plain ArrayBuffer. */
  arena: Arena | null = null;

  /** @param slices vCPU state slices to keep beside RAM in one WebAssembly.Memory (0: a plain ArrayBuffer). */
  constructor(size: number, hole?: RamHole, slices = 0) {
    if (!Number.isSafeInteger(size) || size <= 0 || size % PAGE_SIZE !== 0) {
      throw new RangeError(`RAM size must be a positive multiple of 4 KiB, got ${size}`);
    }
    if (hole && !(hole.start % PAGE_SIZE === 0 && hole.end % PAGE_SIZE === 0 && hole.start < hole.end && hole.end < size)) {
      throw new RangeError(`bad RAM hole 0x${hole.start.toString(16)}-0x${hole.end.toString(16)} in ${size} bytes`);
    }
    this.size = size;
    this.lowEnd = hole ? hole.start : size;
    this.highStart = hole ? hole.end : size;
    this.ramSize = size - (this.highStart - this.lowEnd);
    this.arena = slices > 0 ? Arena.make(size, slices) : null;
    this.ram = this.arena !== null ? this.arena.buffer : new ArrayBuffer(size);
    // Views of RAM only: the state slices after it are not physical memory.
    this.u8 = new Uint8Array(this.ram, 0, Math.min(size, U8_VIEW_MAX));
    this.dv = new DataView(this.ram, 0, size);
    this.u16 = new Uint16Array(this.ram, 0, this.u8.length / 2);
    this.i32 = new Int32Array(this.ram, 0, this.u8.length / 4);
    this.codePage = new Uint8Array(size / PAGE_SIZE);
  }

  /** vCPU k's state home in the arena, or null (the vCPU then has plain arrays). */
  stateHome(k: number): StateHome | null {
    return this.arena === null ? null : { buffer: this.arena.buffer, base: this.arena.slice(k) };
  }

  /**
   * All RAM back to zero. A fresh buffer rather than a fill: filling would make every page of a large guest
   * resident. Views taken before (Mmu, Cpu) are stale afterwards: callers make new vCPUs.
   */
  clear(): void {
    if (this.arena !== null) this.arena = this.arena.fresh(this.size);
    this.ram = this.arena !== null ? this.arena.buffer : new ArrayBuffer(this.size);
    this.u8 = new Uint8Array(this.ram, 0, Math.min(this.size, U8_VIEW_MAX));
    this.dv = new DataView(this.ram, 0, this.size);
    this.u16 = new Uint16Array(this.ram, 0, this.u8.length / 2);
    this.i32 = new Int32Array(this.ram, 0, this.u8.length / 4);
    this.codePage.fill(0);
  }

  markCode(ppn: number): void {
    if (this.codePage[ppn]) return;
    this.codePage[ppn] = 1;
    this.onCodePageAdded(ppn);
  }

  /** A write is about to touch RAM [addr, addr+len): drop decodes of the pages it covers. */
  noteWrite(addr: number, len: number): void {
    const first = Math.floor(addr / PAGE_SIZE), last = Math.floor((addr + len - 1) / PAGE_SIZE);
    for (let p = first; p <= last && p < this.codePage.length; p++) {
      if (this.codePage[p]) {
        this.codePage[p] = 0;
        this.onCodeWrite(p);
      }
    }
  }

  isRam(addr: number, len: number): boolean {
    // Every field read at every call (chain.ts linkedAt says why).
    const lowEnd = this.lowEnd, highStart = this.highStart, size = this.size;
    return addr >= 0 && (addr + len <= lowEnd || (addr >= highStart && addr + len <= size));
  }

  /** A byte view of RAM [addr, addr+len) (which the caller has checked with isRam): for bulk copies. */
  bytes(addr: number, len: number): Uint8Array {
    return addr + len <= this.u8.length ? this.u8.subarray(addr, addr + len) : new Uint8Array(this.ram, addr, len);
  }

  /** memmove within RAM (both ranges checked by the caller). */
  copyWithin(dst: number, src: number, len: number): void {
    const top = Math.max(dst, src) + len;
    if (top <= this.u8.length) this.u8.copyWithin(dst, src, src + len);
    else this.bytes(dst, len).set(this.bytes(src, len)); // set() on one buffer copies as if through a temporary
  }

  read8(addr: number): number {
    return this.isRam(addr, 1) ? this.dv.getUint8(addr) : this.mmio.mmioRead(addr, 1) & 0xff;
  }
  read16(addr: number): number {
    return this.isRam(addr, 2) ? this.dv.getUint16(addr, true) : this.mmio.mmioRead(addr, 2) & 0xffff;
  }
  read32(addr: number): number {
    return this.isRam(addr, 4) ? this.dv.getInt32(addr, true) : this.mmio.mmioRead(addr, 4) | 0;
  }
  write8(addr: number, v: number): void {
    if (this.isRam(addr, 1)) {
      if (this.codePage[(addr / PAGE_SIZE) | 0]) this.noteWrite(addr, 1);
      this.dv.setUint8(addr, v);
    } else this.mmio.mmioWrite(addr, 1, v & 0xff);
  }
  write16(addr: number, v: number): void {
    if (this.isRam(addr, 2)) {
      this.noteWrite(addr, 2);
      this.dv.setUint16(addr, v, true);
    } else this.mmio.mmioWrite(addr, 2, v & 0xffff);
  }
  write32(addr: number, v: number): void {
    if (this.isRam(addr, 4)) {
      this.noteWrite(addr, 4);
      this.dv.setInt32(addr, v, true);
    } else this.mmio.mmioWrite(addr, 4, v | 0);
  }

  /** Bulk copy into guest RAM (loaders, DMA); drops decodes it overwrites. */
  writeBytes(addr: number, bytes: Uint8Array): void {
    if (!this.isRam(addr, bytes.length)) throw new RangeError(`physical range 0x${addr.toString(16)}+${bytes.length} is not RAM`);
    if (bytes.length) this.noteWrite(addr, bytes.length);
    this.bytes(addr, bytes.length).set(bytes);
  }

  readBytes(addr: number, len: number): Uint8Array {
    if (!this.isRam(addr, len)) throw new RangeError(`physical range 0x${addr.toString(16)}+${len} is not RAM`);
    return this.bytes(addr, len).slice();
  }
}
