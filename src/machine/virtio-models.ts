// Which virtio device models a machine gets from its options, in QEMU's -device order as OSv's
// run.py writes it: disks, network cards, other devices, the rng last. Models are built anew on
// every reset; host back ends in the options (disk images, entropy) live as long as the machine.
import type { BlockBackend } from '../devices/backends/block.js';
import type { EntropySource } from '../devices/backends/entropy.js';
import { VirtioBlk, type DiskTiming } from '../devices/virtio/blk.js';
import type { VirtioDeviceModel } from '../devices/virtio/device.js';
import { VirtioRng } from '../devices/virtio/rng.js';

export interface DiskAttachment {
  backend: BlockBackend;
  /** virtio-blk GET_ID string. */
  serial?: string;
  /** Virtual time a request takes (default: 10 µs + 0.5 ns per byte). */
  timing?: DiskTiming;
}

export interface VirtioMachineOptions {
  /** virtio-blk disks, first at 00:03.0 (open them with openDisk(parseDiskSpec(...))). */
  disks?: (BlockBackend | DiskAttachment)[];
  /** Further virtio device models (factories: a reset builds fresh ones), after the disks and network cards. */
  virtio?: (() => VirtioDeviceModel)[];
  /** virtio-rng, plugged last: an entropy source (SeededEntropy / HostEntropy); none by default. */
  rng?: EntropySource;
}

/** `net`: the network cards' models (src/machine/net.ts), which come after the disks. */
export function virtioModels(o: VirtioMachineOptions & { cpus?: number }, net: VirtioDeviceModel[] = []): VirtioDeviceModel[] {
  const models: VirtioDeviceModel[] = [];
  for (const d of o.disks ?? []) {
    const a: DiskAttachment = 'backend' in d ? d : { backend: d };
    models.push(new VirtioBlk({
      backend: a.backend, queues: o.cpus ?? 1,
      ...(a.serial !== undefined ? { serial: a.serial } : {}), ...(a.timing ? { timing: a.timing } : {}),
    }));
  }
  models.push(...net);
  for (const make of o.virtio ?? []) models.push(make());
  if (o.rng) models.push(new VirtioRng(o.rng));
  return models;
}
