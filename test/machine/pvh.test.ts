import { beforeAll, describe, expect, it } from 'vitest';
import { ElfError, ElfFile, PT_NOTE } from '../../src/machine/elf.js';
import {
  HVM_START_MAGIC,
  findPvhEntry,
  loadKernel,
  preparePvhBoot,
  pvhEntryState,
  writeBootInfo,
} from '../../src/machine/pvh.js';
import {
  CMDLINE_MAX,
  E820_RAM,
  E820_RESERVED,
  KERNEL_OWNED_LOW,
  LOW_RAM_END,
  checkRamSize,
  memoryMap,
  ramBlocks,
  ramExtent,
} from '../../src/machine/memmap.js';
import { HAVE_GCC, build32, buildKernel, patched } from './fixtures.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

function loadError(elf: Uint8Array, ramSize = 8 * MiB): string {
  const ram = new Uint8Array(ramSize);
  try {
    loadKernel(elf, ram, ramSize);
  } catch (e) {
    expect(e).toBeInstanceOf(ElfError);
    expect((e as Error).message).not.toContain('\n');
    return (e as Error).message;
  }
  throw new Error('expected loadKernel to fail');
}

describe('memory layout', () => {
  it('splits RAM around the PCI hole as QEMU pc does: all below 4 GiB under 3.5 GiB, else 3 GiB + the rest at 4 GiB', () => {
    expect(ramBlocks(256 * MiB)).toEqual([{ guestPhys: 0, size: 256 * MiB }]);
    expect(ramBlocks(3 * GiB)).toEqual([{ guestPhys: 0, size: 3 * GiB }]);
    expect(ramBlocks(0xe0000000 - 4096)).toEqual([{ guestPhys: 0, size: 0xe0000000 - 4096 }]);
    expect(ramBlocks(0xe0000000)).toEqual([{ guestPhys: 0, size: 3 * GiB }, { guestPhys: 4 * GiB, size: GiB / 2 }]);
    expect(ramBlocks(4 * GiB)).toEqual([{ guestPhys: 0, size: 3 * GiB }, { guestPhys: 4 * GiB, size: GiB }]);
    expect(ramBlocks(8 * GiB)).toEqual([{ guestPhys: 0, size: 3 * GiB }, { guestPhys: 4 * GiB, size: 5 * GiB }]);
    expect(ramExtent(2 * GiB)).toEqual({ top: 2 * GiB });
    expect(ramExtent(8 * GiB)).toEqual({ top: 9 * GiB, hole: { start: 3 * GiB, end: 4 * GiB } });
  });

  it('gives QEMU pc\'s e820 RAM ranges for -m 2G, 3.25G, 4G and 8G', () => {
    const ram = (size: number) => memoryMap(size).filter((e) => e.type === E820_RAM).map((e) => [e.addr, e.addr + e.size]);
    expect(ram(2 * GiB)).toEqual([[0, 0x9fc00], [0x100000, 0x80000000]]);
    expect(ram(3 * GiB + GiB / 4)).toEqual([[0, 0x9fc00], [0x100000, 0xd0000000]]);
    expect(ram(4 * GiB)).toEqual([[0, 0x9fc00], [0x100000, 0xc0000000], [0x100000000, 0x140000000]]);
    expect(ram(8 * GiB)).toEqual([[0, 0x9fc00], [0x100000, 0xc0000000], [0x100000000, 0x240000000]]);
  });

  it('builds a sorted, non-overlapping map with the low hole and the APIC/HPET ranges reserved', () => {
    for (const size of [2 * MiB, 256 * MiB, 3 * GiB, 0xd0000000, 6 * GiB]) {
      const m = memoryMap(size);
      for (let i = 1; i < m.length; i++) expect(m[i]!.addr).toBeGreaterThanOrEqual(m[i - 1]!.addr + m[i - 1]!.size);
      const ramTotal = m.filter((e) => e.type === E820_RAM).reduce((s, e) => s + e.size, 0);
      expect(ramTotal).toBe(size - (0x100000 - LOW_RAM_END));
      expect(m[0]).toEqual({ addr: 0, size: 0x9fc00, type: E820_RAM });
      expect(m[1]).toEqual({ addr: 0x9fc00, size: 0x100000 - 0x9fc00, type: E820_RESERVED });
      for (const base of [0xfec00000, 0xfed00000, 0xfee00000]) {
        expect(m.find((e) => e.addr === base)?.type).toBe(E820_RESERVED);
      }
      expect(m.every((e) => e.type !== E820_RAM || e.addr + e.size <= 0xe0000000 || e.addr >= 4 * GiB)).toBe(true);
    }
    expect(memoryMap(6 * GiB).at(-1)).toEqual({ addr: 4 * GiB, size: 3 * GiB, type: E820_RAM });
  });

  it('rejects RAM sizes the layout cannot use', () => {
    expect(() => checkRamSize(MiB)).toThrow('RAM size 1048576 is too small: osvemu needs at least 2097152 bytes');
    expect(() => checkRamSize(2 * MiB + 1)).toThrow('is not a multiple of 4096');
    expect(() => checkRamSize(2 ** 39)).toThrow('too large: at most 548682072064 bytes fit below the 39-bit physical address limit');
    expect(() => checkRamSize(2 ** 39 - GiB)).not.toThrow();
  });
});

describe('PVH boot data', () => {
  const dv = (ram: Uint8Array): DataView => new DataView(ram.buffer);

  it('writes hvm_start_info, the memory map and the command line', () => {
    const ram = new Uint8Array(8 * MiB);
    const info = writeBootInfo(ram, { ramSize: 8 * MiB, cmdline: '--verbose /hello', rsdpAddr: 0xe0000 });
    const v = dv(ram);
    const s = info.startInfoAddr;
    expect(v.getUint32(s, true)).toBe(HVM_START_MAGIC);
    expect(v.getUint32(s + 4, true)).toBe(1);
    expect(v.getUint32(s + 0xc, true)).toBe(0); // nr_modules
    expect(v.getBigUint64(s + 0x10, true)).toBe(0n);
    const cmd = Number(v.getBigUint64(s + 0x18, true));
    expect(new TextDecoder().decode(ram.subarray(cmd, ram.indexOf(0, cmd)))).toBe('--verbose /hello');
    expect(v.getBigUint64(s + 0x20, true)).toBe(0xe0000n);
    const mm = Number(v.getBigUint64(s + 0x28, true));
    const n = v.getUint32(s + 0x30, true);
    const entries = Array.from({ length: n }, (_, i) => ({
      addr: Number(v.getBigUint64(mm + 24 * i, true)),
      size: Number(v.getBigUint64(mm + 24 * i + 8, true)),
      type: v.getUint32(mm + 24 * i + 16, true),
    }));
    expect(entries).toEqual(memoryMap(8 * MiB));
    // Nothing where the kernel writes before it reads this, and all below conventional RAM's end.
    for (const [a, len] of [[s, 0x38], [mm, 24 * n], [cmd, 17]] as const) {
      expect(a).toBeGreaterThan(0xfff);
      expect(a + len).toBeLessThanOrEqual(LOW_RAM_END);
      for (const [x, y] of KERNEL_OWNED_LOW) expect(a + len <= x || a >= y).toBe(true);
    }
    expect(pvhEntryState(0x32b01c, s)).toMatchObject({ eip: 0x32b01c, ebx: s, cr0: 1 });
  });

  it('puts a 4 GiB+ memory map entry in for large RAM', () => {
    const ram = new Uint8Array(8 * MiB);
    const info = writeBootInfo(ram, { ramSize: 5 * GiB, cmdline: '', rsdpAddr: 0 });
    expect(info.memmap.at(-1)).toEqual({ addr: 4 * GiB, size: 2 * GiB, type: E820_RAM });
    expect(dv(ram).getBigUint64(info.memmapAddr + 24 * (info.memmap.length - 1), true)).toBe(BigInt(4 * GiB));
  });

  it('rejects command lines it cannot pass', () => {
    const ram = new Uint8Array(8 * MiB);
    expect(() => writeBootInfo(ram, { ramSize: 8 * MiB, cmdline: 'a\0b', rsdpAddr: 0 })).toThrow('kernel command line contains a NUL character');
    expect(() => writeBootInfo(ram, { ramSize: 8 * MiB, cmdline: 'x'.repeat(CMDLINE_MAX + 1), rsdpAddr: 0 })).toThrow(
      `kernel command line is ${CMDLINE_MAX + 1} bytes, the most is ${CMDLINE_MAX}`,
    );
    expect(() => writeBootInfo(ram, { ramSize: 8 * MiB, cmdline: 'x'.repeat(CMDLINE_MAX), rsdpAddr: 0 })).not.toThrow();
  });
});

describe.skipIf(!HAVE_GCC)('loading a PVH kernel built with gcc', () => {
  let kernel: Uint8Array;
  let elf: ElfFile;
  beforeAll(() => {
    kernel = buildKernel();
    elf = ElfFile.parse(kernel);
  });

  it('copies PT_LOAD to p_paddr, zeroes bss and finds the 32-bit entry', () => {
    const ram = new Uint8Array(8 * MiB).fill(0xaa);
    const k = loadKernel(kernel, ram, ram.length);
    const load = elf.programHeaders[0]!;
    expect(k.entry).toBe(elf.findSymbol('pvh_entry')!.value - 0x40000000);
    expect(k.loadedRanges).toEqual([{ start: 0x200000, end: 0x200000 + load.memsz, fileEnd: 0x200000 + load.filesz, segment: 0 }]);
    // The ELF header is readable at 0x200000 (OSv's premain parses it there).
    expect([...ram.subarray(0x200000, 0x200004)]).toEqual([0x7f, 0x45, 0x4c, 0x46]);
    expect(ram.subarray(0x200000, 0x200000 + load.filesz)).toEqual(kernel.subarray(0, load.filesz));
    const data = elf.findSymbol('data_mark')!.value - 0x40000000;
    expect(new TextDecoder().decode(ram.subarray(data, data + 8))).toBe('DATAMARK');
    expect(ram.subarray(0x200000 + load.filesz, 0x200000 + load.memsz).every((b) => b === 0)).toBe(true);
    expect(ram[0x200000 + load.memsz]).toBe(0xaa); // nothing past the segment
    expect(ram[0x1fffff]).toBe(0xaa);
    // The entry's first instruction: mov $0x12345678, %eax.
    expect([...ram.subarray(k.entry, k.entry + 5)]).toEqual([0xb8, 0x78, 0x56, 0x34, 0x12]);
  });

  it('accepts a 4-byte note value and loads at another physical address', () => {
    const k4 = buildKernel({ noteDesc: 4, paddr: 0x400000 });
    const ram = new Uint8Array(8 * MiB);
    const k = loadKernel(k4, ram, ram.length);
    expect(k.entry).toBe(ElfFile.parse(k4).findSymbol('pvh_entry')!.value - 0x40000000);
    expect(k.entry).toBeGreaterThan(0x400000);
    expect(ram[0x400000]).toBe(0x7f);
    expect(ram[0x200000]).toBe(0);
  });

  it('reports kernels it cannot boot, each with one line', () => {
    expect(loadError(buildKernel({ noteDesc: 0 }))).toBe('no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY): not a PVH-bootable kernel');
    expect(loadError(buildKernel({ noteOwner: 'Xem' }))).toBe('no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY): not a PVH-bootable kernel');
    expect(loadError(new TextEncoder().encode('#!/bin/sh\necho not a kernel\n'))).toBe('not an ELF file: bad magic');
    const o32 = build32() ?? patched(kernel.subarray(0, 64), (_, b) => (b[4] = 1));
    expect(loadError(o32)).toBe('32-bit ELF: osvemu runs x86-64 kernels');
    expect(loadError(kernel.subarray(0, 90))).toBe('truncated ELF: program header 0 ends past the file (offset 0x40, file size 90)');
    const memsz = elf.programHeaders[0]!.memsz;
    expect(loadError(buildKernel({ bss: 0x200000 }), 4 * MiB)).toBe(
      `kernel segment 0 (physical 0x200000-0x${(0x200000 + memsz + 0x200000 - 0x3000).toString(16)}) does not fit in RAM (4 MiB below the PCI hole): give the machine more memory`,
    );
    const noteSeg = elf.programHeaders.findIndex((p) => p.type === PT_NOTE);
    const twoLoads = patched(kernel, (dv) => dv.setUint32(64 + 56 * noteSeg, 1, true)); // PT_NOTE -> PT_LOAD
    expect(loadError(twoLoads)).toMatch(new RegExp(`^kernel segment ${noteSeg} \\(physical 0x2001[0-9a-f]+-0x[0-9a-f]+\\) overlaps kernel segment 0$`));
    expect(loadError(buildKernel({ paddr: 0x80000 }))).toMatch(/^kernel segment 0 \(physical 0x80000-0x[0-9a-f]+\) overlaps the firmware area below 1 MiB$/);
  });

  it('rejects a note pointing outside the loaded image, and an 8-byte value above 4 GiB', () => {
    const note = elf.programHeaders.find((p) => p.type === PT_NOTE)!;
    const descAt = note.offset + 12 + 4; // "Xen\0" padded to 4
    const outside = patched(kernel, (dv) => dv.setUint32(descAt, 0x300000, true));
    expect(loadError(outside)).toBe('PVH entry 0x300000 is not inside a loaded kernel segment');
    const high = patched(kernel, (dv) => dv.setUint32(descAt + 4, 1, true));
    expect(loadError(high)).toMatch(/^PVH entry note holds 0x1[0-9a-f]{8}, above 4 GiB$/);
  });

  it('leaves RAM untouched when a load fails', () => {
    const ram = new Uint8Array(4 * MiB).fill(0x55);
    expect(() => loadKernel(buildKernel({ bss: 0x200000 }), ram, ram.length)).toThrow(ElfError);
    expect(ram.every((b) => b === 0x55)).toBe(true);
  });

  it('findPvhEntry works on the parsed file too', () => {
    expect(findPvhEntry(elf)).toBe(elf.findSymbol('pvh_entry')!.value - 0x40000000);
  });

  it('prepares a whole PVH boot: kernel, ACPI, start info', () => {
    const ram = new Uint8Array(16 * MiB);
    const boot = preparePvhBoot({ elfBytes: kernel, ram, ramSize: ram.length, cmdline: '/hello', acpi: { cpus: 2 } });
    const v = new DataView(ram.buffer);
    const rsdp = Number(v.getBigUint64(boot.bootInfo.startInfoAddr + 0x20, true));
    expect(String.fromCharCode(...ram.subarray(rsdp, rsdp + 8))).toBe('RSD PTR ');
    expect(boot.entryState.eip).toBe(boot.kernel.entry);
    expect(boot.entryState.ebx).toBe(boot.bootInfo.startInfoAddr);
    // ACPI tables live in the reserved hole, away from the kernel and the boot data.
    for (const t of boot.acpi.tables) {
      expect(t.addr).toBeGreaterThanOrEqual(0xe0000);
      expect(t.addr + t.length).toBeLessThanOrEqual(0x100000);
    }
  });
});
