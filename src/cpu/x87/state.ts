// Architectural x87 state: physical register file, TOP, tags, control/status words and the
// last-instruction pointers, plus the FXSAVE/FNSTENV image formats. Arithmetic lives in f80*.ts;
// the instruction handlers (ops-*.ts) combine the two.

import {
  CLS_NORMAL, CLS_ZERO, FL_C0, FL_C1, FL_C2, FL_C3, FL_IE, classify,
} from './f80-core.js';

export const CW_RESET = 0x037f;

export const SW_IE = 0x0001;
export const SW_SF = 0x0040;
export const SW_ES = 0x0080;
export const SW_C0 = FL_C0;
export const SW_C1 = FL_C1;
export const SW_C2 = FL_C2;
export const SW_C3 = FL_C3;
export const SW_B = 0x8000;
const SW_TOP_MASK = 0x3800;
const SW_CC = SW_C0 | SW_C1 | SW_C2 | SW_C3;

// full tag values (FNSTENV tag word)
const TAG_VALID = 0;
const TAG_ZERO = 1;
const TAG_SPECIAL = 2;
const TAG_EMPTY = 3;

export class X87 {
  /** Physical registers R0..R7: sign+exponent, significand high and low halves. */
  readonly se = new Uint16Array(8);
  readonly hi = new Uint32Array(8);
  readonly lo = new Uint32Array(8);
  /** 1 when the physical register is empty. */
  readonly empty = new Uint8Array(8);
  top = 0;
  cw = CW_RESET;
  /** Status word without the TOP field (TOP lives in `top`). */
  sw = 0;
  /** Last non-control instruction: opcode (11 bits), instruction and data pointers (64-bit as halves). */
  fop = 0;
  fipLo = 0;
  fipHi = 0;
  fcs = 0;
  fdpLo = 0;
  fdpHi = 0;
  fds = 0;

  constructor() {
    this.reset();
  }

  /** FNINIT (register contents are kept, as on hardware; only the tags say they are empty). */
  reset(): void {
    this.cw = CW_RESET;
    this.sw = 0;
    this.top = 0;
    this.empty.fill(1);
    this.fop = 0;
    this.fipLo = this.fipHi = this.fcs = 0;
    this.fdpLo = this.fdpHi = this.fds = 0;
  }

  /** Status word as FNSTSW reports it. */
  get fsw(): number {
    return (this.sw & ~SW_TOP_MASK) | (this.top << 11);
  }

  set fsw(v: number) {
    this.sw = v & ~SW_TOP_MASK & 0xffff;
    this.top = (v >>> 11) & 7;
  }

  /** Physical index of ST(i). */
  phys(i: number): number {
    return (this.top + i) & 7;
  }

  isEmpty(i: number): boolean {
    return this.empty[(this.top + i) & 7] === 1;
  }

  /** Write ST(i) and mark it valid. */
  setSt(i: number, se: number, hi: number, lo: number): void {
    const p = (this.top + i) & 7;
    this.se[p] = se;
    this.hi[p] = hi;
    this.lo[p] = lo;
    this.empty[p] = 0;
  }

  /** Push: TOP-1, then write the new ST(0). Caller has checked for overflow. */
  push(se: number, hi: number, lo: number): void {
    this.top = (this.top - 1) & 7;
    this.setSt(0, se, hi, lo);
  }

  /** Pop: mark ST(0) empty and TOP+1. */
  pop(): void {
    this.empty[this.top] = 1;
    this.top = (this.top + 1) & 7;
  }

  /** FLDCW: also (re)computes ES/B, so unmasking a pending flag makes the next waiting insn fault. */
  loadCw(v: number): void {
    this.cw = (v & 0x1f3f) | 0x40;
    this.updateEs();
  }

  updateEs(): void {
    if (this.sw & ~this.cw & 0x3f) this.sw |= SW_ES | SW_B;
    else this.sw &= ~(SW_ES | SW_B);
  }

  /** True when an unmasked exception is pending: a waiting x87 instruction must raise #MF. */
  get pending(): boolean {
    return (this.sw & SW_ES) !== 0;
  }

  /**
   * Merge the flag word of an f80 operation: exception bits accumulate, C1 is replaced by the
   * operation's C1 (rounded-up indication; cleared otherwise), unmasked ones set ES and B.
   */
  signal(flags: number): void {
    this.sw = (this.sw & ~SW_C1) | (flags & (0x3f | SW_C1));
    if (flags & ~this.cw & 0x3f) this.sw |= SW_ES | SW_B;
  }

  /** Accumulate exception flags without touching C1. */
  signalKeepC1(flags: number): void {
    this.sw |= flags & 0x3f;
    if (flags & ~this.cw & 0x3f) this.sw |= SW_ES | SW_B;
  }

  /** Set C0..C3 from an f80 result (others cleared). */
  setCc(flags: number): void {
    this.sw = (this.sw & ~SW_CC) | (flags & SW_CC);
  }

  /**
   * Stack fault (IE+SF). `overflow` selects C1=1 (push onto a full register) versus C1=0
   * (read of an empty register). Returns true when IE is masked, i.e. the caller must deliver
   * the masked response (QNaN indefinite into the destination).
   */
  stackFault(overflow: boolean): boolean {
    this.sw = (this.sw & ~SW_C1) | SW_IE | SW_SF | (overflow ? SW_C1 : 0);
    if (!(this.cw & FL_IE)) {
      this.sw |= SW_ES | SW_B;
      return false;
    }
    return true;
  }

  /** Full 2-bit tag of physical register p, computed from its contents as FNSTENV does. */
  fullTag(p: number): number {
    if (this.empty[p]) return TAG_EMPTY;
    const c = classify(this.se[p], this.hi[p], this.lo[p]);
    return c === CLS_ZERO ? TAG_ZERO : c === CLS_NORMAL ? TAG_VALID : TAG_SPECIAL;
  }

  tagWord(): number {
    let t = 0;
    for (let p = 0; p < 8; p++) t |= this.fullTag(p) << (2 * p);
    return t;
  }

  /** FLDENV/FRSTOR tag word: only "empty" matters, the rest is recomputed from contents. */
  loadTagWord(t: number): void {
    for (let p = 0; p < 8; p++) this.empty[p] = ((t >>> (2 * p)) & 3) === TAG_EMPTY ? 1 : 0;
  }

  // ---- FXSAVE / FXRSTOR (x87 part of the 512-byte image) ----

  /**
   * Write FCW, FSW, abridged FTW, FOP, FIP/FDP and ST0..7 into an FXSAVE image. `rexW` selects
   * the 64-bit FIP/FDP layout (FXSAVE64) over FIP32:FCS / FDP32:FDS. MXCSR (24..31) and the XMM
   * area are not touched: the SSE unit owns them.
   */
  fxsaveInto(buf: Uint8Array, off: number, rexW = true): void {
    w16(buf, off, this.cw);
    w16(buf, off + 2, this.fsw);
    let ftw = 0;
    for (let p = 0; p < 8; p++) if (!this.empty[p]) ftw |= 1 << p;
    buf[off + 4] = ftw;
    buf[off + 5] = 0;
    w16(buf, off + 6, this.fop);
    w32(buf, off + 8, this.fipLo);
    w32(buf, off + 16, this.fdpLo);
    if (rexW) {
      w32(buf, off + 12, this.fipHi);
      w32(buf, off + 20, this.fdpHi);
    } else {
      w32(buf, off + 12, this.fcs);
      w32(buf, off + 20, this.fds);
    }
    for (let i = 0; i < 8; i++) {
      const p = (this.top + i) & 7;
      const o = off + 32 + 16 * i;
      w32(buf, o, this.lo[p]);
      w32(buf, o + 4, this.hi[p]);
      w16(buf, o + 8, this.se[p]);
      for (let k = 10; k < 16; k++) buf[o + k] = 0;
    }
  }

  fxrstorFrom(buf: Uint8Array, off: number, rexW = true): void {
    this.cw = (r16(buf, off) & 0x1f3f) | 0x40;
    this.fsw = r16(buf, off + 2);
    const ftw = buf[off + 4];
    for (let p = 0; p < 8; p++) this.empty[p] = (ftw >>> p) & 1 ? 0 : 1;
    this.fop = r16(buf, off + 6) & 0x7ff;
    this.fipLo = r32(buf, off + 8);
    this.fdpLo = r32(buf, off + 16);
    if (rexW) {
      this.fipHi = r32(buf, off + 12);
      this.fdpHi = r32(buf, off + 20);
      this.fcs = this.fds = 0;
    } else {
      this.fcs = r16(buf, off + 12);
      this.fds = r16(buf, off + 20);
      this.fipHi = this.fdpHi = 0;
    }
    for (let i = 0; i < 8; i++) {
      const p = (this.top + i) & 7;
      const o = off + 32 + 16 * i;
      this.lo[p] = r32(buf, o);
      this.hi[p] = r32(buf, o + 4);
      this.se[p] = r16(buf, o + 8);
    }
  }

  // ---- FNSTENV / FLDENV: 28-byte protected-mode format (32-bit operand size) ----

  /** FNSTENV image; afterwards all exceptions are masked (so ES and B clear), as the instruction specifies. */
  fnstenvInto(buf: Uint8Array, off: number): void {
    this.storeEnv(buf, off);
    this.cw |= 0x3f;
    this.updateEs(); // with everything masked, nothing is pending any more
  }

  /** The 28-byte environment without FNSTENV's side effect (also the head of FNSAVE). */
  storeEnv(buf: Uint8Array, off: number): void {
    w32(buf, off, 0xffff0000 | this.cw);
    w32(buf, off + 4, 0xffff0000 | this.fsw);
    w32(buf, off + 8, 0xffff0000 | this.tagWord());
    w32(buf, off + 12, this.fipLo);
    w32(buf, off + 16, (this.fcs & 0xffff) | ((this.fop & 0x7ff) << 16));
    w32(buf, off + 20, this.fdpLo);
    w32(buf, off + 24, 0xffff0000 | (this.fds & 0xffff));
  }

  /** FNSAVE: environment + ST0..7 (10 bytes each, stack order), then FNINIT. */
  fnsaveInto(buf: Uint8Array, off: number): void {
    this.saveImage(buf, off);
    this.reset();
  }

  /** The 108-byte FNSAVE image without the reinitialisation. */
  saveImage(buf: Uint8Array, off: number): void {
    this.storeEnv(buf, off);
    for (let i = 0; i < 8; i++) {
      const p = (this.top + i) & 7;
      const o = off + 28 + 10 * i;
      w32(buf, o, this.lo[p]);
      w32(buf, o + 4, this.hi[p]);
      w16(buf, o + 8, this.se[p]);
    }
  }

  frstorFrom(buf: Uint8Array, off: number): void {
    this.fldenvFrom(buf, off);
    for (let i = 0; i < 8; i++) {
      const p = (this.top + i) & 7;
      const o = off + 28 + 10 * i;
      this.lo[p] = r32(buf, o);
      this.hi[p] = r32(buf, o + 4);
      this.se[p] = r16(buf, o + 8);
    }
  }

  fldenvFrom(buf: Uint8Array, off: number): void {
    this.cw = (r16(buf, off) & 0x1f3f) | 0x40;
    this.fsw = r16(buf, off + 4);
    this.updateEs(); // ES and B follow the loaded flags and masks
    this.loadTagWord(r16(buf, off + 8));
    this.fipLo = r32(buf, off + 12);
    this.fipHi = 0;
    const w = r32(buf, off + 16);
    this.fcs = w & 0xffff;
    this.fop = (w >>> 16) & 0x7ff;
    this.fdpLo = r32(buf, off + 20);
    this.fdpHi = 0;
    this.fds = r16(buf, off + 24);
  }
}

function w16(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
}

function w32(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}

function r16(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8);
}

function r32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}
