// Guest physical layout of the osvemu board: the one place where the loader, the PVH boot data,
// the ACPI builder and the board agree on addresses. Values follow QEMU's `pc` machine where OSv
// cares, and keep clear of the low pages the OSv kernel takes for itself before reading its
// boot data (docs: osv-machine.md §1).

/** Top of conventional low RAM; the EBDA-shaped hole above it is reported reserved. */
export const LOW_RAM_END = 0x9fc00;
/** Start of "high" RAM: the kernel and everything it frees live above 1 MiB. */
export const HIGH_RAM_START = 0x100000;
/** QEMU's `pc` (pc_piix.c, max-ram-below-4g default): RAM below 4 GiB ends by 3.5 GiB at most ... */
export const LOWMEM_MAX = 0xe0000000;
/** ... and a guest with that much RAM or more gets 3 GiB below 4 GiB (gigabyte_align), the rest from 4 GiB. */
export const LOWMEM_SPLIT = 0xc0000000;
export const FOUR_GIB = 0x100000000;
/** Physical address width the CPU reports (CPUID 0x80000008): RAM must end below it. */
export const PHYS_ADDR_LIMIT = 2 ** 39;

// Low pages OSv owns during early boot: page 0 (SMP trampoline), 0x1000-0x2fff (its
// Multiboot-shaped info block and e820 copy) and 0x7000-0x7c00 (first stack).
export const KERNEL_OWNED_LOW: readonly (readonly [number, number])[] = [
  [0x0000, 0x1000],
  [0x1000, 0x3000],
  [0x7000, 0x7c00],
];

// Boot data below LOW_RAM_END: OSv never frees memory below its own image, so these survive
// until the kernel has parsed them.
/** hvm_start_info (EBX at the PVH entry). */
export const START_INFO_ADDR = 0x8000;
export const START_INFO_SIZE = 0x38;
/** PVH memory map, right after hvm_start_info. */
export const MEMMAP_ADDR = 0x8040;
/** Room for memory-map entries (24 bytes each) before the command line. */
export const MEMMAP_MAX_ENTRIES = 64;
/** Kernel command line (NUL-terminated), up to LOW_RAM_END. */
export const CMDLINE_ADDR = 0x10000;
export const CMDLINE_MAX = LOW_RAM_END - CMDLINE_ADDR - 1;

/** ACPI tables: the BIOS read-only area, marked reserved; the RSDP starts it (16-byte aligned,
 *  where ACPICA's search of 0xE0000-0xFFFFF finds it). */
export const ACPI_BASE = 0xe0000;
export const ACPI_END = 0x100000;
export const RSDP_ADDR = ACPI_BASE;

// Fixed platform MMIO (reserved in the memory map, described in the MADT/HPET tables).
export const IOAPIC_BASE = 0xfec00000;
export const IOAPIC_SIZE = 0x1000;
export const HPET_BASE = 0xfed00000;
export const HPET_SIZE = 0x1000;
export const LAPIC_BASE = 0xfee00000;
export const LAPIC_SIZE = 0x1000;

// ACPI fixed hardware (PIIX4-style PM block at 0x600, as on QEMU's `pc`).
export const PM_IO_BASE = 0x600;
export const PM1A_EVT_BLK = PM_IO_BASE + 0x0; // status (2) + enable (2)
export const PM1A_CNT_BLK = PM_IO_BASE + 0x4; // control (2)
export const PM_TMR_BLK = PM_IO_BASE + 0x8; // 24-bit timer (4)
export const PM1_EVT_LEN = 4;
export const PM1_CNT_LEN = 2;
export const PM_TMR_LEN = 4;
export const SCI_IRQ = 9;
export const RESET_PORT = 0xcf9;
export const RESET_VALUE = 0x06;
/** CMOS index of the RTC century byte. */
export const RTC_CENTURY_INDEX = 0x32;

/** E820 / PVH memory types. */
export const E820_RAM = 1;
export const E820_RESERVED = 2;

export interface MemoryRegion {
  addr: number;
  size: number;
  type: number;
}

/**
 * Where guest RAM of `ramSize` bytes appears in the physical address space: one block from 0
 * up to the PCI hole, and the rest (if any) at 4 GiB. The board's RAM buffer is indexed by
 * physical address (src/cpu/physmem.ts): there is no other translation.
 */
export interface RamBlock {
  guestPhys: number;
  size: number;
}

/** RAM below 4 GiB for a guest of `ramSize` bytes, as QEMU's `pc` machine splits it. */
export function lowRamSize(ramSize: number): number {
  return ramSize >= LOWMEM_MAX ? LOWMEM_SPLIT : ramSize;
}

export function ramBlocks(ramSize: number): RamBlock[] {
  checkRamSize(ramSize);
  const low = lowRamSize(ramSize);
  const blocks: RamBlock[] = [{ guestPhys: 0, size: low }];
  if (ramSize > low) blocks.push({ guestPhys: FOUR_GIB, size: ramSize - low });
  return blocks;
}

/** First byte past the highest RAM address, and the non-RAM hole below 4 GiB (when RAM goes above it). */
export function ramExtent(ramSize: number): { top: number; hole?: { start: number; end: number } } {
  const [low, high] = ramBlocks(ramSize);
  if (!high) return { top: low!.size };
  return { top: high.guestPhys + high.size, hole: { start: low!.size, end: FOUR_GIB } };
}

/** Largest RAM whose top stays inside the physical address width. */
export const MAX_RAM_SIZE = PHYS_ADDR_LIMIT - FOUR_GIB + LOWMEM_SPLIT;

/** The memory map handed to the kernel, sorted by address. */
export function memoryMap(ramSize: number): MemoryRegion[] {
  const [low, high] = ramBlocks(ramSize);
  const map: MemoryRegion[] = [
    { addr: 0, size: LOW_RAM_END, type: E820_RAM },
    { addr: LOW_RAM_END, size: HIGH_RAM_START - LOW_RAM_END, type: E820_RESERVED },
    { addr: HIGH_RAM_START, size: low!.size - HIGH_RAM_START, type: E820_RAM },
    { addr: IOAPIC_BASE, size: IOAPIC_SIZE, type: E820_RESERVED },
    { addr: HPET_BASE, size: HPET_SIZE, type: E820_RESERVED },
    { addr: LAPIC_BASE, size: LAPIC_SIZE, type: E820_RESERVED },
  ];
  if (high) map.push({ addr: high.guestPhys, size: high.size, type: E820_RAM });
  return map;
}

/** Smallest RAM the layout makes sense with: the boot area plus a little above 1 MiB. */
export const MIN_RAM_SIZE = 2 * 1024 * 1024;

export function checkRamSize(ramSize: number): void {
  if (!Number.isSafeInteger(ramSize) || ramSize < MIN_RAM_SIZE) {
    throw new RangeError(`RAM size ${ramSize} is too small: osvemu needs at least ${MIN_RAM_SIZE} bytes`);
  }
  if (ramSize % 4096 !== 0) throw new RangeError(`RAM size ${ramSize} is not a multiple of 4096`);
  if (ramSize > MAX_RAM_SIZE) throw new RangeError(`RAM size ${ramSize} is too large: at most ${MAX_RAM_SIZE} bytes fit below the 39-bit physical address limit`);
}
