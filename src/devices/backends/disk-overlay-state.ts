// The part of a disk's state that lives in memory (a snapshot-mode disk's overlay), saved with the virtio-blk
// device. Apart from disk-snapshot.ts so that the device model does not load the image formats (cold start).
import { SnapshotStateError, type StateValue } from '../snapshottable.js';
import type { BlockBackend } from './block.js';
import { OverlayDisk } from './disk-overlay.js';

/** What a disk keeps beyond its file: the overlay of a snapshot-mode disk. */
export function saveDiskState(b: BlockBackend): StateValue {
  if (!(b instanceof OverlayDisk)) return null;
  const { index, data } = b.saveChunks();
  return { index, data };
}

export function loadDiskState(b: BlockBackend, s: StateValue, where: string): void {
  if (!(b instanceof OverlayDisk)) {
    if (s !== null) throw new SnapshotStateError(`${where}: the snapshot has disk writes in memory but this disk writes its file`);
    return;
  }
  const o = s as { index?: unknown; data?: unknown } | null;
  if (o === null || !(o.index instanceof Uint32Array) || !(o.data instanceof Uint8Array) || !b.loadChunks(o.index, o.data)) {
    throw new SnapshotStateError(`${where}: bad disk overlay in the snapshot`);
  }
}
