/**
 * An output file written from the run loop without waiting for the disk (pcap, input log): opened
 * (truncated) at once, so a bad path is one error before the guest starts; then writes are queued
 * on a stream, and the first write error is one log line after which writes are dropped.
 */
import { createWriteStream, openSync, type WriteStream } from 'node:fs';

export class CaptureFile {
  private readonly out: WriteStream;
  private failed = false;

  /** `what`: "pcap file", "network log" (for messages). */
  constructor(readonly path: string, what: string, log: (line: string) => void = () => {}) {
    let fd: number;
    try {
      fd = openSync(path, 'w');
    } catch (e) {
      throw new Error(`cannot write ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    this.out = createWriteStream('', { fd });
    this.out.on('error', (e: NodeJS.ErrnoException) => {
      if (!this.failed) log(`${what} ${path}: ${e.code ?? e.message}; no more written`);
      this.failed = true;
    });
  }

  write(bytes: Uint8Array): void {
    if (!this.failed) this.out.write(bytes);
  }

  close(): Promise<void> {
    return new Promise((res) => this.out.end(() => res()));
  }
}
