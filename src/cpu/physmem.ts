// Guest physical memory: one ArrayBuffer of RAM from address 0, everything else goes to an MMIO bus.
// Shared by all vCPUs; tracks which RAM pages hold decoded code so writes there can drop stale decodes.

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

export class PhysMem {
  readonly ram: ArrayBuffer;
  readonly u8: Uint8Array;
  readonly dv: DataView;
  readonly size: number;
  mmio: MmioHandler = NO_MMIO;
  /** 1 where a RAM page holds cached decoded instructions. */
  readonly codePage: Uint8Array;
  /** Called when a write hits a page with cached code; the page's decodes must be dropped. */
  onCodeWrite: (ppn: number) => void = () => {};
  /** Called when a page becomes a code page: every vCPU must forget write shortcuts (TLB entries) to it. */
  onCodePageAdded: (ppn: number) => void = () => {};

  constructor(size: number) {
    if (!Number.isInteger(size) || size <= 0 || size % PAGE_SIZE !== 0) {
      throw new RangeError(`RAM size must be a positive multiple of 4 KiB, got ${size}`);
    }
    this.size = size;
    this.ram = new ArrayBuffer(size);
    this.u8 = new Uint8Array(this.ram);
    this.dv = new DataView(this.ram);
    this.codePage = new Uint8Array(size >>> PAGE_SHIFT);
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
    return addr >= 0 && addr + len <= this.size;
  }

  read8(addr: number): number {
    return addr < this.size ? this.u8[addr] : this.mmio.mmioRead(addr, 1) & 0xff;
  }
  read16(addr: number): number {
    return addr + 2 <= this.size ? this.dv.getUint16(addr, true) : this.mmio.mmioRead(addr, 2) & 0xffff;
  }
  read32(addr: number): number {
    return addr + 4 <= this.size ? this.dv.getInt32(addr, true) : this.mmio.mmioRead(addr, 4) | 0;
  }
  write8(addr: number, v: number): void {
    if (addr < this.size) {
      if (this.codePage[addr >>> PAGE_SHIFT]) this.noteWrite(addr, 1);
      this.u8[addr] = v;
    } else this.mmio.mmioWrite(addr, 1, v & 0xff);
  }
  write16(addr: number, v: number): void {
    if (addr + 2 <= this.size) {
      this.noteWrite(addr, 2);
      this.dv.setUint16(addr, v, true);
    } else this.mmio.mmioWrite(addr, 2, v & 0xffff);
  }
  write32(addr: number, v: number): void {
    if (addr + 4 <= this.size) {
      this.noteWrite(addr, 4);
      this.dv.setInt32(addr, v, true);
    } else this.mmio.mmioWrite(addr, 4, v | 0);
  }

  /** Bulk copy into guest RAM (loaders, DMA); drops decodes it overwrites. */
  writeBytes(addr: number, bytes: Uint8Array): void {
    if (!this.isRam(addr, bytes.length)) throw new RangeError(`physical range 0x${addr.toString(16)}+${bytes.length} is not RAM`);
    if (bytes.length) this.noteWrite(addr, bytes.length);
    this.u8.set(bytes, addr);
  }

  readBytes(addr: number, len: number): Uint8Array {
    if (!this.isRam(addr, len)) throw new RangeError(`physical range 0x${addr.toString(16)}+${len} is not RAM`);
    return this.u8.slice(addr, addr + len);
  }
}
