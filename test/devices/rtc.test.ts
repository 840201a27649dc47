import { describe, expect, it } from 'vitest';
import { IoBus } from '../../src/devices/bus.js';
import { CmosRtc, civilFromEpochSeconds, epochSecondsFromCivil } from '../../src/devices/rtc.js';
import { VirtualTime } from './helpers.js';

function setup(epoch?: number) {
  const t = new VirtualTime();
  const rtc = new CmosRtc(t.clock, epoch);
  const io = new IoBus();
  io.add(rtc);
  const rd = (i: number) => {
    io.write(0x70, 1, i);
    return io.read(0x71, 1);
  };
  const wr = (i: number, v: number) => {
    io.write(0x70, 1, i);
    io.write(0x71, 1, v);
  };
  return { t, rtc, rd, wr };
}

describe('date arithmetic', () => {
  it('converts known dates both ways', () => {
    expect(civilFromEpochSeconds(0)).toMatchObject({ year: 1970, month: 1, day: 1, weekday: 4 });
    expect(civilFromEpochSeconds(951_782_400)).toMatchObject({ year: 2000, month: 2, day: 29 });
    expect(epochSecondsFromCivil(2026, 1, 1, 0, 0, 0)).toBe(1_767_225_600);
    let s = 7;
    for (let i = 0; i < 200; i++) {
      s = (s * 48271) % 2147483647;
      const sec = s * 3;
      const c = civilFromEpochSeconds(sec);
      expect(epochSecondsFromCivil(c.year, c.month, c.day, c.hour, c.minute, c.second)).toBe(sec);
    }
  });
});

describe('CMOS RTC', () => {
  it('shows the default epoch in BCD, 24-hour, and advances with virtual time', () => {
    const { t, rd } = setup();
    expect([rd(0x09), rd(0x08), rd(0x07), rd(0x06), rd(0x32)]).toEqual([0x26, 0x01, 0x01, 0x05, 0x20]);
    expect([rd(0x04), rd(0x02), rd(0x00)]).toEqual([0, 0, 0]);
    t.advance(3_661_999_999_999); // 3661.999999999 s
    expect([rd(0x04), rd(0x02), rd(0x00)]).toEqual([0x01, 0x01, 0x01]);
    t.advance(86_400e9 * 40);
    expect([rd(0x08), rd(0x07)]).toEqual([0x02, 0x10]); // Feb 10
  });

  it('uses a configured start time', () => {
    const { rd } = setup(epochSecondsFromCivil(1999, 12, 31, 23, 59, 58));
    expect([rd(0x32), rd(0x09), rd(0x08), rd(0x07), rd(0x04), rd(0x02), rd(0x00)]).toEqual([0x19, 0x99, 0x12, 0x31, 0x23, 0x59, 0x58]);
  });

  it('has the status registers of a PC RTC', () => {
    const { rd, wr } = setup();
    expect(rd(0x0a)).toBe(0x26);
    expect(rd(0x0b)).toBe(0x02);
    expect(rd(0x0c)).toBe(0);
    expect(rd(0x0d)).toBe(0x80);
    wr(0x0a, 0xa6);
    expect(rd(0x0a)).toBe(0x26); // UIP is read-only and never set
    wr(0x0d, 0);
    expect(rd(0x0d)).toBe(0x80);
  });

  it('follows binary and 12-hour modes', () => {
    const { t, rd, wr } = setup();
    t.advance(15 * 3600e9 + 42 * 60e9);
    wr(0x0b, 0x06); // binary, 24h
    expect([rd(0x04), rd(0x02), rd(0x09)]).toEqual([15, 42, 26]);
    wr(0x0b, 0x00); // BCD, 12h
    expect(rd(0x04)).toBe(0x80 | 0x03);
  });

  it('guest writes set the time, which keeps counting', () => {
    const { t, rd, wr } = setup();
    wr(0x04, 0x12);
    wr(0x02, 0x34);
    expect([rd(0x04), rd(0x02)]).toEqual([0x12, 0x34]);
    t.advance(60e9);
    expect(rd(0x02)).toBe(0x35);
  });

  it('ignores the NMI-disable bit and keeps CMOS bytes', () => {
    const { rtc, rd, wr } = setup();
    rtc.setByte(0x34, 0x7f);
    expect(rd(0x80 | 0x34)).toBe(0x7f);
    wr(0x40, 0x99);
    expect(rd(0x40)).toBe(0x99);
    expect(rd(0x80 | 0x09)).toBe(0x26);
  });
});
