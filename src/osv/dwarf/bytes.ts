// A bounds-checked little-endian cursor over one section. Values are plain numbers: 64-bit
// quantities lose precision past 2^53 (no address or offset of an x86-64 kernel gets there).

import { DwarfError } from './errors.js';

const TWO32 = 4294967296;

export class Cursor {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    pos = 0,
    /** Reads stop here (a unit's end); defaults to the buffer's end. */
    public end = buf.length,
    readonly what = 'section',
  ) {
    this.pos = pos;
  }

  private fail(n: number): never {
    throw new DwarfError(`truncated DWARF: ${this.what} needs ${n} bytes at offset 0x${this.pos.toString(16)}, only ${Math.max(0, this.end - this.pos)} left`);
  }

  need(n: number): void {
    if (this.pos + n > this.end) this.fail(n);
  }

  u8(): number {
    if (this.pos >= this.end) this.fail(1);
    return this.buf[this.pos++]!;
  }
  u16(): number {
    if (this.pos + 2 > this.end) this.fail(2);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 2;
    return b[p]! | (b[p + 1]! << 8);
  }
  u24(): number {
    if (this.pos + 3 > this.end) this.fail(3);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 3;
    return b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16);
  }
  u32(): number {
    if (this.pos + 4 > this.end) this.fail(4);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16)) + b[p + 3]! * 16777216;
  }
  u64(): number {
    const lo = this.u32();
    const hi = this.u32();
    return lo + hi * TWO32;
  }
  /** Two's-complement 64-bit value (tombstones like -1 come out negative). */
  s64(): number {
    const lo = this.u32();
    const hi = this.u32();
    return hi >= 0x80000000 ? lo + (hi - TWO32) * TWO32 : lo + hi * TWO32;
  }
  /** An unsigned value of `size` bytes (1, 2, 4 or 8). */
  unsigned(size: number): number {
    switch (size) {
      case 1: return this.u8();
      case 2: return this.u16();
      case 4: return this.u32();
      case 8: return this.u64();
      default: throw new DwarfError(`bad DWARF: unsupported field size ${size}`);
    }
  }
  uleb(): number {
    const b = this.buf;
    let p = this.pos;
    const end = this.end;
    if (p >= end) this.fail(1);
    let byte = b[p++]!;
    if (byte < 0x80) {
      this.pos = p;
      return byte;
    }
    let result = byte & 0x7f;
    let mul = 128;
    for (;;) {
      if (p >= end) {
        this.pos = p;
        this.fail(1);
      }
      byte = b[p++]!;
      result += (byte & 0x7f) * mul;
      if (byte < 0x80) break;
      mul *= 128;
    }
    this.pos = p;
    return result;
  }
  sleb(): number {
    const b = this.buf;
    let p = this.pos;
    const end = this.end;
    let result = 0;
    let mul = 1;
    let byte: number;
    do {
      if (p >= end) {
        this.pos = p;
        this.fail(1);
      }
      byte = b[p++]!;
      result += (byte & 0x7f) * mul;
      mul *= 128;
    } while (byte >= 0x80);
    this.pos = p;
    if (byte & 0x40) result -= mul;
    return result;
  }
  /** A unit/entry length: 32-bit, or 0xffffffff then 64-bit (the 64-bit DWARF format). */
  initialLength(): { length: number; offsetSize: 4 | 8 } {
    const len = this.u32();
    return len === 0xffffffff ? { length: this.u64(), offsetSize: 8 } : { length: len, offsetSize: 4 };
  }

  skip(n: number): void {
    if (n < 0 || this.pos + n > this.end) this.fail(n);
    this.pos += n;
  }
  bytes(n: number): Uint8Array {
    if (n < 0 || this.pos + n > this.end) this.fail(n);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  /** A NUL-terminated string in place. */
  cstr(): string {
    const s = cstrAt(this.buf, this.pos, this.end, this.what);
    this.pos += s.length + 1;
    return s;
  }
  /** Skips a NUL-terminated string. */
  skipCstr(): void {
    const b = this.buf;
    let p = this.pos;
    const end = this.end;
    while (p < end && b[p] !== 0) p++;
    if (p >= end) throw new DwarfError(`bad DWARF: unterminated string at offset 0x${this.pos.toString(16)} in ${this.what}`);
    this.pos = p + 1;
  }
}

/** The NUL-terminated string at `off` (Latin-1 decoding: C++ identifiers are ASCII). */
export function cstrAt(buf: Uint8Array, off: number, end: number, what: string): string {
  let p = off;
  while (p < end && buf[p] !== 0) p++;
  if (p >= end || off < 0) throw new DwarfError(`bad DWARF: string at offset 0x${off.toString(16)} of ${what} is not NUL-terminated`);
  if (p - off < 64) {
    let s = '';
    for (let i = off; i < p; i++) s += String.fromCharCode(buf[i]!);
    return s;
  }
  return Buffer.from(buf.buffer, buf.byteOffset + off, p - off).toString('latin1');
}

/** Index of the last entry whose `low` is <= key in an array sorted by `low` (-1 when none). */
export function lastAtOrBelow(sorted: readonly { low: number }[], key: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]!.low <= key) lo = mid + 1;
    else hi = mid - 1;
  }
  return hi;
}
