// An OSv disk image as the test runner reads it on the host: the image file (raw or qcow2, through
// the virtio-blk back ends, read-only), its MBR partitions, and the rofs file system OSv mounts as
// root (scripts/build writes rofs into an MBR partition after the boot area; a bare rofs image made
// by scripts/gen-rofs-img.py starts at byte 0).
import { DiskError, type BlockBackend } from '../devices/backends/block.js';
import { openImage } from '../devices/backends/disk-open.js';
import { isRofs, readRofs, type ByteSource, type RofsEntry } from './rofs.js';

export class DiskImageError extends Error {
  /** False when the image reads fine but holds no rofs (e.g. a ZFS disk): a test list can still come from elsewhere. */
  constructor(message: string, readonly unreadable = true) {
    super(message);
  }
}

const SECTOR = 512;

/** A disk image (raw or qcow2) opened read-only, as the byte source the rofs reader takes. */
export class DiskImage implements ByteSource {
  readonly size: number;
  private constructor(private readonly disk: BlockBackend) {
    this.size = disk.size;
  }

  /** Opens `path` read-only; a missing, truncated or corrupt image is a one-line DiskImageError. */
  static open(path: string): DiskImage {
    try {
      return new DiskImage(openImage(path, false));
    } catch (e) {
      if (e instanceof DiskError) throw new DiskImageError(e.message);
      throw e;
    }
  }

  read(offset: number, length: number): Uint8Array {
    const buf = new Uint8Array(Math.max(0, Math.min(length, this.size - offset)));
    try {
      if (buf.length > 0) this.disk.read(offset, buf);
    } catch (e) {
      if (e instanceof DiskError) throw new DiskImageError(e.message);
      throw e;
    }
    return buf;
  }

  close(): void {
    this.disk.close();
  }
}

/** Byte offsets of the MBR's primary partitions, in table order (empty without an MBR). */
export function mbrPartitions(src: ByteSource): number[] {
  const mbr = src.read(0, SECTOR);
  if (mbr.length < SECTOR || mbr[510] !== 0x55 || mbr[511] !== 0xaa) return [];
  const dv = new DataView(mbr.buffer, mbr.byteOffset, mbr.byteLength);
  const out: number[] = [];
  for (let k = 0; k < 4; k++) {
    const e = 0x1be + 16 * k;
    const type = mbr[e + 4], lba = dv.getUint32(e + 8, true), sectors = dv.getUint32(e + 12, true);
    if (type !== 0 && lba !== 0 && sectors !== 0) out.push(lba * SECTOR);
  }
  return out;
}

/** The byte offset of the image's rofs file system (whole image or a partition), or -1. */
export function findRofs(src: ByteSource): number {
  if (isRofs(src, 0)) return 0;
  for (const offset of mbrPartitions(src)) if (isRofs(src, offset)) return offset;
  return -1;
}

/** The files of the rofs root file system on a disk image; a one-line DiskImageError otherwise. */
export function listDiskFiles(path: string): RofsEntry[] {
  const img = DiskImage.open(path);
  try {
    const base = findRofs(img);
    if (base < 0) throw new DiskImageError(`${path}: no rofs file system (whole image or an MBR partition)`, false);
    try {
      return readRofs(img, base);
    } catch (e) {
      if (e instanceof DiskImageError) throw e;
      throw new DiskImageError(`${path}: ${(e as Error).message}`, false);
    }
  } finally {
    img.close();
  }
}
