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

  constructor(readonly base: BlockBackend) {
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

  /** The written chunks, for snapshots: their indices (ascending) and their bytes. */
  saveChunks(): { index: Uint32Array; data: Uint8Array } {
    const keys = [...this.chunks.keys()].sort((a, b) => a - b);
    const data = new Uint8Array(keys.length * CHUNK);
    keys.forEach((k, i) => data.set(this.chunks.get(k)!, i * CHUNK));
    return { index: Uint32Array.from(keys), data };
  }

  /** Replaces the written chunks by saved ones (false when they do not fit this disk). */
  loadChunks(index: Uint32Array, data: Uint8Array): boolean {
    if (data.length !== index.length * CHUNK) return false;
    for (const k of index) if (k * CHUNK >= this.size) return false;
    this.chunks.clear();
    index.forEach((k, i) => this.chunks.set(k, data.slice(i * CHUNK, i * CHUNK + Math.min(CHUNK, this.size - k * CHUNK))));
    return true;
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
