// The disk of an OSv test machine. Each worker opens it for its own machines (a host back end does not
// cross threads), read-only: tests must not change the user's image, and parallel machines share it.
import type { MachineOptions } from '../machine/machine.js';
import { OsvTestError } from './test-list.js';

/**
 * Machine options that give the guest `disk` as its first virtio-blk disk (OSv's /dev/vblk0).
 * Until the machine has virtio-blk this is the one place that says so; wiring the disk in means
 * returning the machine's disk option here (read-only or copy-on-write).
 */
export function diskMachineOptions(disk: string | undefined): Partial<MachineOptions> {
  if (disk === undefined) return {};
  throw new OsvTestError([`--disk ${disk}: running OSv from a disk needs virtio-blk, which this osvemu does not have yet (the virtio work)`]);
}
