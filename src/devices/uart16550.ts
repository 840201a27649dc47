/**
 * 16550A UART (COM1 at 0x3F8–0x3FF, IRQ 4 on the board). Transmission completes instantly:
 * THR writes go straight to the `SerialBackend`, so LSR THRE and TEMT always read 1 and a
 * THR-empty interrupt is re-armed after every byte. Received bytes wait in a 16-byte FIFO
 * (1 byte when FIFOs are off); the "data available" interrupt is raised as soon as one byte is
 * there (the trigger level and character timeout are not modelled: the guest just drains the
 * FIFO while LSR.DR is set). The IRQ line is level: asserted while IIR shows an interrupt.
 *
 * Input never gets lost: `receive(byte)` puts host bytes in a host-side queue that feeds the
 * FIFO whenever it has room (right away, and again each time the guest reads RBR). This matters
 * because OSv never enables the FIFOs, so the chip holds a single byte. Only a queue beyond
 * `HOST_QUEUE_LIMIT` bytes overflows, and then the chip's overrun flag (LSR.OE) reports it.
 * A back end with `read()` is pulled only by `pollInput()` (or `startInputPolling`), at points
 * fixed in virtual time, so a recorded input stream replays exactly.
 */
import type { AccessSize, Clock, IrqLine, PortDevice, TimerQueue } from './bus.js';

export const COM1_BASE = 0x3f8;
export const COM1_IRQ = 4;

/** The host side of a serial port. */
export interface SerialBackend {
  /** One transmitted byte. */
  write(byte: number): void;
  /** The next received byte, or -1 when none is waiting. Optional: output-only back ends omit it. */
  read?(): number;
}

const IER_RDI = 0x01;
const IER_THRI = 0x02;
const IER_RLSI = 0x04;
const IER_MSI = 0x08;
const LSR_DR = 0x01;
const LSR_OE = 0x02;
const LSR_THRE = 0x20;
const LSR_TEMT = 0x40;
const MCR_LOOP = 0x10;
const LCR_DLAB = 0x80;
const FIFO_SIZE = 16;
/** Host bytes that may wait for the guest before further input is dropped as an overrun. */
export const HOST_QUEUE_LIMIT = 1 << 20;

export class Uart16550 implements PortDevice {
  readonly portRanges: ReadonlyArray<readonly [number, number]>;
  private readonly rx = new Uint8Array(FIFO_SIZE);
  private rxHead = 0;
  private rxCount = 0;
  private ier = 0;
  private fcr = 0;
  private lcr = 0;
  private mcr = 0;
  private scr = 0;
  private dll = 0x0c; // 9600 baud at power-on, as PC firmware leaves it
  private dlm = 0;
  private overrun = false;
  private hostQueue: number[] = [];
  private hostHead = 0;
  private thrIpending = false;
  private msrDelta = 0;
  private irqAsserted = false;

  constructor(
    private readonly backend: SerialBackend,
    private readonly irq: IrqLine | null,
    readonly base = COM1_BASE,
  ) {
    this.portRanges = [[base, 8]];
  }

  /** Bytes waiting in the receive FIFO. */
  get rxLevel(): number {
    return this.rxCount;
  }

  private get rxCapacity(): number {
    return this.fcr & 1 ? FIFO_SIZE : 1;
  }

  /** Bytes received from the host that wait for room in the FIFO. */
  get hostQueueLength(): number {
    return this.hostQueue.length - this.hostHead;
  }

  /** One byte from the host: into the FIFO now, or queued until the guest makes room. */
  receive(byte: number): void {
    if (this.hostQueueLength >= HOST_QUEUE_LIMIT) {
      this.overrun = true;
    } else {
      this.hostQueue.push(byte & 0xff);
      this.refill();
    }
    this.updateIrq();
  }

  /** Moves queued and back-end input into the FIFO while there is room. Returns the bytes taken. */
  pollInput(): number {
    let n = this.refill();
    if (this.backend.read !== undefined && !(this.mcr & MCR_LOOP)) {
      while (this.rxCount < this.rxCapacity) {
        const b = this.backend.read();
        if (b < 0) break;
        this.pushRx(b);
        n++;
      }
    }
    if (n > 0) this.updateIrq();
    return n;
  }

  private pushRx(b: number): void {
    this.rx[(this.rxHead + this.rxCount) % FIFO_SIZE] = b & 0xff;
    this.rxCount++;
  }

  /** Host queue -> FIFO while there is room. */
  private refill(): number {
    let n = 0;
    while (this.rxCount < this.rxCapacity && this.hostHead < this.hostQueue.length) {
      this.pushRx(this.hostQueue[this.hostHead++]!);
      n++;
    }
    if (this.hostHead === this.hostQueue.length) {
      this.hostQueue = [];
      this.hostHead = 0;
    } else if (this.hostHead > 4096) {
      this.hostQueue = this.hostQueue.slice(this.hostHead);
      this.hostHead = 0;
    }
    return n;
  }

  /**
   * Polls the back end every `intervalNs` of virtual time from the timer queue (a
   * deterministic point). Note OSv leaves the FIFOs off, so each poll moves at most one byte.
   * Returns a function that stops the polling.
   */
  startInputPolling(clock: Clock, timers: TimerQueue, intervalNs: number): () => void {
    if (!(intervalNs > 0)) throw new Error(`UART: poll interval must be > 0 ns, got ${intervalNs}`);
    let handle = 0;
    const tick = (deadline: number) => {
      this.pollInput();
      // After a long time jump, skip the missed polls rather than running them all now.
      const now = clock.nowNs();
      const next = deadline + intervalNs > now ? deadline + intervalNs : now + intervalNs;
      handle = timers.schedule(next, tick);
    };
    handle = timers.schedule(clock.nowNs() + intervalNs, tick);
    return () => timers.cancel(handle);
  }

  readPort(port: number, _size: AccessSize): number {
    switch (port - this.base) {
      case 0:
        if (this.lcr & LCR_DLAB) return this.dll;
        return this.popRx();
      case 1:
        return this.lcr & LCR_DLAB ? this.dlm : this.ier;
      case 2: {
        const iir = this.computeIir();
        // Reading IIR while it reports "THR empty" acknowledges that interrupt.
        if ((iir & 0x0f) === 0x02) {
          this.thrIpending = false;
          this.updateIrq();
        }
        return iir;
      }
      case 3:
        return this.lcr;
      case 4:
        return this.mcr;
      case 5: {
        const lsr = this.lsr();
        this.overrun = false;
        this.updateIrq();
        return lsr;
      }
      case 6: {
        const msr = this.msr();
        this.msrDelta = 0;
        this.updateIrq();
        return msr;
      }
      default:
        return this.scr;
    }
  }

  writePort(port: number, _size: AccessSize, value: number): void {
    value &= 0xff;
    switch (port - this.base) {
      case 0:
        if (this.lcr & LCR_DLAB) {
          this.dll = value;
          return;
        }
        if (this.mcr & MCR_LOOP) this.loopback(value);
        else this.backend.write(value);
        this.thrIpending = true; // the byte left at once: THR is empty again
        this.updateIrq();
        return;
      case 1: {
        if (this.lcr & LCR_DLAB) {
          this.dlm = value;
          return;
        }
        const old = this.ier;
        this.ier = value & 0x0f;
        if (this.ier & IER_THRI && !(old & IER_THRI)) this.thrIpending = true;
        this.updateIrq();
        return;
      }
      case 2:
        if ((value ^ this.fcr) & 1 || value & 2) this.clearRx();
        this.fcr = value & 0xc9;
        this.updateIrq();
        return;
      case 3:
        this.lcr = value;
        return;
      case 4: {
        const old = this.mcr;
        this.mcr = value & 0x1f;
        if ((old ^ this.mcr) & 0x0f && this.mcr & MCR_LOOP) this.msrDelta |= 0x0b;
        this.updateIrq();
        return;
      }
      case 5:
      case 6:
        return; // LSR and MSR are read-only here
      default:
        this.scr = value;
    }
  }

  /** Loopback: the transmitted byte arrives on the chip's own input; a full FIFO overruns. */
  private loopback(b: number): void {
    if (this.rxCount >= this.rxCapacity) this.overrun = true;
    else this.pushRx(b);
  }

  private popRx(): number {
    if (this.rxCount === 0) return 0;
    const b = this.rx[this.rxHead]!;
    this.rxHead = (this.rxHead + 1) % FIFO_SIZE;
    this.rxCount--;
    this.refill();
    this.updateIrq();
    return b;
  }

  private clearRx(): void {
    this.rxHead = 0;
    this.rxCount = 0;
  }

  private lsr(): number {
    return LSR_THRE | LSR_TEMT | (this.rxCount > 0 ? LSR_DR : 0) | (this.overrun ? LSR_OE : 0);
  }

  private msr(): number {
    if (this.mcr & MCR_LOOP) {
      const m = this.mcr;
      // Loopback wires DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD.
      return ((m & 2) << 3) | ((m & 1) << 5) | ((m & 4) << 4) | ((m & 8) << 4) | this.msrDelta;
    }
    return 0xb0 | this.msrDelta; // DCD, DSR, CTS: a console that is always there
  }

  private computeIir(): number {
    const fifoBits = this.fcr & 1 ? 0xc0 : 0;
    let id = 0x01;
    if (this.ier & IER_RLSI && this.overrun) id = 0x06;
    else if (this.ier & IER_RDI && this.rxCount > 0) id = 0x04;
    else if (this.ier & IER_THRI && this.thrIpending) id = 0x02;
    else if (this.ier & IER_MSI && this.msrDelta & 0x0f) id = 0x00;
    return fifoBits | id;
  }

  private updateIrq(): void {
    const want = (this.computeIir() & 1) === 0;
    if (want === this.irqAsserted) return;
    this.irqAsserted = want;
    if (this.irq === null) return;
    if (want) this.irq.raise();
    else this.irq.lower();
  }
}
