/**
 * The firmware side of PCI: BAR address assignment as SeaBIOS would do it (OSv never assigns
 * BARs), and keeping each enabled BAR mapped on the IoBus / MmioBus as the guest toggles the
 * decode bits or moves a BAR. Guest accesses inside a BAR reach `PciDevice.readBar/writeBar`
 * with the offset into the BAR.
 */
import type { AccessSize, IoBus, MmioBus, MmioRegion, PortDevice } from './bus.js';
import { PCI_COMMAND_IO, PCI_COMMAND_MEMORY, type PciDevice } from './pci-config.js';
import type { PciHost } from './pci.js';

interface Mapping {
  readonly index: number;
  readonly base: number;
  readonly size: number;
  readonly region: MmioRegion | null; // null for an I/O BAR
}

class IoBarWindow implements PortDevice {
  readonly portRanges: ReadonlyArray<readonly [number, number]>;
  constructor(
    private readonly device: PciDevice,
    private readonly index: number,
    private readonly base: number,
    size: number,
  ) {
    this.portRanges = [[base, size]];
  }
  readPort(port: number, size: AccessSize): number {
    return this.device.readBar(this.index, port - this.base, size);
  }
  writePort(port: number, size: AccessSize, value: number): void {
    this.device.writeBar(this.index, port - this.base, size, value);
  }
}

export class PciBarMapper {
  private readonly mapped = new Map<PciDevice, Mapping[]>();
  /** BARs that could not be mapped (e.g. transiently during sizing), newest last. */
  readonly conflicts: string[] = [];

  constructor(
    private readonly io: IoBus,
    private readonly mmio: MmioBus,
  ) {}

  /** Maps the device's enabled BARs now and follows every later change. */
  track(device: PciDevice): void {
    device.onMappingChange = (d) => this.sync(d);
    this.sync(device);
  }

  /** Current mappings of `device` as [bar index, base, size]. */
  mappingsOf(device: PciDevice): [number, number, number][] {
    return (this.mapped.get(device) ?? []).map((m) => [m.index, m.base, m.size]);
  }

  sync(device: PciDevice): void {
    for (const m of this.mapped.get(device) ?? []) {
      if (m.region === null) this.io.unmap(m.base, m.size);
      else this.mmio.unmap(m.region);
    }
    const now: Mapping[] = [];
    device.bars.forEach((bar, index) => {
      if (bar === undefined) return;
      const base = device.barMapping(index);
      if (base < 0) return;
      try {
        if (bar.kind === 'io') {
          if (base + bar.size > 0x10000) throw new Error('above the 64 KiB I/O space');
          this.io.map(base, bar.size, new IoBarWindow(device, index, base, bar.size));
          now.push({ index, base, size: bar.size, region: null });
        } else {
          const region = this.mmio.map(base, bar.size, {
            readMmio: (offset, size) => device.readBar(index, offset, size),
            writeMmio: (offset, size, value) => device.writeBar(index, offset, size, value),
          }, `pci ${device.vendorId.toString(16)}:${device.deviceId.toString(16)} BAR${index}`);
          now.push({ index, base, size: bar.size, region });
        }
      } catch (e) {
        this.conflicts.push(`BAR${index} of ${device.vendorId.toString(16)}:${device.deviceId.toString(16)} at 0x${base.toString(16)}: ${(e as Error).message}`);
      }
    });
    this.mapped.set(device, now);
  }
}

export interface PciFirmwareOptions {
  /** First I/O port for I/O BARs (QEMU/SeaBIOS use 0xC000). */
  ioBase?: number;
  ioLimit?: number;
  /** Window for memory BARs, 32- and 64-bit alike (below the IOAPIC by default). */
  memBase?: number;
  memLimit?: number;
}

/**
 * Assigns every BAR of every function behind `host` (largest first, naturally aligned) and
 * enables I/O / memory decode for functions that have such BARs, as SeaBIOS does. Throws with
 * a one-line message if a window is exhausted.
 */
export function assignPciResources(host: PciHost, opts: PciFirmwareOptions = {}): void {
  let io = opts.ioBase ?? 0xc000;
  const ioLimit = opts.ioLimit ?? 0x10000;
  let mem = opts.memBase ?? 0xfe000000;
  const memLimit = opts.memLimit ?? 0xfec00000;
  const bars: { device: PciDevice; index: number; size: number; io: boolean }[] = [];
  for (const { device } of host.list()) {
    device.bars.forEach((bar, index) => {
      if (bar !== undefined) bars.push({ device, index, size: bar.size, io: bar.kind === 'io' });
    });
  }
  bars.sort((a, b) => b.size - a.size); // stable: equal sizes keep slot order
  for (const b of bars) {
    if (b.io) {
      const at = Math.ceil(io / b.size) * b.size;
      if (at + b.size > ioLimit) throw new Error(`PCI firmware: out of I/O space for a ${b.size}-byte BAR`);
      b.device.setBarAddress(b.index, at);
      io = at + b.size;
    } else {
      const at = Math.ceil(mem / b.size) * b.size;
      if (at + b.size > memLimit) throw new Error(`PCI firmware: out of MMIO space for a 0x${b.size.toString(16)}-byte BAR`);
      b.device.setBarAddress(b.index, at);
      mem = at + b.size;
    }
  }
  for (const { device } of host.list()) {
    let enable = 0;
    for (const bar of device.bars) {
      if (bar !== undefined) enable |= bar.kind === 'io' ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY;
    }
    if (enable !== 0) device.writeConfig(0x04, 2, device.command | enable);
  }
}
