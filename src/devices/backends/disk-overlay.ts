/**
 * Snapshot mode (QEMU's -snapshot): guest writes land in memory, 4 KiB at a time, over a
 * read-only base image that is never written. Discarded ranges read as zeros afterwards.
 */
import { forEachUnit, type BlockBackend } from './block.js';

const CHUNK = 4096;

export class OverlayDisk implements BlockBackend {
  readonly size: number;
  readonly writable = true;
  readonly description: string;
  private readonly chunks = new Map<number, Uint8Array>();

  constructor(private readonly base: BlockBackend) {
    this.size = base.size;
    this.description = `${base.description} (writes kept in memory)`;
  }

  /** Bytes held in memory (for tests and diagnostics). */
  get overlayBytes(): number {
    return this.chunks.size * CHUNK;
  }

  read(offset: number, dst: Uint8Array): void {
    let pos = 0;
    while (pos < dst.length) {
      const at = offset + pos;
      const idx = Math.floor(at / CHUNK);
      const within = at - idx * CHUNK;
      const chunk = this.chunks.get(idx);
      if (chunk !== undefined) {
        const n = Math.min(CHUNK - within, dst.length - pos);
        dst.set(chunk.subarray(within, within + n), pos);
        pos += n;
        continue;
      }
      // A run of chunks not in memory: one read from the base.
      let end = (idx + 1) * CHUNK;
      while (end < offset + dst.length && !this.chunks.has(end / CHUNK)) end += CHUNK;
      const n = Math.min(end, offset + dst.length) - at;
      this.base.read(at, dst.subarray(pos, pos + n));
      pos += n;
    }
  }

  write(offset: number, src: Uint8Array): void {
    forEachUnit(offset, src.length, CHUNK, (idx, within, pos, n) => this.chunkFor(idx, n < CHUNK).set(src.subarray(pos, pos + n), within));
  }

  private chunkFor(idx: number, partial: boolean): Uint8Array {
    let chunk = this.chunks.get(idx);
    if (chunk === undefined) {
      chunk = new Uint8Array(Math.min(CHUNK, this.size - idx * CHUNK));
      if (partial) this.base.read(idx * CHUNK, chunk);
      this.chunks.set(idx, chunk);
    }
    return chunk;
  }

  flush(): void {}

  discard(offset: number, length: number): void {
    for (let idx = Math.ceil(offset / CHUNK); (idx + 1) * CHUNK <= offset + length; idx++) {
      this.chunks.set(idx, new Uint8Array(Math.min(CHUNK, this.size - idx * CHUNK)));
    }
  }

  close(): void {
    this.chunks.clear();
    this.base.close();
  }
}
