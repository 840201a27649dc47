import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAcpiTables, type AcpiLayout } from '../../src/machine/acpi/index.js';
import { sum8 } from '../../src/machine/acpi/tables.js';
import * as pm from '../../src/devices/acpi-pm.js';
import {
  ACPI_BASE,
  ACPI_END,
  E820_RESERVED,
  PM1A_CNT_BLK,
  PM1A_EVT_BLK,
  PM_TMR_BLK,
  SCI_IRQ,
  memoryMap,
} from '../../src/machine/memmap.js';
import { have } from './fixtures.js';

const RAM = 4 * 1024 * 1024;
/** How ACPICA reports bad firmware tables. */
const COMPLAINT = /Firmware (Warning|Error|Bug)|ACPI (BIOS )?Warning|ACPI BIOS Error/i;

/** An independent reader of the tables in guest memory, written from the ACPI spec. */
class Guest {
  readonly dv: DataView;
  constructor(readonly ram: Uint8Array) {
    this.dv = new DataView(ram.buffer, ram.byteOffset, ram.byteLength);
  }
  u8 = (a: number): number => this.ram[a]!;
  u16 = (a: number): number => this.dv.getUint16(a, true);
  u32 = (a: number): number => this.dv.getUint32(a, true);
  u64 = (a: number): number => Number(this.dv.getBigUint64(a, true));
  str = (a: number, n: number): string => String.fromCharCode(...this.ram.subarray(a, a + n));
  /** What ACPICA's AcpiFindRootPointer does: scan 0xE0000-0xFFFFF on 16-byte boundaries. */
  findRsdp(): number | null {
    for (let a = 0xe0000; a < 0x100000; a += 16) {
      if (this.str(a, 8) === 'RSD PTR ' && sum8(this.ram, a, a + 20) === 0) return a;
    }
    return null;
  }
  /** Signature, length and checksum of the table at a; returns its bytes. */
  table(a: number, sig: string): Uint8Array {
    expect(this.str(a, 4)).toBe(sig);
    const len = this.u32(a + 4);
    expect(a + len).toBeLessThanOrEqual(ACPI_END);
    expect(sum8(this.ram, a, a + len)).toBe(0);
    return this.ram.subarray(a, a + len);
  }
  gas(a: number): { space: number; width: number; offset: number; access: number; addr: number } {
    return { space: this.u8(a), width: this.u8(a + 1), offset: this.u8(a + 2), access: this.u8(a + 3), addr: this.u64(a + 4) };
  }
}

function build(cpus: number, extra: object = {}): { ram: Uint8Array; g: Guest; layout: AcpiLayout } {
  const ram = new Uint8Array(RAM);
  const layout = buildAcpiTables(ram, { cpus, ...extra });
  return { ram, g: new Guest(ram), layout };
}

/** Follows RSDP -> XSDT and returns signature -> address. */
function xsdtTables(g: Guest, rsdp: number): Map<string, number> {
  const xsdt = g.u64(rsdp + 24);
  const x = g.table(xsdt, 'XSDT');
  const out = new Map<string, number>();
  for (let o = 36; o < x.length; o += 8) {
    const a = g.u64(xsdt + o);
    out.set(g.str(a, 4), a);
  }
  return out;
}

describe('ACPI tables in guest memory', () => {
  it('places a revision-2 RSDP at 0xE0000 with both checksums', () => {
    const { g, layout } = build(1);
    expect(layout.rsdpAddr).toBe(0xe0000);
    expect(g.findRsdp()).toBe(0xe0000);
    const r = 0xe0000;
    expect(g.u8(r + 15)).toBe(2);
    expect(g.u32(r + 20)).toBe(36);
    expect(sum8(g.ram, r, r + 20)).toBe(0);
    expect(sum8(g.ram, r, r + 36)).toBe(0);
    expect(g.str(r + 9, 6)).toBe('OSVEMU');
  });

  it('has an XSDT and an RSDT listing the same FADT, MADT and HPET', () => {
    const { g } = build(2);
    const x = xsdtTables(g, 0xe0000);
    expect([...x.keys()]).toEqual(['FACP', 'APIC', 'HPET']);
    const rsdt = g.u32(0xe0000 + 16);
    const r = g.table(rsdt, 'RSDT');
    const viaRsdt = [];
    for (let o = 36; o < r.length; o += 4) viaRsdt.push(g.u32(rsdt + o));
    expect(viaRsdt).toEqual([...x.values()]);
  });

  it('keeps every table inside the reserved BIOS area of the memory map', () => {
    const { layout } = build(4);
    const reserved = memoryMap(RAM).filter((m) => m.type === E820_RESERVED);
    for (const t of layout.tables) {
      expect(t.addr).toBeGreaterThanOrEqual(ACPI_BASE);
      expect(reserved.some((m) => t.addr >= m.addr && t.addr + t.length <= m.addr + m.size)).toBe(true);
    }
    const sorted = [...layout.tables].sort((a, b) => a.addr - b.addr);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]!.addr).toBeGreaterThanOrEqual(sorted[i - 1]!.addr + sorted[i - 1]!.length);
  });

  it('builds a FADT with the PIIX4-style PM block, reset register and DSDT/FACS pointers', () => {
    const { g } = build(1);
    const f = xsdtTables(g, 0xe0000).get('FACP')!;
    const fadt = g.table(f, 'FACP');
    expect(g.u8(f + 8)).toBeGreaterThanOrEqual(3);
    expect(fadt.length).toBe(244);
    const facs = g.u32(f + 36);
    const dsdt = g.u32(f + 40);
    expect(g.u64(f + 132)).toBe(facs);
    expect(g.u64(f + 140)).toBe(dsdt);
    expect(g.str(facs, 4)).toBe('FACS');
    expect(g.u32(facs + 4)).toBe(64);
    expect(facs % 64).toBe(0);
    g.table(dsdt, 'DSDT');
    expect(g.u16(f + 46)).toBe(9); // SCI
    expect([g.u32(f + 56), g.u8(f + 88)]).toEqual([0x600, 4]);
    expect([g.u32(f + 64), g.u8(f + 89)]).toEqual([0x604, 2]);
    expect([g.u32(f + 76), g.u8(f + 91)]).toEqual([0x608, 4]);
    // SMI_CMD / ACPI_ENABLE / ACPI_DISABLE and GPE0 as QEMU's, which the PM device implements.
    expect([g.u32(f + 48), g.u8(f + 52), g.u8(f + 53)]).toEqual([0xb2, 0xf1, 0xf0]);
    expect([g.u32(f + 80), g.u8(f + 92)]).toEqual([0xafe0, 4]);
    expect(g.gas(f + 220)).toMatchObject({ space: 1, width: 32, addr: 0xafe0 });
    expect(g.u8(f + 108)).toBe(0x32); // RTC century
    const flags = g.u32(f + 112);
    expect(flags & (1 << 10)).not.toBe(0); // RESET_REG_SUP
    expect(flags & (1 << 20)).toBe(0); // not HW_REDUCED
    expect(g.gas(f + 116)).toEqual({ space: 1, width: 8, offset: 0, access: 0, addr: 0xcf9 });
    expect(g.u8(f + 128)).toBe(0x06);
    expect(g.gas(f + 148)).toMatchObject({ space: 1, width: 32, addr: 0x600 });
    expect(g.gas(f + 172)).toMatchObject({ space: 1, width: 16, addr: 0x604 });
    expect(g.gas(f + 208)).toMatchObject({ space: 1, width: 32, addr: 0x608 });
  });

  it('can describe a machine without SMI port or GPE block', () => {
    const { g } = build(1, { smiCmd: 0, gpe0: null });
    const f = xsdtTables(g, 0xe0000).get('FACP')!;
    expect([g.u32(f + 48), g.u8(f + 52), g.u8(f + 53), g.u32(f + 80), g.u8(f + 92)]).toEqual([0, 0, 0, 0, 0]);
    expect(g.gas(f + 220)).toMatchObject({ width: 0, addr: 0 });
  });

  it('agrees with the PM device on ports, SCI and S5 (src/devices/acpi-pm.ts)', () => {
    expect([PM1A_EVT_BLK, PM1A_CNT_BLK, PM_TMR_BLK, SCI_IRQ]).toEqual([pm.ACPI_PM_BASE, pm.ACPI_PM1_CNT, pm.ACPI_PM_TMR, pm.ACPI_SCI_GSI]);
    const { g } = build(1);
    const f = xsdtTables(g, 0xe0000).get('FACP')!;
    const d = g.u32(f + 40);
    expect(g.ram[d + 36 + 9]).toBe(pm.ACPI_S5_SLP_TYP); // first element of \_S5 (ZeroOp = 0)
  });

  it('builds a DSDT holding only \\_S5 with the configured SLP_TYP', () => {
    for (const typ of [0, 5]) {
      const { g } = build(1, { s5SlpTyp: typ });
      const f = xsdtTables(g, 0xe0000).get('FACP')!;
      const d = g.table(g.u32(f + 40), 'DSDT');
      const body = [...d.subarray(36)];
      const v = typ === 0 ? [0x00] : [0x0a, typ];
      expect(body).toEqual([0x08, 0x5c, 0x5f, 0x53, 0x35, 0x5f, 0x12, 4 + 2 * v.length, 0x04, ...v, ...v, 0x00, 0x00]);
    }
  });

  it('builds a MADT that walks exactly to its end, one enabled Local APIC per vCPU', () => {
    const { g } = build(3);
    const m = xsdtTables(g, 0xe0000).get('APIC')!;
    const madt = g.table(m, 'APIC');
    expect(g.u32(m + 36)).toBe(0xfee00000);
    expect(g.u32(m + 40) & 1).toBe(1); // PCAT_COMPAT
    const subs: { type: number; at: number }[] = [];
    let o = 44;
    while (o !== madt.length) {
      expect(o).toBeLessThan(madt.length);
      subs.push({ type: g.u8(m + o), at: m + o });
      const len = g.u8(m + o + 1);
      expect(len).toBeGreaterThan(1);
      o += len;
    }
    const lapics = subs.filter((s) => s.type === 0);
    expect(lapics.map((s) => [g.u8(s.at + 2), g.u8(s.at + 3), g.u32(s.at + 4) & 1])).toEqual([
      [0, 0, 1],
      [1, 1, 1],
      [2, 2, 1],
    ]);
    const ioapics = subs.filter((s) => s.type === 1);
    expect(ioapics).toHaveLength(1);
    expect([g.u8(ioapics[0]!.at + 2), g.u32(ioapics[0]!.at + 4), g.u32(ioapics[0]!.at + 8)]).toEqual([3, 0xfec00000, 0]);
    const isos = subs.filter((s) => s.type === 2).map((s) => [g.u8(s.at + 3), g.u32(s.at + 4), g.u16(s.at + 8)]);
    expect(isos).toEqual([
      [0, 2, 0],
      [9, 9, 0x0d],
    ]);
  });

  it('builds an HPET table at 0xFED00000, and leaves it out on request', () => {
    const { g } = build(1);
    const h = xsdtTables(g, 0xe0000).get('HPET')!;
    g.table(h, 'HPET');
    expect(g.u32(h + 36)).toBe(0x8086a201);
    expect(g.gas(h + 40)).toMatchObject({ space: 0, addr: 0xfed00000 });
    expect(g.u16(h + 53)).toBeGreaterThan(0);
    const without = build(1, { hpet: false });
    expect([...xsdtTables(without.g, 0xe0000).keys()]).toEqual(['FACP', 'APIC']);
  });

  it('rejects impossible configurations with one line', () => {
    const ram = new Uint8Array(RAM);
    expect(() => buildAcpiTables(ram, { cpus: 0 })).toThrow('vCPU count 0 is not 1-255');
    expect(() => buildAcpiTables(ram, { cpus: 2, apicIds: [0] })).toThrow('1 APIC IDs given for 2 vCPUs');
    expect(() => buildAcpiTables(new Uint8Array(0x80000), { cpus: 1 })).toThrow(/does not cover the ACPI area/);
    expect(() => buildAcpiTables(ram, { cpus: 1, s5SlpTyp: 9 })).toThrow(/SLP_TYP 9/);
  });

  it('fits 255 vCPUs', () => {
    const { g } = build(255);
    const m = xsdtTables(g, 0xe0000).get('APIC')!;
    expect(g.table(m, 'APIC').length).toBe(44 + 8 * 255 + 12 + 20 + 6);
  });
});

describe.skipIf(!have('iasl', ['-v']))('ACPI tables through ACPICA tools (iasl, acpiexec)', () => {
  let dir: string;
  const files: Record<string, string> = {};
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'osvemu-acpi-'));
    const { ram, layout } = build(2);
    for (const t of layout.tables) {
      const name = t.signature === 'RSD PTR ' ? 'rsdp' : t.signature.toLowerCase();
      files[t.signature] = join(dir, `${name}.dat`);
      writeFileSync(files[t.signature]!, ram.subarray(t.addr, t.addr + t.length));
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  /** stdout and stderr together: ACPICA prints its complaints on either. */
  const acpiexec = (cmd: string, tables: string[]): string => {
    const r = spawnSync('acpiexec', ['-b', cmd, ...tables], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    return `${r.stdout}${r.stderr}`;
  };

  it('iasl disassembles the DSDT to Name (\\_S5, Package (0x04) ...)', () => {
    execFileSync('iasl', ['-d', files['DSDT']!], { cwd: dir, stdio: 'pipe' });
    const dsl = readFileSync(files['DSDT']!.replace(/\.dat$/, '.dsl'), 'utf8');
    expect(dsl).toMatch(/Name \(\\_S5, Package \(0x04\)/);
    expect(dsl).not.toMatch(/Method|Device|OperationRegion/);
  });

  it('iasl disassembles the data tables without complaints', () => {
    for (const sig of ['FACP', 'APIC', 'HPET', 'XSDT', 'RSDT', 'FACS']) {
      const out = execFileSync('iasl', ['-d', files[sig]!], { cwd: dir, encoding: 'utf8', stdio: 'pipe' });
      expect(out).not.toMatch(/error|warning|invalid/i);
      const dsl = readFileSync(files[sig]!.replace(/\.dat$/, '.dsl'), 'utf8');
      expect(dsl).not.toMatch(/Invalid|Unknown|terminates in the middle|Incorrect checksum/i);
      expect(dsl).toContain(`"${sig}"`);
    }
  });

  // `sleep 5` makes ACPICA stall 10 s after the (simulated) PM1 write, so that part only runs
  // with OSVEMU_ACPI_SLEEP=1.
  const sleep = process.env.OSVEMU_ACPI_SLEEP === '1';
  it.skipIf(!have('acpiexec', ['-v']))('acpiexec (real ACPICA) loads the tables and evaluates \\_S5', () => {
    const cmd = sleep ? 'evaluate \\_S5; sleep 5' : 'evaluate \\_S5';
    const out = acpiexec(cmd, ['DSDT', 'FACP', 'APIC', 'HPET', 'FACS'].map((t) => files[t]!));
    expect(out).toMatch(/ACPI: FACP .*\(v03 OSVEMU/);
    expect(out).toMatch(/ACPI: APIC .*OSVEMU/);
    expect(out).toMatch(/ACPI: HPET .*OSVEMU/);
    expect(out).toMatch(/1 ACPI AML tables successfully acquired and loaded/);
    expect(out).toMatch(/Evaluation of \\_S5 returned object/);
    expect(out).toMatch(/\[Package\] Contains 4 Elements/);
    if (sleep) {
      expect(out).toMatch(/Register values for sleep state S5: Sleep-A: 00, Sleep-B: 00/);
      expect(out).toMatch(/Entering sleep state \[S5\]/);
    }
    // No firmware complaints about our tables (acpiexec's own GPE/PM2 self-tests aside).
    expect(out).not.toMatch(COMPLAINT);
  });

  it.skipIf(!have('acpiexec', ['-v']))('acpiexec does complain about a damaged FADT (the check above can fail)', () => {
    const bad = new Uint8Array(readFileSync(files['FACP']!));
    bad[149] = 16; // X_PM1a_EVT_BLK bit width 32 -> 16
    bad[9] = (bad[9]! + 16) & 0xff; // keep the checksum right
    const badFile = join(dir, 'bad-facp.dat');
    writeFileSync(badFile, bad);
    const out = acpiexec('evaluate \\_S5', [files['DSDT']!, badFile]);
    expect(out).toMatch(COMPLAINT);
  });
});
