// PVH direct kernel boot, the way `qemu -kernel loader-stripped.elf` starts OSv: load each
// PT_LOAD at its physical address, find the 32-bit entry in the Xen PHYS32_ENTRY note, and
// leave an hvm_start_info (command line, RSDP, memory map) for the kernel to find in EBX.

import { ElfError, ElfFile, PT_LOAD } from './elf.js';
import {
  CMDLINE_ADDR,
  CMDLINE_MAX,
  HIGH_RAM_START,
  KERNEL_OWNED_LOW,
  MEMMAP_ADDR,
  MEMMAP_MAX_ENTRIES,
  START_INFO_ADDR,
  START_INFO_SIZE,
  memoryMap,
  ramBlocks,
  type MemoryRegion,
} from './memmap.js';
import { buildAcpiTables, type AcpiLayout, type AcpiOptions } from './acpi/index.js';

export const XEN_ELFNOTE_PHYS32_ENTRY = 18;
export const HVM_START_MAGIC = 0x336ec578;
export const HVM_START_VERSION = 1;
const MEMMAP_ENTRY_SIZE = 24;

const hex = (n: number): string => '0x' + n.toString(16);

/** The physical 32-bit PVH entry from the "Xen" note of type 18 (desc of 4 or 8 bytes). */
export function findPvhEntry(elf: ElfFile): number {
  const note = elf.notes().find((n) => n.name === 'Xen' && n.type === XEN_ELFNOTE_PHYS32_ENTRY);
  if (!note) throw new ElfError('no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY): not a PVH-bootable kernel');
  const d = note.desc;
  const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
  if (d.length === 4) return dv.getUint32(0, true);
  if (d.length === 8) {
    if (dv.getUint32(4, true) !== 0) throw new ElfError(`PVH entry note holds 0x${dv.getBigUint64(0, true).toString(16)}, above 4 GiB`);
    return dv.getUint32(0, true);
  }
  throw new ElfError(`bad PVH entry note: its value is ${d.length} bytes (expected 4 or 8)`);
}

export interface LoadedRange {
  /** Physical start (p_paddr). */
  start: number;
  /** First byte past the segment's memory image (p_paddr + p_memsz). */
  end: number;
  /** First byte past the part copied from the file; [fileEnd, end) was zeroed. */
  fileEnd: number;
  segment: number;
}

export interface LoadedKernel {
  entry: number;
  loadedRanges: LoadedRange[];
  elf: ElfFile;
}

/**
 * Copies the kernel's PT_LOAD segments into `ram` at their physical addresses (guest physical
 * address = index into `ram`), zeroing the bss part. Everything is checked
 * before the first byte is written, so a failed load leaves RAM untouched.
 */
export function loadKernel(elfBytes: Uint8Array, ram: Uint8Array, ramSize: number): LoadedKernel {
  // `ram` needs to cover RAM below 4 GiB only: the kernel and the boot data live there.
  const lowTop = ramBlocks(ramSize)[0]!.size;
  if (ram.length < lowTop) throw new RangeError(`RAM buffer is ${ram.length} bytes, smaller than the RAM below 4 GiB (${lowTop})`);
  const elf = ElfFile.parse(elfBytes);
  const entry = findPvhEntry(elf);
  const loads = elf.programHeaders.filter((p) => p.type === PT_LOAD && p.memsz > 0);
  if (loads.length === 0) throw new ElfError('kernel has no PT_LOAD segment to load');
  const ranges: LoadedRange[] = [];
  for (const p of loads) {
    const what = `kernel segment ${p.index} (physical ${hex(p.paddr)}-${hex(p.paddr + p.memsz)})`;
    if (!p.exact || p.paddr + p.memsz > 2 ** 32) throw new ElfError(`${what} is not below 4 GiB`);
    if (p.paddr < HIGH_RAM_START) throw new ElfError(`${what} overlaps the firmware area below 1 MiB`);
    if (p.paddr + p.memsz > lowTop) {
      throw new ElfError(`${what} does not fit in RAM (${lowTop / (1024 * 1024)} MiB below the PCI hole): give the machine more memory`);
    }
    for (const q of ranges) {
      if (p.paddr < q.end && q.start < p.paddr + p.memsz) throw new ElfError(`${what} overlaps kernel segment ${q.segment}`);
    }
    ranges.push({ start: p.paddr, end: p.paddr + p.memsz, fileEnd: p.paddr + p.filesz, segment: p.index });
  }
  if (!ranges.some((r) => entry >= r.start && entry < r.fileEnd)) {
    throw new ElfError(`PVH entry ${hex(entry)} is not inside a loaded kernel segment`);
  }
  for (const p of loads) {
    ram.set(elf.segmentData(p), p.paddr);
    ram.fill(0, p.paddr + p.filesz, p.paddr + p.memsz);
  }
  ranges.sort((a, b) => a.start - b.start);
  return { entry, loadedRanges: ranges, elf };
}

export interface BootInfoOptions {
  ramSize: number;
  cmdline: string;
  rsdpAddr: number;
  /** hvm_start_info.flags (SIF_*); 0 for an unprivileged guest, as QEMU passes. */
  flags?: number;
}

export interface BootInfo {
  /** Physical address of hvm_start_info: EBX at the PVH entry. */
  startInfoAddr: number;
  cmdlineAddr: number;
  memmapAddr: number;
  memmap: MemoryRegion[];
}

function overlapsKernelOwned(start: number, end: number): boolean {
  return KERNEL_OWNED_LOW.some(([a, b]) => start < b && a < end);
}

/** Writes hvm_start_info, the memory map and the command line into low memory. */
export function writeBootInfo(ram: Uint8Array, o: BootInfoOptions): BootInfo {
  const memmap = memoryMap(o.ramSize);
  if (memmap.length > MEMMAP_MAX_ENTRIES) throw new RangeError(`memory map has ${memmap.length} entries, room for ${MEMMAP_MAX_ENTRIES}`);
  const cmd = Buffer.from(o.cmdline, 'utf8');
  if (cmd.includes(0)) throw new RangeError('kernel command line contains a NUL character');
  if (cmd.length > CMDLINE_MAX) throw new RangeError(`kernel command line is ${cmd.length} bytes, the most is ${CMDLINE_MAX}`);
  // The layout constants are fixed, but a change to them must not silently break the kernel.
  for (const [a, n] of [[START_INFO_ADDR, START_INFO_SIZE], [MEMMAP_ADDR, memmap.length * MEMMAP_ENTRY_SIZE], [CMDLINE_ADDR, cmd.length + 1]]) {
    if (overlapsKernelOwned(a!, a! + n!)) throw new Error(`boot data at ${hex(a!)} overlaps memory the kernel takes early`);
  }
  const dv = new DataView(ram.buffer, ram.byteOffset, ram.byteLength);
  const u64 = (off: number, v: number): void => {
    dv.setUint32(off, v % 2 ** 32, true);
    dv.setUint32(off + 4, Math.floor(v / 2 ** 32), true);
  };
  ram.fill(0, START_INFO_ADDR, START_INFO_ADDR + START_INFO_SIZE);
  dv.setUint32(START_INFO_ADDR + 0x00, HVM_START_MAGIC, true);
  dv.setUint32(START_INFO_ADDR + 0x04, HVM_START_VERSION, true);
  dv.setUint32(START_INFO_ADDR + 0x08, o.flags ?? 0, true);
  dv.setUint32(START_INFO_ADDR + 0x0c, 0, true); // nr_modules
  u64(START_INFO_ADDR + 0x10, 0); // modlist_paddr
  u64(START_INFO_ADDR + 0x18, CMDLINE_ADDR);
  u64(START_INFO_ADDR + 0x20, o.rsdpAddr);
  u64(START_INFO_ADDR + 0x28, MEMMAP_ADDR);
  dv.setUint32(START_INFO_ADDR + 0x30, memmap.length, true);
  memmap.forEach((m, i) => {
    const e = MEMMAP_ADDR + i * MEMMAP_ENTRY_SIZE;
    u64(e, m.addr);
    u64(e + 8, m.size);
    dv.setUint32(e + 16, m.type, true);
    dv.setUint32(e + 20, 0, true);
  });
  ram.set(cmd, CMDLINE_ADDR);
  ram[CMDLINE_ADDR + cmd.length] = 0;
  return { startInfoAddr: START_INFO_ADDR, cmdlineAddr: CMDLINE_ADDR, memmapAddr: MEMMAP_ADDR, memmap };
}

/**
 * CPU state at the PVH entry (Xen's PVH ABI): 32-bit protected mode, paging off, flat 4 GiB
 * code/data segments, interrupts off, EBX = hvm_start_info. The CPU model decides how to
 * apply it (hidden segment descriptors included).
 */
export interface PvhEntryState {
  eip: number;
  ebx: number;
  cr0: number;
  cr4: number;
  eflags: number;
  /** Flat segments: base 0, limit 0xffffffff; CS is 32-bit execute/read, the rest read/write. */
  flatSegments: true;
}

export function pvhEntryState(entry: number, startInfoAddr: number): PvhEntryState {
  return { eip: entry, ebx: startInfoAddr, cr0: 0x1, cr4: 0, eflags: 0x2, flatSegments: true };
}

export interface PvhBootOptions {
  elfBytes: Uint8Array;
  ram: Uint8Array;
  ramSize: number;
  cmdline: string;
  acpi: AcpiOptions;
}

export interface PvhBoot {
  kernel: LoadedKernel;
  bootInfo: BootInfo;
  acpi: AcpiLayout;
  entryState: PvhEntryState;
}

/** Everything `-kernel` does: load the kernel, build ACPI, write the boot data. */
export function preparePvhBoot(o: PvhBootOptions): PvhBoot {
  const kernel = loadKernel(o.elfBytes, o.ram, o.ramSize);
  const acpi = buildAcpiTables(o.ram, o.acpi);
  const bootInfo = writeBootInfo(o.ram, { ramSize: o.ramSize, cmdline: o.cmdline, rsdpAddr: acpi.rsdpAddr });
  return { kernel, bootInfo, acpi, entryState: pvhEntryState(kernel.entry, bootInfo.startInfoAddr) };
}
