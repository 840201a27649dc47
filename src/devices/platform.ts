/**
 * The standard wiring of every platform device into a QEMU-`pc`-shaped machine, so the board
 * only supplies the clock, timer queue, RAM writer, one `InterruptSink` per vCPU and the host
 * back ends. The addresses, ports and interrupt numbers here are what the board's ACPI tables
 * (MADT, FADT, DSDT, HPET) must describe:
 *
 *   LAPIC 0xFEE00000 (APIC id = CPU index)   IOAPIC 0xFEC00000, id = CPU count, GSIs 0–23
 *   HPET 0xFED00000                           COM1 0x3F8, ISA IRQ 4 = GSI 4 (edge)
 *   PIC 0x20/0xA0, ELCR 0x4D0                 RTC 0x70/0x71 (ISA IRQ 8, unused)
 *   PCI 0xCF8/0xCFC, i440FX at 00.0           ACPI PM1a_EVT 0x600, PM1a_CNT 0x604,
 *   PM_TMR 0x608 (24-bit), GPE0 0xAFE0 (4 bytes), SMI_CMD 0xB2 (enable 0xF1, disable 0xF0),
 *   SCI = GSI 9 (level, active high), \_S5 SLP_TYP = 0
 *   Reset: 0x64 (0xFE), 0x92, 0xCF9; debug console 0xE9; optional debug exit 0xF4
 *   ISA IRQ 0 is GSI 2 (the MADT interrupt source override QEMU also declares).
 *   PCI INTx: INTA–INTD of slot s use GSI [10, 10, 11, 11][(s + pin - 1) & 3] (level, shared).
 */
import { AcpiPm } from './acpi-pm.js';
import { ApicBus, LapicMmioWindow } from './apic-bus.js';
import { IoBus, MmioBus, type Clock, type InterruptSink, type IrqLine, type MsrDevice, type PhysMemory, type TimerQueue } from './bus.js';
import { Hpet, HPET_DEFAULT_BASE, HPET_MMIO_SIZE } from './hpet.js';
import { IoApic, IOAPIC_DEFAULT_BASE, IOAPIC_MMIO_SIZE } from './ioapic.js';
import { SharedIrq } from './irq-share.js';
import { KvmClock } from './kvmclock.js';
import { LAPIC_DEFAULT_BASE, type LocalApic } from './lapic.js';
import { PciBarMapper, assignPciResources, type PciFirmwareOptions } from './pci-bars.js';
import type { PciDevice } from './pci-config.js';
import { PciHost } from './pci.js';
import { DualPic } from './pic.js';
import { ResetPorts } from './reset.js';
import { CmosRtc } from './rtc.js';
import { COM1_IRQ, Uart16550, type SerialBackend } from './uart16550.js';

export interface PcPlatformOptions {
  clock: Clock;
  timers: TimerQueue;
  /** Guest RAM writer (kvmclock structures). */
  memory: PhysMemory;
  /** One per vCPU; index = CPU index = APIC id; CPU 0 is the BSP. */
  sinks: InterruptSink[];
  /** Index of the vCPU performing the current MMIO access (for the LAPIC window). */
  currentCpu: () => number;
  serial: SerialBackend;
  powerOff: () => void;
  reset: () => void;
  debugOut?: (byte: number) => void;
  debugExit?: (status: number) => void;
  /** Wall-clock seconds at virtual time 0 (RTC and kvmclock); deterministic default. */
  bootEpochSec?: number;
  /**
   * IOAPIC id (4-bit register). Default: the vCPU count, the first id after the CPUs' APIC
   * ids, which is also the MADT default in src/machine/acpi (0 with 16+ vCPUs, where it no
   * longer fits; OSv never reads it).
   */
  ioapicId?: number;
  /** GSI for a PCI interrupt pin (1 = INTA) of a slot. */
  intxGsi?: (slot: number, pin: number) => number;
}

const defaultIntxGsi = (slot: number, pin: number): number => [10, 10, 11, 11][(slot + pin - 1) & 3]!;

export class PcPlatform {
  readonly io = new IoBus();
  readonly mmio = new MmioBus();
  readonly apicBus: ApicBus;
  readonly lapics: LocalApic[];
  readonly kvmclocks: KvmClock[];
  readonly ioapic: IoApic;
  readonly pic = new DualPic();
  readonly uart: Uart16550;
  readonly hpet: Hpet;
  readonly rtc: CmosRtc;
  readonly pci = new PciHost();
  readonly pciBars: PciBarMapper;
  readonly acpi: AcpiPm;
  readonly resetPorts: ResetPorts;
  private readonly sharedGsis = new Map<number, SharedIrq>();
  private readonly intxGsi: (slot: number, pin: number) => number;

  constructor(opts: PcPlatformOptions) {
    if (opts.sinks.length < 1 || opts.sinks.length > 255) throw new Error(`platform: ${opts.sinks.length} CPUs (1-255 supported)`);
    this.intxGsi = opts.intxGsi ?? defaultIntxGsi;
    this.apicBus = new ApicBus(opts.clock, opts.timers);
    this.lapics = opts.sinks.map((s) => this.apicBus.addCpu(s));
    this.kvmclocks = opts.sinks.map(() => new KvmClock(opts.memory, opts.clock, opts.bootEpochSec));
    const ioapicId = opts.ioapicId ?? (opts.sinks.length <= 15 ? opts.sinks.length : 0);
    if (!Number.isInteger(ioapicId) || ioapicId < 0 || ioapicId > 15) throw new Error(`platform: IOAPIC id ${ioapicId} does not fit its 4-bit register`);
    this.ioapic = new IoApic(this.apicBus, ioapicId);
    this.apicBus.onEoi((v) => this.ioapic.eoi(v));

    this.uart = new Uart16550(opts.serial, this.isaIrq(COM1_IRQ));
    this.hpet = new Hpet(opts.clock, opts.timers, (gsi) => (gsi < 24 ? this.ioapic.line(gsi) : null));
    this.rtc = new CmosRtc(opts.clock, opts.bootEpochSec);
    this.acpi = new AcpiPm({ clock: opts.clock, powerOff: opts.powerOff, sci: this.ioapic.line(9) });
    this.resetPorts = new ResetPorts({
      reset: opts.reset,
      ...(opts.debugOut ? { debugOut: opts.debugOut } : {}),
      ...(opts.debugExit ? { debugExit: opts.debugExit } : {}),
    });
    for (const d of [this.pic, this.uart, this.rtc, this.pci, this.acpi, this.resetPorts]) this.io.add(d);

    this.mmio.map(LAPIC_DEFAULT_BASE, 0x1000, new LapicMmioWindow(this.apicBus, opts.currentCpu), 'lapic');
    this.mmio.map(IOAPIC_DEFAULT_BASE, IOAPIC_MMIO_SIZE, this.ioapic, 'ioapic');
    this.mmio.map(HPET_DEFAULT_BASE, HPET_MMIO_SIZE, this.hpet, 'hpet');
    this.pciBars = new PciBarMapper(this.io, this.mmio);
    this.pciBars.track(this.pci.device(0)!);
  }

  /** The IOAPIC input for ISA IRQ `irq` (IRQ 0 is GSI 2). */
  isaIrq(irq: number): IrqLine {
    return this.ioapic.line(irq === 0 ? 2 : irq);
  }

  /** The device owning MSR `index` for vCPU `cpu` (LAPIC, kvmclock), or undefined. */
  msrOwner(cpu: number, index: number): MsrDevice | undefined {
    const l = this.lapics[cpu];
    if (l?.ownsMsr(index)) return l;
    const k = this.kvmclocks[cpu];
    if (k?.ownsMsr(index)) return k;
    return undefined;
  }

  /** An MSI / MSI-X message write by a device (`MsixOptions.send`): to the LAPICs if it targets 0xFEExxxxx. */
  readonly sendMsi = (addressLo: number, addressHi: number, data: number): void => {
    if (addressHi === 0) this.apicBus.deliverMsi(addressLo, data);
  };

  /** Plugs a PCI function in; call `finishPci` once all are in. */
  addPciDevice(device: PciDevice, slot: number, fn = 0): void {
    this.pci.attach(device, slot, fn);
  }

  /**
   * Firmware work for PCI: assigns BARs, enables decode, sets the interrupt line of every
   * function with an interrupt pin and wires its INTx to the shared GSI, and starts keeping
   * BARs mapped on the buses.
   */
  finishPci(opts?: PciFirmwareOptions): void {
    assignPciResources(this.pci, opts);
    for (const { devfn, device } of this.pci.list()) {
      const pin = device.config[0x3d]!;
      if (pin >= 1 && pin <= 4) {
        const gsi = this.intxGsi(devfn >> 3, pin);
        device.setInterruptLine(gsi);
        let shared = this.sharedGsis.get(gsi);
        if (shared === undefined) {
          shared = new SharedIrq(this.ioapic.line(gsi));
          this.sharedGsis.set(gsi, shared);
        }
        device.intx = shared.source();
      }
      this.pciBars.track(device);
    }
  }
}
