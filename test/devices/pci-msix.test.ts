import { describe, expect, it } from 'vitest';
import { BufferPhysMemory, type AccessSize } from '../../src/devices/bus.js';
import { PciDevice } from '../../src/devices/pci-config.js';
import { MsixController } from '../../src/devices/pci-msix.js';
import { PcPlatform } from '../../src/devices/platform.js';
import { CountingSink, VirtualTime } from './helpers.js';

class MsixDev extends PciDevice {
  readonly msix: MsixController;
  constructor(send: (lo: number, hi: number, data: number) => void) {
    super({ vendorId: 0x1af4, deviceId: 0x1000, classCode: 0x020000, interruptPin: 1 });
    this.defineBar(1, 'mem32', 0x1000);
    this.msix = new MsixController(this, { vectors: 3, bar: 1, tableOffset: 0, pbaOffset: 0x800, send });
  }
  override readBar(index: number, offset: number, size: AccessSize): number {
    return this.msix.handlesBarAccess(index, offset) ? this.msix.readBar(offset, size) : 0;
  }
  override writeBar(index: number, offset: number, size: AccessSize, value: number): void {
    if (this.msix.handlesBarAccess(index, offset)) this.msix.writeBar(offset, size, value);
  }
}

function standalone() {
  const sent: [number, number, number][] = [];
  const d = new MsixDev((lo, hi, data) => sent.push([lo, hi, data]));
  const cap = d.msix.capOffset;
  const program = (v: number, addr: number, data: number, masked = false) => {
    d.writeBar(1, 16 * v, 4, addr);
    d.writeBar(1, 16 * v + 4, 4, 0);
    d.writeBar(1, 16 * v + 8, 4, data);
    d.writeBar(1, 16 * v + 12, 4, masked ? 1 : 0);
  };
  return { d, sent, cap, program };
}

describe('MSI-X capability', () => {
  it('describes table size, BIR and offsets; only enable/mask are writable', () => {
    const { d, cap } = standalone();
    expect(d.readConfig(0x34, 1)).toBe(cap);
    expect(d.readConfig(cap, 1)).toBe(0x11);
    expect(d.readConfig(cap + 2, 2)).toBe(2); // table size - 1
    expect(d.readConfig(cap + 4, 4)).toBe(0x000 | 1);
    expect(d.readConfig(cap + 8, 4)).toBe(0x800 | 1);
    d.writeConfig(cap + 2, 2, 0xffff);
    expect(d.readConfig(cap + 2, 2)).toBe(0xc002);
    expect(d.msix.enabled && d.msix.functionMasked).toBe(true);
  });

  it('falls back to INTx while disabled, sends the programmed message when enabled', () => {
    const { d, sent, cap, program } = standalone();
    expect(d.msix.notify(0)).toBe(false);
    program(1, 0xfee01000, 0x26);
    d.writeConfig(cap + 2, 2, 0x8000);
    expect(d.msix.notify(1)).toBe(true);
    expect(sent).toEqual([[0xfee01000, 0, 0x26]]);
    expect(d.readBar(1, 16 + 8, 4)).toBe(0x26);
  });

  it('holds masked vectors pending and sends them on unmask (entry and function mask)', () => {
    const { d, sent, cap, program } = standalone();
    program(0, 0xfee00000, 0x30, true);
    program(2, 0xfee00000, 0x32);
    d.writeConfig(cap + 2, 2, 0xc000); // enabled, function masked
    d.msix.notify(0);
    d.msix.notify(2);
    expect(sent).toEqual([]);
    expect(d.readBar(1, 0x800, 4)).toBe(0b101);
    d.writeConfig(cap + 3, 1, 0x80); // function unmask: vector 2 goes, 0 still entry-masked
    expect(sent).toEqual([[0xfee00000, 0, 0x32]]);
    d.writeBar(1, 12, 4, 0);
    expect(sent.at(-1)).toEqual([0xfee00000, 0, 0x30]);
    expect(d.msix.isPending(0)).toBe(false);
    expect(d.readBar(1, 0x800, 4)).toBe(0);
  });

  it('rejects impossible configurations clearly', () => {
    const d = new PciDevice({ vendorId: 1, deviceId: 2, classCode: 0 });
    expect(() => new MsixController(d, { vectors: 0, bar: 0, tableOffset: 0, pbaOffset: 8, send: () => {} })).toThrow(/vectors/);
    expect(() => new MsixController(d, { vectors: 1, bar: 0, tableOffset: 4, pbaOffset: 8, send: () => {} })).toThrow(/aligned/);
  });
});

describe('MSI-X through the platform', () => {
  it('a notify reaches the LAPIC named in the message address (OSv: 0xFEE00000 | id << 12)', () => {
    const t = new VirtualTime();
    const sinks = [new CountingSink(), new CountingSink()];
    const p = new PcPlatform({
      clock: t.clock, timers: t.timers, memory: new BufferPhysMemory(new ArrayBuffer(4096)), sinks,
      currentCpu: () => 0, serial: { write: () => {} }, powerOff: () => {}, reset: () => {},
    });
    for (const l of p.lapics) l.writeMmio(0xf0, 4, 0x1ff);
    const d = new MsixDev(p.sendMsi);
    p.addPciDevice(d, 2);
    p.finishPci();
    const table = d.barAddress(1);
    p.mmio.write(table, 4, 0xfee01000);
    p.mmio.write(table + 8, 4, 0x26);
    p.mmio.write(table + 12, 4, 0);
    d.writeConfig(d.msix.capOffset + 2, 2, 0x8000);
    d.msix.notify(0);
    expect(p.lapics[1]!.acknowledge()).toBe(0x26);
    expect(p.lapics[0]!.highestPendingVector()).toBe(-1);
  });
});
