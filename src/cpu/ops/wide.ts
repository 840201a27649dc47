// 64x64->128 multiplication and 128/64 division on 32-bit halves, without BigInt (doubles are exact only
// to 2^53, so products are built from 16-bit limbs). Results go to the module-level W array: no allocation.

const TWO16 = 65536;
const TWO32 = 4294967296;

/** Result words, least significant first: W[0..3] after mul; quotient W[0..1], remainder W[2..3] after div. */
export const W = new Int32Array(4);

/** Unsigned 64x64 -> 128 product of (aHi:aLo) and (bHi:bLo) into W. */
export function mulU64(aLo: number, aHi: number, bLo: number, bHi: number): void {
  const a0 = aLo & 0xffff, a1 = aLo >>> 16, a2 = aHi & 0xffff, a3 = aHi >>> 16;
  const b0 = bLo & 0xffff, b1 = bLo >>> 16, b2 = bHi & 0xffff, b3 = bHi >>> 16;
  // Column sums stay below 4 * 2^32 + carry < 2^35: exact. Carries are split off with floor and a power-of-two
  // divide, which are exact and inline; `%` on doubles is a call into the runtime (36% of an imul-heavy loop).
  let t = a0 * b0;
  let c = Math.floor(t / TWO16); const d0 = t - c * TWO16;
  t = a0 * b1 + a1 * b0 + c;
  c = Math.floor(t / TWO16); const d1 = t - c * TWO16;
  t = a0 * b2 + a1 * b1 + a2 * b0 + c;
  c = Math.floor(t / TWO16); const d2 = t - c * TWO16;
  t = a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0 + c;
  c = Math.floor(t / TWO16); const d3 = t - c * TWO16;
  t = a1 * b3 + a2 * b2 + a3 * b1 + c;
  c = Math.floor(t / TWO16); const d4 = t - c * TWO16;
  t = a2 * b3 + a3 * b2 + c;
  c = Math.floor(t / TWO16); const d5 = t - c * TWO16;
  t = a3 * b3 + c;
  c = Math.floor(t / TWO16); const d6 = t - c * TWO16;
  W[0] = d0 | (d1 << 16);
  W[1] = d2 | (d3 << 16);
  W[2] = d4 | (d5 << 16);
  W[3] = d6 | (c << 16);
}

/** High 32 bits of the unsigned product of two uint32 values (as a uint32). */
export function mulHiU32(a: number, b: number): number {
  const p = a * b;
  // Below 2^53 the double product is exact (a factor below 2^21: constants, indices, small counts).
  if (p < 9007199254740992) return (p / TWO32) >>> 0;
  const a0 = a & 0xffff, a1 = a >>> 16, b0 = b & 0xffff, b1 = b >>> 16;
  const p01 = a0 * b1, p10 = a1 * b0;
  const mid = ((a0 * b0) >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  return (a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) >>> 0;
}

/**
 * Low 64 bits of a 64x64 product (the same signed or unsigned): the low half is returned, the high half left
 * in W[1]. The 2- and 3-operand imul need no more than this and imul64Overflows.
 */
export function mul64Lo(aLo: number, aHi: number, bLo: number, bHi: number): number {
  W[1] = mulLoHi64(aLo, aHi, bLo, bHi);
  return Math.imul(aLo, bLo);
}

/** Bits 32..63 of a 64x64 product (the same signed or unsigned): what imul keeps when its flags are dead. */
export function mulLoHi64(aLo: number, aHi: number, bLo: number, bHi: number): number {
  return (mulHiU32(aLo >>> 0, bLo >>> 0) + Math.imul(aLo, bHi) + Math.imul(aHi, bLo)) | 0;
}

const TWO62 = 4611686018427387904, TWO65 = 36893488147419103232;

/** True when the signed product of two 64-bit values does not fit in 64 bits (imul's CF/OF); clobbers W. */
export function imul64Overflows(aLo: number, aHi: number, bLo: number, bHi: number): boolean {
  // The product of the rounded values is within a relative 2^-51 of the exact one: only products near
  // 2^63 in magnitude need the exact 128-bit product.
  const p = (aHi * TWO32 + (aLo >>> 0)) * (bHi * TWO32 + (bLo >>> 0));
  if (p < TWO62 && p > -TWO62) return false;
  if (p >= TWO65 || p <= -TWO65) return true;
  mulS64(aLo, aHi, bLo, bHi);
  const s = W[1] >> 31;
  return W[2] !== s || W[3] !== s;
}

/** Signed 64x64 -> 128 product into W (unsigned product corrected by the operands' signs). */
export function mulS64(aLo: number, aHi: number, bLo: number, bHi: number): void {
  mulU64(aLo, aHi, bLo, bHi);
  // high -= (a < 0 ? b : 0) + (b < 0 ? a : 0), modulo 2^64
  if (aHi < 0) sub64hi(bLo, bHi);
  if (bHi < 0) sub64hi(aLo, aHi);
}

function sub64hi(lo: number, hi: number): void {
  const l = (W[2] >>> 0) - (lo >>> 0);
  W[2] = l | 0;
  W[3] = (W[3] - hi - (l < 0 ? 1 : 0)) | 0;
}

/** Unsigned 32x32 -> 64: low half returned (and in W[0]), high half in W[1]. */
export function mulU32(a: number, b: number): number {
  const ua = a >>> 0, ub = b >>> 0;
  const p0 = (ua & 0xffff) * ub; // < 2^48
  const p1 = (ua >>> 16) * ub; // < 2^48
  const mid = p1 + Math.floor(p0 / TWO16); // < 2^49
  const lo = Math.imul(a, b);
  W[0] = lo;
  W[1] = Math.floor(mid / TWO16) | 0;
  return lo;
}

/** Signed 32x32 -> 64: low half returned (and in W[0]), high half in W[1]. */
export function mulS32(a: number, b: number): number {
  const lo = mulU32(a, b);
  let hi = W[1];
  if (a < 0) hi = (hi - b) | 0;
  if (b < 0) hi = (hi - a) | 0;
  W[1] = hi;
  return lo;
}

/**
 * Unsigned (nHi:nLo, 128 bits as four words n3..n0) / (dHi:dLo). Returns false when the divisor is zero or the
 * quotient does not fit in 64 bits (#DE); otherwise quotient in W[0..1], remainder in W[2..3].
 */
export function divU128(n0: number, n1: number, n2: number, n3: number, dLo: number, dHi: number): boolean {
  if ((dLo | dHi) === 0) return false;
  const uh3 = n3 >>> 0, udh = dHi >>> 0;
  // The quotient fits iff the high 64 bits of the dividend are below the divisor.
  if (uh3 > udh || (uh3 === udh && (n2 >>> 0) >= (dLo >>> 0))) return false;
  if (dHi === 0) {
    // 32-bit divisor: schoolbook over 16-bit digits; partial remainders stay below 2^48.
    const d = dLo >>> 0;
    let r = n2 >>> 0; // < d because n3 = 0 here
    let t = r * TWO16 + (n1 >>> 16); let q3 = Math.floor(t / d); r = t - q3 * d;
    t = r * TWO16 + (n1 & 0xffff); let q2 = Math.floor(t / d); r = t - q2 * d;
    t = r * TWO16 + (n0 >>> 16); const q1 = Math.floor(t / d); r = t - q1 * d;
    t = r * TWO16 + (n0 & 0xffff); const q0 = Math.floor(t / d); r = t - q0 * d;
    q3 &= 0xffff; q2 &= 0xffff;
    W[0] = q0 | (q1 << 16);
    W[1] = q2 | (q3 << 16);
    W[2] = r | 0;
    W[3] = 0;
    return true;
  }
  if (n3 === 0 && n2 === 0 && n1 >>> 0 < 0x100000 && udh < 0x100000) {
    // Both below 2^52: doubles are exact.
    const a = (n1 >>> 0) * TWO32 + (n0 >>> 0), b = udh * TWO32 + (dLo >>> 0);
    const q = Math.floor(a / b);
    let r = a - q * b, qq = q;
    if (r < 0) { qq--; r += b; } else if (r >= b) { qq++; r -= b; }
    W[0] = qq | 0; W[1] = 0; // q < 2^32 since b >= 2^32
    W[2] = r | 0; W[3] = Math.floor(r / TWO32) | 0;
    return true;
  }
  // Restoring division, one quotient bit per step: remainder (rH:rL, at most 65 bits) shifts in the dividend's
  // low 64 bits from the top.
  let rL = n2 >>> 0, rH = n3 >>> 0;
  let qL = n0 >>> 0, qH = n1 >>> 0; // shifted out at the top while quotient bits enter at the bottom
  const dl = dLo >>> 0;
  for (let k = 0; k < 64; k++) {
    const top = rH >>> 31; // bit 64 of the shifted remainder
    rH = ((rH << 1) | (rL >>> 31)) >>> 0;
    rL = ((rL << 1) | (qH >>> 31)) >>> 0;
    qH = ((qH << 1) | (qL >>> 31)) >>> 0;
    qL = (qL << 1) >>> 0;
    if (top || rH > udh || (rH === udh && rL >= dl)) {
      const l = rL - dl;
      rL = l >>> 0;
      rH = (rH - udh - (l < 0 ? 1 : 0)) >>> 0;
      qL |= 1;
    }
  }
  W[0] = qL | 0; W[1] = qH | 0; W[2] = rL | 0; W[3] = rH | 0;
  return true;
}

/**
 * Signed 128/64 division (truncating, remainder takes the dividend's sign). Returns false on #DE (zero divisor
 * or a quotient outside [-2^63, 2^63-1]).
 */
export function divS128(n0: number, n1: number, n2: number, n3: number, dLo: number, dHi: number): boolean {
  const nNeg = n3 < 0, dNeg = dHi < 0;
  if (nNeg) {
    // two's complement of the 128-bit dividend
    n0 = ~n0; n1 = ~n1; n2 = ~n2; n3 = ~n3;
    let c = (n0 >>> 0) + 1; n0 = c | 0; c = c > 0xffffffff ? 1 : 0;
    if (c) { c = (n1 >>> 0) + 1; n1 = c | 0; c = c > 0xffffffff ? 1 : 0; }
    if (c) { c = (n2 >>> 0) + 1; n2 = c | 0; c = c > 0xffffffff ? 1 : 0; }
    if (c) n3 = (n3 + 1) | 0;
  }
  if (dNeg) {
    dLo = -dLo | 0;
    dHi = (~dHi + (dLo === 0 ? 1 : 0)) | 0;
  }
  if (!divU128(n0, n1, n2, n3, dLo, dHi)) return false;
  let qL = W[0], qH = W[1];
  const qNeg = nNeg !== dNeg;
  // Magnitude limit: 2^63 for a negative quotient, 2^63-1 for a positive one.
  if (qH < 0 && !(qNeg && qH === -0x80000000 && qL === 0)) return false;
  if (qNeg) { qL = -qL | 0; qH = (~qH + (qL === 0 ? 1 : 0)) | 0; }
  W[0] = qL; W[1] = qH;
  if (nNeg) {
    const rL = -W[2] | 0;
    W[3] = (~W[3] + (rL === 0 ? 1 : 0)) | 0;
    W[2] = rL;
  }
  return true;
}
