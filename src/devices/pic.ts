/**
 * The 8259A master/slave pair at 0x20/0x21 and 0xA0/0xA1, plus the ELCR edge/level registers
 * at 0x4D0/0x4D1. OSv runs with the IOAPIC and only initialises and masks the PIC, so this
 * model accepts the ICW1–ICW4 sequence, OCW1 masks and OCW2/OCW3 commands, reads back what
 * the guest programmed, and never delivers an interrupt (IRR/ISR always read 0).
 */
import type { AccessSize, PortDevice } from './bus.js';

class Pic8259 {
  mask = 0;
  vectorBase = 0;
  icw3 = 0;
  icw4 = 0;
  /** 0: normal operation; 1/2/3: waiting for ICW2/ICW3/ICW4. */
  initStep = 0;
  private needIcw4 = false;
  private single = false;
  readIsr = false;

  writeCommand(v: number): void {
    if (v & 0x10) {
      // ICW1 restarts initialisation and clears the mask register.
      this.needIcw4 = (v & 1) !== 0;
      this.single = (v & 2) !== 0;
      this.mask = 0;
      this.icw4 = 0;
      this.initStep = 1;
    } else if (v & 0x08) {
      if (v & 0x02) this.readIsr = (v & 1) !== 0; // OCW3: choose IRR or ISR for command reads
    }
    // OCW2 (EOI, rotation): nothing is ever in service.
  }

  writeData(v: number): void {
    switch (this.initStep) {
      case 1:
        this.vectorBase = v & 0xf8;
        this.initStep = this.single ? (this.needIcw4 ? 3 : 0) : 2;
        return;
      case 2:
        this.icw3 = v;
        this.initStep = this.needIcw4 ? 3 : 0;
        return;
      case 3:
        this.icw4 = v;
        this.initStep = 0;
        return;
      default:
        this.mask = v;
    }
  }
}

export class DualPic implements PortDevice {
  readonly portRanges = [[0x20, 2], [0xa0, 2], [0x4d0, 2]] as const;
  readonly master = new Pic8259();
  readonly slave = new Pic8259();
  /** Edge/level control for IRQ 0–15 (bits 0–7 at 0x4D0, 8–15 at 0x4D1). */
  elcr = 0;

  readPort(port: number, _size: AccessSize): number {
    switch (port) {
      case 0x21: return this.master.mask;
      case 0xa1: return this.slave.mask;
      case 0x4d0: return this.elcr & 0xff;
      case 0x4d1: return this.elcr >> 8;
      default: return 0; // IRR / ISR: nothing is ever requested or in service
    }
  }

  writePort(port: number, _size: AccessSize, value: number): void {
    value &= 0xff;
    switch (port) {
      case 0x20: this.master.writeCommand(value); return;
      case 0x21: this.master.writeData(value); return;
      case 0xa0: this.slave.writeCommand(value); return;
      case 0xa1: this.slave.writeData(value); return;
      // IRQ 0, 1, 2, 8 and 13 are always edge on the PIIX: their ELCR bits read 0.
      case 0x4d0: this.elcr = (this.elcr & 0xff00) | (value & 0xf8); return;
      case 0x4d1: this.elcr = (this.elcr & 0x00ff) | ((value & 0xde) << 8); return;
    }
  }

  /** True when the guest masked every PIC input (what OSv does at boot). */
  get fullyMasked(): boolean {
    return this.master.mask === 0xff && this.slave.mask === 0xff;
  }
}
