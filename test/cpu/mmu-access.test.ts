// The MMU's data access paths against plain byte arithmetic: aligned TLB hits go through typed-array views,
// unaligned ones inside a page through the DataView, page-crossing ones through the slow path, and RAM
// beyond the views' reach (a buffer above 4 GiB) through the DataView only. Every size at every offset near
// both ends of a page, each access twice (the first misses the TLB, the second hits).
import { describe, expect, it } from 'vitest';
import { Mmu } from '../../src/cpu/mmu.js';
import { PhysMem } from '../../src/cpu/physmem.js';

const PAGE = 0x3000;
const SIZES = [1, 2, 4, 8] as const;
const OFFSETS = [...Array(17).keys(), ...Array.from({ length: 16 }, (_, k) => 4080 + k)];

let seed = 7;
function rnd32(): number {
  seed = (Math.imul(seed, 1103515245) + 12345) | 0;
  return seed;
}

function machine(size: number): { mem: PhysMem; mmu: Mmu } {
  const mem = new PhysMem(size);
  const mmu = new Mmu(mem, { excVector: 0, excError: 0, excAddr: 0 });
  for (let a = PAGE - 16; a < PAGE + 8192; a++) mem.u8[a] = rnd32() & 0xff;
  return { mem, mmu };
}

/** Little-endian value of `size` bytes at `a` as the MMU returns it: low half (8/16 zero-extended, 32 as int32), high half. */
function expected(mem: PhysMem, a: number, size: number): [number, number] {
  let lo = 0, hi = 0;
  for (let k = Math.min(size, 4) - 1; k >= 0; k--) lo = (lo << 8) | mem.u8[a + k]!;
  for (let k = size - 1; k >= 4; k--) hi = (hi << 8) | mem.u8[a + k]!;
  return [size === 4 || size === 8 ? lo | 0 : lo >>> 0, hi | 0];
}

function read(mmu: Mmu, a: number, size: number, rmw: boolean): [number, number] {
  mmu.hi = 0;
  let lo: number;
  if (rmw) lo = size === 1 ? mmu.rmw8(a) : size === 2 ? mmu.rmw16(a) : size === 4 ? mmu.rmw32(a) : mmu.rmw64(a);
  else lo = size === 1 ? mmu.read8(a) : size === 2 ? mmu.read16(a) : size === 4 ? mmu.read32(a) : mmu.read64(a);
  return [lo, size === 8 ? mmu.hi : 0];
}

function write(mmu: Mmu, a: number, size: number, lo: number, hi: number): void {
  if (size === 1) mmu.write8(a, lo);
  else if (size === 2) mmu.write16(a, lo);
  else if (size === 4) mmu.write32(a, lo);
  else mmu.write64(a, lo, hi);
}

function exercise(size: number): void {
  const { mem, mmu } = machine(size);
  for (const s of SIZES) {
    for (const off of OFFSETS) {
      const a = PAGE + off;
      for (const rmw of [false, true]) {
        for (let pass = 0; pass < 2; pass++) expect(read(mmu, a, s, rmw), `read${s * 8} at +0x${off.toString(16)}`).toEqual(expected(mem, a, s));
      }
      for (let pass = 0; pass < 2; pass++) {
        // The bytes around the access: only the written ones may change.
        const want = [...mem.u8.subarray(a - 8, a + 16)];
        const lo = rnd32(), hi = rnd32();
        write(mmu, a, s, lo, hi);
        for (let k = 0; k < s; k++) want[8 + k] = ((k < 4 ? lo : hi) >>> (8 * (k & 3))) & 0xff;
        expect([...mem.u8.subarray(a - 8, a + 16)], `write${s * 8} at +0x${off.toString(16)}`).toEqual(want);
      }
    }
  }
}

describe('MMU data accesses', () => {
  it('every size at every offset near the page ends: typed-array, DataView and slow paths agree with the bytes', () => {
    exercise(1 << 20);
  });

  it('the same with RAM beyond 4 GiB (the DataView serves every hit)', () => {
    exercise(2 ** 32 + (1 << 20));
  });
});
