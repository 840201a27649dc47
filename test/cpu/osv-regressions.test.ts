// Instruction bugs found by booting a real OSv kernel, each pinned by the case that exposed it.
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

describe('near call with operand-size prefixes in 64-bit mode', () => {
  it('66 66 48 e8 rel32 (gcc: call __tls_get_addr) pushes an 8-byte return address', () => {
    const input = blob(0n, 0n);
    const dv = new DataView(input.buffer);
    dv.setBigUint64(4 * 8, 0x100000800n, true); // rsp inside the data page
    const out = runEmulated(input, Uint8Array.from([0x66, 0x66, 0x48, 0xe8, 0x10, 0, 0, 0]));
    const o = new DataView(out.buffer);
    expect(o.getBigUint64(4 * 8, true).toString(16)).toBe('1000007f8');
    expect(o.getBigUint64(672 + 0x7f8, true).toString(16)).toBe('200000008'); // return address
    expect(o.getBigUint64(136, true).toString(16)).toBe('200000019'); // target 0x200000018, then the int3 there
  });
});
