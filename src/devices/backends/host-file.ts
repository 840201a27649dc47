/**
 * Positioned reads and writes on a host file descriptor with every failure turned into a
 * one-line DiskError. A read past the end of the file yields zeros, as for a sparse file.
 */
import { closeSync, fstatSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { DiskError } from './block.js';

export class HostFile {
  readonly fd: number;
  constructor(
    readonly path: string,
    writable: boolean,
  ) {
    try {
      this.fd = openSync(path, writable ? 'r+' : 'r');
    } catch (e) {
      throw new DiskError(`cannot open ${path}: ${errText(e)}`);
    }
  }

  get size(): number {
    return fstatSync(this.fd).size;
  }

  /** Reads `dst.length` bytes at `pos`; returns how many came from the file (the rest is zero). */
  read(pos: number, dst: Uint8Array): number {
    let done = 0;
    try {
      while (done < dst.length) {
        const n = readSync(this.fd, dst, done, dst.length - done, pos + done);
        if (n === 0) break;
        done += n;
      }
    } catch (e) {
      throw new DiskError(`${this.path}: read at ${pos} failed: ${errText(e)}`);
    }
    if (done < dst.length) dst.fill(0, done);
    return done;
  }

  write(pos: number, src: Uint8Array): void {
    let done = 0;
    try {
      while (done < src.length) done += writeSync(this.fd, src, done, src.length - done, pos + done);
    } catch (e) {
      throw new DiskError(`${this.path}: write at ${pos} failed: ${errText(e)}`);
    }
  }

  flush(): void {
    try {
      fsyncSync(this.fd);
    } catch (e) {
      throw new DiskError(`${this.path}: fsync failed: ${errText(e)}`);
    }
  }

  close(): void {
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
  }
}

export function errText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err.code ?? err.message;
}
