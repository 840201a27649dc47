// The device configuration a snapshot carries, so `run --from` and `debug` rebuild the same virtio
// devices without the user repeating --disk/--net: each disk's image (path, format, mode, identity;
// see disk-snapshot.ts), serial and timing, and each network card's MAC and initial link. Host sockets
// cannot be saved: a restored card gets the back end the restore names, or none (detached).
import { absentDisk, diskRecord, reopenDisk, type DiskRecord } from '../devices/backends/disk-snapshot.js';
import type { BlockBackend } from '../devices/backends/block.js';
import { DiskError } from '../devices/backends/block.js';
import { DetachedBackend } from '../devices/net/detached.js';
import { SnapshotStateError } from '../devices/snapshottable.js';
import type { DiskTiming } from '../devices/virtio/blk.js';
import type { Machine, MachineOptions } from './machine.js';
import type { NetAttachment } from './net.js';
import type { DiskAttachment } from './virtio-models.js';

export interface SnapshotDisk {
  /** Null for a back end that is no image file (a program's own): only a restore that names one fits. */
  record: DiskRecord | null;
  description: string;
  serial: string | null;
  timing: DiskTiming | null;
}

export interface SnapshotDevices {
  disks: SnapshotDisk[];
  net: { mac: string; link: boolean }[];
  /** Names of device models a program gave as factories (MachineOptions.virtio): not recreated from a file. */
  extra: string[];
}

/** What a restore may change. */
export interface RestoreDevices {
  /** Image paths by disk index (a moved file); undefined entries keep the snapshot's path. */
  disks?: (string | undefined)[];
  /** Back ends by card index; a card without one is detached. */
  net?: (NetAttachment['backend'] | undefined)[];
  /** Leave the images closed (a core file needs none): disk accesses fail as I/O errors. */
  absentDisks?: boolean;
}

function hex(mac: Uint8Array): string {
  return [...mac].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export function devicesOf(m: Machine): SnapshotDevices {
  const o = m.options;
  const disks = (o.disks ?? []).map((d): SnapshotDisk => {
    const a: DiskAttachment = 'backend' in d ? d : { backend: d };
    let record: DiskRecord | null;
    try {
      record = diskRecord(a.backend);
    } catch (e) {
      if (!(e instanceof SnapshotStateError) && !(e instanceof DiskError)) throw e;
      record = null;
    }
    return { record, description: a.backend.description, serial: a.serial ?? null, timing: a.timing ? { ...a.timing } : null };
  });
  const nd = disks.length, nn = m.net.ports.length, nx = o.virtio?.length ?? 0;
  return {
    disks,
    net: m.net.macs.map((mac, i) => ({ mac: hex(mac), link: o.net?.[i]?.link ?? true })),
    extra: m.virtioDevices.slice(nd + nn, nd + nn + nx).map((d) => d.model.name),
  };
}

/** Machine options recreating the snapshot's devices; a disk that cannot be reopened is a one-line error. */
export function optionsForDevices(d: SnapshotDevices | undefined, r: RestoreDevices): Partial<MachineOptions> {
  if (d === undefined) return {};
  if (d.extra.length > 0) {
    throw new SnapshotStateError(`the snapshot has device(s) a program added (${d.extra.join(', ')}) that cannot be recreated from a file`);
  }
  const opened: BlockBackend[] = [];
  try {
    d.disks.forEach((disk, i) => {
      const path = r.disks?.[i];
      if (disk.record === null) throw new SnapshotStateError(`disk ${i} (${disk.description}) was no image file and cannot be reopened`);
      opened.push(r.absentDisks ? absentDisk(disk.record) : reopenDisk(disk.record, path));
    });
  } catch (e) {
    for (const b of opened) b.close();
    throw e;
  }
  const disks: DiskAttachment[] = opened.map((backend, i) => {
    const s = d.disks[i]!;
    return { backend, ...(s.serial !== null ? { serial: s.serial } : {}), ...(s.timing ? { timing: s.timing } : {}) };
  });
  const net: NetAttachment[] = d.net.map((n, i) => ({ backend: r.net?.[i] ?? new DetachedBackend(), mac: n.mac, link: n.link }));
  return { ...(disks.length > 0 ? { disks } : {}), ...(net.length > 0 ? { net } : {}) };
}
