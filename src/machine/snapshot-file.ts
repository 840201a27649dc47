// The snapshot file: a fixed header (magic, format version, payload length, SHA-256 of the payload)
// and a deflated payload of length-prefixed sections: the state (JSON, see snapshot-state.ts), the
// kernel ELF, the list of saved RAM pages and their bytes. Every way a file can be wrong (not a
// snapshot, another version, truncated, corrupted) is a SnapshotFileError with a one-line message.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { SnapshotStateError } from '../devices/snapshottable.js';
import { decodeValue, encodeValue, SNAPSHOT_STATE_VERSION, type MachineSnapshot, type SnapshotConfig } from './snapshot-state.js';
import type { DeviceState } from '../devices/snapshottable.js';

export const SNAPSHOT_MAGIC = 'OSVEMUSN';
export const SNAPSHOT_FILE_VERSION = 1;
const HEADER = 8 + 4 + 4 + 8 + 32;

export class SnapshotFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotFileError';
  }
}

function section(bytes: Uint8Array): Buffer[] {
  const len = Buffer.alloc(8);
  len.writeUInt32LE(bytes.length % 2 ** 32, 0);
  len.writeUInt32LE(Math.floor(bytes.length / 2 ** 32), 4);
  return [len, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)];
}

export function encodeSnapshot(s: MachineSnapshot): Buffer {
  const meta = encodeValue({ version: SNAPSHOT_STATE_VERSION, config: s.config, state: s.state });
  const pages = Buffer.from(s.pages.buffer, s.pages.byteOffset, s.pages.byteLength);
  const payload = deflateRawSync(Buffer.concat([...section(meta), ...section(s.kernel), ...section(pages), ...section(s.ram)]), { level: 1 });
  const header = Buffer.alloc(HEADER);
  header.write(SNAPSHOT_MAGIC, 0, 'latin1');
  header.writeUInt32LE(SNAPSHOT_FILE_VERSION, 8);
  header.writeUInt32LE(0, 12);
  header.writeUInt32LE(payload.length % 2 ** 32, 16);
  header.writeUInt32LE(Math.floor(payload.length / 2 ** 32), 20);
  createHash('sha256').update(payload).digest().copy(header, 24);
  return Buffer.concat([header, payload]);
}

export function decodeSnapshot(file: Uint8Array): MachineSnapshot {
  const b = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  if (b.length < 8 || b.toString('latin1', 0, 8) !== SNAPSHOT_MAGIC) throw new SnapshotFileError('not an osvemu snapshot');
  if (b.length < HEADER) throw new SnapshotFileError(`truncated snapshot (${b.length} bytes, header alone is ${HEADER})`);
  const version = b.readUInt32LE(8);
  if (version !== SNAPSHOT_FILE_VERSION) throw new SnapshotFileError(`snapshot format version ${version}, this osvemu reads version ${SNAPSHOT_FILE_VERSION}`);
  const len = b.readUInt32LE(16) + b.readUInt32LE(20) * 2 ** 32;
  if (b.length - HEADER < len) throw new SnapshotFileError(`truncated snapshot (${b.length} of ${HEADER + len} bytes)`);
  if (b.length - HEADER > len) throw new SnapshotFileError(`corrupt snapshot (${b.length - HEADER - len} bytes after the end)`);
  const payload = b.subarray(HEADER);
  if (!createHash('sha256').update(payload).digest().equals(b.subarray(24, 56))) throw new SnapshotFileError('corrupt snapshot (checksum mismatch)');
  let raw: Buffer;
  try {
    raw = inflateRawSync(payload);
  } catch (e) {
    throw new SnapshotFileError(`corrupt snapshot (${(e as Error).message})`);
  }
  const parts: Buffer[] = [];
  let at = 0;
  for (let k = 0; k < 4; k++) {
    if (at + 8 > raw.length) throw new SnapshotFileError('corrupt snapshot (sections cut short)');
    const n = raw.readUInt32LE(at) + raw.readUInt32LE(at + 4) * 2 ** 32;
    at += 8;
    if (at + n > raw.length) throw new SnapshotFileError('corrupt snapshot (sections cut short)');
    parts.push(raw.subarray(at, at + n));
    at += n;
  }
  let meta: { version: number; config: SnapshotConfig; state: DeviceState };
  try {
    meta = decodeValue(parts[0]!) as typeof meta;
  } catch (e) {
    throw new SnapshotFileError(`corrupt snapshot (state: ${(e as Error).message})`);
  }
  // Version 1 (before virtio state) differs only in a virtio device the guest never started: config space alone.
  if (meta.version !== SNAPSHOT_STATE_VERSION && meta.version !== 1) {
    throw new SnapshotFileError(`snapshot state version ${meta.version}, this osvemu reads 1 and ${SNAPSHOT_STATE_VERSION}`);
  }
  const pagesBytes = parts[2]!;
  if (pagesBytes.length % 4 !== 0 || parts[3]!.length !== (pagesBytes.length / 4) * 4096) throw new SnapshotFileError('corrupt snapshot (RAM section sizes disagree)');
  const pages = new Uint32Array(pagesBytes.length / 4);
  new Uint8Array(pages.buffer).set(pagesBytes);
  return { config: meta.config, kernel: new Uint8Array(parts[1]!), state: meta.state, pages, ram: new Uint8Array(parts[3]!) };
}

export function writeSnapshotFile(path: string, s: MachineSnapshot): number {
  const bytes = encodeSnapshot(s);
  writeFileSync(path, bytes);
  return bytes.length;
}

/** Reads and checks a snapshot file; any problem is a SnapshotFileError naming the file. */
export function readSnapshotFile(path: string): MachineSnapshot {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new SnapshotFileError(`cannot read snapshot ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return decodeSnapshot(bytes);
  } catch (e) {
    if (e instanceof SnapshotFileError || e instanceof SnapshotStateError) throw new SnapshotFileError(`${path}: ${e.message}`);
    throw e;
  }
}
