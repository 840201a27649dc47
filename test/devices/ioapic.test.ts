import { describe, expect, it } from 'vitest';
import { ApicBus } from '../../src/devices/apic-bus.js';
import { IoApic } from '../../src/devices/ioapic.js';
import { CountingSink, VirtualTime } from './helpers.js';

function setup(cpus = 2) {
  const t = new VirtualTime();
  const bus = new ApicBus(t.clock, t.timers);
  const sinks = Array.from({ length: cpus }, () => new CountingSink());
  const lapics = sinks.map((s) => bus.addCpu(s));
  for (const l of lapics) l.writeMmio(0xf0, 4, 0x1ff);
  const io = new IoApic(bus);
  bus.onEoi((v) => io.eoi(v));
  const writeReg = (index: number, value: number) => {
    io.writeMmio(0x00, 4, index);
    io.writeMmio(0x10, 4, value);
  };
  const readReg = (index: number) => {
    io.writeMmio(0x00, 4, index);
    return io.readMmio(0x10, 4);
  };
  const route = (gsi: number, lo: number, destApic: number) => {
    writeReg(0x11 + 2 * gsi, (destApic << 24) >>> 0);
    writeReg(0x10 + 2 * gsi, lo);
  };
  return { bus, lapics, sinks, io, writeReg, readReg, route };
}

describe('IOAPIC registers', () => {
  it('reports id, version 0x20 with 24 entries, and masked entries at reset', () => {
    const { readReg, writeReg, io } = setup();
    expect(readReg(0x01)).toBe(0x00170020);
    expect(readReg(0x10)).toBe(0x10000);
    expect(readReg(0x10 + 2 * 23)).toBe(0x10000);
    writeReg(0x00, 0x0a000000);
    expect(readReg(0x00)).toBe(0x0a000000);
    expect(io.readMmio(0x00, 4)).toBe(0x00);
  });

  it('keeps delivery status and remote IRR read-only', () => {
    const { readReg, writeReg } = setup();
    writeReg(0x12, 0xffffffff);
    expect(readReg(0x12)).toBe(0x1afff);
    writeReg(0x13, 0xffffffff);
    expect(readReg(0x13)).toBe(0xff000000);
  });
});

describe('IOAPIC routing', () => {
  it('routes an edge GSI to the programmed vector and CPU (the serial IRQ as OSv sets it)', () => {
    const { io, lapics, route, sinks } = setup();
    route(4, 0x24, 1);
    io.line(4).raise();
    expect(lapics[1]!.highestPendingVector()).toBe(0x24);
    expect(lapics[0]!.highestPendingVector()).toBe(-1);
    expect(sinks[1]!.kicks).toBe(1);
    // Staying high is not a new edge.
    lapics[1]!.acknowledge();
    lapics[1]!.eoi();
    io.line(4).raise();
    expect(lapics[1]!.highestPendingVector()).toBe(-1);
    io.line(4).lower();
    io.line(4).raise();
    expect(lapics[1]!.highestPendingVector()).toBe(0x24);
  });

  it('does not deliver masked entries, and delivers a latched edge on unmask', () => {
    const { io, lapics, route } = setup();
    route(3, 0x10023, 0);
    io.line(3).raise();
    io.line(3).lower();
    expect(lapics[0]!.highestPendingVector()).toBe(-1);
    route(3, 0x23, 0);
    expect(lapics[0]!.highestPendingVector()).toBe(0x23);
  });

  it('level-triggered: one delivery until EOI, re-delivery while still asserted', () => {
    const { io, lapics, route, readReg } = setup();
    route(10, 0x8000 | 0x3a, 0);
    io.line(10).raise();
    expect(readReg(0x10 + 20) & 0x4000).toBe(0x4000); // remote IRR
    const l = lapics[0]!;
    expect(l.acknowledge()).toBe(0x3a);
    io.line(10).raise();
    expect(l.highestPendingVector()).toBe(-1);
    l.eoi(); // line still high: delivered again
    expect(l.acknowledge()).toBe(0x3a);
    io.line(10).lower();
    l.eoi();
    expect(readReg(0x10 + 20) & 0x4000).toBe(0);
    expect(l.highestPendingVector()).toBe(-1);
    expect(l.tmr[1]! & (1 << (0x3a - 32))).not.toBe(0);
  });

  it('the EOI register clears remote IRR directly', () => {
    const { io, route, readReg } = setup();
    route(5, 0x8000 | 0x35, 0);
    io.line(5).raise();
    io.line(5).lower();
    io.writeMmio(0x40, 4, 0x35);
    expect(readReg(0x10 + 10) & 0x4000).toBe(0);
  });

  it('supports logical destinations and NMI delivery mode', () => {
    const { io, lapics, route } = setup();
    lapics[1]!.writeMmio(0xd0, 4, 0x02000000);
    route(7, 0x800 | 0x47, 0x02);
    io.line(7).raise();
    expect(lapics.map((l) => l.highestPendingVector())).toEqual([-1, 0x47]);
    route(8, 0x400, 0);
    io.line(8).raise();
    expect(lapics[0]!.takeNmi()).toBe(true);
  });

  it('rejects pins that do not exist', () => {
    const { io } = setup();
    expect(() => io.line(24)).toThrow(/no pin 24/);
  });
});
