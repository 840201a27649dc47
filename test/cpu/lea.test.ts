// lea computes base + index*scale + disp modulo 2^64 on arbitrary register values: compilers use it for
// plain arithmetic (x*9, hash mixing), so it must be exact where a double sum would round.
import { describe, expect, it } from 'vitest';
import { runEmulated } from '../isa/emu.js';

const M64 = (1n << 64n) - 1n;

function blob(rsi: bigint, rcx: bigint): Uint8Array {
  const b = new Uint8Array(4768);
  const dv = new DataView(b.buffer);
  dv.setBigUint64(6 * 8, rsi, true);
  dv.setBigUint64(1 * 8, rcx, true);
  dv.setBigUint64(136, 0x200000000n, true);
  dv.setUint32(128, 2, true);
  return b;
}

describe('lea on full 64-bit values', () => {
  const cases: [bigint, bigint][] = [
    [0x7edcba9812345679n, 0x3fffffff9abcdef1n], [0xffffffffffffffffn, 0xffffffffffffffffn],
    [0x8000000000000001n, 0x7fffffffffffffffn], [0x0123456789abcdefn, 0xfedcba9876543210n],
  ];
  it('lea 0x7fffffff(%rsi,%rcx,8),%rax matches 64-bit modular arithmetic', () => {
    // 48 8d 84 ce ff ff ff 7f = lea 0x7fffffff(%rsi,%rcx,8),%rax
    const code = Uint8Array.from([0x48, 0x8d, 0x84, 0xce, 0xff, 0xff, 0xff, 0x7f]);
    for (const [rsi, rcx] of cases) {
      const out = runEmulated(blob(rsi, rcx), code);
      const rax = new DataView(out.buffer).getBigUint64(0, true);
      expect(rax.toString(16)).toBe(((rsi + rcx * 8n + 0x7fffffffn) & M64).toString(16));
    }
  });
  it('lea -8(%rsi,%rcx,2),%rax with a negative displacement', () => {
    const code = Uint8Array.from([0x48, 0x8d, 0x44, 0x4e, 0xf8]);
    for (const [rsi, rcx] of cases) {
      const out = runEmulated(blob(rsi, rcx), code);
      const rax = new DataView(out.buffer).getBigUint64(0, true);
      expect(rax.toString(16)).toBe(((rsi + rcx * 2n - 8n) & M64).toString(16));
    }
  });
});
