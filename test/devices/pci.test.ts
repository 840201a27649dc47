import { describe, expect, it } from 'vitest';
import { IoBus } from '../../src/devices/bus.js';
import { PciDevice } from '../../src/devices/pci-config.js';
import { PciHost } from '../../src/devices/pci.js';
import { ResetPorts } from '../../src/devices/reset.js';
import { RecordingLine } from './helpers.js';

const addr = (slot: number, fn: number, reg: number, bus = 0) =>
  (0x80000000 | (bus << 16) | (slot << 11) | (fn << 8) | (reg & 0xfc)) >>> 0;

class VirtioLike extends PciDevice {
  written: [number, number][] = [];
  constructor() {
    super({ vendorId: 0x1af4, deviceId: 0x1001, classCode: 0x010000, subsystemVendorId: 0x1af4, subsystemId: 2, interruptPin: 1 });
    this.defineBar(0, 'io', 0x40);
    this.defineBar(1, 'mem32', 0x1000);
    this.defineBar(4, 'mem64', 0x4000, true);
    const cap = this.addCapability(0x11, 12); // MSI-X
    this.wmask[cap + 3] = 0xc0; // enable + function mask
  }
  protected override configWritten(offset: number, size: number): void {
    this.written.push([offset, size]);
  }
}

function setup() {
  const io = new IoBus();
  const host = new PciHost();
  io.add(host);
  const resets: number[] = [];
  io.add(new ResetPorts({ reset: () => resets.push(1) }));
  const cfg = (slot: number, fn: number, reg: number, size: 1 | 2 | 4 = 4) => {
    io.write(0xcf8, 4, addr(slot, fn, reg));
    return io.read(0xcfc + (reg & 3), size);
  };
  const setCfg = (slot: number, fn: number, reg: number, size: 1 | 2 | 4, v: number) => {
    io.write(0xcf8, 4, addr(slot, fn, reg));
    io.write(0xcfc + (reg & 3), size, v);
  };
  return { io, host, cfg, setCfg, resets };
}

describe('PCI configuration mechanism 1', () => {
  it('shows the i440FX host bridge at 00.0', () => {
    const { cfg } = setup();
    expect(cfg(0, 0, 0x00)).toBe(0x12378086);
    expect(cfg(0, 0, 0x08) >>> 8).toBe(0x060000);
    expect(cfg(0, 0, 0x08) & 0xff).toBe(0x02);
    expect(cfg(0, 0, 0x0e, 1)).toBe(0x00);
  });

  it('reads all-ones for absent slots, other buses, and with the enable bit clear', () => {
    const { io, cfg } = setup();
    expect(cfg(5, 0, 0)).toBe(0xffffffff);
    expect(cfg(0, 3, 0)).toBe(0xffffffff);
    expect(cfg(0, 0, 0x02, 2)).toBe(0x1237);
    io.write(0xcf8, 4, addr(0, 0, 0, 1));
    expect(io.read(0xcfc, 4)).toBe(0xffffffff);
    io.write(0xcf8, 4, 0x00000000);
    expect(io.read(0xcfc, 2)).toBe(0xffff);
  });

  it('supports 8/16/32-bit accesses at any offset of the data window', () => {
    const { cfg } = setup();
    expect(cfg(0, 0, 0x00, 1)).toBe(0x86);
    expect(cfg(0, 0, 0x01, 1)).toBe(0x80);
    expect(cfg(0, 0, 0x02, 1)).toBe(0x37);
    expect(cfg(0, 0, 0x03, 1)).toBe(0x12);
    expect(cfg(0, 0, 0x02, 2)).toBe(0x1237);
  });

  it('reads the address register back, and leaves byte port 0xCF9 to the reset device', () => {
    const { io, resets } = setup();
    io.write(0xcf8, 4, 0x80001234);
    expect(io.read(0xcf8, 4)).toBe(0x80001234);
    io.write(0xcf9, 1, 0x06);
    expect(resets.length).toBe(1);
    expect(io.read(0xcf8, 4)).toBe(0x80001234);
  });
});

describe('PCI device model', () => {
  it('sizes BARs: all-ones reads back the size mask with the type bits', () => {
    const { host, cfg, setCfg } = setup();
    const d = new VirtioLike();
    host.attach(d, 3);
    d.setBarAddress(0, 0xc000);
    d.setBarAddress(1, 0xfebf0000);
    d.setBarAddress(4, 0xfe000000);
    expect(cfg(3, 0, 0x10)).toBe(0xc001);
    expect(cfg(3, 0, 0x14)).toBe(0xfebf0000);
    expect(cfg(3, 0, 0x20)).toBe(0xfe00000c);
    expect(cfg(3, 0, 0x24)).toBe(0);
    setCfg(3, 0, 0x10, 4, 0xffffffff);
    expect(cfg(3, 0, 0x10)).toBe(0xffffffc1);
    setCfg(3, 0, 0x14, 4, 0xffffffff);
    expect(cfg(3, 0, 0x14)).toBe(0xfffff000);
    setCfg(3, 0, 0x20, 4, 0xffffffff);
    setCfg(3, 0, 0x24, 4, 0xffffffff);
    expect(cfg(3, 0, 0x20)).toBe(0xffffc00c);
    expect(cfg(3, 0, 0x24)).toBe(0xffffffff);
    // Undefined BARs are hard-wired to zero.
    setCfg(3, 0, 0x18, 4, 0xffffffff);
    expect(cfg(3, 0, 0x18)).toBe(0);
    // Restoring the address works.
    setCfg(3, 0, 0x10, 4, 0xc000);
    expect(d.barAddress(0)).toBe(0xc000);
  });

  it('reports mapping changes on decode enables and BAR moves', () => {
    const { host, setCfg, cfg } = setup();
    const d = new VirtioLike();
    host.attach(d, 4);
    d.setBarAddress(0, 0xc040);
    d.setBarAddress(4, 0x8_0000_0000);
    let changes = 0;
    d.onMappingChange = () => changes++;
    expect(d.barMapping(0)).toBe(-1);
    setCfg(4, 0, 0x04, 2, 0x0007); // I/O + memory + bus master
    expect(changes).toBe(1);
    expect(d.barMapping(0)).toBe(0xc040);
    expect(d.barMapping(4)).toBe(0x8_0000_0000);
    expect(d.busMaster).toBe(true);
    setCfg(4, 0, 0x04, 2, 0xffff);
    expect(cfg(4, 0, 0x04, 2)).toBe(0x0547);
    expect(changes).toBe(1); // decode bits unchanged
    setCfg(4, 0, 0x10, 4, 0xc080);
    expect(changes).toBe(2);
    expect(d.barMapping(0)).toBe(0xc080);
    setCfg(4, 0, 0x3c, 1, 0x0b); // same mapping: no notification
    expect(changes).toBe(2);
    setCfg(4, 0, 0x04, 2, 0x0004); // decode off
    expect(changes).toBe(3);
    expect(d.barMapping(4)).toBe(-1);
  });

  it('exposes the capability list and lets the subclass control writable bits', () => {
    const { host, cfg, setCfg } = setup();
    const d = new VirtioLike();
    host.attach(d, 5);
    expect(cfg(5, 0, 0x06, 2) & 0x10).toBe(0x10);
    const cap = cfg(5, 0, 0x34, 1);
    expect(cap).toBe(0x40);
    expect(cfg(5, 0, cap, 1)).toBe(0x11);
    expect(cfg(5, 0, cap + 1, 1)).toBe(0); // end of list
    setCfg(5, 0, cap, 4, 0xffffffff);
    expect(cfg(5, 0, cap, 4)).toBe(0xc0000011);
    expect(d.written.at(-1)).toEqual([cap, 4]);
  });

  it('keeps IDs read-only, interrupt line writable, pin fixed', () => {
    const { host, cfg, setCfg } = setup();
    const d = new VirtioLike();
    host.attach(d, 6);
    d.setInterruptLine(11);
    setCfg(6, 0, 0x00, 4, 0);
    expect(cfg(6, 0, 0x00)).toBe(0x10011af4);
    expect(cfg(6, 0, 0x2c)).toBe(0x00021af4);
    expect(cfg(6, 0, 0x3c, 1)).toBe(11);
    setCfg(6, 0, 0x3c, 2, 0xff05);
    expect(cfg(6, 0, 0x3c, 2)).toBe(0x0105);
  });

  it('INTx follows the device and the INTx-disable bit', () => {
    const d = new VirtioLike();
    const line = new RecordingLine();
    d.intx = line;
    d.setIntx(true);
    expect(line.level).toBe(true);
    expect(d.readConfig(0x06, 1) & 0x08).toBe(0x08);
    d.writeConfig(0x04, 2, 0x400);
    expect(line.level).toBe(false);
    d.writeConfig(0x04, 2, 0);
    expect(line.level).toBe(true);
    d.setIntx(false);
    expect(line.level).toBe(false);
  });

  it('marks function 0 multi-function when another function is attached', () => {
    const { host, cfg } = setup();
    host.attach(new VirtioLike(), 7, 0);
    host.attach(new VirtioLike(), 7, 2);
    expect(cfg(7, 0, 0x0c) >>> 16 & 0x80).toBe(0x80);
    expect(cfg(7, 2, 0x00)).toBe(0x10011af4);
    expect(host.list().map((e) => e.devfn)).toEqual([0, 7 * 8, 7 * 8 + 2]);
  });

  it('refuses bad BARs and slots with clear errors', () => {
    const { host } = setup();
    const d = new VirtioLike();
    expect(() => d.defineBar(2, 'mem32', 3000)).toThrow(/power of two/);
    expect(() => d.setBarAddress(2, 0)).toThrow(/not defined/);
    expect(() => d.setBarAddress(1, 0x1234)).toThrow(/not aligned/);
    expect(() => host.attach(d, 0)).toThrow(/taken/);
    expect(() => host.attach(d, 32)).toThrow(/bad slot/);
  });
});
