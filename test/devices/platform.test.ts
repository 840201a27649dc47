import { describe, expect, it } from 'vitest';
import { BufferPhysMemory, type AccessSize, type MsrValue } from '../../src/devices/bus.js';
import { SharedIrq } from '../../src/devices/irq-share.js';
import { PciDevice } from '../../src/devices/pci-config.js';
import { PcPlatform } from '../../src/devices/platform.js';
import { CountingSink, RecordingLine, VirtualTime } from './helpers.js';

class Dev extends PciDevice {
  log: string[] = [];
  constructor(pin = 1) {
    super({ vendorId: 0x1af4, deviceId: 0x1000, classCode: 0x020000, interruptPin: pin });
    this.defineBar(0, 'io', 0x20);
    this.defineBar(1, 'mem32', 0x1000);
  }
  override readBar(index: number, offset: number, size: AccessSize): number {
    this.log.push(`r${index}+${offset}/${size}`);
    return 0x5a;
  }
  override writeBar(index: number, offset: number, size: AccessSize, value: number): void {
    this.log.push(`w${index}+${offset}/${size}=${value}`);
  }
}

function setup(cpus = 2) {
  const t = new VirtualTime();
  const ram = new ArrayBuffer(1 << 16);
  const out: number[] = [];
  const events: string[] = [];
  let cpu = 0;
  const sinks = Array.from({ length: cpus }, () => new CountingSink());
  const p = new PcPlatform({
    clock: t.clock,
    timers: t.timers,
    memory: new BufferPhysMemory(ram),
    sinks,
    currentCpu: () => cpu,
    serial: { write: (b) => out.push(b) },
    powerOff: () => events.push('off'),
    reset: () => events.push('reset'),
    debugOut: (b) => events.push(`e9 ${b}`),
  });
  const ioapicRoute = (gsi: number, lo: number, dest: number) => {
    p.mmio.write(0xfec00000, 4, 0x11 + 2 * gsi);
    p.mmio.write(0xfec00010, 4, dest << 24);
    p.mmio.write(0xfec00000, 4, 0x10 + 2 * gsi);
    p.mmio.write(0xfec00010, 4, lo);
  };
  return { t, p, ram, out, events, sinks, ioapicRoute, setCpu: (c: number) => (cpu = c) };
}

describe('PcPlatform wiring', () => {
  it('serial receive interrupt travels UART -> IOAPIC GSI 4 -> LAPIC', () => {
    const { p, ioapicRoute } = setup();
    for (const l of p.lapics) l.writeMmio(0xf0, 4, 0x1ff);
    ioapicRoute(4, 0x24, 1);
    p.io.write(0x3f9, 1, 0x01);
    p.uart.receive(0x41);
    expect(p.lapics[1]!.acknowledge()).toBe(0x24);
    expect(p.io.read(0x3f8, 1)).toBe(0x41);
    p.io.write(0x3f8, 1, 0x42);
  });

  it('serial transmit, debug console, power-off and reset reach the host callbacks', () => {
    const { p, out, events } = setup();
    p.io.write(0x3f8, 1, 0x4f);
    p.io.write(0xe9, 1, 0x21);
    p.io.write(0x64, 1, 0xfe);
    p.io.write(0x604, 2, 0x2000);
    expect(out).toEqual([0x4f]);
    expect(events).toEqual(['e9 33', 'reset', 'off']);
  });

  it('the LAPIC window shows the accessing vCPU its own LAPIC', () => {
    const { p, setCpu } = setup();
    expect(p.mmio.read(0xfee00020, 4)).toBe(0);
    setCpu(1);
    expect(p.mmio.read(0xfee00020, 4)).toBe(1 << 24);
    expect(p.mmio.read(0xfee00030, 4)).toBe(0x50014);
  });

  it('HPET is at 0xFED00000 and counts ns/10', () => {
    const { t, p } = setup();
    expect(p.mmio.read(0xfed00004, 4)).toBe(10_000_000);
    p.mmio.write(0xfed00010, 4, 1);
    t.advance(1_000_000);
    expect(p.mmio.read(0xfed000f0, 4)).toBe(100_000);
  });

  it('routes MSRs to the LAPIC and kvmclock of the right vCPU', () => {
    const { t, p, ram } = setup();
    const v: MsrValue = { lo: 0, hi: 0 };
    expect(p.msrOwner(0, 0x1b)!.readMsr(0x1b, v)).toBe(true);
    expect(v.lo).toBe(0xfee00900);
    expect(p.msrOwner(1, 0x1b)!.readMsr(0x1b, v)).toBe(true);
    expect(v.lo).toBe(0xfee00800);
    expect(p.msrOwner(0, 0xc0000080)).toBeUndefined();
    t.advance(777);
    expect(p.msrOwner(1, 0x4b564d01)!.writeMsr(0x4b564d01, 0x1001, 0)).toBe(true);
    expect(new DataView(ram).getUint32(0x1010, true)).toBe(777);
  });

  it('gives the IOAPIC the id the MADT uses (the CPU count) and refuses ids over 15', () => {
    const { p } = setup(2);
    p.mmio.write(0xfec00000, 4, 0);
    expect(p.mmio.read(0xfec00010, 4)).toBe(2 << 24);
    const sinks = Array.from({ length: 2 }, () => new CountingSink());
    const t = new VirtualTime();
    expect(() => new PcPlatform({
      clock: t.clock, timers: t.timers, memory: new BufferPhysMemory(new ArrayBuffer(64)), sinks, ioapicId: 16,
      currentCpu: () => 0, serial: { write: () => {} }, powerOff: () => {}, reset: () => {},
    })).toThrow(/IOAPIC id 16/);
  });

  it('RTC, PIC and PCI host bridge answer at their ports', () => {
    const { p } = setup();
    p.io.write(0x70, 1, 0x09);
    expect(p.io.read(0x71, 1)).toBe(0x26);
    p.io.write(0x21, 1, 0xff);
    expect(p.io.read(0x21, 1)).toBe(0xff);
    p.io.write(0xcf8, 4, 0x80000000);
    expect(p.io.read(0xcfc, 4)).toBe(0x12378086);
  });
});

describe('PCI firmware and BAR mapping', () => {
  it('assigns BARs, enables decode and maps them so accesses reach the device', () => {
    const { p } = setup();
    const a = new Dev();
    const b = new Dev();
    p.addPciDevice(a, 3);
    p.addPciDevice(b, 4);
    p.finishPci();
    expect(a.barAddress(0) % 0x20).toBe(0);
    expect(a.barAddress(0)).toBeGreaterThanOrEqual(0xc000);
    expect(a.barAddress(1)).toBeGreaterThanOrEqual(0xfe000000);
    expect(b.barAddress(1)).not.toBe(a.barAddress(1));
    expect(a.ioEnabled && a.memEnabled).toBe(true);
    expect(p.io.read(a.barAddress(0) + 4, 2)).toBe(0x5a);
    p.mmio.write(b.barAddress(1) + 0x10, 4, 9);
    expect(a.log).toEqual(['r0+4/2']);
    expect(b.log).toEqual(['w1+16/4=9']);
    expect(p.pciBars.mappingsOf(a).length).toBe(2);
  });

  it('unmaps on decode disable, survives sizing with decode on, remaps on restore', () => {
    const { p } = setup();
    const a = new Dev();
    p.addPciDevice(a, 3);
    p.finishPci();
    const io = a.barAddress(0);
    const mem = a.barAddress(1);
    a.writeConfig(0x04, 2, 0);
    expect(p.io.read(io, 1)).toBe(0xff);
    expect(p.mmio.find(mem)).toBeUndefined();
    a.writeConfig(0x04, 2, 3);
    a.writeConfig(0x10, 4, 0xffffffff); // sizing with decode on: BAR "moves" above 64 KiB
    expect(a.readConfig(0x10, 4)).toBe(0xffffffe1);
    expect(p.pciBars.conflicts.length).toBe(1);
    a.writeConfig(0x10, 4, io);
    expect(p.io.read(io, 1)).toBe(0x5a);
    expect(p.mmio.find(mem)).toBeDefined();
  });

  it('sets the interrupt line and shares INTx lines on a GSI', () => {
    const { p, ioapicRoute } = setup();
    for (const l of p.lapics) l.writeMmio(0xf0, 4, 0x1ff);
    const a = new Dev(1); // slot 1 INTA -> GSI 10
    const b = new Dev(1); // slot 4 INTA -> GSI 10
    p.addPciDevice(a, 1);
    p.addPciDevice(b, 4);
    p.finishPci();
    expect(a.interruptLine).toBe(10);
    expect(b.interruptLine).toBe(10);
    ioapicRoute(10, 0x8000 | 0x30, 0); // level
    a.setIntx(true);
    b.setIntx(true);
    a.setIntx(false); // b still asserts
    const l = p.lapics[0]!;
    expect(l.acknowledge()).toBe(0x30);
    l.eoi();
    expect(l.acknowledge()).toBe(0x30); // redelivered: line still high because of b
    b.setIntx(false);
    l.eoi();
    expect(l.highestPendingVector()).toBe(-1);
  });

  it('reports an exhausted window clearly', () => {
    const { p } = setup();
    p.addPciDevice(new Dev(), 3);
    expect(() => p.finishPci({ memBase: 0xfebff800, memLimit: 0xfec00000 })).toThrow(/out of MMIO space/);
  });
});

describe('SharedIrq', () => {
  it('asserts while any source does; repeated raises count once', () => {
    const t = new RecordingLine();
    const s = new SharedIrq(t);
    const a = s.source();
    const b = s.source();
    a.raise();
    a.raise();
    b.raise();
    a.lower();
    expect(t.level).toBe(true);
    b.lower();
    expect(t.level).toBe(false);
    expect([t.raises, t.lowers]).toEqual([1, 1]);
  });
});

describe('determinism', () => {
  it('the same guest actions at the same virtual times give the same trace', () => {
    const run = () => {
      const { t, p, sinks } = setup();
      const trace: string[] = [];
      const l = p.lapics[0]!;
      l.writeMmio(0xf0, 4, 0x1ff);
      l.writeMmio(0x3e0, 4, 0xb);
      l.writeMmio(0x320, 4, 0x20021);
      l.writeMmio(0x380, 4, 333);
      p.mmio.write(0xfed00010, 4, 1);
      for (let i = 0; i < 20; i++) {
        t.advance(97);
        const v = l.acknowledge();
        if (v >= 0) l.eoi();
        trace.push(`${t.now}:${v}:${p.mmio.read(0xfed000f0, 4)}:${p.io.read(0x608, 4)}:${l.readMmio(0x390, 4)}:${sinks[0]!.kicks}`);
      }
      return trace.join('\n');
    };
    expect(run()).toBe(run());
  });
});
