/**
 * Disks in snapshots. A snapshot names each disk's image file (path, format, mode) with an
 * identity (size, modification time, SHA-256 of the whole file when it is at most 64 MiB, else of
 * its first and last MiB), and holds the guest's writes of a snapshot-mode disk (the in-memory
 * overlay). Restoring reopens the image read-only under the overlay and refuses, in one line, a file
 * that is no longer the same. A writable disk's writes went to the file itself: the snapshot only
 * fits the file as it was, which the identity check enforces.
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { SnapshotStateError, type StateValue } from '../snapshottable.js';
import { DiskError, type BlockBackend } from './block.js';
import { openImage, type DiskMode } from './disk-open.js';
import { OverlayDisk } from './disk-overlay.js';
import { Qcow2Disk } from './disk-qcow2.js';
import { RawDisk } from './disk-raw.js';
import { HostFile } from './host-file.js';

export interface DiskRecord {
  path: string;
  format: 'raw' | 'qcow2';
  mode: DiskMode;
  size: number;
  mtimeMs: number;
  /** SHA-256 (hex) of the whole file, or of its first and last MiB ("ends"). */
  hash: string;
  hashed: 'whole' | 'ends';
  [k: string]: StateValue;
}

const WHOLE_LIMIT = 64 << 20;
const END = 1 << 20;

function imageOf(b: BlockBackend): RawDisk | Qcow2Disk {
  const base = b instanceof OverlayDisk ? b.base : b;
  if (base instanceof RawDisk || base instanceof Qcow2Disk) return base;
  throw new SnapshotStateError(`disk "${b.description}" is not an image file a snapshot can name`);
}

function identity(path: string): { size: number; mtimeMs: number; hash: string; hashed: 'whole' | 'ends' } {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw new DiskError(`cannot open ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const f = new HostFile(path, false);
  try {
    const h = createHash('sha256');
    const whole = st.size <= WHOLE_LIMIT;
    const buf = new Uint8Array(Math.min(st.size, whole ? WHOLE_LIMIT : END));
    if (whole) {
      f.read(0, buf);
      h.update(buf);
    } else {
      f.read(0, buf);
      h.update(buf);
      f.read(st.size - END, buf);
      h.update(buf);
    }
    return { size: st.size, mtimeMs: st.mtimeMs, hash: h.digest('hex'), hashed: whole ? 'whole' : 'ends' };
  } finally {
    f.close();
  }
}

/** Identities of read-only images, computed once (checkpoints of --record capture the config often). */
const cached = new WeakMap<object, DiskRecord>();

export function diskRecord(b: BlockBackend): DiskRecord {
  const img = imageOf(b);
  const mode: DiskMode = b instanceof OverlayDisk ? 'snapshot' : img.writable ? 'writable' : 'readonly';
  const hit = cached.get(b);
  if (hit && mode !== 'writable') return hit;
  const r: DiskRecord = { path: img.path, format: img instanceof Qcow2Disk ? 'qcow2' : 'raw', mode, ...identity(img.path) };
  cached.set(b, r);
  return r;
}

/**
 * Opens the disk a snapshot names (at `path` when the user moved it), checked to be the same file.
 * Throws a one-line SnapshotStateError or DiskError.
 */
export function reopenDisk(r: DiskRecord, path = r.path): BlockBackend {
  const now = identity(path);
  const moved = path !== r.path;
  if (now.size !== r.size) throw new SnapshotStateError(`disk ${path} changed since the snapshot (${now.size} bytes, was ${r.size})`);
  if (now.hash !== r.hash) throw new SnapshotStateError(`disk ${path} changed since the snapshot (contents differ)`);
  // A partial hash cannot see a change in the middle of a large image: then its time must match too.
  if (r.hashed === 'ends' && !moved && now.mtimeMs !== r.mtimeMs) {
    throw new SnapshotStateError(`disk ${path} changed since the snapshot (modified ${new Date(now.mtimeMs).toISOString()})`);
  }
  const image = openImage(path, r.mode === 'writable', 0, r.format);
  const b = r.mode === 'snapshot' ? new OverlayDisk(image) : image;
  cached.set(b, { ...r, path });
  return b;
}

/**
 * A snapshot's disk left closed (`osvemu core` needs RAM and vCPUs only): the guest's writes in memory
 * are still loaded, any access to the image fails as an I/O error.
 */
export function absentDisk(r: DiskRecord): BlockBackend {
  const fail = (): never => {
    throw new DiskError(`${r.path} was not reopened with the snapshot`);
  };
  const image: BlockBackend = {
    size: r.size, writable: r.mode === 'writable', description: `${r.format} ${r.path} (not opened)`,
    read: fail, write: fail, flush: () => {}, discard: () => {}, close: () => {},
  };
  return r.mode === 'snapshot' ? new OverlayDisk(image) : image;
}
