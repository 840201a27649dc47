// The disk of an OSv test machine. Each worker opens it for its own machines (a host back end does not
// cross threads) in snapshot mode: a test's writes stay in its machine's memory, so tests never change
// the user's image, parallel machines share it, and every test starts from the same disk.
import { DiskError, type BlockBackend } from '../devices/backends/block.js';
import { openDisk } from '../devices/backends/disk-open.js';
import { SeededEntropy } from '../devices/backends/entropy.js';
import type { MachineOptions } from '../machine/machine.js';
import { OsvTestError } from './test-list.js';

/** What `osvemu run` gives the virtio-rng without --rng-seed, so a reproduce command sees the same bytes. */
const RNG_SEED = 0;

/**
 * Machine options that give the guest `disk` (if any) as its first virtio-blk disk (OSv's /dev/vblk0)
 * and a virtio-rng, as `osvemu run --disk FILE` does; a bad image is a one-line OsvTestError. The caller
 * closes the disks (closeMachineDisks) when the machine is done.
 */
export function diskMachineOptions(disk: string | undefined, withRng = true): Pick<MachineOptions, 'disks' | 'rng'> {
  // A virtio-rng unless --no-rng, so the machine is the one the reproduce command (`osvemu run`) builds.
  const rng = withRng ? new SeededEntropy(RNG_SEED) : undefined;
  if (disk === undefined) return rng ? { rng } : {};
  let backend: BlockBackend;
  try {
    backend = openDisk({ path: disk, mode: 'snapshot' });
  } catch (e) {
    if (e instanceof DiskError) throw new OsvTestError([e.message.split('\n')[0]]);
    throw e;
  }
  return rng ? { disks: [backend], rng } : { disks: [backend] };
}

/** Closes the host files behind diskMachineOptions' disks. */
export function closeMachineDisks(options: Pick<MachineOptions, 'disks'>): void {
  for (const d of options.disks ?? []) ('backend' in d ? d.backend : d).close();
}
