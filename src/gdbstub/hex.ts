// Hex helpers for the gdb Remote Serial Protocol. Packet bodies are handled as 'latin1'
// strings (one char per byte), so every helper here is binary-safe.

const HEX = '0123456789abcdef';

/** Value of one hex digit, or -1 if `c` is not one. */
export function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

export function isHex(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (hexDigit(s.charCodeAt(i)) < 0) return false;
  return true;
}

export function hex8(n: number): string {
  return HEX[(n >> 4) & 15] + HEX[n & 15];
}

export function bytesToHex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += HEX[b[i] >> 4] + HEX[b[i] & 15];
  return s;
}

/** Decodes an even-length hex string; null if malformed. */
export function hexToBytes(s: string): Uint8Array | null {
  if (s.length % 2 !== 0) return null;
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) {
    const h = hexDigit(s.charCodeAt(2 * i));
    const l = hexDigit(s.charCodeAt(2 * i + 1));
    if (h < 0 || l < 0) return null;
    out[i] = (h << 4) | l;
  }
  return out;
}

export function stringToHex(s: string): string {
  return bytesToHex(Buffer.from(s, 'utf8'));
}

export function hexToString(s: string): string | null {
  const b = hexToBytes(s);
  return b === null ? null : Buffer.from(b).toString('utf8');
}

/** Parses a 64-bit address (at most 16 hex digits); null if malformed. */
export function parseAddress(s: string): bigint | null {
  if (!isHex(s) || s.length > 16) return null;
  return BigInt('0x' + s);
}

/**
 * Parses a hex length/offset/number; null if malformed or above `max` — an absurd length
 * must become an error reply, not an allocation.
 */
export function parseHexNumber(s: string, max = 0x7fffffff): number | null {
  if (!isHex(s) || s.length > 8) return null;
  const n = parseInt(s, 16);
  return n > max ? null : n;
}

/** Formats a 64-bit address the way gdb prints them in stop replies (no leading zeros). */
export function addressToHex(a: bigint): string {
  return (a & 0xffffffffffffffffn).toString(16);
}
