// Which virtio device models a machine gets from its options, in QEMU's -device order as OSv's
// run.py writes it: disks, network cards, other devices, the rng last. Models are built anew on
// every reset; host back ends in the options live as long as the machine.
import type { VirtioDeviceModel } from '../devices/virtio/device.js';

export interface VirtioMachineOptions {
  /** Further virtio device models (factories: a reset builds fresh ones), after the disks and network cards. */
  virtio?: (() => VirtioDeviceModel)[];
}

/** `net`: the network cards' models (src/machine/net.ts), which come after the disks. */
export function virtioModels(o: VirtioMachineOptions, net: VirtioDeviceModel[] = []): VirtioDeviceModel[] {
  const models: VirtioDeviceModel[] = [...net];
  for (const make of o.virtio ?? []) models.push(make());
  return models;
}
