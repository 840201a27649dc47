// When a page starts holding decoded code, every TLB write shortcut to it must go (Mmu.dropWritesTo), so that
// the next write takes the slow path and drops the stale decodes; shortcuts to other pages stay.
import { describe, expect, it } from 'vitest';
import { Cpu } from '../../src/cpu/cpu.js';
import { TLB_SIZE } from '../../src/cpu/mmu.js';
import { PhysMem } from '../../src/cpu/physmem.js';

const slot = (lin: number): number => (lin >>> 12) & (TLB_SIZE - 1);

describe('Mmu.dropWritesTo', () => {
  it('drops the write shortcuts of that physical page only (paging off: identity)', () => {
    const cpu = new Cpu(new PhysMem(1 << 24));
    const mmu = cpu.mmu;
    mmu.write8(0x5123, 1);
    mmu.write8(0x6456, 2);
    expect(mmu.wTag[slot(0x5000)]).toBe(0x5000);
    expect(mmu.wTag[slot(0x6000)]).toBe(0x6000);
    mmu.dropWritesTo(0x5000);
    expect(mmu.wTag[slot(0x5000)]).toBeNaN();
    expect(mmu.wTag[slot(0x6000)]).toBe(0x6000);
    // The next write still lands and refills the slot.
    mmu.write8(0x5124, 3);
    expect(cpu.mem.dv.getUint8(0x5124)).toBe(3);
    expect(mmu.wTag[slot(0x5000)]).toBe(0x5000);
  });

  it('drops every slot aliasing the page (several linear pages mapped to one physical page), first and last included', () => {
    const mmu = new Cpu(new PhysMem(1 << 24)).mmu;
    const page = 0x9000, other = 0xa000;
    const aliases = [0, 7, 1234, TLB_SIZE - 1];
    for (const j of aliases) { mmu.wTag[j] = 0x100000 * (j + 1); mmu.wOff[j] = page; }
    mmu.wTag[99] = 0x7000; mmu.wOff[99] = other;
    mmu.wTag[100] = 0x8000; mmu.wOff[100] = page + 1; // not a page base: never a match
    mmu.dropWritesTo(page);
    for (const j of aliases) expect(mmu.wTag[j]).toBeNaN();
    expect(mmu.wTag[99]).toBe(0x7000);
    expect(mmu.wTag[100]).toBe(0x8000);
  });
});
