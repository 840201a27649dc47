// The virtio devices `osvemu run` attaches, as OSv's scripts/run.py does: the --disk images
// (virtio-blk, in order) and always a virtio-rng. Images are opened and checked here, before the
// guest starts, so a bad one is a one-line error.
import { DiskError, type BlockBackend } from '../devices/backends/block.js';
import { openDisk, parseDiskSpec } from '../devices/backends/disk-open.js';
import { entropyFrom } from '../devices/backends/entropy.js';
import type { MachineOptions } from '../machine/machine.js';
import type { RunArgs } from './args.js';

export function openCliDevices(args: RunArgs): Pick<MachineOptions, 'disks' | 'rng' | 'virtioMode'> | string {
  const disks: BlockBackend[] = [];
  try {
    for (const d of args.disks) disks.push(openDisk(parseDiskSpec(d)));
  } catch (e) {
    for (const b of disks) b.close();
    if (e instanceof DiskError) return e.message;
    throw e;
  }
  return { disks, rng: entropyFrom(args.rngSeed), virtioMode: args.virtioMode };
}
