// 64-bit effective addresses add modulo 2^64: a huge index times its scale can wrap back to a valid address
// (found by the compiler's random blocks against the host; osvemu used to raise #GP there).
import { beforeEach, describe, expect, it } from 'vitest';
import { wrapEa64 } from '../../src/cpu/operands.js';
import { DATA, RAX, RCX, RSI, TestMachine } from './machine.js';

let seed = 99;
function rnd32(): number {
  seed = (Math.imul(seed, 1103515245) + 12345) | 0;
  return seed;
}
const M64 = (1n << 64n) - 1n;
const big = (hi: number, lo: number) => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);

describe('64-bit effective-address wrap', () => {
  let m: TestMachine;
  beforeEach(() => { m = new TestMachine(); });

  it('wrapEa64 equals the sum modulo 2^64 whenever the result is canonical', () => {
    for (let n = 0; n < 20000; n++) {
      const scale = [1, 2, 4, 8][n & 3]!;
      const disp = rnd32(), xl = rnd32();
      // Pick the base so that the wrapped sum lands near zero, then perturb: every case is canonical.
      const xh = rnd32();
      const want = BigInt(rnd32() & 0x7fff) << 32n | BigInt(rnd32() >>> 0);
      const partial = (BigInt(disp) + big(xh, xl) * BigInt(scale)) & M64;
      const base = (want - partial) & M64;
      const bh = Number(BigInt.asIntN(32, base >> 32n)), blo = Number(BigInt.asIntN(32, base & 0xffffffffn));
      const got = wrapEa64(disp, bh, blo, xh, xl, scale, 0);
      expect(BigInt(got) & M64).toBe(want);
    }
  });

  it('a load through (%rsi,%rcx,4) with rcx = 0x7ffffffffffffffe reads rsi - 8', () => {
    m.mem.dv.setUint32(DATA, 0x12345678, true);
    m.setReg(RSI, DATA + 8); m.setReg(RCX, 0x7ffffffffffffffen);
    expect(m.run([0x8b, 0x04, 0x8e, 0xcc])).toBe(3); // mov (%rsi,%rcx,4),%eax; int3
    expect(m.reg(RAX)).toBe(0x12345678n);
  });

  it('a store through 0x10(%rsi,%rcx,8) with rcx = 0x1fffffffffffffff writes rsi + 8', () => {
    m.setReg(RSI, DATA); m.setReg(RCX, 0x1fffffffffffffffn); m.setReg(RAX, 0xabcdef01);
    expect(m.run([0x89, 0x44, 0xce, 0x10, 0xcc])).toBe(3); // mov %eax,0x10(%rsi,%rcx,8); int3
    expect(m.mem.dv.getUint32(DATA + 8, true)).toBe(0xabcdef01);
  });
});
