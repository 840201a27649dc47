// Plugs virtio-pci devices into the board in QEMU's slot order (run.py's -device order: disks,
// then network cards, then the rng, from slot 3 on, after QEMU's 00.0 host bridge, 01.x PIIX and
// 02.0 VGA) and gives them guest RAM as DMA memory.
import type { Clock, TimerQueue } from '../devices/bus.js';
import type { PcPlatform } from '../devices/platform.js';
import type { GuestMemory, VirtioDeviceModel } from '../devices/virtio/device.js';
import { VirtioPciDevice, type VirtioPciMode } from '../devices/virtio/pci-transport.js';
import type { PhysMem } from '../cpu/physmem.js';

/** The first slot QEMU's pc machine gives a -device (after 00.0 host bridge, 01.x PIIX3, 02.0 VGA). */
export const FIRST_DEVICE_SLOT = 3;

export function guestMemoryOf(mem: PhysMem): GuestMemory {
  return {
    view: (addr, len) => (addr >= 0 && len >= 0 && mem.isRam(addr, len) ? mem.bytes(addr, len) : null),
    written: (addr, len) => mem.noteWrite(addr, len),
  };
}

export interface VirtioBoardOptions {
  platform: PcPlatform;
  mem: PhysMem;
  clock: Clock;
  timers: TimerQueue;
  mode?: VirtioPciMode;
  log?: (line: string) => void;
}

/** Attaches `models` at slots 3, 4, ... in order; returns the PCI functions. Call before finishPci. */
export function plugVirtio(models: VirtioDeviceModel[], o: VirtioBoardOptions): VirtioPciDevice[] {
  const mem = guestMemoryOf(o.mem);
  return models.map((model, i) => {
    const dev = new VirtioPciDevice(model, {
      mem, clock: o.clock, timers: o.timers, sendMsi: o.platform.sendMsi,
      ...(o.mode ? { mode: o.mode } : {}), ...(o.log ? { log: o.log } : {}),
    });
    const slot = FIRST_DEVICE_SLOT + i;
    o.platform.addPciDevice(dev, slot);
    dev.setSlot(slot);
    return dev;
  });
}
