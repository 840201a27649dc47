import { describe, expect, it } from 'vitest';
import { ApicBus, LapicMmioWindow } from '../../src/devices/apic-bus.js';
import type { MsrValue } from '../../src/devices/bus.js';
import { LocalApic, MSR_APIC_BASE, MSR_KVM_PV_EOI } from '../../src/devices/lapic.js';
import { CountingSink, VirtualTime } from './helpers.js';

const SVR = 0xf0;
const TPR = 0x80;
const EOI = 0xb0;
const ESR = 0x280;
const ICR_LO = 0x300;
const ICR_HI = 0x310;
const LVT_TIMER = 0x320;
const TIMER_INIT = 0x380;
const TIMER_CUR = 0x390;
const TIMER_DIV = 0x3e0;
const LDR = 0xd0;
const DFR = 0xe0;

function machine(cpus = 1) {
  const t = new VirtualTime();
  const bus = new ApicBus(t.clock, t.timers);
  const sinks: CountingSink[] = [];
  const lapics: LocalApic[] = [];
  for (let i = 0; i < cpus; i++) {
    const s = new CountingSink();
    sinks.push(s);
    const l = bus.addCpu(s);
    l.writeMmio(SVR, 4, 0x1ff); // software enable, spurious vector 0xff (what OSv writes)
    lapics.push(l);
  }
  return { t, bus, sinks, lapics, l: lapics[0]! };
}

function toX2apic(l: LocalApic): void {
  expect(l.writeMsr(MSR_APIC_BASE, 0xfee00000 | 0xc00 | (l.cpuIndex === 0 ? 0x100 : 0), 0)).toBe(true);
}

const msr: MsrValue = { lo: 0, hi: 0 };
function rdmsr(l: LocalApic, index: number): number {
  expect(l.readMsr(index, msr)).toBe(true);
  return msr.lo;
}

describe('LAPIC registers', () => {
  it('has the power-on values a PC BSP shows', () => {
    const { l, lapics } = machine(2);
    expect(l.readMmio(0x30, 4)).toBe(0x50014);
    expect(l.readMmio(0x20, 4)).toBe(0);
    expect(lapics[1]!.readMmio(0x20, 4)).toBe(1 << 24);
    expect(l.readMmio(DFR, 4)).toBe(0xffffffff);
    expect(l.readMmio(LVT_TIMER, 4)).toBe(0x10000);
    expect(rdmsr(l, MSR_APIC_BASE)).toBe(0xfee00900);
    expect(rdmsr(lapics[1]!, MSR_APIC_BASE)).toBe(0xfee00800);
    expect(l.mode).toBe('xapic');
  });

  it('reads registers with narrow accesses and ignores narrow writes', () => {
    const { l } = machine();
    expect(l.readMmio(0x30, 1)).toBe(0x14);
    expect(l.readMmio(0x32, 1)).toBe(0x05);
    l.writeMmio(TPR, 1, 0x20);
    expect(l.readMmio(TPR, 4)).toBe(0);
  });

  it('keeps LVTs masked while the APIC is software-disabled', () => {
    const { l } = machine();
    l.writeMmio(SVR, 4, 0x0ff);
    l.writeMmio(LVT_TIMER, 4, 0x21);
    expect(l.readMmio(LVT_TIMER, 4)).toBe(0x10021);
    l.writeMmio(SVR, 4, 0x1ff);
    l.writeMmio(LVT_TIMER, 4, 0x21);
    expect(l.readMmio(LVT_TIMER, 4)).toBe(0x21);
  });

  it('latches errors into ESR on write, and reports a received illegal vector', () => {
    const { l } = machine();
    l.writeMmio(ICR_LO, 4, 0x40005); // fixed vector 5 to self
    l.writeMmio(ESR, 4, 0);
    expect(l.readMmio(ESR, 4)).toBe(0x20); // send illegal vector
    l.writeMmio(ESR, 4, 0);
    expect(l.readMmio(ESR, 4)).toBe(0);
  });
});

describe('LAPIC priority, acknowledge and EOI', () => {
  it('delivers the highest vector and masks by TPR and in-service class', () => {
    const { l, sinks } = machine();
    expect(l.highestPendingVector()).toBe(-1);
    l.acceptInterrupt(0x31, false);
    l.acceptInterrupt(0x52, false);
    expect(sinks[0]!.kicks).toBe(2);
    expect(l.highestPendingVector()).toBe(0x52);
    expect(l.acknowledge()).toBe(0x52);
    // 0x31 is a lower class than the in-service 0x52.
    expect(l.highestPendingVector()).toBe(-1);
    expect(l.readMmio(0xa0, 4)).toBe(0x50); // PPR
    expect(l.readMmio(0x100 + 0x20, 4)).toBe(1 << (0x52 - 64)); // ISR word 2
    const kicks = sinks[0]!.kicks;
    l.writeMmio(EOI, 4, 0);
    expect(sinks[0]!.kicks).toBe(kicks + 1); // 0x31 became deliverable
    expect(l.highestPendingVector()).toBe(0x31);
    l.writeMmio(TPR, 4, 0x30);
    expect(l.highestPendingVector()).toBe(-1);
    expect(l.acknowledge()).toBe(-1);
    l.cr8 = 2;
    expect(l.readMmio(TPR, 4)).toBe(0x20);
    expect(l.highestPendingVector()).toBe(0x31);
  });

  it('delivers nothing when software-disabled or hardware-disabled', () => {
    const { l } = machine();
    l.acceptInterrupt(0x40, false);
    l.writeMmio(SVR, 4, 0xff);
    expect(l.highestPendingVector()).toBe(-1);
    l.writeMmio(SVR, 4, 0x1ff);
    expect(l.highestPendingVector()).toBe(0x40);
    expect(l.writeMsr(MSR_APIC_BASE, 0xfee00100, 0)).toBe(true);
    expect(l.mode).toBe('disabled');
    expect(l.highestPendingVector()).toBe(-1);
  });

  it('broadcasts EOI of level-triggered vectors only', () => {
    const { l, bus } = machine();
    const eois: number[] = [];
    bus.onEoi((v) => eois.push(v));
    l.acceptInterrupt(0x30, true);
    l.acceptInterrupt(0x40, false);
    l.acknowledge();
    l.eoi();
    l.acknowledge();
    l.eoi();
    expect(eois).toEqual([0x30]);
  });
});

describe('LAPIC timer', () => {
  const divides: [number, number][] = [
    [0x0, 2], [0x1, 4], [0x2, 8], [0x3, 16], [0x8, 32], [0x9, 64], [0xa, 128], [0xb, 1],
  ];
  for (const [conf, div] of divides) {
    it(`one-shot fires after count * ${div} ns with divide config 0x${conf.toString(16)}`, () => {
      const { t, l } = machine();
      t.advance(1000);
      l.writeMmio(TIMER_DIV, 4, conf);
      l.writeMmio(LVT_TIMER, 4, 0x21);
      l.writeMmio(TIMER_INIT, 4, 500);
      expect(t.timers.nextDeadline()).toBe(1000 + 500 * div);
      t.to(1000 + 500 * div - 1);
      expect(l.highestPendingVector()).toBe(-1);
      expect(l.readMmio(TIMER_CUR, 4)).toBe(div === 1 ? 1 : 1 + Math.floor((div - 1) / div));
      t.advance(1);
      expect(l.highestPendingVector()).toBe(0x21);
      expect(l.readMmio(TIMER_CUR, 4)).toBe(0);
      expect(t.timers.nextDeadline()).toBe(Infinity);
    });
  }

  it('counts down the current count at 1 GHz / divide', () => {
    const { t, l } = machine();
    l.writeMmio(TIMER_DIV, 4, 0x0); // by 2
    l.writeMmio(LVT_TIMER, 4, 0x21);
    l.writeMmio(TIMER_INIT, 4, 100);
    t.advance(50);
    expect(l.readMmio(TIMER_CUR, 4)).toBe(75);
    expect(l.readMmio(TIMER_INIT, 4)).toBe(100);
  });

  it('OSv style: nanoseconds with divide 0xb, timer vector 0x21', () => {
    const { t, l, sinks } = machine();
    l.writeMmio(TIMER_DIV, 4, 0xb);
    l.writeMmio(LVT_TIMER, 4, 0x21);
    l.writeMmio(TIMER_INIT, 4, 4_000_000); // 4 ms
    const kicks = sinks[0]!.kicks;
    t.to(3_999_999);
    expect(sinks[0]!.kicks).toBe(kicks);
    t.to(4_000_000);
    expect(sinks[0]!.kicks).toBe(kicks + 1);
    expect(l.acknowledge()).toBe(0x21);
  });

  it('periodic mode reloads and fires every period without drift', () => {
    const { t, l } = machine();
    l.writeMmio(TIMER_DIV, 4, 0xb);
    l.writeMmio(LVT_TIMER, 4, 0x20021);
    l.writeMmio(TIMER_INIT, 4, 100);
    const fired: number[] = [];
    for (let step = 0; step < 350; step++) {
      t.advance(1);
      if (l.acknowledge() === 0x21) {
        fired.push(t.now);
        l.eoi();
      }
    }
    expect(fired).toEqual([100, 200, 300]);
    t.to(350);
    expect(l.readMmio(TIMER_CUR, 4)).toBe(50);
  });

  it('periodic mode coalesces ticks missed by a time jump', () => {
    const { t, l } = machine();
    l.writeMmio(TIMER_DIV, 4, 0xb);
    l.writeMmio(LVT_TIMER, 4, 0x20021);
    l.writeMmio(TIMER_INIT, 4, 100);
    t.clock.setNs(1050); // the board jumped time without running the queue
    t.timers.runDue(1050);
    expect(t.timers.nextDeadline()).toBe(1100);
    expect(l.acknowledge()).toBe(0x21);
  });

  it('a masked timer expires without an interrupt', () => {
    const { t, l, sinks } = machine();
    l.writeMmio(TIMER_DIV, 4, 0xb);
    l.writeMmio(LVT_TIMER, 4, 0x10021);
    l.writeMmio(TIMER_INIT, 4, 10);
    const kicks = sinks[0]!.kicks;
    t.advance(20);
    expect(sinks[0]!.kicks).toBe(kicks);
    expect(l.highestPendingVector()).toBe(-1);
    expect(l.readMmio(TIMER_CUR, 4)).toBe(0);
  });

  it('writing a new initial count restarts; zero stops', () => {
    const { t, l } = machine();
    l.writeMmio(TIMER_DIV, 4, 0xb);
    l.writeMmio(LVT_TIMER, 4, 0x21);
    l.writeMmio(TIMER_INIT, 4, 100);
    t.advance(60);
    l.writeMmio(TIMER_INIT, 4, 100);
    expect(t.timers.nextDeadline()).toBe(160);
    l.writeMmio(TIMER_INIT, 4, 0);
    expect(t.timers.nextDeadline()).toBe(Infinity);
    t.advance(500);
    expect(l.highestPendingVector()).toBe(-1);
  });

  it('changing the divider keeps the remaining count', () => {
    const { t, l } = machine();
    l.writeMmio(TIMER_DIV, 4, 0xb);
    l.writeMmio(LVT_TIMER, 4, 0x21);
    l.writeMmio(TIMER_INIT, 4, 100);
    t.advance(40);
    l.writeMmio(TIMER_DIV, 4, 0x0); // by 2: 60 remaining ticks take 120 ns
    expect(l.readMmio(TIMER_CUR, 4)).toBe(60);
    expect(t.timers.nextDeadline()).toBe(160);
  });

  it('runs through the x2APIC MSRs too', () => {
    const { t, l } = machine();
    toX2apic(l);
    expect(l.writeMsr(0x83e, 0xb, 0)).toBe(true);
    expect(l.writeMsr(0x832, 0x21, 0)).toBe(true);
    expect(l.writeMsr(0x838, 1000, 0)).toBe(true);
    t.advance(400);
    expect(rdmsr(l, 0x839)).toBe(600);
    t.advance(600);
    expect(l.acknowledge()).toBe(0x21);
    expect(l.writeMsr(0x80b, 0, 0)).toBe(true);
    expect(rdmsr(l, 0x810 + 1)).toBe(0);
  });
});

describe('APIC_BASE and x2APIC mode', () => {
  it('switches xAPIC -> x2APIC and refuses the forbidden transitions', () => {
    const { l } = machine();
    expect(l.writeMsr(MSR_APIC_BASE, 0xfee00400, 0)).toBe(false); // EXTD without EN
    expect(l.writeMsr(MSR_APIC_BASE, 0xfee00d01, 0)).toBe(false); // reserved bit
    toX2apic(l);
    expect(l.mode).toBe('x2apic');
    expect(rdmsr(l, MSR_APIC_BASE)).toBe(0xfee00d00);
    expect(l.writeMsr(MSR_APIC_BASE, 0xfee00900, 0)).toBe(false); // x2APIC -> xAPIC
    expect(l.writeMsr(MSR_APIC_BASE, 0xfee00100, 0)).toBe(true); // -> disabled
    expect(l.writeMsr(MSR_APIC_BASE, 0xfee00d00, 0)).toBe(false); // disabled -> x2APIC
    expect(l.writeMsr(MSR_APIC_BASE, 0xfee00900, 0)).toBe(true);
    expect(l.mode).toBe('xapic');
  });

  it('x2APIC MSRs #GP in xAPIC mode and MMIO is dead in x2APIC mode', () => {
    const { lapics } = machine(2);
    const l = lapics[1]!;
    expect(l.readMsr(0x802, msr)).toBe(false);
    toX2apic(l);
    expect(rdmsr(l, 0x802)).toBe(1);
    expect(rdmsr(l, 0x803)).toBe(0x50014);
    expect(rdmsr(l, 0x80d)).toBe((0 << 16) | (1 << 1)); // LDR: cluster 0, bit 1
    expect(l.readMmio(0x20, 4)).toBe(0xffffffff);
    expect(l.readMsr(0x80e, msr)).toBe(false); // no DFR in x2APIC
    expect(l.readMsr(0x80b, msr)).toBe(false); // EOI is write-only
    expect(l.writeMsr(0x802, 5, 0)).toBe(false); // ID is read-only
    expect(l.writeMsr(0x80b, 1, 0)).toBe(false); // EOI must write 0
    expect(l.writeMsr(0x808, 0x10, 1)).toBe(false); // reserved high half
    expect(l.writeMsr(0x808, 0x10, 0)).toBe(true);
    expect(rdmsr(l, 0x808)).toBe(0x10);
  });

  it('self-IPI MSR 0x83F raises the vector locally', () => {
    const { l } = machine();
    toX2apic(l);
    expect(l.writeMsr(0x83f, 0x45, 0)).toBe(true);
    expect(l.acknowledge()).toBe(0x45);
    expect(l.readMsr(0x83f, msr)).toBe(false);
  });

  it('accepts and reads back the KVM PV EOI MSR without arming anything', () => {
    const { l } = machine();
    expect(l.writeMsr(MSR_KVM_PV_EOI, 0x1001, 0)).toBe(true);
    expect(rdmsr(l, MSR_KVM_PV_EOI)).toBe(0x1001);
    expect(l.ownsMsr(0x4b564d04)).toBe(true);
    expect(l.ownsMsr(0x4b564d01)).toBe(false);
  });
});

describe('IPIs', () => {
  it('fixed IPI to one physical xAPIC id (OSv 0x4024)', () => {
    const { lapics, sinks } = machine(3);
    lapics[0]!.writeMmio(ICR_HI, 4, 2 << 24);
    lapics[0]!.writeMmio(ICR_LO, 4, 0x4024);
    expect(lapics[2]!.acknowledge()).toBe(0x24);
    expect(lapics[1]!.highestPendingVector()).toBe(-1);
    expect(lapics[0]!.highestPendingVector()).toBe(-1);
    expect(sinks[2]!.kicks).toBe(1);
    expect(lapics[0]!.readMmio(ICR_LO, 4) & 0x1000).toBe(0); // never "send pending"
  });

  it('all-excluding-self shorthand (OSv 0xC4020) skips the sender', () => {
    const { lapics } = machine(3);
    lapics[1]!.writeMmio(ICR_LO, 4, 0xc4020);
    expect(lapics.map((l) => l.highestPendingVector())).toEqual([0x20, -1, 0x20]);
  });

  it('self and all-including-self shorthands', () => {
    const { lapics } = machine(3);
    lapics[2]!.writeMmio(ICR_LO, 4, 0x44030);
    expect(lapics.map((l) => l.highestPendingVector())).toEqual([-1, -1, 0x30]);
    lapics[0]!.writeMmio(ICR_LO, 4, 0x84031);
    expect(lapics.map((l) => l.highestPendingVector())).toEqual([0x31, 0x31, 0x31]);
  });

  it('a hardware-disabled LAPIC receives nothing', () => {
    const { lapics } = machine(3);
    expect(lapics[2]!.writeMsr(MSR_APIC_BASE, 0xfee00000, 0)).toBe(true);
    lapics[0]!.writeMmio(ICR_LO, 4, 0xc4020);
    lapics[0]!.writeMmio(ICR_LO, 4, 0xc0400);
    expect(lapics[2]!.takeNmi()).toBe(false);
    expect(lapics[1]!.takeNmi()).toBe(true);
    expect(lapics[2]!.writeMsr(MSR_APIC_BASE, 0xfee00800, 0)).toBe(true);
    expect(lapics[2]!.irr.every((w) => w === 0)).toBe(true);
  });

  it('physical broadcast 0xFF reaches everyone', () => {
    const { lapics } = machine(2);
    lapics[0]!.writeMmio(ICR_HI, 4, 0xff << 24);
    lapics[0]!.writeMmio(ICR_LO, 4, 0x4050);
    expect(lapics.map((l) => l.highestPendingVector())).toEqual([0x50, 0x50]);
  });

  it('INIT then STARTUP(0) reach the AP as pending events (OSv SMP boot)', () => {
    const { lapics, sinks } = machine(2);
    const bsp = lapics[0]!;
    const ap = lapics[1]!;
    ap.acceptInterrupt(0x40, false);
    bsp.writeMmio(ICR_HI, 4, 1 << 24);
    bsp.writeMmio(ICR_LO, 4, 0x4500);
    expect(sinks[1]!.kicks).toBe(2);
    expect(ap.hasPendingEvent).toBe(true);
    expect(ap.takeInit()).toBe(true);
    expect(ap.takeInit()).toBe(false);
    expect(ap.highestPendingVector()).toBe(-1); // INIT reset the LAPIC state
    bsp.writeMmio(ICR_LO, 4, 0x8500); // INIT level de-assert: ignored
    expect(ap.takeInit()).toBe(false);
    bsp.writeMmio(ICR_LO, 4, 0x4600);
    expect(ap.takeSipi()).toBe(0);
    expect(ap.takeSipi()).toBe(-1);
    bsp.writeMmio(ICR_LO, 4, 0x4608);
    expect(ap.takeSipi()).toBe(8);
    expect(ap.readMmio(0x20, 4)).toBe(1 << 24); // id kept across INIT
  });

  it('NMI to all-but-self (OSv halt: xAPIC 0xC0400, x2APIC 0xC4400)', () => {
    const { lapics } = machine(3);
    lapics[0]!.writeMmio(ICR_LO, 4, 0xc0400);
    expect(lapics.map((l) => l.takeNmi())).toEqual([false, true, true]);
    for (const l of lapics) toX2apic(l);
    expect(lapics[1]!.writeMsr(0x830, 0xc4400, 0)).toBe(true);
    expect(lapics.map((l) => l.takeNmi())).toEqual([true, false, true]);
  });

  it('x2APIC ICR uses a 32-bit destination in the high half', () => {
    const { lapics } = machine(3);
    for (const l of lapics) toX2apic(l);
    expect(lapics[0]!.writeMsr(0x830, 0x4024, 2)).toBe(true);
    expect(lapics.map((l) => l.highestPendingVector())).toEqual([-1, -1, 0x24]);
    const v: MsrValue = { lo: 0, hi: 0 };
    lapics[0]!.readMsr(0x830, v);
    expect([v.lo, v.hi]).toEqual([0x4024, 2]);
    lapics[0]!.writeMsr(0x830, 0x4025, 0xffffffff);
    expect(lapics.map((l) => l.highestPendingVector())).toEqual([0x25, 0x25, 0x25]);
  });

  it('logical flat and cluster destinations (xAPIC)', () => {
    const { lapics } = machine(3);
    lapics.forEach((l, i) => l.writeMmio(LDR, 4, (1 << i) << 24));
    lapics[0]!.writeMmio(ICR_HI, 4, 0x06 << 24);
    lapics[0]!.writeMmio(ICR_LO, 4, 0x4830); // logical
    expect(lapics.map((l) => l.highestPendingVector())).toEqual([-1, 0x30, 0x30]);
    for (const l of lapics) l.writeMmio(DFR, 4, 0x0fffffff); // cluster model
    lapics.forEach((l, i) => l.writeMmio(LDR, 4, ((i === 2 ? 0x10 : 0) | 1) << 24));
    lapics[0]!.writeMmio(ICR_HI, 4, 0x11 << 24);
    lapics[0]!.writeMmio(ICR_LO, 4, 0x4840);
    expect(lapics.map((l) => l.highestPendingVector())).toEqual([-1, 0x30, 0x40]);
  });

  it('lowest priority picks the LAPIC with the lowest priority', () => {
    const { bus, lapics } = machine(3);
    lapics[0]!.writeMmio(TPR, 4, 0x40);
    lapics[1]!.writeMmio(TPR, 4, 0x20);
    lapics[2]!.writeMmio(TPR, 4, 0x30);
    lapics[0]!.writeMmio(ICR_HI, 4, 0xff << 24);
    lapics[0]!.writeMmio(ICR_LO, 4, 0x4160);
    expect(lapics.map((l) => l.highestPendingVector())).toEqual([-1, 0x60, -1]);
    expect(bus.lapics.length).toBe(3);
  });

  it('MSIs land on the addressed LAPIC', () => {
    const { bus, lapics } = machine(2);
    bus.deliverMsi(0xfee01000, 0x26);
    expect(lapics.map((l) => l.highestPendingVector())).toEqual([-1, 0x26]);
    bus.deliverMsi(0x12345000, 0x27); // not an MSI address: dropped
    expect(lapics[0]!.highestPendingVector()).toBe(-1);
  });
});

describe('LapicMmioWindow', () => {
  it('shows each vCPU its own LAPIC', () => {
    const { bus } = machine(2);
    let cpu = 0;
    const w = new LapicMmioWindow(bus, () => cpu);
    expect(w.readMmio(0x20, 4)).toBe(0);
    cpu = 1;
    expect(w.readMmio(0x20, 4)).toBe(1 << 24);
    w.writeMmio(TPR, 4, 0x30);
    expect(bus.lapics[1]!.readMmio(TPR, 4)).toBe(0x30);
    expect(bus.lapics[0]!.readMmio(TPR, 4)).toBe(0);
  });
});
