/**
 * The host side of a virtual disk, as virtio-blk (or any other disk controller) sees it: a
 * byte-addressed image of fixed size. Implementations: raw files (disk-raw.ts), qcow2 images
 * (disk-qcow2.ts), and an in-memory copy-on-write layer for snapshot mode (disk-overlay.ts).
 * Calls are synchronous: the device model decides when, in virtual time, a request completes,
 * so runs repeat exactly whatever the host disk does.
 */

export interface BlockBackend {
  /** Virtual disk size in bytes. */
  readonly size: number;
  /** False when writes are refused (the device then offers VIRTIO_BLK_F_RO). */
  readonly writable: boolean;
  /** "qcow2 usr.img" etc., for messages. */
  readonly description: string;
  /** Fills `dst` from byte `offset` (the caller keeps offset + length within `size`). */
  read(offset: number, dst: Uint8Array): void;
  write(offset: number, src: Uint8Array): void;
  /** Makes completed writes durable (fsync for files). */
  flush(): void;
  /** The guest no longer needs [offset, offset + length): a hint; contents afterwards are unspecified. */
  discard(offset: number, length: number): void;
  close(): void;
}

/** A bad, unsupported or unreadable image, or a failed host I/O: one line for the user. */
export class DiskError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DiskError';
  }
}

/** Writes `length` zero bytes through `write` in bounded pieces. */
export function writeZeroes(backend: BlockBackend, offset: number, length: number): void {
  const chunk = new Uint8Array(Math.min(length, 1 << 20));
  for (let done = 0; done < length; done += chunk.length) {
    const n = Math.min(chunk.length, length - done);
    backend.write(offset + done, n === chunk.length ? chunk : chunk.subarray(0, n));
  }
}

/**
 * Splits [offset, offset + length) at multiples of `unit` (clusters, chunks) and calls
 * fn(unit index, offset within the unit, position in the range, byte count) for each piece.
 */
export function forEachUnit(offset: number, length: number, unit: number, fn: (index: number, within: number, pos: number, n: number) => void): void {
  let pos = 0;
  while (pos < length) {
    const at = offset + pos;
    const index = Math.floor(at / unit);
    const within = at - index * unit;
    const n = Math.min(unit - within, length - pos);
    fn(index, within, pos, n);
    pos += n;
  }
}
