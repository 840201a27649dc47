/**
 * From the user's disk spelling to a BlockBackend: `FILE` (guest writes kept in memory, like
 * QEMU's -snapshot), `FILE,writable` (writes go to the file), `FILE,readonly` (the guest sees a
 * read-only disk), plus QEMU's `file=`, `format=raw|qcow2`, `snapshot=on|off`, `readonly=on|off`.
 */
import { DiskError, type BlockBackend } from './block.js';
import { OverlayDisk } from './disk-overlay.js';
import { isQcow2, Qcow2Disk } from './disk-qcow2.js';
import { RawDisk } from './disk-raw.js';
import { HostFile } from './host-file.js';

export type DiskMode = 'snapshot' | 'writable' | 'readonly';

export interface DiskSpec {
  path: string;
  mode: DiskMode;
  format?: 'raw' | 'qcow2';
}

/** Parses "FILE[,writable|,readonly|,snapshot][,format=F]" and QEMU's key=value forms; throws DiskError. */
export function parseDiskSpec(text: string): DiskSpec {
  const parts = text.split(',');
  let path: string | undefined;
  let mode: DiskMode = 'snapshot';
  let format: DiskSpec['format'];
  parts.forEach((p, i) => {
    const [key, value] = p.includes('=') ? [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)] : [p, undefined];
    const on = value === undefined || value === 'on' || value === 'true';
    const off = value === 'off' || value === 'false';
    if (i === 0 && value === undefined) path = p;
    else if (key === 'file') path = value;
    else if (key === 'writable' && (on || off)) mode = on ? 'writable' : 'snapshot';
    else if (key === 'readonly' && (on || off)) mode = on ? 'readonly' : mode === 'readonly' ? 'snapshot' : mode;
    else if (key === 'snapshot' && (on || off)) mode = on ? 'snapshot' : 'writable';
    else if (key === 'format' && (value === 'raw' || value === 'qcow2')) format = value;
    else if ((key === 'if' && value === 'virtio') || key === 'id' || key === 'cache' || key === 'aio' || key === 'media') {
      // QEMU -drive keys run.py writes; they change nothing here.
    }
    else throw new DiskError(`bad disk option "${p}" in "${text}" (use FILE[,writable|,readonly][,format=raw|qcow2])`);
  });
  if (path === undefined || path === '') throw new DiskError(`no file in disk option "${text}"`);
  return { path, mode, ...(format ? { format } : {}) };
}

/** Opens `path` by its magic (qcow2) or as raw; `depth` counts backing files. */
export function openImage(path: string, writable: boolean, depth = 0, format?: 'raw' | 'qcow2'): BlockBackend {
  let kind = format;
  if (kind === undefined) {
    const probe = new HostFile(path, false);
    const head = new Uint8Array(4);
    const n = probe.read(0, head);
    probe.close();
    kind = n === 4 && isQcow2(head) ? 'qcow2' : 'raw';
  }
  if (kind === 'qcow2') return new Qcow2Disk(path, writable, depth);
  const raw = new RawDisk(path, writable);
  if (raw.size === 0) {
    raw.close();
    throw new DiskError(`${path}: empty disk image`);
  }
  return raw;
}

/** The back end a spec asks for: the user's file is written only in 'writable' mode. */
export function openDisk(spec: DiskSpec): BlockBackend {
  const image = openImage(spec.path, spec.mode === 'writable', 0, spec.format);
  return spec.mode === 'snapshot' ? new OverlayDisk(image) : image;
}
