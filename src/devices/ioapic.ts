/**
 * I/O APIC at 0xFEC00000 (82093AA-style, version 0x20 like QEMU's, 24 pins = GSIs 0–23).
 * Registers are reached through IOREGSEL (offset 0x00) and IOWIN (0x10); version 0x20 also
 * has the directed-EOI register at 0x40.
 *
 * Pins are `IrqLine`s. Edge-triggered pins latch a rising edge, and QEMU-style keep it latched
 * while the entry is masked, delivering it on unmask. Level-triggered pins deliver while the
 * line is asserted and Remote IRR is clear; the LAPIC's EOI of that vector (broadcast through
 * the ApicBus, or the EOI register) clears Remote IRR and re-delivers if the line is still up.
 * The polarity bit is stored but ignored: lines are logical (asserted = raised).
 */
import type { AccessSize, IrqLine, MmioDevice } from './bus.js';
import type { DeliveryMode } from './lapic.js';

export const IOAPIC_DEFAULT_BASE = 0xfec00000;
export const IOAPIC_MMIO_SIZE = 0x1000;
export const IOAPIC_PINS = 24;
const IOAPIC_VERSION = 0x20;

const REDIR_MASKED = 1 << 16;
const REDIR_LEVEL = 1 << 15;
const REDIR_REMOTE_IRR = 1 << 14;
const REDIR_LOGICAL = 1 << 11;
/** Guest-writable bits of the low dword: vector, delivery mode, dest mode, polarity, trigger, mask. */
const REDIR_WRITABLE_LO = 0x1afff;

/** What the IOAPIC needs from the APIC bus (ApicBus implements it). */
export interface InterruptRouter {
  deliver(dest: number, logical: boolean, mode: DeliveryMode, vector: number, level: boolean, x2apicFormat: boolean): void;
}

export class IoApic implements MmioDevice {
  private select = 0;
  private id: number;
  readonly redirLo = new Uint32Array(IOAPIC_PINS);
  readonly redirHi = new Uint32Array(IOAPIC_PINS);
  private readonly lineLevel = new Uint8Array(IOAPIC_PINS);
  private readonly edgePending = new Uint8Array(IOAPIC_PINS);
  private readonly lines: IrqLine[] = [];

  constructor(
    private readonly router: InterruptRouter,
    id = 0,
  ) {
    this.id = id & 0xf;
    this.redirLo.fill(REDIR_MASKED);
    for (let gsi = 0; gsi < IOAPIC_PINS; gsi++) {
      this.lines.push({ raise: () => this.setLevel(gsi, true), lower: () => this.setLevel(gsi, false) });
    }
  }

  /** The interrupt line of pin `gsi` (ISA IRQ n is GSI n on this machine, except IRQ0 -> GSI2 per MADT). */
  line(gsi: number): IrqLine {
    const l = this.lines[gsi];
    if (l === undefined) throw new Error(`IOAPIC: no pin ${gsi} (pins 0-${IOAPIC_PINS - 1})`);
    return l;
  }

  setLevel(gsi: number, asserted: boolean): void {
    const old = this.lineLevel[gsi]!;
    this.lineLevel[gsi] = asserted ? 1 : 0;
    if (this.redirLo[gsi]! & REDIR_LEVEL) {
      this.service(gsi);
    } else if (asserted && !old) {
      this.edgePending[gsi] = 1;
      this.service(gsi);
    }
  }

  /** EOI of `vector` by a LAPIC: clears Remote IRR of the level-triggered entries using it. */
  eoi(vector: number): void {
    for (let gsi = 0; gsi < IOAPIC_PINS; gsi++) {
      const lo = this.redirLo[gsi]!;
      if ((lo & 0xff) === vector && lo & REDIR_LEVEL && lo & REDIR_REMOTE_IRR) {
        this.redirLo[gsi] = lo & ~REDIR_REMOTE_IRR;
        this.service(gsi);
      }
    }
  }

  readMmio(offset: number, size: AccessSize): number {
    if (offset === 0x00) return this.select;
    if (offset >= 0x10 && offset < 0x14) {
      const v = this.readRegister(this.select) >>> ((offset - 0x10) * 8);
      return size === 4 ? v >>> 0 : size === 2 ? v & 0xffff : v & 0xff;
    }
    return 0;
  }

  writeMmio(offset: number, size: AccessSize, value: number): void {
    if (offset === 0x00) {
      this.select = value & 0xff;
    } else if (offset === 0x10 && size === 4) {
      this.writeRegister(this.select, value >>> 0);
    } else if (offset === 0x40) {
      this.eoi(value & 0xff);
    }
  }

  private readRegister(index: number): number {
    if (index === 0x00) return (this.id << 24) >>> 0;
    if (index === 0x01) return ((IOAPIC_PINS - 1) << 16) | IOAPIC_VERSION;
    if (index === 0x02) return (this.id << 24) >>> 0;
    if (index >= 0x10 && index < 0x10 + 2 * IOAPIC_PINS) {
      const gsi = (index - 0x10) >> 1;
      return index & 1 ? this.redirHi[gsi]! : this.redirLo[gsi]!;
    }
    return 0;
  }

  private writeRegister(index: number, value: number): void {
    if (index === 0x00) {
      this.id = (value >>> 24) & 0xf;
      return;
    }
    if (index < 0x10 || index >= 0x10 + 2 * IOAPIC_PINS) return;
    const gsi = (index - 0x10) >> 1;
    if (index & 1) {
      this.redirHi[gsi] = (value & 0xff000000) >>> 0;
      return;
    }
    let lo = (this.redirLo[gsi]! & ~REDIR_WRITABLE_LO) | (value & REDIR_WRITABLE_LO);
    if (!(lo & REDIR_LEVEL)) lo &= ~REDIR_REMOTE_IRR;
    this.redirLo[gsi] = lo >>> 0;
    this.service(gsi);
  }

  private service(gsi: number): void {
    const lo = this.redirLo[gsi]!;
    if (lo & REDIR_MASKED) return;
    if (lo & REDIR_LEVEL) {
      if (!this.lineLevel[gsi] || lo & REDIR_REMOTE_IRR) return;
      this.redirLo[gsi] = lo | REDIR_REMOTE_IRR;
    } else {
      if (!this.edgePending[gsi]) return;
      this.edgePending[gsi] = 0;
    }
    const mode = ((lo >> 8) & 7) as DeliveryMode;
    this.router.deliver(this.redirHi[gsi]! >>> 24, (lo & REDIR_LOGICAL) !== 0, mode, lo & 0xff, (lo & REDIR_LEVEL) !== 0, false);
  }
}
