// `--debugcon stdio|null|file:PATH|PATH`: where the bytes a guest writes to port 0xE9 (QEMU's isa-debugcon)
// go, spelled as QEMU's -debugcon chardev. Output to a file is buffered; close() flushes it.
import { closeSync, openSync, writeSync } from 'node:fs';

export type DebugconSpec = { kind: 'stdio' } | { kind: 'null' } | { kind: 'file'; path: string };

export interface DebugconSink {
  write(byte: number): void;
  close(): void;
}

/** QEMU's spellings: "stdio", "null", "file:PATH"; any other word is a file path (QEMU: a device path). */
export function parseDebugcon(v: string): DebugconSpec {
  if (v === 'stdio' || v === 'null') return { kind: v };
  const path = v.startsWith('file:') ? v.slice(5) : v;
  if (path === '') throw new Error('--debugcon needs stdio, null, file:PATH or a file name');
  return { kind: 'file', path };
}

const FILE_BUFFER = 64 * 1024;

/** Opens the sink; a file is created or truncated now, so an unwritable path fails before the guest starts. */
export function openDebugcon(spec: DebugconSpec): DebugconSink {
  switch (spec.kind) {
    case 'null':
      return { write() {}, close() {} };
    case 'stdio':
      return { write: (b) => { process.stdout.write(Uint8Array.of(b)); }, close() {} };
    case 'file': {
      let fd: number;
      try {
        fd = openSync(spec.path, 'w');
      } catch (e) {
        throw new Error(`cannot open debugcon file ${spec.path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      const buf = new Uint8Array(FILE_BUFFER);
      let n = 0;
      const flush = (): void => {
        if (n > 0) writeSync(fd, buf, 0, n);
        n = 0;
      };
      // Also flushed now and then, so `tail -f` follows a long run.
      const timer = setInterval(flush, 500);
      timer.unref();
      return {
        write(b) {
          buf[n++] = b;
          if (n === FILE_BUFFER) flush();
        },
        close() {
          if (fd < 0) return;
          clearInterval(timer);
          flush();
          closeSync(fd);
          fd = -1;
        },
      };
    }
  }
}
