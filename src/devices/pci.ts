/**
 * PCI host bridge with configuration mechanism 1: the address register at 0xCF8 (32-bit
 * accesses only, as on the i440FX) and the data window 0xCFC–0xCFF, where an 8/16/32-bit
 * access at 0xCFC + n reaches register (address & 0xFC) + n. Port 0xCF9 is not ours: it is
 * the reset control register (reset.ts). Only bus 0 exists; absent functions read all-ones.
 */
import { allOnes, type AccessSize, type PortDevice } from './bus.js';
import { PciDevice } from './pci-config.js';

export const PCI_CONFIG_ADDRESS = 0xcf8;
export const PCI_CONFIG_DATA = 0xcfc;

/** Device 0:0.0, QEMU's i440FX host bridge (8086:1237 rev 2, class 06/00 host bridge). */
export class I440fxHostBridge extends PciDevice {
  constructor() {
    super({ vendorId: 0x8086, deviceId: 0x1237, classCode: 0x060000, revision: 0x02, subsystemVendorId: 0x1af4, subsystemId: 0x1100 });
  }
}

export class PciHost implements PortDevice {
  readonly portRanges = [[PCI_CONFIG_ADDRESS, 1], [PCI_CONFIG_DATA, 4]] as const;
  private address = 0;
  /** Functions on bus 0 by devfn (device << 3 | function). */
  private readonly functions: (PciDevice | undefined)[] = new Array<PciDevice | undefined>(256).fill(undefined);

  /** Creates the host with the i440FX host bridge at 00.0. */
  constructor(withHostBridge = true) {
    if (withHostBridge) this.attach(new I440fxHostBridge(), 0, 0);
  }

  /** Places `device` at 0:slot.fn. Function > 0 marks function 0 multi-function. */
  attach(device: PciDevice, slot: number, fn = 0): void {
    if (!Number.isInteger(slot) || slot < 0 || slot > 31 || !Number.isInteger(fn) || fn < 0 || fn > 7) {
      throw new Error(`PCI: bad slot ${slot}.${fn}`);
    }
    const devfn = (slot << 3) | fn;
    if (this.functions[devfn] !== undefined) throw new Error(`PCI: slot 00:${slot.toString(16).padStart(2, '0')}.${fn} is taken`);
    this.functions[devfn] = device;
    const f0 = this.functions[slot << 3];
    if (fn > 0 && f0 !== undefined) f0.config[0x0e]! |= 0x80;
    if (fn === 0) for (let f = 1; f < 8; f++) if (this.functions[devfn + f] !== undefined) device.config[0x0e]! |= 0x80;
  }

  /** The function at 0:slot.fn, if any. */
  device(slot: number, fn = 0): PciDevice | undefined {
    return this.functions[(slot << 3) | fn];
  }

  /** Every attached function with its devfn, in slot order. */
  list(): { devfn: number; device: PciDevice }[] {
    const out: { devfn: number; device: PciDevice }[] = [];
    this.functions.forEach((d, devfn) => {
      if (d !== undefined) out.push({ devfn, device: d });
    });
    return out;
  }

  readPort(port: number, size: AccessSize): number {
    if (port === PCI_CONFIG_ADDRESS) return size === 4 ? this.address : allOnes(size);
    const dev = this.selected();
    if (dev === undefined) return allOnes(size);
    return dev.readConfig((this.address & 0xfc) + (port - PCI_CONFIG_DATA), size);
  }

  writePort(port: number, size: AccessSize, value: number): void {
    if (port === PCI_CONFIG_ADDRESS) {
      if (size === 4) this.address = (value & 0x80fffffc) >>> 0;
      return;
    }
    this.selected()?.writeConfig((this.address & 0xfc) + (port - PCI_CONFIG_DATA), size, value);
  }

  private selected(): PciDevice | undefined {
    const a = this.address;
    if (!(a & 0x80000000)) return undefined;
    if ((a >>> 16) & 0xff) return undefined; // only bus 0
    return this.functions[(a >>> 8) & 0xff];
  }
}
