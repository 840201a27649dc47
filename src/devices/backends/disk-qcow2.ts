/**
 * qcow2 images (versions 2 and 3), the format OSv's build writes usr.img in. Reads follow
 * L1 -> L2 -> cluster, including compressed clusters (raw deflate, QEMU's zlib type), zero
 * clusters and backing files (opened read-only, relative to the image's folder, qcow2 or raw).
 * Writes (only when the user asked for them) allocate clusters at the end of the file, with L2
 * tables and 16-bit refcounts kept valid; rewriting a shared or compressed cluster copies it
 * (its old reference is leaked, which `qemu-img check` reports as a leak, not an error).
 *
 * Everything in the header and tables is checked when the image is opened: a truncated, corrupt
 * or unsupported image is a DiskError before the guest starts.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { DiskError, forEachUnit, type BlockBackend } from './block.js';
import { openImage } from './disk-open.js';
import { HostFile, errText } from './host-file.js';

const MAGIC = 0x514649fb; // "QFI\xfb"
const TWO32 = 2 ** 32;
const MAX_BACKING_DEPTH = 16;
/** Incompatible feature bits this reader understands: dirty (0). */
const KNOWN_INCOMPATIBLE = 0x1;
/** L1/L2 standard offset: bits 9-55 (hi word bits 0-23). */
const OFFSET_HI_MASK = 0x00ffffff;
const COPIED_HI = 0x80000000;
const COMPRESSED_HI = 0x40000000;

export interface Qcow2Header {
  version: number;
  clusterBits: number;
  size: number;
  l1Size: number;
  l1Offset: number;
  refcountTableOffset: number;
  refcountTableClusters: number;
  refcountOrder: number;
  snapshots: number;
  backingFile: string | null;
}

function u64(b: Uint8Array, off: number): number {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return dv.getUint32(off) * TWO32 + dv.getUint32(off + 4);
}

/** True when the first bytes are a qcow2 magic. */
export function isQcow2(head: Uint8Array): boolean {
  return head.length >= 4 && new DataView(head.buffer, head.byteOffset, 4).getUint32(0) === MAGIC;
}

export function parseQcow2Header(path: string, h: Uint8Array, fileSize: number): Qcow2Header {
  const bad = (why: string): never => {
    throw new DiskError(`${path}: ${why}`);
  };
  if (fileSize < 72 || h.length < 72) bad('truncated qcow2 image (no complete header)');
  const dv = new DataView(h.buffer, h.byteOffset, h.byteLength);
  if (dv.getUint32(0) !== MAGIC) bad('not a qcow2 image');
  const version = dv.getUint32(4);
  if (version !== 2 && version !== 3) bad(`unsupported qcow2 version ${version}`);
  const backingOffset = u64(h, 8);
  const backingSize = dv.getUint32(16);
  const clusterBits = dv.getUint32(20);
  if (clusterBits < 9 || clusterBits > 21) bad(`corrupt qcow2 header: cluster_bits ${clusterBits}`);
  const size = u64(h, 24);
  const crypt = dv.getUint32(32);
  if (crypt !== 0) bad('encrypted qcow2 images are not supported');
  const l1Size = dv.getUint32(36);
  const l1Offset = u64(h, 40);
  const refcountTableOffset = u64(h, 48);
  const refcountTableClusters = dv.getUint32(56);
  let refcountOrder = 4;
  if (version === 3) {
    if (h.length < 104) bad('truncated qcow2 image (no complete version 3 header)');
    const incompatHi = dv.getUint32(72), incompatLo = dv.getUint32(76);
    if (incompatLo & 2) bad('qcow2 image is marked corrupt (run qemu-img check -r all)');
    if (incompatHi !== 0 || (incompatLo & ~KNOWN_INCOMPATIBLE) !== 0) {
      const names = ['dirty', 'corrupt', 'external data file', 'compression type', 'extended L2 entries'];
      const bits = [];
      for (let b = 1; b < 32; b++) if (incompatLo & (1 << b) && !(KNOWN_INCOMPATIBLE & (1 << b))) bits.push(names[b] ?? `bit ${b}`);
      if (incompatHi) bits.push('high bits');
      bad(`unsupported qcow2 feature: ${bits.join(', ')}`);
    }
    refcountOrder = dv.getUint32(96);
    if (refcountOrder > 6) bad(`corrupt qcow2 header: refcount_order ${refcountOrder}`);
    const headerLength = dv.getUint32(100);
    if (headerLength > 104 && h.length > 104 && h[104] !== 0) bad('unsupported qcow2 compression type (only zlib)');
  }
  const cs = 2 ** clusterBits;
  const l2Entries = cs / 8;
  if (size > 2 ** 52) bad(`corrupt qcow2 header: disk size ${size}`);
  const needL1 = Math.ceil(size / (cs * l2Entries));
  if (l1Size < needL1) bad(`corrupt qcow2 header: L1 table of ${l1Size} entries is too small for ${size} bytes`);
  if (l1Size > 0 && (l1Offset % cs !== 0 || l1Offset + 8 * l1Size > fileSize)) bad('truncated or corrupt qcow2 image: L1 table beyond the end of the file');
  let backingFile: string | null = null;
  if (backingOffset !== 0) {
    if (backingSize === 0 || backingSize > 1023 || backingOffset + backingSize > h.length) bad('corrupt qcow2 header: backing file name');
    backingFile = new TextDecoder().decode(h.subarray(backingOffset, backingOffset + backingSize));
  }
  const snapshots = dv.getUint32(60);
  return { version, clusterBits, size, l1Size, l1Offset, refcountTableOffset, refcountTableClusters, refcountOrder, snapshots, backingFile };
}

export class Qcow2Disk implements BlockBackend {
  readonly size: number;
  readonly description: string;
  readonly header: Qcow2Header;
  private readonly file: HostFile;
  private readonly cs: number;
  private readonly l2Entries: number;
  /** L1 entries as hi/lo words. */
  private readonly l1: Uint32Array;
  private readonly l2Cache = new Map<number, DataView>();
  private readonly backing: BlockBackend | null;
  private lastCompressed = -1;
  private readonly compressedBuf: Uint8Array;
  /** Next free cluster-aligned file offset (writes). */
  private nextFree: number;
  private refTable: DataView | null = null;

  constructor(readonly path: string, readonly writable: boolean, depth = 0) {
    this.file = new HostFile(path, writable);
    try {
      const fileSize = this.file.size;
      const head = new Uint8Array(Math.min(fileSize, 4096));
      this.file.read(0, head);
      this.header = parseQcow2Header(path, head, fileSize);
      const h = this.header;
      this.cs = 2 ** h.clusterBits;
      this.l2Entries = this.cs / 8;
      this.size = h.size;
      this.compressedBuf = new Uint8Array(this.cs);
      this.l1 = this.readL1(fileSize);
      this.nextFree = Math.ceil(fileSize / this.cs) * this.cs;
      if (writable) this.loadRefcounts(fileSize);
      this.backing = h.backingFile === null ? null : openBacking(path, h.backingFile, depth);
      this.description = `qcow2 ${path}${this.backing ? ` (backing ${this.backing.description})` : ''}`;
    } catch (e) {
      this.file.close();
      throw e;
    }
  }

  private readL1(fileSize: number): Uint32Array {
    const h = this.header;
    const raw = new Uint8Array(8 * h.l1Size);
    this.file.read(h.l1Offset, raw);
    const dv = new DataView(raw.buffer);
    const l1 = new Uint32Array(2 * h.l1Size);
    for (let i = 0; i < h.l1Size; i++) {
      l1[2 * i] = dv.getUint32(8 * i);
      l1[2 * i + 1] = dv.getUint32(8 * i + 4);
      const off = (l1[2 * i]! & OFFSET_HI_MASK) * TWO32 + (l1[2 * i + 1]! & 0xfffffe00);
      if (off === 0) continue;
      if (off % this.cs !== 0 || off + this.cs > fileSize) {
        throw new DiskError(`${this.path}: truncated or corrupt qcow2 image: L2 table ${i} at ${off} is outside the file`);
      }
    }
    return l1;
  }

  private loadRefcounts(fileSize: number): void {
    const h = this.header;
    if (h.snapshots !== 0) throw new DiskError(`${this.path}: writing qcow2 images with internal snapshots is not supported (use it without ,writable)`);
    if (h.refcountOrder !== 4) throw new DiskError(`${this.path}: writing qcow2 images with ${2 ** h.refcountOrder}-bit refcounts is not supported`);
    const len = h.refcountTableClusters * this.cs;
    if (h.refcountTableOffset % this.cs !== 0 || h.refcountTableOffset + len > fileSize || len === 0) {
      throw new DiskError(`${this.path}: truncated or corrupt qcow2 image: refcount table beyond the end of the file`);
    }
    const raw = new Uint8Array(len);
    this.file.read(h.refcountTableOffset, raw);
    this.refTable = new DataView(raw.buffer);
  }

  private l1Entry(i: number): number {
    return (this.l1[2 * i]! & OFFSET_HI_MASK) * TWO32 + (this.l1[2 * i + 1]! & 0xfffffe00);
  }

  private l2Table(offset: number): DataView {
    let t = this.l2Cache.get(offset);
    if (t === undefined) {
      const raw = new Uint8Array(this.cs);
      this.file.read(offset, raw);
      t = new DataView(raw.buffer);
      if (this.l2Cache.size > 1024) this.l2Cache.clear();
      this.l2Cache.set(offset, t);
    }
    return t;
  }

  read(offset: number, dst: Uint8Array): void {
    forEachUnit(offset, dst.length, this.cs, (cluster, within, pos, n) => this.readInCluster(cluster, within, dst.subarray(pos, pos + n)));
  }

  private readInCluster(cluster: number, within: number, dst: Uint8Array): void {
    const l1i = Math.floor(cluster / this.l2Entries);
    const l2Off = l1i < this.header.l1Size ? this.l1Entry(l1i) : 0;
    if (l2Off === 0) return this.readUnallocated(cluster * this.cs + within, dst);
    const t = this.l2Table(l2Off);
    const e = 8 * (cluster % this.l2Entries);
    const hi = t.getUint32(e), lo = t.getUint32(e + 4);
    if (hi & COMPRESSED_HI) {
      this.inflateCluster(cluster, hi, lo);
      dst.set(this.compressedBuf.subarray(within, within + dst.length));
      return;
    }
    if (this.header.version === 3 && lo & 1) {
      dst.fill(0);
      return;
    }
    const off = (hi & OFFSET_HI_MASK) * TWO32 + (lo & 0xfffffe00);
    if (off === 0) return this.readUnallocated(cluster * this.cs + within, dst);
    this.file.read(off + within, dst);
  }

  private readUnallocated(at: number, dst: Uint8Array): void {
    if (this.backing === null || at >= this.backing.size) {
      dst.fill(0);
      return;
    }
    const n = Math.min(dst.length, this.backing.size - at);
    this.backing.read(at, dst.subarray(0, n));
    dst.fill(0, n);
  }

  private inflateCluster(cluster: number, hi: number, lo: number): void {
    if (cluster === this.lastCompressed) return;
    const { offset, csize } = this.compressedRange(hi, lo);
    const raw = new Uint8Array(csize);
    this.file.read(offset, raw);
    let out: Buffer;
    try {
      out = inflateRawSync(raw, { maxOutputLength: this.cs });
    } catch (e) {
      throw new DiskError(`${this.path}: compressed cluster ${cluster} does not inflate: ${errText(e)}`);
    }
    if (out.length !== this.cs) throw new DiskError(`${this.path}: compressed cluster ${cluster} inflates to ${out.length} bytes, not ${this.cs}`);
    this.compressedBuf.set(out);
    this.lastCompressed = cluster;
  }

  /** Host offset and byte count of a compressed cluster's deflate stream. */
  private compressedRange(hi: number, lo: number): { offset: number; csize: number } {
    const x = 70 - this.header.clusterBits; // bits of the host offset
    const offset = (hi & ((1 << (x - 32)) - 1)) * TWO32 + lo;
    const sectors = ((hi >>> (x - 32)) & ((1 << (this.header.clusterBits - 8)) - 1)) + 1;
    return { offset, csize: sectors * 512 - (offset % 512) };
  }

  // ---- writes --------------------------------------------------------------------------------
  write(offset: number, src: Uint8Array): void {
    if (!this.writable) throw new DiskError(`${this.path}: image is read-only`);
    forEachUnit(offset, src.length, this.cs, (cluster, within, pos, n) => this.writeInCluster(cluster, within, src.subarray(pos, pos + n)));
  }

  private writeInCluster(cluster: number, within: number, src: Uint8Array): void {
    const l1i = Math.floor(cluster / this.l2Entries);
    if (l1i >= this.header.l1Size) throw new DiskError(`${this.path}: write beyond the L1 table`);
    let l2Off = this.l1Entry(l1i);
    if (l2Off === 0 || !(this.l1[2 * l1i]! & COPIED_HI)) {
      // A new L2 table (or a private copy of a shared one).
      const fresh = new Uint8Array(this.cs);
      if (l2Off !== 0) fresh.set(new Uint8Array(this.l2Table(l2Off).buffer));
      const at = this.allocate();
      this.file.write(at, fresh);
      this.l2Cache.set(at, new DataView(fresh.buffer));
      this.setL1(l1i, at);
      if (l2Off !== 0) this.addRefcount(l2Off, -1);
      l2Off = at;
    }
    const t = this.l2Table(l2Off);
    const e = 8 * (cluster % this.l2Entries);
    const hi = t.getUint32(e), lo = t.getUint32(e + 4);
    const off = (hi & OFFSET_HI_MASK) * TWO32 + (lo & 0xfffffe00);
    const inPlace = !(hi & COMPRESSED_HI) && hi & COPIED_HI && off !== 0 && !(this.header.version === 3 && lo & 1);
    if (inPlace) {
      this.file.write(off + within, src);
      return;
    }
    const data = new Uint8Array(this.cs);
    if (src.length < this.cs) this.readInCluster(cluster, 0, data);
    data.set(src, within);
    const at = this.allocate();
    this.file.write(at, data);
    if (cluster === this.lastCompressed) this.lastCompressed = -1;
    this.setL2(l2Off, e, COPIED_HI | Math.floor(at / TWO32), at % TWO32);
    this.release(hi, lo);
  }

  private setL1(i: number, offset: number): void {
    this.l1[2 * i] = (COPIED_HI | Math.floor(offset / TWO32)) >>> 0;
    this.l1[2 * i + 1] = offset % TWO32;
    const b = new Uint8Array(8);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, this.l1[2 * i]!);
    dv.setUint32(4, this.l1[2 * i + 1]!);
    this.file.write(this.header.l1Offset + 8 * i, b);
  }

  private setL2(l2Off: number, e: number, hi: number, lo: number): void {
    const t = this.l2Table(l2Off);
    t.setUint32(e, hi >>> 0);
    t.setUint32(e + 4, lo >>> 0);
    this.file.write(l2Off + e, new Uint8Array(t.buffer, e, 8));
  }

  /** A new cluster at the end of the file, with refcount 1. */
  private allocate(): number {
    const at = this.nextFree;
    this.nextFree += this.cs;
    this.addRefcount(at, 1);
    return at;
  }

  /** Drops the reference an L2 entry held (a compressed run may span several host clusters). */
  private release(hi: number, lo: number): void {
    if (hi & COMPRESSED_HI) {
      const { offset, csize } = this.compressedRange(hi, lo);
      const first = Math.floor(offset / this.cs), last = Math.floor((offset + csize - 1) / this.cs);
      for (let c = first; c <= last; c++) this.addRefcount(c * this.cs, -1);
      return;
    }
    const off = (hi & OFFSET_HI_MASK) * TWO32 + (lo & 0xfffffe00);
    if (off !== 0) this.addRefcount(off, -1);
  }

  private addRefcount(offset: number, delta: number): void {
    const perBlock = this.cs / 2;
    const idx = Math.floor(offset / this.cs);
    const rti = Math.floor(idx / perBlock);
    const table = this.refTable!;
    if (8 * rti + 8 > table.byteLength) throw new DiskError(`${this.path}: qcow2 refcount table is full (growing it is not supported)`);
    let block = table.getUint32(8 * rti) * TWO32 + table.getUint32(8 * rti + 4);
    if (block === 0) {
      block = this.nextFree;
      this.nextFree += this.cs;
      this.file.write(block, new Uint8Array(this.cs));
      table.setUint32(8 * rti, Math.floor(block / TWO32));
      table.setUint32(8 * rti + 4, block % TWO32);
      this.file.write(this.header.refcountTableOffset + 8 * rti, new Uint8Array(table.buffer, 8 * rti, 8));
      this.addRefcount(block, 1);
    }
    const at = block + 2 * (idx % perBlock);
    const b = new Uint8Array(2);
    this.file.read(at, b);
    const v = Math.max(0, Math.min(0xffff, ((b[0]! << 8) | b[1]!) + delta));
    b[0] = v >> 8;
    b[1] = v & 0xff;
    this.file.write(at, b);
  }

  flush(): void {
    if (this.writable) this.file.flush();
  }

  discard(offset: number, length: number): void {
    if (!this.writable) return;
    // Whole clusters only; in version 2 only without a backing file (it would show through).
    const canZero = this.header.version === 3 || this.backing === null;
    if (!canZero) return;
    for (let c = Math.ceil(offset / this.cs); (c + 1) * this.cs <= offset + length; c++) {
      const l1i = Math.floor(c / this.l2Entries);
      const l2Off = this.l1Entry(l1i);
      if (l2Off === 0 || !(this.l1[2 * l1i]! & COPIED_HI)) continue;
      const e = 8 * (c % this.l2Entries);
      const t = this.l2Table(l2Off);
      const hi = t.getUint32(e), lo = t.getUint32(e + 4);
      this.setL2(l2Off, e, 0, this.header.version === 3 ? 1 : 0);
      this.release(hi, lo);
      if (c === this.lastCompressed) this.lastCompressed = -1;
    }
  }

  close(): void {
    this.file.close();
    this.backing?.close();
  }
}

function openBacking(imagePath: string, name: string, depth: number): BlockBackend {
  if (depth >= MAX_BACKING_DEPTH) throw new DiskError(`${imagePath}: backing file chain deeper than ${MAX_BACKING_DEPTH} (a loop?)`);
  const path = isAbsolute(name) ? name : resolve(dirname(imagePath), name);
  try {
    return openImage(path, false, depth + 1);
  } catch (e) {
    if (e instanceof DiskError) throw new DiskError(`${imagePath}: backing file: ${e.message}`);
    throw e;
  }
}
