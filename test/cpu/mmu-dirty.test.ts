// A read that walks the page tables also gives writes their TLB entry when a write walk would change nothing:
// the page is writable in the current mode and its PTE is already dirty, and it holds no decoded code. Any
// other write still walks (and sets D), faults, or drops the page's decoded instructions.
import { describe, expect, it } from 'vitest';
import { CODE, DATA, TestMachine } from './machine.js';

const PT0 = 0x4000; // TestMachine's first page table: the PTE of linear page p is at PT0 + 8 * p
const D = 0x40, A = 0x20;

function setup(pteFlags: number): { m: TestMachine; walks: () => number } {
  const m = new TestMachine();
  m.mem.dv.setInt32(PT0 + 8 * (DATA >>> 12), DATA | pteFlags, true);
  m.cpu.mmu.flush();
  let n = 0;
  const mmu = m.cpu.mmu as unknown as { walk: (lin: number, acc: number) => number };
  const walk = mmu.walk.bind(m.cpu.mmu);
  mmu.walk = (lin, acc) => { n++; return walk(lin, acc); };
  return { m, walks: () => n };
}

const pte = (m: TestMachine) => m.mem.dv.getInt32(PT0 + 8 * (DATA >>> 12), true);

describe('write entries from reads', () => {
  it('a dirty writable page: the write after a read takes no walk', () => {
    const { m, walks } = setup(3 | D);
    m.cpu.mmu.read32(DATA);
    expect(walks()).toBe(1);
    m.cpu.mmu.write32(DATA + 8, 0x1234);
    expect(walks()).toBe(1);
    expect(m.mem.dv.getInt32(DATA + 8, true)).toBe(0x1234);
    expect(pte(m) & (A | D)).toBe(A | D);
  });

  it('a clean page: the write walks again and sets D', () => {
    const { m, walks } = setup(3);
    m.cpu.mmu.read32(DATA);
    expect(pte(m) & (A | D)).toBe(A);
    m.cpu.mmu.write32(DATA + 8, 0x1234);
    expect(walks()).toBe(2);
    expect(pte(m) & (A | D)).toBe(A | D);
  });

  it('a dirty read-only page (CR0.WP): the write after a read still faults', () => {
    const { m } = setup(1 | D);
    m.cpu.mmu.read32(DATA);
    expect(() => m.cpu.mmu.write32(DATA + 8, 0x1234)).toThrow();
    expect(m.cpu.excVector).toBe(14);
    expect(m.mem.dv.getInt32(DATA + 8, true)).toBe(0);
  });

  it('a dirty page holding decoded code: a write after a read still drops the decodes', () => {
    const m = new TestMachine();
    m.mem.dv.setInt32(PT0 + 8 * (CODE >>> 12), CODE | 3 | D, true);
    m.cpu.mmu.flush();
    // add eax, 1 (then int3), run once so that the page holds decoded code.
    expect(m.run([0x83, 0xc0, 0x01])).toBe(3);
    expect(m.cpu.r32[0]).toBe(1);
    const gen = m.cache.gen;
    m.cpu.mmu.read32(CODE);
    m.cpu.mmu.write8(CODE + 2, 0x05); // add eax, 5
    expect(m.cache.gen).not.toBe(gen);
    m.cpu.rip = CODE;
    expect(m.resume()).toBe(3);
    expect(m.cpu.r32[0]).toBe(6);
  });
});
