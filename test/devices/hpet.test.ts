import { describe, expect, it } from 'vitest';
import type { IrqLine } from '../../src/devices/bus.js';
import { Hpet } from '../../src/devices/hpet.js';
import { RecordingLine, VirtualTime } from './helpers.js';

function setup() {
  const t = new VirtualTime();
  const lines = new Map<number, RecordingLine>();
  const lineFor = (gsi: number): IrqLine => {
    if (!lines.has(gsi)) lines.set(gsi, new RecordingLine());
    return lines.get(gsi)!;
  };
  const hpet = new Hpet(t.clock, t.timers, lineFor);
  const counter = () => hpet.readMmio(0xf4, 4) * 2 ** 32 + hpet.readMmio(0xf0, 4);
  return { t, hpet, lines, lineFor: (g: number) => lineFor(g) as RecordingLine, counter };
}

describe('HPET registers', () => {
  it('advertises a 10 ns period, 64-bit counter, 3 timers, vendor 8086', () => {
    const { hpet } = setup();
    const cap = hpet.readMmio(0x000, 4);
    expect(hpet.readMmio(0x004, 4)).toBe(10_000_000);
    expect(cap & 0xff).toBe(1);
    expect(((cap >> 8) & 0x1f) + 1).toBe(3);
    expect(cap & (1 << 13)).not.toBe(0);
    expect(cap >>> 16).toBe(0x8086);
    expect(hpet.readMmio(0x100, 4) & 0x30).toBe(0x30); // periodic + 64-bit capable
  });
});

describe('HPET main counter', () => {
  it('is ns/10 while enabled, frozen while disabled, continuous across re-enable', () => {
    const { t, hpet, counter } = setup();
    t.advance(12345);
    expect(counter()).toBe(0);
    hpet.writeMmio(0x010, 4, 1);
    expect(hpet.readMmio(0x010, 4)).toBe(1);
    t.advance(1000);
    expect(counter()).toBe(100);
    t.advance(9);
    expect(counter()).toBe(100);
    t.advance(1);
    expect(counter()).toBe(101);
    hpet.writeMmio(0x010, 4, 0);
    t.advance(5000);
    expect(counter()).toBe(101);
    hpet.writeMmio(0x010, 4, 1);
    t.advance(100);
    expect(counter()).toBe(111);
  });

  it('counts past 32 bits into the high half', () => {
    const { t, hpet, counter } = setup();
    hpet.writeMmio(0x010, 4, 1);
    t.advance(50 * 1e9); // 5e9 ticks
    expect(counter()).toBe(5e9);
    expect(hpet.readMmio(0xf4, 4)).toBe(1);
    expect(hpet.counter()).toBe(5e9);
  });

  it('can be written (as two halves) and keeps counting from the written value', () => {
    const { t, hpet } = setup();
    hpet.writeMmio(0xf0, 4, 0xfffffff0);
    hpet.writeMmio(0xf4, 4, 0xffffffff);
    hpet.writeMmio(0x010, 4, 1);
    t.advance(200); // 20 ticks: wraps the 64-bit counter
    expect(hpet.readMmio(0xf0, 4)).toBe(4);
    expect(hpet.readMmio(0xf4, 4)).toBe(0);
  });
});

describe('HPET comparators', () => {
  it('one-shot: interrupts on the routed pin when the counter reaches the comparator', () => {
    const { t, hpet, lineFor } = setup();
    hpet.writeMmio(0x108, 4, 500); // timer 0 comparator
    hpet.writeMmio(0x10c, 4, 0);
    hpet.writeMmio(0x100, 4, (20 << 9) | 0x4); // route to GSI 20, edge, enabled
    hpet.writeMmio(0x010, 4, 1);
    expect(t.timers.nextDeadline()).toBe(5000);
    t.to(4999);
    expect(lineFor(20).raises).toBe(0);
    t.to(5000);
    expect(lineFor(20).raises).toBe(1);
    expect(lineFor(20).level).toBe(false);
    expect(t.timers.nextDeadline()).toBe(Infinity);
  });

  it('periodic: fires every period', () => {
    const { t, hpet, lineFor } = setup();
    hpet.writeMmio(0x100 + 0x20, 4, (21 << 9) | 0x4 | 0x8 | 0x40); // timer 1 periodic, SETVAL
    hpet.writeMmio(0x108 + 0x20, 4, 100);
    hpet.writeMmio(0x10c + 0x20, 4, 0);
    hpet.writeMmio(0x010, 4, 1);
    t.to(3500);
    expect(lineFor(21).raises).toBe(3); // at 1000, 2000, 3000 ns
    expect(hpet.readMmio(0x128, 4)).toBe(400);
  });

  it('level-triggered: status bit set until written 1, line follows it', () => {
    const { t, hpet, lineFor } = setup();
    hpet.writeMmio(0x108, 4, 10);
    hpet.writeMmio(0x10c, 4, 0);
    hpet.writeMmio(0x100, 4, (22 << 9) | 0x4 | 0x2);
    hpet.writeMmio(0x010, 4, 1);
    t.advance(100);
    expect(hpet.readMmio(0x020, 4)).toBe(1);
    expect(lineFor(22).level).toBe(true);
    hpet.writeMmio(0x020, 4, 1);
    expect(hpet.readMmio(0x020, 4)).toBe(0);
    expect(lineFor(22).level).toBe(false);
  });

  it('32-bit mode compares the low half and wraps', () => {
    const { t, hpet, lineFor } = setup();
    hpet.writeMmio(0xf0, 4, 0xfffffff0);
    hpet.writeMmio(0x100, 4, (20 << 9) | 0x4 | 0x100); // 32-bit mode
    hpet.writeMmio(0x108, 4, 0x10);
    hpet.writeMmio(0x10c, 4, 0x1234); // ignored in 32-bit mode
    expect(hpet.readMmio(0x10c, 4)).toBe(0);
    hpet.writeMmio(0x010, 4, 1);
    expect(t.timers.nextDeadline()).toBe(0x20 * 10);
    t.to(0x20 * 10);
    expect(lineFor(20).raises).toBe(1);
  });

  it('legacy replacement routes timer 0 to GSI 2', () => {
    const { t, hpet, lineFor } = setup();
    hpet.writeMmio(0x108, 4, 1);
    hpet.writeMmio(0x10c, 4, 0);
    hpet.writeMmio(0x100, 4, 0x4);
    hpet.writeMmio(0x010, 4, 3);
    t.advance(10);
    expect(lineFor(2).raises).toBe(1);
  });

  it('disabling the HPET cancels pending comparator events', () => {
    const { t, hpet } = setup();
    hpet.writeMmio(0x108, 4, 1000);
    hpet.writeMmio(0x10c, 4, 0);
    hpet.writeMmio(0x100, 4, 0x4);
    hpet.writeMmio(0x010, 4, 1);
    expect(t.timers.nextDeadline()).toBe(10000);
    hpet.writeMmio(0x010, 4, 0);
    expect(t.timers.nextDeadline()).toBe(Infinity);
  });
});
