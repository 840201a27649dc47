// Per-vCPU linear-address unit: a software TLB whose hit path is one compare, a 4-level page walker
// that sets accessed/dirty bits, and page-crossing / MMIO slow paths.
import { FaultState, raise, raisePF } from './exceptions.js';
import { PAGE_SIZE, PhysMem, U8_VIEW_MAX, type StateHome } from './physmem.js';
import { St } from './jit/wasm/arena.js';
import { VEC_GP } from './regs.js';
import { doubleFields } from './shapes.js';

// A const enum: tsc writes the numbers into the access paths, which handlers of other modules inline (V8
// would load a module constant at each use there, see flags.ts Lf).
const enum Tlb { BITS = 12, SIZE = 4096, MASK = 4095 }
export const TLB_SIZE = Tlb.SIZE;
const TWO32 = 4294967296;
/** 2^47: the first non-canonical address (a const enum for the same reason). */
const enum Canon { LIMIT = 140737488355328 }

export const ACC_READ = 0, ACC_WRITE = 1, ACC_EXEC = 2;

/** True when a 64-bit linear address (a signed number) lies outside the canonical 48-bit range. */
export function nonCanonical(lin: number): boolean {
  return lin >= Canon.LIMIT || lin < -Canon.LIMIT;
}

/**
 * Debugger data watchpoints (Mmu.watch, set only while a debugger has some). Pages holding a watched
 * byte are kept out of the TLB, so every access to them reaches translate(), which reports it here.
 */
export interface WatchHook {
  /** True when the linear page at `page` holds a watched byte. */
  pageWatched(page: number): boolean;
  /** An access of `size` bytes at `lin` (0: unknown, somewhere in the page, e.g. a bulk string chunk). */
  access(lin: number, size: number, acc: number): void;
}

/** Bits 39..51 of a paging entry, in its high dword: reserved above the 39-bit physical address width. */
const RSVD_HI = 0x000fff80;

// Page-fault error code bits.
const PFE_P = 1, PFE_W = 2, PFE_U = 4, PFE_RSVD = 8, PFE_I = 16;

export class Mmu {
  readonly mem: PhysMem;
  readonly fault: FaultState;
  readonly dv: DataView;
  /** Typed-array views of RAM (PhysMem.u8/u16/i32), used by the fast paths when `narrow`. */
  readonly u8: Uint8Array;
  readonly u16: Uint16Array;
  readonly i32: Int32Array;
  /** RAM ends by 4 GiB, so the views cover every RAM offset the TLB can hold. */
  readonly narrow: boolean;
  // Tags are page-aligned linear addresses; NaN never compares equal, so it marks an empty slot.
  // Offsets are physical page bases (= RAM buffer offsets, see physmem.ts). A Uint32Array when RAM ends by
  // 4 GiB: its loads stay integers on the hot path (measured ~9% faster on load/store loops than a
  // Float64Array, which only guests with RAM above 4 GiB need).
  // With a wasm arena (PhysMem.arena) the four data-TLB arrays are views of the vCPU's state slice (arena.ts St).
  readonly rTag: Float64Array;
  readonly rOff: Uint32Array | Float64Array;
  readonly wTag: Float64Array;
  readonly wOff: Uint32Array | Float64Array;
  /** Instruction-fetch translations (NX already checked when filled); physical page bases. */
  readonly xTag = new Float64Array(TLB_SIZE).fill(NaN);
  readonly xOff = new Float64Array(TLB_SIZE);
  /** The slice's copy of `space` for the wasm hub's links (arena.ts St.SPACE), or null. */
  private readonly spaceWord: Int32Array | null;
  /** High half of the last 64-bit read. */
  hi = 0;
  /** Non-null while a debugger has watchpoints (see WatchHook). */
  watch: WatchHook | null = null;

  // Paging state, kept in step with CR0/CR3/CR4/EFER/CPL by the CPU.
  paging = false;
  /** Long-mode addresses: linear addresses must be canonical. */
  long = false;
  cr3 = 0;
  wp = false;
  nxe = false;
  user = false;

  /** @param home the vCPU's state slice when RAM lives in a wasm arena (the TLB arrays are views of it), else null. */
  constructor(mem: PhysMem, fault: FaultState, home: StateHome | null = null) {
    this.mem = mem;
    this.fault = fault;
    this.dv = mem.dv;
    this.u8 = mem.u8;
    this.u16 = mem.u16;
    this.i32 = mem.i32;
    this.narrow = mem.size <= U8_VIEW_MAX;
    const wide = mem.size > 2 ** 32;
    this.spaceWord = home !== null && !wide ? new Int32Array(home.buffer, home.base + St.SPACE, 1) : null;
    if (home !== null && !wide) {
      this.rTag = new Float64Array(home.buffer, home.base + St.RTAG, TLB_SIZE).fill(NaN);
      this.wTag = new Float64Array(home.buffer, home.base + St.WTAG, TLB_SIZE).fill(NaN);
      this.rOff = new Uint32Array(home.buffer, home.base + St.ROFF, TLB_SIZE);
      this.wOff = new Uint32Array(home.buffer, home.base + St.WOFF, TLB_SIZE);
    } else {
      this.rTag = new Float64Array(TLB_SIZE).fill(NaN);
      this.wTag = new Float64Array(TLB_SIZE).fill(NaN);
      this.rOff = wide ? new Float64Array(TLB_SIZE) : new Uint32Array(TLB_SIZE);
      this.wOff = wide ? new Float64Array(TLB_SIZE) : new Uint32Array(TLB_SIZE);
    }
    doubleFields(this, 'cr3', 'fetchPhys', 'hi');
    mem.mmus.push(this);
    this.epoch = mem.tlbEpoch;
  }

  /** Linear page of the last instruction fetch and its physical page (the run loop's fetch shortcut). */
  fetchPage = NaN;
  fetchPhys = 0;

  /** A 2 MiB / 1 GiB mapping was cached since the last flush (invlpg must then drop more than one slot). */
  private largeCached = false;
  private hugeCached = false;

  /**
   * Changed by every flush and invlpg of any vCPU of the machine, to the same value in every MMU (PhysMem.tlbEpoch):
   * translations cached elsewhere (trace links, which every vCPU follows) compare it. Per MMU, the two vCPUs of
   * an OSv test running the same kernel code found each other's links stale at every quantum (56% of the
   * run loop's link misses in tst-eventfd); a flush anywhere is rare enough to end them all.
   */
  epoch = 0;
  /**
   * The translation regime (CR3 and the paging controls) as of the last flush, which every change of them
   * makes (cpu.ts updateMode, MOV to CR3), numbered per machine (PhysMem.spaces): vCPUs with equal regimes and
   * no flush anywhere since a trace link was made translate its target as its maker did, up to page-table
   * writes that no vCPU has invalidated yet (which the TLB itself may or may not have seen).
   */
  space = 0;

  private newEpoch(): void {
    this.mem.arena?.bump();
    const e = ++this.mem.tlbEpoch;
    for (const m of this.mem.mmus) m.epoch = e;
  }

  flush(): void {
    this.newEpoch();
    // CR3 < 2^39 (MAXPHYADDR), so CR3 * 32 plus five flag bits is an exact double.
    const key = this.cr3 * 32 + (this.paging ? 1 : 0) + (this.long ? 2 : 0) + (this.user ? 4 : 0) + (this.wp ? 8 : 0) +
      (this.nxe ? 16 : 0);
    const spaces = this.mem.spaces;
    let id = spaces.get(key);
    if (id === undefined) spaces.set(key, id = spaces.size);
    this.space = id;
    if (this.spaceWord !== null) this.spaceWord[0] = id;
    this.rTag.fill(NaN);
    this.wTag.fill(NaN);
    this.xTag.fill(NaN);
    this.fetchPage = NaN;
    this.largeCached = false;
    this.hugeCached = false;
  }

  flushWrites(): void {
    this.wTag.fill(NaN);
  }

  invlpg(lin: number): void {
    this.newEpoch();
    const idx = (lin >>> 12) & Tlb.MASK;
    this.rTag[idx] = NaN;
    this.wTag[idx] = NaN;
    this.xTag[idx] = NaN;
    this.fetchPage = NaN;
    // The TLB holds 4 KiB slices of large pages: invalidating a large page must drop all of them.
    if (this.hugeCached) { this.flush(); return; }
    if (!this.largeCached) return;
    const base = lin - (lin % 0x200000 + 0x200000) % 0x200000;
    const first = Math.floor(base / PAGE_SIZE);
    for (let k = 0; k < 512; k++) {
      const j = (first + k) & Tlb.MASK;
      const r = this.rTag[j] - base, w = this.wTag[j] - base, x = this.xTag[j] - base;
      if (r >= 0 && r < 0x200000) this.rTag[j] = NaN;
      if (w >= 0 && w < 0x200000) this.wTag[j] = NaN;
      if (x >= 0 && x < 0x200000) this.xTag[j] = NaN;
    }
  }

  /** Drops write shortcuts to one physical page (it now holds decoded code: writes must take the slow path). */
  dropWritesTo(physPage: number): void {
    // indexOf runs natively from the first call: a boot marks hundreds of pages as code, mostly while this
    // would still be an interpreted JS loop over all TLB_SIZE slots.
    const wOff = this.wOff, wTag = this.wTag;
    for (let j = wOff.indexOf(physPage); j >= 0; j = wOff.indexOf(physPage, j + 1)) wTag[j] = NaN;
  }

  // ---- fast paths -------------------------------------------------------------------------
  // Inlined into the handlers, so kept to the common case: a TLB hit on an aligned access, through the
  // typed-array views (a DataView access costs several times as much there, measured) when RAM fits them
  // (`narrow`). Everything else (unaligned, page-crossing, MMIO, misses) goes to the *Other paths.
  read8(lin: number): number {
    const off = lin & 0xfff, idx = (lin >>> 12) & Tlb.MASK;
    if (this.rTag[idx] === lin - off && this.narrow) return this.u8[this.rOff[idx] + off];
    return this.readOther(lin, 1);
  }

  read16(lin: number): number {
    const off = lin & 0xfff, idx = (lin >>> 12) & Tlb.MASK;
    if (this.rTag[idx] === lin - off && (off & 1) === 0 && this.narrow) return this.u16[(this.rOff[idx] + off) >>> 1];
    return this.readOther(lin, 2);
  }

  read32(lin: number): number {
    const off = lin & 0xfff, idx = (lin >>> 12) & Tlb.MASK;
    if (this.rTag[idx] === lin - off && (off & 3) === 0 && this.narrow) return this.i32[(this.rOff[idx] + off) >>> 2];
    return this.readOther(lin, 4);
  }

  /** Returns the low half; the high half is left in `hi`. */
  read64(lin: number): number {
    const off = lin & 0xfff, idx = (lin >>> 12) & Tlb.MASK;
    if (this.rTag[idx] === lin - off && (off & 3) === 0 && off <= 0xff8 && this.narrow) {
      const q = (this.rOff[idx] + off) >>> 2;
      this.hi = this.i32[q + 1];
      return this.i32[q];
    }
    return this.read64Other(lin);
  }

  write8(lin: number, v: number): void {
    const off = lin & 0xfff, idx = (lin >>> 12) & Tlb.MASK;
    if (this.wTag[idx] === lin - off && this.narrow) { this.u8[this.wOff[idx] + off] = v; return; }
    this.writeOther(lin, 1, v);
  }

  write16(lin: number, v: number): void {
    const off = lin & 0xfff, idx = (lin >>> 12) & Tlb.MASK;
    if (this.wTag[idx] === lin - off && (off & 1) === 0 && this.narrow) { this.u16[(this.wOff[idx] + off) >>> 1] = v; return; }
    this.writeOther(lin, 2, v);
  }

  write32(lin: number, v: number): void {
    const off = lin & 0xfff, idx = (lin >>> 12) & Tlb.MASK;
    if (this.wTag[idx] === lin - off && (off & 3) === 0 && this.narrow) { this.i32[(this.wOff[idx] + off) >>> 2] = v; return; }
    this.writeOther(lin, 4, v);
  }

  write64(lin: number, lo: number, hi: number): void {
    const off = lin & 0xfff, idx = (lin >>> 12) & Tlb.MASK;
    if (this.wTag[idx] === lin - off && (off & 3) === 0 && off <= 0xff8 && this.narrow) {
      const q = (this.wOff[idx] + off) >>> 2;
      this.i32[q] = lo;
      this.i32[q + 1] = hi;
      return;
    }
    this.write64Other(lin, lo, hi);
  }

  // Read-modify-write reads go through the write TLB, so the later write cannot fault after state changed.
  rmw8(lin: number): number {
    const off = lin & 0xfff, idx = (lin >>> 12) & Tlb.MASK;
    if (this.wTag[idx] === lin - off && this.narrow) return this.u8[this.wOff[idx] + off];
    return this.rmwOther(lin, 1);
  }

  rmw16(lin: number): number {
    const off = lin & 0xfff, idx = (lin >>> 12) & Tlb.MASK;
    if (this.wTag[idx] === lin - off && (off & 1) === 0 && this.narrow) return this.u16[(this.wOff[idx] + off) >>> 1];
    return this.rmwOther(lin, 2);
  }

  rmw32(lin: number): number {
    const off = lin & 0xfff, idx = (lin >>> 12) & Tlb.MASK;
    if (this.wTag[idx] === lin - off && (off & 3) === 0 && this.narrow) return this.i32[(this.wOff[idx] + off) >>> 2];
    return this.rmwOther(lin, 4);
  }

  rmw64(lin: number): number {
    const off = lin & 0xfff, idx = (lin >>> 12) & Tlb.MASK;
    if (this.wTag[idx] === lin - off && (off & 3) === 0 && off <= 0xff8 && this.narrow) {
      const q = (this.wOff[idx] + off) >>> 2;
      this.hi = this.i32[q + 1];
      return this.i32[q];
    }
    return this.rmwOther(lin, 8);
  }

  // ---- the rest of each access: a TLB hit that is unaligned (or RAM above 4 GiB) uses the DataView ----
  private readOther(lin: number, size: number): number {
    const off = lin & 0xfff, idx = (lin >>> 12) & Tlb.MASK;
    if (this.rTag[idx] === lin - off && off <= PAGE_SIZE - size) return dvRead(this.dv, this.rOff[idx] + off, size);
    return this.slowRead(lin, size);
  }

  private read64Other(lin: number): number {
    const off = lin & 0xfff, idx = (lin >>> 12) & Tlb.MASK;
    if (this.rTag[idx] === lin - off && off <= 0xff8) {
      const p = this.rOff[idx] + off;
      this.hi = this.dv.getInt32(p + 4, true);
      return this.dv.getInt32(p, true);
    }
    return this.slowRead64(lin);
  }

  private writeOther(lin: number, size: number, v: number): void {
    const off = lin & 0xfff, idx = (lin >>> 12) & Tlb.MASK;
    if (this.wTag[idx] === lin - off && off <= PAGE_SIZE - size) { dvWrite(this.dv, this.wOff[idx] + off, size, v); return; }
    this.slowWrite(lin, size, v);
  }

  private write64Other(lin: number, lo: number, hi: number): void {
    const off = lin & 0xfff, idx = (lin >>> 12) & Tlb.MASK;
    if (this.wTag[idx] === lin - off && off <= 0xff8) {
      const p = this.wOff[idx] + off;
      this.dv.setInt32(p, lo, true);
      this.dv.setInt32(p + 4, hi, true);
      return;
    }
    this.slowWrite64(lin, lo, hi);
  }

  private rmwOther(lin: number, size: number): number {
    const off = lin & 0xfff, idx = (lin >>> 12) & Tlb.MASK;
    if (this.wTag[idx] === lin - off && off <= PAGE_SIZE - size) {
      const p = this.wOff[idx] + off;
      if (size === 8) this.hi = this.dv.getInt32(p + 4, true);
      return dvRead(this.dv, p, size === 8 ? 4 : size);
    }
    this.probeWrite(lin, size);
    return size === 8 ? this.read64(lin) : size === 4 ? this.read32(lin) : size === 2 ? this.read16(lin) : this.read8(lin);
  }

  /**
   * RAM offset of `lin` when its page is in the write (or read) TLB, else -1: bulk copies of a checked
   * area (context-switch images) then skip the per-word path. A write-TLB hit also means the page holds
   * no decoded code and no watchpoint.
   */
  ramOffset(lin: number, write: boolean): number {
    const off = lin & 0xfff, idx = (lin >>> 12) & Tlb.MASK;
    if (write) return this.wTag[idx] === lin - off ? this.wOff[idx] + off : -1;
    return this.rTag[idx] === lin - off ? this.rOff[idx] + off : -1;
  }

  /** Checks that [lin, lin+len) is writable without writing (for instructions that must not fault halfway). */
  probeWrite(lin: number, len: number): void {
    const last = lin + len - 1;
    // The whole access must be canonical, checked before paging (an access straddling 2^47 is #GP, not #PF).
    if (this.long && last >= Canon.LIMIT) raise(this.fault, VEC_GP, 0);
    this.translate(lin, ACC_WRITE, len);
    // A fault on the second page reports that page's first byte in CR2, as the hardware does.
    const lastPage = last - (last & 0xfff);
    if (lastPage !== (lin - (lin & 0xfff))) this.translate(lastPage, ACC_WRITE, 1);
  }

  probeRead(lin: number, len: number): void {
    const last = lin + len - 1;
    // The whole access must be canonical, checked before paging (an access straddling 2^47 is #GP, not #PF).
    if (this.long && last >= Canon.LIMIT) raise(this.fault, VEC_GP, 0);
    this.translate(lin, ACC_READ, len);
    // A fault on the second page reports that page's first byte in CR2, as the hardware does.
    const lastPage = last - (last & 0xfff);
    if (lastPage !== (lin - (lin & 0xfff))) this.translate(lastPage, ACC_READ, 1);
  }

  // ---- slow paths -------------------------------------------------------------------------
  private slowRead(lin: number, size: number): number {
    const off = lin & 0xfff;
    if (off + size > PAGE_SIZE) {
      this.probeRead(lin, size);
      let v = 0;
      for (let k = size - 1; k >= 0; k--) v = (v << 8) | this.readByteSlow(lin + k);
      return size === 4 ? v | 0 : v;
    }
    const phys = this.translate(lin, ACC_READ, size);
    if (this.mem.isRam(phys, size)) {
      // translate() installed the TLB entry; retry through RAM directly.
      return size === 1 ? this.dv.getUint8(phys) : size === 2 ? this.dv.getUint16(phys, true) : this.dv.getInt32(phys, true);
    }
    const v = this.mem.mmio.mmioRead(phys, size as 1 | 2 | 4);
    return size === 1 ? v & 0xff : size === 2 ? v & 0xffff : v | 0;
  }

  private readByteSlow(lin: number): number {
    const phys = this.translate(lin, ACC_READ, 1);
    return this.mem.read8(phys);
  }

  private slowRead64(lin: number): number {
    const off = lin & 0xfff;
    if (off + 8 > PAGE_SIZE) {
      // Check both pages before reading so a fault leaves nothing half done.
      this.probeRead(lin, 8);
      const lo = this.slowRead(lin, 4);
      const hi = this.slowRead(lin + 4, 4);
      this.hi = hi;
      return lo;
    }
    const phys = this.translate(lin, ACC_READ, 8);
    if (this.mem.isRam(phys, 8)) {
      this.hi = this.dv.getInt32(phys + 4, true);
      return this.dv.getInt32(phys, true);
    }
    const lo = this.mem.mmio.mmioRead(phys, 4) | 0;
    this.hi = this.mem.mmio.mmioRead(phys + 4, 4) | 0;
    return lo;
  }

  private slowWrite(lin: number, size: number, v: number): void {
    const off = lin & 0xfff;
    if (off + size > PAGE_SIZE) {
      this.probeWrite(lin, size);
      for (let k = 0; k < size; k++) this.mem.write8(this.translate(lin + k, ACC_WRITE, 1), (v >>> (8 * k)) & 0xff);
      return;
    }
    const phys = this.translate(lin, ACC_WRITE, size);
    if (size === 1) this.mem.write8(phys, v);
    else if (size === 2) this.mem.write16(phys, v);
    else this.mem.write32(phys, v);
  }

  private slowWrite64(lin: number, lo: number, hi: number): void {
    const off = lin & 0xfff;
    if (off + 8 > PAGE_SIZE) {
      this.probeWrite(lin, 8);
      this.slowWrite(lin, 4, lo);
      this.slowWrite(lin + 4, 4, hi);
      return;
    }
    const phys = this.translate(lin, ACC_WRITE, 8);
    this.mem.write32(phys, lo);
    this.mem.write32(phys + 4, hi);
  }

  /**
   * Linear to physical for one access; installs a TLB entry when the page is RAM and the access may use the
   * fast path next time. Raises #PF (or #GP for non-canonical addresses). `size` is the access size for
   * watchpoints (0 = somewhere in the page).
   */
  translate(lin: number, acc: number, size = 0): number {
    if (this.long && nonCanonical(lin)) raise(this.fault, VEC_GP, 0);
    const off = lin & 0xfff;
    const page = lin - off;
    let physPage: number;
    if (!this.paging) {
      physPage = page >= 0 ? page % TWO32 : (page % TWO32) + TWO32;
      this.walkWritable = true;
    } else {
      physPage = this.walk(lin, acc);
    }
    const w = this.watch;
    if (w !== null) w.access(lin, size, acc);
    if (this.mem.isRam(physPage, PAGE_SIZE) && (w === null || !w.pageWatched(page))) {
      const idx = (lin >>> 12) & Tlb.MASK;
      if (acc === ACC_WRITE) {
        // Writes to pages holding decoded code must keep taking the slow path (it drops stale decodes).
        this.mem.noteWrite(physPage, PAGE_SIZE);
        this.wTag[idx] = page;
        this.wOff[idx] = physPage;
      } else if (this.walkWritable && this.mem.codePage[physPage / PAGE_SIZE] === 0) {
        // A read of a page a write could use as it is (writable here, already dirty): a write walk would find the
        // same and change nothing, so the write entry comes now. Code reads a stack or heap line and then writes
        // it; 31% of tst-eventfd's page walks were that second walk.
        this.wTag[idx] = page;
        this.wOff[idx] = physPage;
      }
      this.rTag[idx] = page;
      this.rOff[idx] = physPage;
    }
    return physPage + off;
  }

  /** Only for the decoder: translation for an instruction fetch, no TLB update. */
  translateExec(lin: number): number {
    const off = lin & 0xfff, idx = (lin >>> 12) & Tlb.MASK;
    // Instruction TLB: code moves between pages at every far call, and a walk per move is costly.
    if (this.xTag[idx] === lin - off) return this.xOff[idx] + off;
    if (this.long && nonCanonical(lin)) raise(this.fault, VEC_GP, 0);
    const physPage = !this.paging ? (lin - off) % TWO32 : this.walk(lin, ACC_EXEC);
    this.xTag[idx] = lin - off;
    this.xOff[idx] = physPage;
    return physPage + off;
  }

  /**
   * Implicit supervisor access (descriptor tables, TSS) made while CPL is 3: translated with supervisor
   * rights and not cached, so user-mode accesses never hit the entry.
   */
  translateSupervisor(lin: number, acc: number): number {
    if (!this.user) return this.translate(lin, acc);
    if (this.long && nonCanonical(lin)) raise(this.fault, VEC_GP, 0);
    const off = lin & 0xfff;
    if (!this.paging) return (lin - off) % TWO32 + off;
    this.user = false;
    try {
      return this.walk(lin, acc) + off;
    } finally {
      this.user = true;
    }
  }

  /** Set by the last walk: the page may be written now without a walk changing anything (writable, D already set). */
  private walkWritable = false;

  /** Walks the 4-level tables; returns the physical page base. Sets A (and D on writes). */
  private walk(lin: number, acc: number): number {
    const hiLin = Math.floor(lin / TWO32);
    const loLin = lin >>> 0;
    // The four table indices as locals, not an array: an array here was an allocation per walk (OSv's TLB shootdowns
    // reload CR3 tens of thousands of times per second of guest time, each followed by dozens of walks).
    const i0 = (hiLin >>> 7) & 511, i1 = ((hiLin & 0x7f) << 2 | (loLin >>> 30)) & 511;
    const i2 = (loLin >>> 21) & 511, i3 = (loLin >>> 12) & 511;
    let table = this.cr3 - (this.cr3 % PAGE_SIZE);
    let writable = true, user = true, nx = false;
    const dv = this.dv;
    for (let level = 0; level < 4; level++) {
      const ea = table + (level === 0 ? i0 : level === 1 ? i1 : level === 2 ? i2 : i3) * 8;
      if (!this.mem.isRam(ea, 8)) this.pageFault(lin, acc, false, false);
      const lo = dv.getInt32(ea, true), hi = dv.getInt32(ea + 4, true);
      if (!(lo & 1)) this.pageFault(lin, acc, false, false);
      // Address bits at or above MAXPHYADDR (39, CPUID 0x80000008) are reserved, as is PS in a PML4 entry.
      if ((hi & RSVD_HI) || (level === 0 && (lo & 0x80))) this.pageFault(lin, acc, true, true);
      if (hi < 0) {
        if (!this.nxe) this.pageFault(lin, acc, true, true);
        nx = true;
      }
      if (!(lo & 2)) writable = false;
      if (!(lo & 4)) user = false;
      const large = (lo & 0x80) !== 0 && level > 0;
      const last = level === 3 || large;
      if (large && (lo & (level === 1 ? 0x3fffe000 : 0x1fe000))) this.pageFault(lin, acc, true, true);
      // Permission checks happen before A/D are written, as on hardware.
      if (last) {
        this.checkAccess(lin, acc, writable, user, nx);
        this.walkWritable = (lo & 0x40) !== 0 && (writable || (!this.user && !this.wp));
        let nlo = lo | 0x20;
        if (acc === ACC_WRITE) nlo |= 0x40;
        if (nlo !== lo) dv.setInt32(ea, nlo, true);
        const base = (hi & 0xfffff) * TWO32 + ((lo & 0xfffff000) >>> 0);
        if (level === 3) return base;
        if (level === 2) this.largeCached = true; else this.hugeCached = true;
        const span = level === 2 ? 0x200000 : 0x40000000;
        const baseAligned = base - (base % span);
        return baseAligned + (loLin % span) - (loLin & 0xfff);
      }
      if (!(lo & 0x20)) dv.setInt32(ea, lo | 0x20, true);
      table = (hi & 0xfffff) * TWO32 + ((lo & 0xfffff000) >>> 0);
    }
    return 0; // not reached
  }

  private checkAccess(lin: number, acc: number, writable: boolean, user: boolean, nx: boolean): void {
    if (this.user && !user) this.pageFault(lin, acc, true, false);
    if (acc === ACC_WRITE && !writable && (this.user || this.wp)) this.pageFault(lin, acc, true, false);
    if (acc === ACC_EXEC && nx) this.pageFault(lin, acc, true, false);
  }

  private pageFault(lin: number, acc: number, present: boolean, rsvd: boolean): never {
    let err = 0;
    if (present) err |= PFE_P;
    if (acc === ACC_WRITE) err |= PFE_W;
    if (this.user) err |= PFE_U;
    if (rsvd) err |= PFE_RSVD;
    if (acc === ACC_EXEC && this.nxe) err |= PFE_I;
    return raisePF(this.fault, lin, err);
  }
}

/** A value of 1, 2 or 4 bytes at RAM offset p (8/16 zero-extended, 32 as int32). */
function dvRead(dv: DataView, p: number, size: number): number {
  return size === 1 ? dv.getUint8(p) : size === 2 ? dv.getUint16(p, true) : dv.getInt32(p, true);
}

function dvWrite(dv: DataView, p: number, size: number, v: number): void {
  if (size === 1) dv.setUint8(p, v);
  else if (size === 2) dv.setUint16(p, v, true);
  else dv.setInt32(p, v, true);
}
