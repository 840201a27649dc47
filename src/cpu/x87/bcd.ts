// Packed BCD (FBLD / FBSTP): 10 bytes, 18 digits two per byte (least significant first), sign in bit 7 of byte 9.
// The value is at most 10^18 - 1 < 2^60, so it is exact in the 80-bit format; the conversions split it into two
// 9-digit halves so every intermediate stays an exact double (no BigInt, no allocation).
// In OUT a BCD image uses the raw 10-byte layout: bytes 0-3 in OUT[2], 4-7 in OUT[1], 8-9 in OUT[0].

import { FL_IE, FL_NORESULT, OUT } from './f80-core.js';
import { f80FromI64, f80ToInt } from './f80-convert.js';

const E9 = 1e9;
const TWO16 = 65536;
const TWO32 = 4294967296;

/**
 * BCD image (se = bytes 8-9, hi = bytes 4-7, lo = bytes 0-3) -> 80-bit value in OUT, exact. Digits above 9 are
 * not valid BCD (the SDM leaves the result undefined); they are weighted as if they were digits.
 */
export function f80FromBcd(se: number, hi: number, lo: number): void {
  // low 9 digits: lo (8 nibbles) + low nibble of hi; high 9 digits: the other 7 nibbles of hi + byte 8
  let low = hi & 0xf;
  for (let s = 28; s >= 0; s -= 4) low = low * 10 + ((lo >>> s) & 0xf);
  let high = ((se >>> 4) & 0xf) * 10 + (se & 0xf);
  for (let s = 28; s >= 4; s -= 4) high = high * 10 + ((hi >>> s) & 0xf);
  // high * 1e9 + low as two 32-bit halves (high < 2^31, low < 2^32)
  const hh = Math.floor(high / TWO16);
  const p1 = (high % TWO16) * E9 + low; // < 2^16 * 1e9 + 2^32: exact
  const p2 = hh * E9; // < 2^15 * 1e9: exact
  const t = p1 + (p2 % TWO16) * TWO16;
  const rlo = t % TWO32;
  const rhi = Math.floor(p2 / TWO16) + Math.floor(t / TWO32);
  f80FromI64(rhi, rlo);
  OUT[0] |= (se & 0x8000); // the sign applies to zero too (-0 loads as -0)
}

/**
 * 80-bit -> BCD image in OUT (rounded per RC). NaN, infinity, unsupported formats and |value| >= 10^18 are invalid:
 * IE and, when masked, the BCD indefinite (FFFF C000 0000 0000 0000), else FL_NORESULT.
 */
export function f80ToBcd(se: number, hi: number, lo: number, cw: number): number {
  const f = f80ToInt(se, hi, lo, cw, 64, false);
  if (f & FL_NORESULT) return f;
  if (f & FL_IE) return bcdIndefinite();
  let mh = OUT[1] >>> 0;
  let ml = OUT[2] >>> 0;
  if (mh >>> 31) {
    ml = (~ml + 1) >>> 0;
    mh = (~mh + (ml === 0 ? 1 : 0)) >>> 0;
  }
  // 10^18 = 0x0DE0B6B3_A7640000
  if (mh > 0x0de0b6b3 || (mh === 0x0de0b6b3 && ml >= 0xa7640000)) {
    if (!(cw & FL_IE)) return FL_IE | FL_NORESULT;
    return bcdIndefinite();
  }
  // magnitude / 1e9 in two 16-bit steps (every partial stays below 2^47)
  const t1 = mh * TWO16 + (ml >>> 16);
  const q1 = Math.floor(t1 / E9);
  const t2 = (t1 - q1 * E9) * TWO16 + (ml & 0xffff);
  const q2 = Math.floor(t2 / E9);
  let low = t2 - q2 * E9;
  let high = q1 * TWO16 + q2;
  let blo = 0;
  for (let s = 0; s < 32; s += 4) { blo += (low % 10) * 2 ** s; low = Math.floor(low / 10); }
  let bhi = low; // the ninth low digit
  for (let s = 4; s < 32; s += 4) { bhi += (high % 10) * 2 ** s; high = Math.floor(high / 10); }
  const b8 = (high % 10) | (Math.floor(high / 10) << 4);
  OUT[0] = (se & 0x8000) | b8; // the source's sign, also for a result rounded to zero
  OUT[1] = bhi;
  OUT[2] = blo;
  return f;
}

function bcdIndefinite(): number {
  OUT[0] = 0xffff;
  OUT[1] = 0xc0000000;
  OUT[2] = 0;
  return FL_IE;
}
