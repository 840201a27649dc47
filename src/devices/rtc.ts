/**
 * MC146818 CMOS/RTC at 0x70 (index; bit 7 = NMI disable, ignored) / 0x71 (data).
 *
 * The time registers show `bootEpochSec + floor(nowNs / 1e9)` (UTC) from the virtual clock, so
 * a boot sees the same date every time. They follow status register B: BCD unless DM (bit 2),
 * 24-hour unless bit 1 is clear (then 1–12 with bit 7 = PM). Guest writes to a time register
 * move the offset so the new value holds and keeps counting (the SET bit's freeze is not
 * modelled). UIP never shows and no RTC interrupt (periodic, alarm, update) is generated:
 * register C reads 0. Other indices are plain CMOS bytes the board may preset (`setByte`).
 * No host time is read: dates are computed arithmetically.
 */
import type { AccessSize, Clock, PortDevice } from './bus.js';
import { DEFAULT_BOOT_EPOCH_SEC } from './kvmclock.js';

export const RTC_REG_SECONDS = 0x00;
export const RTC_REG_MINUTES = 0x02;
export const RTC_REG_HOURS = 0x04;
export const RTC_REG_WEEKDAY = 0x06;
export const RTC_REG_DAY = 0x07;
export const RTC_REG_MONTH = 0x08;
export const RTC_REG_YEAR = 0x09;
export const RTC_REG_A = 0x0a;
export const RTC_REG_B = 0x0b;
export const RTC_REG_C = 0x0c;
export const RTC_REG_D = 0x0d;
export const RTC_REG_CENTURY = 0x32;

const B_24H = 0x02;
const B_BINARY = 0x04;

export interface CivilTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** 0 = Sunday. */
  weekday: number;
}

/** Days since 1970-01-01 -> civil date (proleptic Gregorian, any sign). */
export function civilFromEpochSeconds(sec: number): CivilTime {
  const days = Math.floor(sec / 86400);
  const rem = sec - days * 86400;
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return {
    year, month, day,
    hour: Math.floor(rem / 3600),
    minute: Math.floor((rem % 3600) / 60),
    second: rem % 60,
    weekday: (((days + 4) % 7) + 7) % 7,
  };
}

/** Civil UTC date and time -> seconds since 1970-01-01. */
export function epochSecondsFromCivil(year: number, month: number, day: number, hour: number, minute: number, second: number): number {
  const y = year - (month <= 2 ? 1 : 0);
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  const days = era * 146097 + doe - 719468;
  return days * 86400 + hour * 3600 + minute * 60 + second;
}

const toBcd = (v: number): number => ((Math.floor(v / 10) % 10) << 4) | (v % 10);
const fromBcd = (v: number): number => (v >> 4) * 10 + (v & 0xf);

export class CmosRtc implements PortDevice {
  readonly portRanges = [[0x70, 2]] as const;
  private index = 0;
  private readonly cmos = new Uint8Array(128);
  /** Epoch seconds shown at virtual time 0 (moved by guest writes to the time registers). */
  private offsetSec: number;

  constructor(
    private readonly clock: Clock,
    bootEpochSec = DEFAULT_BOOT_EPOCH_SEC,
  ) {
    this.offsetSec = bootEpochSec;
    this.cmos[RTC_REG_A] = 0x26; // 32.768 kHz time base, 1024 Hz rate
    this.cmos[RTC_REG_B] = B_24H; // BCD, 24-hour
    this.cmos[RTC_REG_D] = 0x80; // valid RAM and time
  }

  /** Presets a CMOS byte (memory-size fields, boot flags...) before the guest runs. */
  setByte(index: number, value: number): void {
    this.cmos[index & 0x7f] = value & 0xff;
  }

  /** Current RTC time in epoch seconds. */
  nowEpochSeconds(): number {
    return this.offsetSec + Math.floor(this.clock.nowNs() / 1e9);
  }

  readPort(port: number, _size: AccessSize): number {
    if (port === 0x70) return 0xff; // the index register is write-only on the PC
    return this.readRegister(this.index);
  }

  writePort(port: number, _size: AccessSize, value: number): void {
    if (port === 0x70) {
      this.index = value & 0x7f;
      return;
    }
    this.writeRegister(this.index, value & 0xff);
  }

  private encode(v: number): number {
    return this.cmos[RTC_REG_B]! & B_BINARY ? v : toBcd(v);
  }

  private decode(v: number): number {
    return this.cmos[RTC_REG_B]! & B_BINARY ? v : fromBcd(v);
  }

  private encodeHour(h: number): number {
    if (this.cmos[RTC_REG_B]! & B_24H) return this.encode(h);
    const pm = h >= 12 ? 0x80 : 0;
    const h12 = h % 12 === 0 ? 12 : h % 12;
    return this.encode(h12) | pm;
  }

  private decodeHour(v: number): number {
    if (this.cmos[RTC_REG_B]! & B_24H) return this.decode(v);
    const h12 = this.decode(v & 0x7f) % 12;
    return v & 0x80 ? h12 + 12 : h12;
  }

  private readRegister(index: number): number {
    const t = civilFromEpochSeconds(this.nowEpochSeconds());
    switch (index) {
      case RTC_REG_SECONDS: return this.encode(t.second);
      case RTC_REG_MINUTES: return this.encode(t.minute);
      case RTC_REG_HOURS: return this.encodeHour(t.hour);
      case RTC_REG_WEEKDAY: return this.encode(t.weekday + 1);
      case RTC_REG_DAY: return this.encode(t.day);
      case RTC_REG_MONTH: return this.encode(t.month);
      case RTC_REG_YEAR: return this.encode(t.year % 100);
      case RTC_REG_CENTURY: return this.encode(Math.floor(t.year / 100));
      case RTC_REG_C: return 0;
      default: return this.cmos[index]!;
    }
  }

  private writeRegister(index: number, value: number): void {
    const t = civilFromEpochSeconds(this.nowEpochSeconds());
    switch (index) {
      case RTC_REG_SECONDS: t.second = this.decode(value); break;
      case RTC_REG_MINUTES: t.minute = this.decode(value); break;
      case RTC_REG_HOURS: t.hour = this.decodeHour(value); break;
      case RTC_REG_DAY: t.day = this.decode(value); break;
      case RTC_REG_MONTH: t.month = this.decode(value); break;
      case RTC_REG_YEAR: t.year = Math.floor(t.year / 100) * 100 + this.decode(value); break;
      case RTC_REG_CENTURY: t.year = this.decode(value) * 100 + (t.year % 100); break;
      case RTC_REG_WEEKDAY: return; // derived from the date
      case RTC_REG_A: this.cmos[index] = value & 0x7f; return;
      case RTC_REG_C: case RTC_REG_D: return; // read-only
      default: this.cmos[index] = value; return;
    }
    const sec = epochSecondsFromCivil(t.year, t.month, t.day, t.hour, t.minute, t.second);
    if (Number.isFinite(sec)) this.offsetSec = sec - Math.floor(this.clock.nowNs() / 1e9);
  }
}
