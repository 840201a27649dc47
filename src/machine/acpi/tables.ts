// Byte-level builders for the ACPI tables osvemu hands to OSv (ACPI 6.x layouts, fields chosen
// to match QEMU's `pc` machine where OSv/ACPICA looks). Each builder returns the finished table,
// checksum included; addresses of other tables are parameters, so the layout is decided by one
// caller (index.ts).

/** 8-bit sum of all bytes: a valid table sums to 0. */
export function sum8(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let s = 0;
  for (let i = start; i < end; i++) s = (s + bytes[i]!) & 0xff;
  return s;
}

/** Sets bytes[at] so that bytes[start..end) sums to zero. */
function fixChecksum(bytes: Uint8Array, at: number, start = 0, end = bytes.length): void {
  bytes[at] = 0;
  bytes[at] = (0x100 - sum8(bytes, start, end)) & 0xff;
}

/** A little-endian writer over a fixed-size table. */
class TableWriter {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  constructor(length: number) {
    this.bytes = new Uint8Array(length);
    this.view = new DataView(this.bytes.buffer);
  }
  u8(off: number, v: number): this {
    this.view.setUint8(off, v);
    return this;
  }
  u16(off: number, v: number): this {
    this.view.setUint16(off, v, true);
    return this;
  }
  u32(off: number, v: number): this {
    this.view.setUint32(off, v >>> 0, true);
    return this;
  }
  u64(off: number, v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`ACPI field value ${v} is not a 64-bit address`);
    this.view.setUint32(off, v % 2 ** 32, true);
    this.view.setUint32(off + 4, Math.floor(v / 2 ** 32), true);
    return this;
  }
  ascii(off: number, s: string, width: number): this {
    for (let i = 0; i < width; i++) this.bytes[off + i] = i < s.length ? s.charCodeAt(i) : 0x20;
    return this;
  }
  raw(off: number, data: ArrayLike<number>): this {
    this.bytes.set(data, off);
    return this;
  }
  /** Generic Address Structure (12 bytes). */
  gas(off: number, g: Gas): this {
    return this.u8(off, g.spaceId).u8(off + 1, g.bitWidth).u8(off + 2, g.bitOffset ?? 0).u8(off + 3, g.accessSize ?? 0).u64(off + 4, g.address);
  }
}

export interface Gas {
  spaceId: number;
  bitWidth: number;
  bitOffset?: number;
  /** 0 = undefined (legacy), 1 byte, 2 word, 3 dword, 4 qword. */
  accessSize?: number;
  address: number;
}

export const GAS_SYSTEM_MEMORY = 0;
export const GAS_SYSTEM_IO = 1;

export interface OemIds {
  /** 6 characters. */
  oemId: string;
  /** 8 characters. */
  oemTableId: string;
  oemRevision: number;
  creatorId: string;
  creatorRevision: number;
}

export const DEFAULT_OEM: OemIds = {
  oemId: 'OSVEMU',
  oemTableId: 'OSVEMU  ',
  oemRevision: 1,
  creatorId: 'OSVE',
  creatorRevision: 1,
};

export const HEADER_SIZE = 36;

/** A table with the standard 36-byte header filled; the caller writes the body, then seal(). */
function table(signature: string, length: number, revision: number, oem: OemIds): TableWriter {
  const w = new TableWriter(length);
  w.ascii(0, signature, 4).u32(4, length).u8(8, revision);
  w.ascii(10, oem.oemId, 6).ascii(16, oem.oemTableId, 8).u32(24, oem.oemRevision);
  w.ascii(28, oem.creatorId, 4).u32(32, oem.creatorRevision);
  return w;
}

function seal(w: TableWriter): Uint8Array {
  fixChecksum(w.bytes, 9);
  return w.bytes;
}

// ---- RSDP ----------------------------------------------------------------------------------

export const RSDP_SIZE = 36;

/** RSDP revision 2: checksum over the first 20 bytes, extended checksum over all 36. */
export function buildRsdp(rsdtAddr: number, xsdtAddr: number, oem: OemIds = DEFAULT_OEM): Uint8Array {
  const w = new TableWriter(RSDP_SIZE);
  w.ascii(0, 'RSD PTR ', 8).ascii(9, oem.oemId, 6).u8(15, 2).u32(16, rsdtAddr).u32(20, RSDP_SIZE).u64(24, xsdtAddr);
  fixChecksum(w.bytes, 8, 0, 20);
  fixChecksum(w.bytes, 32, 0, RSDP_SIZE);
  return w.bytes;
}

// ---- RSDT / XSDT ---------------------------------------------------------------------------

export function buildRsdt(entries: readonly number[], oem: OemIds = DEFAULT_OEM): Uint8Array {
  const w = table('RSDT', HEADER_SIZE + 4 * entries.length, 1, oem);
  entries.forEach((a, i) => {
    if (a >= 2 ** 32) throw new RangeError(`RSDT entry 0x${a.toString(16)} is above 4 GiB`);
    w.u32(HEADER_SIZE + 4 * i, a);
  });
  return seal(w);
}

export function buildXsdt(entries: readonly number[], oem: OemIds = DEFAULT_OEM): Uint8Array {
  const w = table('XSDT', HEADER_SIZE + 8 * entries.length, 1, oem);
  entries.forEach((a, i) => w.u64(HEADER_SIZE + 8 * i, a));
  return seal(w);
}

// ---- FADT ----------------------------------------------------------------------------------

export interface FadtConfig {
  facsAddr: number;
  dsdtAddr: number;
  sciInt: number;
  /** SMI command port; 0 says "no SMI: the machine is always in ACPI mode" (ACPICA then never
   *  writes ACPI_ENABLE). */
  smiCmd: number;
  acpiEnable: number;
  acpiDisable: number;
  pm1aEvtBlk: number;
  pm1EvtLen: number;
  pm1aCntBlk: number;
  pm1CntLen: number;
  pmTmrBlk: number;
  pmTmrLen: number;
  /** 0 = no GPE0 block. */
  gpe0Blk: number;
  gpe0BlkLen: number;
  century: number;
  iapcBootArch: number;
  flags: number;
  resetPort: number;
  resetValue: number;
}

// FADT Flags (ACPI 6.4 table 5.10).
export const FADT_WBINVD = 1 << 0;
export const FADT_PROC_C1 = 1 << 2;
export const FADT_SLP_BUTTON = 1 << 5;
export const FADT_RTC_S4 = 1 << 7;
export const FADT_TMR_VAL_EXT = 1 << 8;
export const FADT_RESET_REG_SUP = 1 << 10;
export const FADT_HW_REDUCED_ACPI = 1 << 20;

// IA-PC boot architecture flags.
export const IAPC_LEGACY_DEVICES = 1 << 0;
export const IAPC_8042 = 1 << 1;

/** FADT revision 3 (ACPI 2.0 layout, 244 bytes): every ACPICA version takes it without a
 *  "truncating" or "unknown revision" warning, and it has the X_ fields and the reset register. */
export const FADT_REVISION = 3;
export const FADT_SIZE = 244;

export function buildFadt(c: FadtConfig, oem: OemIds = DEFAULT_OEM): Uint8Array {
  for (const [what, a] of [['FACS', c.facsAddr], ['DSDT', c.dsdtAddr]] as const) {
    if (a >= 2 ** 32) throw new RangeError(`${what} address 0x${a.toString(16)} does not fit the FADT's 32-bit field`);
  }
  const w = table('FACP', FADT_SIZE, FADT_REVISION, oem);
  w.u32(36, c.facsAddr).u32(40, c.dsdtAddr);
  w.u8(44, 1); // INT_MODEL (ACPI 1.0 field): multiple APIC, as QEMU writes
  w.u8(45, 0); // preferred PM profile: unspecified
  w.u16(46, c.sciInt).u32(48, c.smiCmd).u8(52, c.acpiEnable).u8(53, c.acpiDisable);
  w.u32(56, c.pm1aEvtBlk).u32(64, c.pm1aCntBlk).u32(76, c.pmTmrBlk).u32(80, c.gpe0Blk);
  w.u8(88, c.pm1EvtLen).u8(89, c.pm1CntLen).u8(91, c.pmTmrLen).u8(92, c.gpe0Blk ? c.gpe0BlkLen : 0);
  // C2/C3 latencies above 100/1000 us mean "not supported": the guest only uses hlt.
  w.u16(96, 0x0fff).u16(98, 0x0fff);
  w.u8(108, c.century).u16(109, c.iapcBootArch).u32(112, c.flags);
  w.gas(116, { spaceId: GAS_SYSTEM_IO, bitWidth: 8, address: c.resetPort }).u8(128, c.resetValue);
  w.u64(132, c.facsAddr).u64(140, c.dsdtAddr);
  // X_ blocks repeat the 32-bit ones with matching widths (ACPICA warns on any mismatch).
  const io = (address: number, len: number): Gas => ({ spaceId: GAS_SYSTEM_IO, bitWidth: address ? len * 8 : 0, address });
  w.gas(148, io(c.pm1aEvtBlk, c.pm1EvtLen));
  w.gas(172, io(c.pm1aCntBlk, c.pm1CntLen));
  w.gas(208, io(c.pmTmrBlk, c.pmTmrLen));
  if (c.gpe0Blk) w.gas(220, io(c.gpe0Blk, c.gpe0BlkLen));
  return seal(w);
}

// ---- FACS ----------------------------------------------------------------------------------

/** FACS: no checksum; required by older ACPICA for AcpiEnableSubsystem (global lock, waking
 *  vector) when the FADT is not hardware-reduced. Must be 64-byte aligned. */
export const FACS_SIZE = 64;

export function buildFacs(): Uint8Array {
  const w = new TableWriter(FACS_SIZE);
  w.ascii(0, 'FACS', 4).u32(4, FACS_SIZE).u8(32, 1); // version 1
  return w.bytes;
}

// ---- DSDT ----------------------------------------------------------------------------------

export function buildDsdt(aml: ArrayLike<number>, oem: OemIds = DEFAULT_OEM): Uint8Array {
  // Revision 2: 64-bit AML integers.
  const w = table('DSDT', HEADER_SIZE + aml.length, 2, oem);
  w.raw(HEADER_SIZE, aml);
  return seal(w);
}

// ---- MADT ----------------------------------------------------------------------------------

export interface InterruptOverride {
  bus?: number;
  source: number;
  gsi: number;
  /** MPS INTI flags: bits 0-1 polarity (1 high, 3 low), bits 2-3 trigger (1 edge, 3 level). */
  flags: number;
}

export interface MadtConfig {
  lapicAddr: number;
  /** APIC IDs in CPU order (OSv numbers CPUs in MADT order). */
  apicIds: readonly number[];
  ioapicId: number;
  ioapicAddr: number;
  ioapicGsiBase: number;
  overrides: readonly InterruptOverride[];
  /** Local APIC NMI on LINT1 for all processors, as QEMU declares. */
  lint1Nmi: boolean;
}

export const MADT_PCAT_COMPAT = 1;
export const MADT_LOCAL_APIC = 0;
export const MADT_IO_APIC = 1;
export const MADT_INTERRUPT_OVERRIDE = 2;
export const MADT_LOCAL_APIC_NMI = 4;
export const MPS_INTI_ACTIVE_HIGH = 1;
export const MPS_INTI_LEVEL = 3 << 2;

export function buildMadt(c: MadtConfig, oem: OemIds = DEFAULT_OEM): Uint8Array {
  if (c.apicIds.length === 0) throw new RangeError('MADT needs at least one CPU');
  const len = HEADER_SIZE + 8 + 8 * c.apicIds.length + 12 + 10 * c.overrides.length + (c.lint1Nmi ? 6 : 0);
  const w = table('APIC', len, 3, oem);
  w.u32(36, c.lapicAddr).u32(40, MADT_PCAT_COMPAT);
  let o = 44;
  c.apicIds.forEach((id, i) => {
    if (id > 0xfe || i > 0xfe) throw new RangeError(`APIC ID ${id} does not fit an xAPIC MADT entry`);
    w.u8(o, MADT_LOCAL_APIC).u8(o + 1, 8).u8(o + 2, i).u8(o + 3, id).u32(o + 4, 1); // enabled
    o += 8;
  });
  w.u8(o, MADT_IO_APIC).u8(o + 1, 12).u8(o + 2, c.ioapicId).u8(o + 3, 0).u32(o + 4, c.ioapicAddr).u32(o + 8, c.ioapicGsiBase);
  o += 12;
  for (const ov of c.overrides) {
    w.u8(o, MADT_INTERRUPT_OVERRIDE).u8(o + 1, 10).u8(o + 2, ov.bus ?? 0).u8(o + 3, ov.source).u32(o + 4, ov.gsi).u16(o + 8, ov.flags);
    o += 10;
  }
  if (c.lint1Nmi) {
    w.u8(o, MADT_LOCAL_APIC_NMI).u8(o + 1, 6).u8(o + 2, 0xff).u16(o + 3, 0).u8(o + 5, 1);
    o += 6;
  }
  return seal(w);
}

// ---- HPET ----------------------------------------------------------------------------------

export interface HpetConfig {
  /** Event Timer Block ID: the capabilities register's low 32 bits. */
  eventTimerBlockId: number;
  address: number;
  hpetNumber: number;
  minTick: number;
}

export const HPET_TABLE_SIZE = 56;

export function buildHpet(c: HpetConfig, oem: OemIds = DEFAULT_OEM): Uint8Array {
  const w = table('HPET', HPET_TABLE_SIZE, 1, oem);
  w.u32(36, c.eventTimerBlockId);
  w.gas(40, { spaceId: GAS_SYSTEM_MEMORY, bitWidth: 0, address: c.address });
  w.u8(52, c.hpetNumber).u16(53, c.minTick).u8(55, 0); // no page protection
  return seal(w);
}
