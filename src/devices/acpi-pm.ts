/**
 * ACPI fixed hardware of QEMU's `pc` machine (PIIX4 PM at I/O base 0x600):
 *   PM1a_EVT_BLK 0x600 (PM1_STS 2 bytes, PM1_EN 2 bytes), PM1a_CNT_BLK 0x604 (2 bytes),
 *   PM_TMR_BLK 0x608 (4 bytes, 3.579545 MHz, 24-bit unless `timer32`), GPE0_BLK 0xAFE0
 *   (2 status + 2 enable bytes) and the SMI command port 0xB2 (0xF1 = ACPI enable sets SCI_EN,
 *   0xF0 = disable), so the board's FADT can copy QEMU's values.
 *
 * Power-off: writing PM1_CNT with SLP_EN (bit 13) and SLP_TYP (bits 12:10) equal to the S5
 * value calls `powerOff()`. The S5 value is 0, as QEMU's DSDT declares
 * `Name (_S5, Package () { 0, 0, ... })` and QEMU's acpi_pm1_cnt_write treats SLP_TYP 0 as
 * soft-off (0x2000 written to 0x604 powers QEMU off); the board's DSDT \_S5 must use
 * `ACPI_S5_SLP_TYP`. Other sleep types are ignored (only \_S5 is declared).
 *
 * The SCI (GSI 9) is asserted while an enabled PM1 or GPE0 status bit is set and SCI_EN is on;
 * the only event source modelled is the power button (`pressPowerButton`). TMR_STS is derived
 * from the timer's top bit but raises no interrupt.
 */
import type { AccessSize, Clock, IrqLine, PortDevice } from './bus.js';

export const ACPI_PM_BASE = 0x600;
export const ACPI_PM1_CNT = 0x604;
export const ACPI_PM_TMR = 0x608;
export const ACPI_GPE0_BASE = 0xafe0;
export const ACPI_SMI_CMD = 0xb2;
export const ACPI_ENABLE_VALUE = 0xf1;
export const ACPI_DISABLE_VALUE = 0xf0;
export const ACPI_S5_SLP_TYP = 0;
export const ACPI_SCI_GSI = 9;
export const PM_TIMER_HZ = 3_579_545;

const PM1_TMR_STS = 1 << 0;
const PM1_PWRBTN = 1 << 8;
/** PM1_EN bits the guest can set: TMR, GBL, PWRBTN, SLPBTN, RTC. */
const PM1_EN_WRITABLE = 0x0721;
/** PM1_STS bits that exist (write 1 to clear). */
const PM1_STS_BITS = 0x8f31;
const CNT_SCI_EN = 1 << 0;
const CNT_SLP_EN = 1 << 13;

export interface AcpiPmOptions {
  clock: Clock;
  /** Called once for a PM1_CNT write entering S5. */
  powerOff: () => void;
  sci?: IrqLine | null;
  /** 32-bit PM timer (FADT TMR_VAL_EXT); QEMU's is 24-bit. */
  timer32?: boolean;
  /** SCI_EN at reset (true = "already in ACPI mode", for a FADT with SMI_CMD = 0). */
  sciEnabled?: boolean;
  pmBase?: number;
  gpe0Base?: number;
  /** SMI command port, or null for none. */
  smiCmdPort?: number | null;
}

export class AcpiPm implements PortDevice {
  readonly portRanges: ReadonlyArray<readonly [number, number]>;
  private readonly clock: Clock;
  private readonly powerOffCb: () => void;
  private readonly sci: IrqLine | null;
  private readonly timerMask: number;
  private readonly timerTopBit: number;
  private readonly pmBase: number;
  private readonly gpe0Base: number;
  private readonly smiPort: number;
  private sts = 0;
  private en = 0;
  private cnt = 0;
  private gpeSts = 0;
  private gpeEn = 0;
  private smiValue = 0;
  private apmStatus = 0;
  /** Timer period index (ticks >> top bit) when TMR_STS was last cleared. */
  private tmrEpoch = 0;
  private sciAsserted = false;
  private poweredOff = false;

  constructor(opts: AcpiPmOptions) {
    this.clock = opts.clock;
    this.powerOffCb = opts.powerOff;
    this.sci = opts.sci ?? null;
    this.timerMask = opts.timer32 ? 0xffffffff : 0xffffff;
    this.timerTopBit = opts.timer32 ? 32 : 24;
    this.cnt = opts.sciEnabled ? CNT_SCI_EN : 0;
    this.pmBase = opts.pmBase ?? ACPI_PM_BASE;
    this.gpe0Base = opts.gpe0Base ?? ACPI_GPE0_BASE;
    this.smiPort = opts.smiCmdPort === null ? -1 : opts.smiCmdPort ?? ACPI_SMI_CMD;
    const ranges: [number, number][] = [[this.pmBase, 12], [this.gpe0Base, 4]];
    if (this.smiPort >= 0) ranges.push([this.smiPort, 2]);
    this.portRanges = ranges;
  }

  /** PM timer ticks since power-on, exactly floor(ns * 3579545 / 1e9) without overflow. */
  timerTicks(): number {
    const ns = this.clock.nowNs();
    const sec = Math.floor(ns / 1e9);
    const rem = ns - sec * 1e9;
    return sec * PM_TIMER_HZ + Math.floor((rem * PM_TIMER_HZ) / 1e9);
  }

  /** True once the guest requested S5. */
  get isPoweredOff(): boolean {
    return this.poweredOff;
  }

  get sciEnabled(): boolean {
    return (this.cnt & CNT_SCI_EN) !== 0;
  }

  /** A power-button press (e.g. the host asking for a clean shutdown). */
  pressPowerButton(): void {
    this.sts |= PM1_PWRBTN;
    this.updateSci();
  }

  readPort(port: number, size: AccessSize): number {
    if (port === this.smiPort) return this.smiValue;
    if (port === this.smiPort + 1) return this.apmStatus;
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + this.readByte(port + i);
    return v >>> 0;
  }

  writePort(port: number, size: AccessSize, value: number): void {
    if (port === this.smiPort) {
      this.smiValue = value & 0xff;
      if (this.smiValue === ACPI_ENABLE_VALUE) this.cnt |= CNT_SCI_EN;
      else if (this.smiValue === ACPI_DISABLE_VALUE) this.cnt &= ~CNT_SCI_EN;
      this.updateSci();
      return;
    }
    if (port === this.smiPort + 1) {
      this.apmStatus = value & 0xff;
      return;
    }
    // Gather the bytes per 16-bit register first, so a word write acts once.
    let stsClear = 0;
    let enVal = 0, enMask = 0;
    let cntVal = 0, cntMask = 0;
    let gpeStsClear = 0;
    let gpeEnVal = 0, gpeEnMask = 0;
    for (let i = 0; i < size; i++) {
      const p = port + i;
      const b = (value >>> (8 * i)) & 0xff;
      if (p >= this.pmBase && p < this.pmBase + 6) {
        const o = p - this.pmBase;
        const sh = (o & 1) * 8;
        if (o < 2) stsClear |= b << sh;
        else if (o < 4) { enVal |= b << sh; enMask |= 0xff << sh; }
        else { cntVal |= b << sh; cntMask |= 0xff << sh; }
      } else if (p >= this.gpe0Base && p < this.gpe0Base + 4) {
        const o = p - this.gpe0Base;
        const sh = (o & 1) * 8;
        if (o < 2) gpeStsClear |= b << sh;
        else { gpeEnVal |= b << sh; gpeEnMask |= 0xff << sh; }
      }
    }
    if (stsClear & PM1_TMR_STS) this.tmrEpoch = Math.floor(this.timerTicks() / 2 ** (this.timerTopBit - 1));
    this.sts &= ~(stsClear & PM1_STS_BITS);
    this.en = ((this.en & ~enMask) | (enVal & enMask)) & PM1_EN_WRITABLE;
    this.gpeSts &= ~gpeStsClear;
    this.gpeEn = (this.gpeEn & ~gpeEnMask) | (gpeEnVal & gpeEnMask);
    if (cntMask !== 0) this.writeControl((this.cnt & ~cntMask) | (cntVal & cntMask));
    this.updateSci();
  }

  private writeControl(v: number): void {
    this.cnt = v & ~CNT_SLP_EN & 0xffff; // SLP_EN is write-only
    if (v & CNT_SLP_EN && ((v >> 10) & 7) === ACPI_S5_SLP_TYP && !this.poweredOff) {
      this.poweredOff = true;
      this.powerOffCb();
    }
  }

  private readByte(p: number): number {
    if (p >= this.pmBase && p < this.pmBase + 12) {
      const o = p - this.pmBase;
      if (o >= 8) return (this.timerTicks() & this.timerMask) >>> ((o - 8) * 8) & 0xff;
      const sh = (o & 1) * 8;
      if (o < 2) return (this.currentStatus() >> sh) & 0xff;
      if (o < 4) return (this.en >> sh) & 0xff;
      if (o < 6) return (this.cnt >> sh) & 0xff;
      return 0xff; // 0x606-0x607: nothing
    }
    if (p >= this.gpe0Base && p < this.gpe0Base + 4) {
      const o = p - this.gpe0Base;
      const sh = (o & 1) * 8;
      return ((o < 2 ? this.gpeSts : this.gpeEn) >> sh) & 0xff;
    }
    return 0xff;
  }

  private currentStatus(): number {
    const epoch = Math.floor(this.timerTicks() / 2 ** (this.timerTopBit - 1));
    return this.sts | (epoch !== this.tmrEpoch ? PM1_TMR_STS : 0);
  }

  private updateSci(): void {
    const want = this.sciEnabled && ((this.sts & this.en & ~PM1_TMR_STS) !== 0 || (this.gpeSts & this.gpeEn) !== 0);
    if (want === this.sciAsserted) return;
    this.sciAsserted = want;
    if (want) this.sci?.raise();
    else this.sci?.lower();
  }
}
