// The debugger's view of guest memory: the same translation as the MMU, without its side effects.
import { describe, expect, it } from 'vitest';
import { Cpu } from '../../src/cpu/cpu.js';
import { CPU_FAULT } from '../../src/cpu/exceptions.js';
import { ACC_READ } from '../../src/cpu/mmu.js';
import { PhysMem } from '../../src/cpu/physmem.js';
import { CR0_PG, EFER_LMA, EFER_LME, EFER_NXE } from '../../src/cpu/regs.js';
import { peekTranslate, readVirtual, writeVirtual } from '../../src/machine/debug-mem.js';

const PML4 = 0x1000, PDPT = 0x2000, PD = 0x3000, PT = 0x4000;
const HIGH = -0x80000000; // 0xffffffff80000000

/** 64-bit paging: 0x400000-0x401fff -> 0x10000 (4 KiB pages), 2 MiB page at 0x600000 -> 0x200000, and HIGH -> 0x20000. */
function pagedCpu(): Cpu {
  const mem = new PhysMem(4 << 20);
  const dv = mem.dv;
  const set = (a: number, v: number, hi = 0) => { dv.setUint32(a, v, true); dv.setUint32(a + 4, hi, true); };
  set(PML4, PDPT | 3);
  set(PDPT, PD | 3);
  set(PD + 2 * 8, PT | 3); // 0x400000
  set(PT, 0x10000 | 3);
  set(PT + 8, 0x11000 | 1); // read-only
  set(PD + 3 * 8, 0x200000 | 0x83); // 2 MiB at 0x600000
  // 0xffffffff80000000: PML4[511] -> PDPT2[510] -> PD2[0] -> PT2[0]
  const PDPT2 = 0x5000, PD2 = 0x6000, PT2 = 0x7000;
  set(PML4 + 511 * 8, PDPT2 | 3);
  set(PDPT2 + 510 * 8, PD2 | 3);
  set(PD2, PT2 | 3);
  set(PT2, 0x20000 | 3, 0x80000000); // NX
  const cpu = new Cpu(mem);
  cpu.cr3 = PML4;
  cpu.cr4 = 0x20;
  cpu.efer = EFER_LME | EFER_LMA | EFER_NXE;
  cpu.cr0 = 0x80000011 | CR0_PG;
  cpu.segAttr[1] = 0x209b; // CS.L
  cpu.updateMode();
  return cpu;
}

describe('peekTranslate / readVirtual / writeVirtual', () => {
  it('translates as the MMU does, without accessed bits, TLB entries or faults', () => {
    const cpu = pagedCpu();
    const before = cpu.mem.u8.slice(0, 0x8000);
    expect(peekTranslate(cpu, 0x400123)).toBe(0x10123);
    expect(peekTranslate(cpu, 0x401ffe)).toBe(0x11ffe);
    expect(peekTranslate(cpu, 0x6abcde)).toBe(0x2abcde);
    expect(peekTranslate(cpu, HIGH + 0x10)).toBe(0x20010);
    expect(peekTranslate(cpu, 0x402000)).toBe(-1);
    expect(peekTranslate(cpu, 0x800000000000)).toBe(-1); // not canonical
    expect(cpu.mem.u8.slice(0, 0x8000)).toEqual(before); // no A/D bits written
    expect(Number.isNaN(cpu.mmu.rTag[0x400])).toBe(true);
    for (const lin of [0x400123, 0x401ffe, 0x6abcde, HIGH + 0x10]) expect(cpu.mmu.translate(lin, ACC_READ)).toBe(peekTranslate(cpu, lin));
    expect(() => cpu.mmu.translate(0x402000, ACC_READ)).toThrow();
    try { cpu.mmu.translate(0x402000, ACC_READ); } catch (e) { expect(e).toBe(CPU_FAULT); }
  });

  it('reads up to the first unmapped page, writes all or nothing (ignoring write protection)', () => {
    const cpu = pagedCpu();
    cpu.mem.u8.set([1, 2, 3, 4], 0x11ffc);
    expect(Array.from(readVirtual(cpu, 0x401ffc, 16)!)).toEqual([1, 2, 3, 4]);
    expect(readVirtual(cpu, 0x402000, 4)).toBeNull();
    expect(writeVirtual(cpu, 0x401ffe, Uint8Array.of(9, 9, 9, 9))).toBe(false);
    expect(cpu.mem.u8[0x11ffe]).toBe(3);
    expect(writeVirtual(cpu, 0x400ffe, Uint8Array.of(7, 7, 8, 8))).toBe(true); // crosses into the read-only page
    expect(Array.from(cpu.mem.u8.subarray(0x10ffe, 0x11000))).toEqual([7, 7]);
    expect(Array.from(cpu.mem.u8.subarray(0x11000, 0x11002))).toEqual([8, 8]);
    expect(Array.from(readVirtual(cpu, HIGH, 2)!)).toEqual([0, 0]);
  });

  it('uses physical addresses when paging is off and never reads devices', () => {
    const cpu = new Cpu(new PhysMem(1 << 20));
    cpu.mem.u8[0x1234] = 0x5a;
    expect(readVirtual(cpu, 0x1234, 1)![0]).toBe(0x5a);
    expect(readVirtual(cpu, 0xffffe, 8)!.length).toBe(2);
    expect(readVirtual(cpu, 0xfee00000, 4)).toBeNull();
    expect(writeVirtual(cpu, 0xfffff, Uint8Array.of(1, 2))).toBe(false);
  });
});
