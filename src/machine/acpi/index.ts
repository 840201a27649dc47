// Lays out osvemu's ACPI tables in guest memory: RSDP at the start of the BIOS area (where
// ACPICA's 0xE0000-0xFFFFF scan finds it), then FACS, DSDT, FADT, MADT, HPET, RSDT and XSDT.
// The DSDT carries only \_S5 (power-off), because OSv's ACPICA interprets every AML byte at
// boot and OSv itself evaluates nothing else (drivers/acpi.cc, arch/x64/power.cc).

import * as aml from './aml.js';
import {
  DEFAULT_OEM,
  FADT_PROC_C1,
  FADT_RESET_REG_SUP,
  FADT_RTC_S4,
  FADT_SLP_BUTTON,
  FADT_WBINVD,
  MPS_INTI_ACTIVE_HIGH,
  MPS_INTI_LEVEL,
  buildDsdt,
  buildFacs,
  buildFadt,
  buildHpet,
  buildMadt,
  buildRsdp,
  buildRsdt,
  buildXsdt,
  type InterruptOverride,
  type OemIds,
} from './tables.js';
import {
  ACPI_END,
  HPET_BASE,
  IOAPIC_BASE,
  LAPIC_BASE,
  PM1A_CNT_BLK,
  PM1A_EVT_BLK,
  PM1_CNT_LEN,
  PM1_EVT_LEN,
  PM_TMR_BLK,
  PM_TMR_LEN,
  RESET_PORT,
  RESET_VALUE,
  RSDP_ADDR,
  RTC_CENTURY_INDEX,
  SCI_IRQ,
} from '../memmap.js';
import {
  ACPI_DISABLE_VALUE,
  ACPI_ENABLE_VALUE,
  ACPI_GPE0_BASE,
  ACPI_S5_SLP_TYP,
  ACPI_SMI_CMD,
} from '../../devices/acpi-pm.js';

export interface AcpiOptions {
  /** Number of vCPUs (APIC IDs 0..n-1 unless apicIds is given). */
  cpus: number;
  apicIds?: readonly number[];
  /** SLP_TYP written to PM1a_CNT for S5; default the PM device's ACPI_S5_SLP_TYP (0, as QEMU's PIIX4). */
  s5SlpTyp?: number;
  /** Include the HPET table (OSv's clock when kvmclock is not advertised). Default true. */
  hpet?: boolean;
  /** HPET minimum clock tick in periods. */
  hpetMinTick?: number;
  /** FADT SMI_CMD port and its ACPI enable/disable values; default QEMU's (0xB2, 0xF1, 0xF0),
   *  which the PM device (src/devices/acpi-pm.ts) implements. 0 = "always in ACPI mode" (then
   *  create the PM device with sciEnabled: true). */
  smiCmd?: number;
  acpiEnable?: number;
  acpiDisable?: number;
  /** IOAPIC ID in the MADT; default: the vCPU count (the first ID after the CPUs' APIC IDs,
   *  as in an MP table). Must match the ID given to the IOAPIC device (whose register is 4 bits). */
  ioapicId?: number;
  /** GPE0 block; default QEMU's (0xAFE0, 4 bytes), null for none. */
  gpe0?: { port: number; length: number } | null;
  oem?: OemIds;
}

export interface AcpiTableInfo {
  signature: string;
  addr: number;
  length: number;
}

export interface AcpiLayout {
  rsdpAddr: number;
  tables: AcpiTableInfo[];
  /** First byte past the last table. */
  end: number;
}

/** HPET capabilities low word as QEMU's: vendor 8086, legacy-capable, 64-bit, 3 timers, rev 1. */
export const HPET_EVENT_TIMER_BLOCK_ID = 0x8086a201;

/** The DSDT's AML: Name(\_S5, Package(4) {typ, typ, 0, 0}) — four elements as QEMU writes,
 *  which every ACPICA version accepts (old ones demand at least two). */
export function dsdtAml(s5SlpTyp: number): number[] {
  if (!Number.isInteger(s5SlpTyp) || s5SlpTyp < 0 || s5SlpTyp > 7) throw new RangeError(`SLP_TYP ${s5SlpTyp} is not 0-7`);
  return aml.name('\\_S5', aml.pkg([aml.integer(s5SlpTyp), aml.integer(s5SlpTyp), aml.integer(0), aml.integer(0)]));
}

/** Interrupt source overrides as QEMU's `pc`: IRQ0 -> GSI2 (timer), SCI level/active-high. */
export function defaultOverrides(): InterruptOverride[] {
  return [
    { source: 0, gsi: 2, flags: 0 },
    { source: SCI_IRQ, gsi: SCI_IRQ, flags: MPS_INTI_ACTIVE_HIGH | MPS_INTI_LEVEL },
  ];
}

const align = (n: number, a: number): number => Math.ceil(n / a) * a;

/**
 * Builds every table and writes it into `ram` (guest physical address = index). Returns where
 * each table went; `rsdpAddr` goes into hvm_start_info.
 */
export function buildAcpiTables(ram: Uint8Array, opts: AcpiOptions): AcpiLayout {
  if (!Number.isInteger(opts.cpus) || opts.cpus < 1 || opts.cpus > 255) {
    throw new RangeError(`vCPU count ${opts.cpus} is not 1-255`);
  }
  const apicIds = opts.apicIds ?? Array.from({ length: opts.cpus }, (_, i) => i);
  if (apicIds.length !== opts.cpus) throw new RangeError(`${apicIds.length} APIC IDs given for ${opts.cpus} vCPUs`);
  if (ram.length < ACPI_END) throw new RangeError(`RAM buffer of ${ram.length} bytes does not cover the ACPI area`);
  const oem = opts.oem ?? DEFAULT_OEM;
  const tables: AcpiTableInfo[] = [];
  let next = align(RSDP_ADDR + 36, 64);
  const place = (bytes: Uint8Array, alignment = 16): number => {
    const addr = align(next, alignment);
    if (addr + bytes.length > ACPI_END) throw new RangeError('ACPI tables do not fit in 0xE0000-0xFFFFF');
    ram.set(bytes, addr);
    tables.push({ signature: String.fromCharCode(...bytes.subarray(0, 4)), addr, length: bytes.length });
    next = addr + bytes.length;
    return addr;
  };

  const facsAddr = place(buildFacs(), 64);
  const dsdtAddr = place(buildDsdt(dsdtAml(opts.s5SlpTyp ?? ACPI_S5_SLP_TYP), oem));
  const gpe0 = opts.gpe0 === undefined ? { port: ACPI_GPE0_BASE, length: 4 } : opts.gpe0;
  const fadtAddr = place(
    buildFadt(
      {
        facsAddr,
        dsdtAddr,
        sciInt: SCI_IRQ,
        smiCmd: opts.smiCmd ?? ACPI_SMI_CMD,
        acpiEnable: opts.smiCmd === 0 ? 0 : opts.acpiEnable ?? ACPI_ENABLE_VALUE,
        acpiDisable: opts.smiCmd === 0 ? 0 : opts.acpiDisable ?? ACPI_DISABLE_VALUE,
        pm1aEvtBlk: PM1A_EVT_BLK,
        pm1EvtLen: PM1_EVT_LEN,
        pm1aCntBlk: PM1A_CNT_BLK,
        pm1CntLen: PM1_CNT_LEN,
        pmTmrBlk: PM_TMR_BLK,
        pmTmrLen: PM_TMR_LEN,
        gpe0Blk: gpe0?.port ?? 0,
        gpe0BlkLen: gpe0?.length ?? 0,
        century: RTC_CENTURY_INDEX,
        iapcBootArch: 0,
        flags: FADT_WBINVD | FADT_PROC_C1 | FADT_SLP_BUTTON | FADT_RTC_S4 | FADT_RESET_REG_SUP,
        resetPort: RESET_PORT,
        resetValue: RESET_VALUE,
      },
      oem,
    ),
  );
  const madtAddr = place(
    buildMadt(
      {
        lapicAddr: LAPIC_BASE,
        apicIds,
        ioapicId: opts.ioapicId ?? opts.cpus,
        ioapicAddr: IOAPIC_BASE,
        ioapicGsiBase: 0,
        overrides: defaultOverrides(),
        lint1Nmi: true,
      },
      oem,
    ),
  );
  const entries = [fadtAddr, madtAddr];
  if (opts.hpet ?? true) {
    entries.push(
      place(buildHpet({ eventTimerBlockId: HPET_EVENT_TIMER_BLOCK_ID, address: HPET_BASE, hpetNumber: 0, minTick: opts.hpetMinTick ?? 0x80 }, oem)),
    );
  }
  const rsdtAddr = place(buildRsdt(entries, oem));
  const xsdtAddr = place(buildXsdt(entries, oem));
  ram.set(buildRsdp(rsdtAddr, xsdtAddr, oem), RSDP_ADDR);
  tables.unshift({ signature: 'RSD PTR ', addr: RSDP_ADDR, length: 36 });
  return { rsdpAddr: RSDP_ADDR, tables, end: next };
}
