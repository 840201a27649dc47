// An OSv disk image as the test runner reads it on the host: the image file (raw; qcow2 once a
// qcow2 reader exists), its MBR partitions, and the rofs file system OSv mounts as root
// (scripts/build writes rofs into an MBR partition after the boot area; a bare rofs image made
// by scripts/gen-rofs-img.py starts at byte 0).
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { isRofs, readRofs, type ByteSource, type RofsEntry } from './rofs.js';

export class DiskImageError extends Error {}

const QCOW2_MAGIC = 0x514649fb; // "QFI\xfb"
const SECTOR = 512;

/** A raw image file, read on demand (images are often sparse and larger than RAM). */
export class RawImage implements ByteSource {
  readonly size: number;
  private constructor(private readonly fd: number) {
    this.size = fstatSync(fd).size;
  }

  static open(path: string): RawImage {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      throw new DiskImageError(`cannot read disk ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const img = new RawImage(fd);
    const head = img.read(0, 4);
    if (head.length === 4 && new DataView(head.buffer, head.byteOffset).getUint32(0, false) === QCOW2_MAGIC) {
      img.close();
      throw new DiskImageError(`${path} is a qcow2 image: reading it needs the qcow2 reader of the virtio-blk work ` +
        '(convert it with: qemu-img convert -O raw IMAGE IMAGE.raw)');
    }
    return img;
  }

  read(offset: number, length: number): Uint8Array {
    const n = Math.max(0, Math.min(length, this.size - offset));
    const buf = new Uint8Array(n);
    let done = 0;
    while (done < n) {
      const r = readSync(this.fd, buf, done, n - done, offset + done);
      if (r === 0) break;
      done += r;
    }
    return done === n ? buf : buf.subarray(0, done);
  }

  close(): void {
    closeSync(this.fd);
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
  const img = RawImage.open(path);
  try {
    const base = findRofs(img);
    if (base < 0) throw new DiskImageError(`${path}: no rofs file system (whole image or an MBR partition)`);
    try {
      return readRofs(img, base);
    } catch (e) {
      throw new DiskImageError(`${path}: ${(e as Error).message}`);
    }
  } finally {
    img.close();
  }
}
