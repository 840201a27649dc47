// The virtio devices `osvemu run` attaches, as OSv's scripts/run.py does: the --disk images
// (virtio-blk, in order) and a virtio-rng (unless --no-rng). Images are opened and checked here, before the
// guest starts, so a bad one is a one-line error.
import { DiskError, type BlockBackend } from '../devices/backends/block.js';
import { entropyFrom } from '../devices/backends/entropy.js';
import type { MachineOptions } from '../machine/machine.js';
import type { RunArgs } from './args.js';

export async function openCliDevices(args: RunArgs): Promise<Pick<MachineOptions, 'disks' | 'rng' | 'virtioMode'> | string> {
  const disks: BlockBackend[] = [];
  try {
    // The image formats are loaded only when there is a disk (a cold `osvemu run` of a ramfs kernel skips them).
    const { openDisk, parseDiskSpec } = args.disks.length > 0 ? await import('../devices/backends/disk-open.js') : {} as never;
    for (const d of args.disks) disks.push(openDisk(parseDiskSpec(d)));
  } catch (e) {
    for (const b of disks) b.close();
    if (e instanceof DiskError) return e.message;
    throw e;
  }
  return { disks, ...(args.noRng ? {} : { rng: entropyFrom(args.rngSeed) }), virtioMode: args.virtioMode };
}
