/**
 * Local APIC, one per vCPU: xAPIC registers through the 4 KiB MMIO window at 0xFEE00000 and
 * the same registers as x2APIC MSRs (0x800 + offset/16), chosen by the APIC_BASE MSR (0x1B).
 *
 * The CPU side is pull-based: the LAPIC calls `sink.requestInterrupt()` whenever something
 * may have become deliverable, and the CPU, at an instruction boundary, asks
 * `highestPendingVector()` (-1 = nothing deliverable at the current TPR/ISR priority),
 * `acknowledge()` when it actually takes the interrupt (IF=1), `takeNmi()`, `takeInit()` and
 * `takeSipi()`. EOI comes from the guest's register write (or `eoi()`).
 *
 * The timer counts at 1 GHz divided by the divide configuration (OSv programs nanoseconds with
 * divide-by-1); its state is a (base time, base count) pair evaluated against the `Clock`, and
 * expiry is a `TimerQueue` event, so nothing ticks per instruction.
 *
 * MSR 0x4b564d04 (KVM PV EOI) is accepted and read back but never armed: the device never sets
 * the "EOI may be skipped" flag in guest memory, so the guest always does a real EOI, which is
 * correct (PV EOI is only an optimisation of VM exits that we do not have).
 */
import type { Clock, InterruptSink, MmioDevice, MsrDevice, MsrValue, AccessSize, TimerCallback, TimerQueue } from './bus.js';
import { captureFields, restoreFields, type DeviceState, type Snapshottable } from './snapshottable.js';
import { doubleFields } from '../cpu/shapes.js';

export const MSR_APIC_BASE = 0x1b;
export const MSR_X2APIC_FIRST = 0x800;
export const MSR_X2APIC_LAST = 0x8ff;
export const MSR_KVM_PV_EOI = 0x4b564d04;
export const LAPIC_DEFAULT_BASE = 0xfee00000;
export const LAPIC_VERSION = 0x50014;

const BASE_BSP = 1 << 8;
const BASE_EXTD = 1 << 10;
const BASE_EN = 1 << 11;

/** Register numbers (xAPIC MMIO offset >> 4 == x2APIC MSR index - 0x800). */
export enum LapicReg {
  ID = 0x02,
  VERSION = 0x03,
  TPR = 0x08,
  APR = 0x09,
  PPR = 0x0a,
  EOI = 0x0b,
  LDR = 0x0d,
  DFR = 0x0e,
  SVR = 0x0f,
  ISR0 = 0x10,
  TMR0 = 0x18,
  IRR0 = 0x20,
  ESR = 0x28,
  LVT_CMCI = 0x2f,
  ICR_LO = 0x30,
  ICR_HI = 0x31,
  LVT_TIMER = 0x32,
  LVT_THERMAL = 0x33,
  LVT_PERF = 0x34,
  LVT_LINT0 = 0x35,
  LVT_LINT1 = 0x36,
  LVT_ERROR = 0x37,
  TIMER_INITIAL = 0x38,
  TIMER_CURRENT = 0x39,
  TIMER_DIVIDE = 0x3e,
  SELF_IPI = 0x3f,
}

/** ICR / redirection-entry delivery modes. */
export enum DeliveryMode {
  FIXED = 0,
  LOWEST = 1,
  SMI = 2,
  NMI = 4,
  INIT = 5,
  STARTUP = 6,
  EXTINT = 7,
}

const LVT_MASKED = 1 << 16;
const ESR_SEND_ILLEGAL_VECTOR = 1 << 5;
const ESR_RECEIVE_ILLEGAL_VECTOR = 1 << 6;
const ESR_ILLEGAL_REGISTER = 1 << 7;

/** Writable bits of each LVT, indexed by register number - LVT_TIMER (CMCI handled apart). */
const LVT_WRITABLE: Record<number, number> = {
  [LapicReg.LVT_CMCI]: 0x107ff,
  [LapicReg.LVT_TIMER]: 0x700ff,
  [LapicReg.LVT_THERMAL]: 0x107ff,
  [LapicReg.LVT_PERF]: 0x107ff,
  [LapicReg.LVT_LINT0]: 0x1a7ff,
  [LapicReg.LVT_LINT1]: 0x1a7ff,
  [LapicReg.LVT_ERROR]: 0x100ff,
};

/** How the LAPIC hands IPIs and EOIs to the rest of the APIC system (implemented by ApicBus). */
export interface IpiRouter {
  /** Send the IPI described by ICR low `icrLo` to `dest` (8-bit xAPIC or 32-bit x2APIC id). */
  sendIpi(from: LocalApic, icrLo: number, dest: number, x2apic: boolean): void;
  /** A level-triggered vector was EOIed: IOAPICs clear Remote IRR for it. */
  eoiBroadcast(vector: number): void;
}

export interface LocalApicOptions {
  cpuIndex: number;
  /** Initial APIC id (the MADT's id for this CPU). */
  apicId: number;
  bsp: boolean;
  clock: Clock;
  timers: TimerQueue;
  sink: InterruptSink;
  router: IpiRouter;
}

type ApicMode = 'disabled' | 'xapic' | 'x2apic';

function highestBit(words: Uint32Array): number {
  for (let i = 7; i >= 0; i--) {
    const w = words[i]!;
    if (w !== 0) return i * 32 + 31 - Math.clz32(w);
  }
  return -1;
}

export class LocalApic implements MmioDevice, MsrDevice, Snapshottable {
  readonly cpuIndex: number;
  readonly initialApicId: number;
  private readonly clock: Clock;
  private readonly timers: TimerQueue;
  private readonly sink: InterruptSink;
  private readonly router: IpiRouter;

  private baseLo: number;
  private baseHi = 0;
  private xapicId: number;
  private tpr = 0;
  private ldr = 0;
  private dfr = 0xffffffff;
  private svr = 0xff;
  private esr = 0;
  private esrPending = 0;
  private icrLo = 0;
  private icrHi = 0;
  private readonly lvt = new Uint32Array(0x38);
  readonly isr = new Uint32Array(8);
  readonly tmr = new Uint32Array(8);
  readonly irr = new Uint32Array(8);

  private timerInitial = 0;
  private timerDivideConf = 0;
  private timerShift = 1;
  private timerRunning = false;
  private timerBaseNs = 0;
  private timerBaseCount = 0;
  private timerHandle = 0;
  private readonly onTimerBound: (deadline: number) => void;

  private nmiPending = false;
  private initPending = false;
  private sipiVector = -1;
  private pvEoiLo = 0;
  private pvEoiHi = 0;

  constructor(opts: LocalApicOptions) {
    this.cpuIndex = opts.cpuIndex;
    this.initialApicId = opts.apicId >>> 0;
    this.clock = opts.clock;
    this.timers = opts.timers;
    this.sink = opts.sink;
    this.router = opts.router;
    this.xapicId = opts.apicId & 0xff;
    this.baseLo = (LAPIC_DEFAULT_BASE | BASE_EN | (opts.bsp ? BASE_BSP : 0)) >>> 0;
    this.onTimerBound = (d) => this.onTimer(d);
    this.resetRegisters();
    doubleFields(this, 'timerBaseNs');
  }

  saveState(): DeviceState {
    return captureFields(this);
  }

  loadState(s: DeviceState): void {
    restoreFields(this, s);
  }

  timerCallbacks(): Record<string, TimerCallback> {
    return { timer: this.onTimerBound };
  }

  // ------------------------------------------------------------------ state queries

  get mode(): ApicMode {
    if (!(this.baseLo & BASE_EN)) return 'disabled';
    return this.baseLo & BASE_EXTD ? 'x2apic' : 'xapic';
  }

  /** The id IPIs and interrupts are matched against in physical destination mode. */
  get apicId(): number {
    return this.mode === 'x2apic' ? this.initialApicId : this.xapicId;
  }

  /** Logical destination register as the routing logic needs it. */
  get logicalDest(): number {
    return this.ldr;
  }

  /** Destination format: true = flat model (DFR bits 31:28 = 0xF), false = cluster. */
  get flatModel(): boolean {
    return (this.dfr >>> 28) === 0xf;
  }

  /** Physical address of the MMIO window as programmed in APIC_BASE (the board maps 0xFEE00000). */
  get baseAddress(): number {
    return ((this.baseLo & 0xfffff000) >>> 0) + this.baseHi * 2 ** 32;
  }

  get softwareEnabled(): boolean {
    return (this.svr & 0x100) !== 0;
  }

  /** Processor priority: max(TPR, class of the highest in-service vector). */
  get ppr(): number {
    const isrv = highestBit(this.isr);
    const isrClass = isrv < 0 ? 0 : isrv & 0xf0;
    return (this.tpr & 0xf0) >= isrClass ? this.tpr : isrClass;
  }

  // ------------------------------------------------------------------ CPU-facing interface

  /** Highest IRR vector deliverable now, or -1 (APIC off, nothing pending, or masked by PPR). */
  highestPendingVector(): number {
    if (this.mode === 'disabled' || !this.softwareEnabled) return -1;
    const irrv = highestBit(this.irr);
    if (irrv < 0) return -1;
    if ((irrv & 0xf0) <= (this.ppr & 0xf0)) return -1;
    return irrv;
  }

  /** The CPU takes the interrupt: IRR -> ISR. Returns the vector, or -1 if none is deliverable. */
  acknowledge(): number {
    const v = this.highestPendingVector();
    if (v < 0) return -1;
    this.irr[v >> 5]! &= ~(1 << (v & 31));
    this.isr[v >> 5]! |= 1 << (v & 31);
    return v;
  }

  /** End of interrupt for the highest in-service vector (same as writing the EOI register). */
  eoi(): void {
    const v = highestBit(this.isr);
    if (v < 0) return;
    const bit = 1 << (v & 31);
    this.isr[v >> 5]! &= ~bit;
    if (this.tmr[v >> 5]! & bit && !(this.svr & 0x1000)) this.router.eoiBroadcast(v);
    if (this.highestPendingVector() >= 0) this.sink.requestInterrupt();
  }

  /** TPR as seen through CR8 (bits 7:4 of TPR). */
  get cr8(): number {
    return (this.tpr >> 4) & 0xf;
  }
  set cr8(value: number) {
    this.setTpr((value & 0xf) << 4);
  }

  /** Consumes a pending NMI. */
  takeNmi(): boolean {
    const p = this.nmiPending;
    this.nmiPending = false;
    return p;
  }

  /** Consumes a pending INIT; the LAPIC itself returns to its INIT state (id and base kept). */
  takeInit(): boolean {
    if (!this.initPending) return false;
    this.initPending = false;
    this.resetRegisters();
    return true;
  }

  /**
   * Consumes a pending STARTUP vector (-1 if none). The CPU must only act on it in its
   * wait-for-SIPI state; OSv sends STARTUP twice and the second one must be dropped.
   */
  takeSipi(): number {
    const v = this.sipiVector;
    this.sipiVector = -1;
    return v;
  }

  /** True when an NMI, INIT or SIPI is waiting (cheap check for the CPU's slow path). */
  get hasPendingEvent(): boolean {
    return this.nmiPending || this.initPending || this.sipiVector >= 0;
  }

  /** Delivery of one interrupt message to this LAPIC (from the ApicBus). */
  deliver(mode: DeliveryMode, vector: number, levelTriggered: boolean): void {
    switch (mode) {
      case DeliveryMode.FIXED:
      case DeliveryMode.LOWEST:
        this.acceptInterrupt(vector, levelTriggered);
        return;
      case DeliveryMode.NMI:
        this.nmiPending = true;
        this.sink.requestInterrupt();
        return;
      case DeliveryMode.INIT:
        this.initPending = true;
        this.sink.requestInterrupt();
        return;
      case DeliveryMode.STARTUP:
        this.sipiVector = vector & 0xff;
        this.sink.requestInterrupt();
        return;
      default:
        return; // SMI and ExtINT are not modelled: nothing in OSv uses them.
    }
  }

  /** Sets the IRR bit for `vector` (TMR = trigger mode) and tells the CPU. */
  acceptInterrupt(vector: number, levelTriggered: boolean): void {
    vector &= 0xff;
    if (vector < 16) {
      this.signalError(ESR_RECEIVE_ILLEGAL_VECTOR);
      return;
    }
    const bit = 1 << (vector & 31);
    this.irr[vector >> 5]! |= bit;
    if (levelTriggered) this.tmr[vector >> 5]! |= bit;
    else this.tmr[vector >> 5]! &= ~bit;
    this.sink.requestInterrupt();
  }

  // ------------------------------------------------------------------ xAPIC MMIO

  readMmio(offset: number, size: AccessSize): number {
    if (this.mode !== 'xapic') return size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
    const within = offset & 0xf;
    if (within >= 4) return 0;
    const reg = (offset >> 4) & 0xff;
    const v = this.readReg(reg) >>> (within * 8);
    return size === 4 ? v >>> 0 : size === 2 ? v & 0xffff : v & 0xff;
  }

  writeMmio(offset: number, size: AccessSize, value: number): void {
    if (this.mode !== 'xapic') return;
    // Registers are 32 bits wide; narrower or misaligned writes are not defined, so drop them.
    if (size !== 4 || (offset & 0xf) !== 0) return;
    this.writeReg((offset >> 4) & 0xff, value >>> 0);
  }

  // ------------------------------------------------------------------ MSRs

  ownsMsr(index: number): boolean {
    return index === MSR_APIC_BASE || index === MSR_KVM_PV_EOI || (index >= MSR_X2APIC_FIRST && index <= MSR_X2APIC_LAST);
  }

  readMsr(index: number, out: MsrValue): boolean {
    if (index === MSR_APIC_BASE) {
      out.lo = this.baseLo >>> 0;
      out.hi = this.baseHi;
      return true;
    }
    if (index === MSR_KVM_PV_EOI) {
      out.lo = this.pvEoiLo;
      out.hi = this.pvEoiHi;
      return true;
    }
    if (this.mode !== 'x2apic' || index < MSR_X2APIC_FIRST || index > MSR_X2APIC_LAST) return false;
    const reg = index - MSR_X2APIC_FIRST;
    if (!this.x2apicReadable(reg)) return false;
    if (reg === LapicReg.ICR_LO) {
      out.lo = this.icrLo >>> 0;
      out.hi = this.icrHi >>> 0;
      return true;
    }
    out.lo = this.readReg(reg) >>> 0;
    out.hi = 0;
    return true;
  }

  writeMsr(index: number, lo: number, hi: number): boolean {
    lo >>>= 0;
    hi >>>= 0;
    if (index === MSR_APIC_BASE) return this.writeApicBase(lo, hi);
    if (index === MSR_KVM_PV_EOI) {
      this.pvEoiLo = lo;
      this.pvEoiHi = hi;
      return true;
    }
    if (this.mode !== 'x2apic' || index < MSR_X2APIC_FIRST || index > MSR_X2APIC_LAST) return false;
    const reg = index - MSR_X2APIC_FIRST;
    if (reg === LapicReg.ICR_LO) {
      this.icrLo = lo & ~0x1000;
      this.icrHi = hi;
      this.router.sendIpi(this, this.icrLo, this.icrHi, true);
      return true;
    }
    if (hi !== 0 || !this.x2apicWritable(reg)) return false;
    switch (reg) {
      case LapicReg.EOI:
        if (lo !== 0) return false;
        this.eoi();
        return true;
      case LapicReg.ESR:
        if (lo !== 0) return false;
        break;
      case LapicReg.SELF_IPI:
        this.acceptInterrupt(lo & 0xff, false);
        return true;
    }
    this.writeReg(reg, lo);
    return true;
  }

  private x2apicReadable(reg: number): boolean {
    switch (reg) {
      case LapicReg.ID: case LapicReg.VERSION: case LapicReg.TPR: case LapicReg.PPR: case LapicReg.LDR:
      case LapicReg.SVR: case LapicReg.ESR: case LapicReg.LVT_CMCI: case LapicReg.ICR_LO:
      case LapicReg.LVT_TIMER: case LapicReg.LVT_THERMAL: case LapicReg.LVT_PERF: case LapicReg.LVT_LINT0:
      case LapicReg.LVT_LINT1: case LapicReg.LVT_ERROR: case LapicReg.TIMER_INITIAL:
      case LapicReg.TIMER_CURRENT: case LapicReg.TIMER_DIVIDE:
        return true;
      default:
        return reg >= LapicReg.ISR0 && reg < LapicReg.IRR0 + 8;
    }
  }

  private x2apicWritable(reg: number): boolean {
    switch (reg) {
      case LapicReg.TPR: case LapicReg.EOI: case LapicReg.SVR: case LapicReg.ESR: case LapicReg.LVT_CMCI:
      case LapicReg.LVT_TIMER: case LapicReg.LVT_THERMAL: case LapicReg.LVT_PERF: case LapicReg.LVT_LINT0:
      case LapicReg.LVT_LINT1: case LapicReg.LVT_ERROR: case LapicReg.TIMER_INITIAL:
      case LapicReg.TIMER_DIVIDE: case LapicReg.SELF_IPI:
        return true;
      default:
        return false;
    }
  }

  private writeApicBase(lo: number, hi: number): boolean {
    // Reserved: bits 0-7 and 9, and address bits above a 52-bit physical address.
    if (lo & 0x2ff || hi & 0xfff00000) return false;
    const en = (lo & BASE_EN) !== 0;
    const extd = (lo & BASE_EXTD) !== 0;
    if (extd && !en) return false;
    const oldMode = this.mode;
    const newMode: ApicMode = !en ? 'disabled' : extd ? 'x2apic' : 'xapic';
    // The two transitions the SDM forbids (KVM refuses them the same way).
    if (oldMode === 'x2apic' && newMode === 'xapic') return false;
    if (oldMode === 'disabled' && newMode === 'x2apic') return false;
    this.baseLo = ((lo & ~BASE_BSP) | (this.baseLo & BASE_BSP)) >>> 0;
    this.baseHi = hi;
    if (newMode === 'disabled' && oldMode !== 'disabled') {
      this.resetRegisters();
    } else if (newMode === 'x2apic' && oldMode !== 'x2apic') {
      const id = this.initialApicId;
      this.ldr = (((id >>> 4) << 16) | (1 << (id & 0xf))) >>> 0;
    }
    return true;
  }

  // ------------------------------------------------------------------ registers

  private readReg(reg: number): number {
    if (reg >= LapicReg.ISR0 && reg < LapicReg.ISR0 + 8) return this.isr[reg - LapicReg.ISR0]!;
    if (reg >= LapicReg.TMR0 && reg < LapicReg.TMR0 + 8) return this.tmr[reg - LapicReg.TMR0]!;
    if (reg >= LapicReg.IRR0 && reg < LapicReg.IRR0 + 8) return this.irr[reg - LapicReg.IRR0]!;
    switch (reg) {
      case LapicReg.ID:
        return this.mode === 'x2apic' ? this.initialApicId : (this.xapicId << 24) >>> 0;
      case LapicReg.VERSION:
        return LAPIC_VERSION;
      case LapicReg.TPR:
        return this.tpr;
      case LapicReg.PPR:
        return this.ppr;
      case LapicReg.LDR:
        return this.ldr;
      case LapicReg.DFR:
        return this.dfr;
      case LapicReg.SVR:
        return this.svr;
      case LapicReg.ESR:
        return this.esr;
      case LapicReg.ICR_LO:
        return this.icrLo;
      case LapicReg.ICR_HI:
        return this.icrHi;
      case LapicReg.LVT_CMCI: case LapicReg.LVT_TIMER: case LapicReg.LVT_THERMAL: case LapicReg.LVT_PERF:
      case LapicReg.LVT_LINT0: case LapicReg.LVT_LINT1: case LapicReg.LVT_ERROR:
        return this.lvt[reg]!;
      case LapicReg.TIMER_INITIAL:
        return this.timerInitial;
      case LapicReg.TIMER_CURRENT:
        return this.currentCount();
      case LapicReg.TIMER_DIVIDE:
        return this.timerDivideConf;
      default:
        return 0;
    }
  }

  private writeReg(reg: number, value: number): void {
    switch (reg) {
      case LapicReg.ID:
        this.xapicId = value >>> 24;
        return;
      case LapicReg.TPR:
        this.setTpr(value & 0xff);
        return;
      case LapicReg.EOI:
        this.eoi();
        return;
      case LapicReg.LDR:
        this.ldr = (value & 0xff000000) >>> 0;
        return;
      case LapicReg.DFR:
        this.dfr = (value | 0x0fffffff) >>> 0;
        return;
      case LapicReg.SVR:
        this.svr = value & 0x13ff;
        if (!this.softwareEnabled) for (const r of Object.keys(LVT_WRITABLE)) this.lvt[+r]! |= LVT_MASKED;
        else if (this.highestPendingVector() >= 0) this.sink.requestInterrupt();
        return;
      case LapicReg.ESR:
        // Writing ESR latches the errors collected since the previous write.
        this.esr = this.esrPending;
        this.esrPending = 0;
        return;
      case LapicReg.ICR_LO:
        this.icrLo = value & ~0x1000; // delivery is instantaneous: "send pending" never shows
        this.router.sendIpi(this, this.icrLo, this.icrHi >>> 24, false);
        return;
      case LapicReg.ICR_HI:
        this.icrHi = (value & 0xff000000) >>> 0;
        return;
      case LapicReg.LVT_CMCI: case LapicReg.LVT_TIMER: case LapicReg.LVT_THERMAL: case LapicReg.LVT_PERF:
      case LapicReg.LVT_LINT0: case LapicReg.LVT_LINT1: case LapicReg.LVT_ERROR: {
        let v = value & LVT_WRITABLE[reg]!;
        if (!this.softwareEnabled) v |= LVT_MASKED;
        this.lvt[reg] = (this.lvt[reg]! & ~LVT_WRITABLE[reg]!) | v;
        return;
      }
      case LapicReg.TIMER_INITIAL:
        this.timerInitial = value >>> 0;
        if (this.timerMode() === 2) return; // TSC-deadline mode ignores the initial count
        this.startTimer(this.timerInitial);
        return;
      case LapicReg.TIMER_DIVIDE:
        this.setDivide(value & 0xb);
        return;
      default:
        if (this.mode === 'xapic' && reg !== LapicReg.VERSION && reg !== LapicReg.PPR && reg !== LapicReg.TIMER_CURRENT &&
          !(reg >= LapicReg.ISR0 && reg < LapicReg.IRR0 + 8) && reg !== LapicReg.APR) {
          this.signalError(ESR_ILLEGAL_REGISTER);
        }
        return;
    }
  }

  private setTpr(value: number): void {
    const before = this.highestPendingVector();
    this.tpr = value & 0xff;
    if (before < 0 && this.highestPendingVector() >= 0) this.sink.requestInterrupt();
  }

  private signalError(bits: number): void {
    this.esrPending |= bits;
    const lvt = this.lvt[LapicReg.LVT_ERROR]!;
    if (!(lvt & LVT_MASKED) && (lvt & 0xff) >= 16) this.acceptInterrupt(lvt & 0xff, false);
  }

  /** Marks a sent IPI with an illegal vector (called by the router). */
  signalSendIllegalVector(): void {
    this.signalError(ESR_SEND_ILLEGAL_VECTOR);
  }

  /** Power-on / INIT register state; keeps the APIC id and the APIC_BASE MSR. */
  private resetRegisters(): void {
    this.tpr = 0;
    this.ldr = 0;
    this.dfr = 0xffffffff;
    this.svr = 0xff;
    this.esr = 0;
    this.esrPending = 0;
    this.icrLo = 0;
    this.icrHi = 0;
    this.isr.fill(0);
    this.tmr.fill(0);
    this.irr.fill(0);
    this.lvt.fill(0);
    for (const r of Object.keys(LVT_WRITABLE)) this.lvt[+r] = LVT_MASKED;
    this.stopTimer();
    this.timerInitial = 0;
    this.setDivide(0);
    this.nmiPending = false;
    if (this.mode === 'x2apic') {
      const id = this.initialApicId;
      this.ldr = (((id >>> 4) << 16) | (1 << (id & 0xf))) >>> 0;
    }
  }

  // ------------------------------------------------------------------ timer

  private timerMode(): number {
    return (this.lvt[LapicReg.LVT_TIMER]! >> 17) & 3;
  }

  /** Divisor = 2^shift; divide configuration bits 0,1,3 encode 2,4,...,128 and 0b1011 = 1. */
  private setDivide(conf: number): void {
    const running = this.timerRunning;
    const cur = running ? this.currentCount() : 0;
    this.timerDivideConf = conf & 0xb;
    const v = (conf & 3) | ((conf >> 1) & 4);
    this.timerShift = (v + 1) & 7;
    // Keep the count where it is and let it continue at the new rate.
    if (running) {
      if (cur === 0 && this.timerMode() !== 1) this.stopTimer();
      else this.startTimer(cur === 0 ? this.timerInitial : cur);
    }
  }

  private get divisor(): number {
    return 1 << this.timerShift;
  }

  private stopTimer(): void {
    if (this.timerHandle !== 0) this.timers.cancel(this.timerHandle);
    this.timerHandle = 0;
    this.timerRunning = false;
  }

  private startTimer(count: number): void {
    this.stopTimer();
    if (count === 0) return;
    this.timerRunning = true;
    this.timerBaseNs = this.clock.nowNs();
    this.timerBaseCount = count;
    this.timerHandle = this.timers.schedule(this.timerBaseNs + count * this.divisor, this.onTimerBound);
  }

  private onTimer(deadlineNs: number): void {
    this.timerHandle = 0;
    const lvt = this.lvt[LapicReg.LVT_TIMER]!;
    if (this.timerMode() === 1 && this.timerInitial !== 0) {
      // Periodic: re-arm from the deadline, not from "now", so the period does not drift;
      // ticks missed by a long time jump coalesce into this one interrupt.
      const periodNs = this.timerInitial * this.divisor;
      const now = Math.max(this.clock.nowNs(), deadlineNs);
      const periods = Math.floor((now - deadlineNs) / periodNs);
      this.timerBaseNs = deadlineNs + periods * periodNs;
      this.timerBaseCount = this.timerInitial;
      this.timerHandle = this.timers.schedule(this.timerBaseNs + periodNs, this.onTimerBound);
    } else {
      this.timerRunning = false;
    }
    if (!(lvt & LVT_MASKED)) this.acceptInterrupt(lvt & 0xff, false);
  }

  private currentCount(): number {
    if (!this.timerRunning) return 0;
    const elapsed = Math.floor((this.clock.nowNs() - this.timerBaseNs) / this.divisor);
    if (elapsed < this.timerBaseCount) return this.timerBaseCount - elapsed;
    if (this.timerMode() !== 1 || this.timerInitial === 0) return 0;
    return this.timerInitial - ((elapsed - this.timerBaseCount) % this.timerInitial);
  }
}
