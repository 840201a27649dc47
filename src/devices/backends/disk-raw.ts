/** A raw disk image: the file's bytes are the disk's bytes. */
import type { BlockBackend } from './block.js';
import { HostFile } from './host-file.js';

export class RawDisk implements BlockBackend {
  readonly size: number;
  readonly description: string;
  private readonly file: HostFile;

  constructor(readonly path: string, readonly writable: boolean) {
    this.file = new HostFile(path, writable);
    this.size = this.file.size;
    this.description = `raw ${path}`;
  }

  read(offset: number, dst: Uint8Array): void {
    this.file.read(offset, dst);
  }
  write(offset: number, src: Uint8Array): void {
    this.file.write(offset, src);
  }
  flush(): void {
    this.file.flush();
  }
  discard(): void {
    // A hint only; Node has no hole punching, and keeping the bytes is a valid outcome.
  }
  close(): void {
    this.file.close();
  }
}
