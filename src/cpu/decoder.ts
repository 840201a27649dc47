// x86 decoder: legacy prefixes, REX, ModRM/SIB/displacement, immediates, the one-byte, 0F, 0F38 and 0F3A
// maps. Each opcode has a decode function (from the ops/ modules) that reads its operands and picks a
// handler specialised for the operand size and form. Opcodes no module claims still decode to the right
// length from the format table and execute as "unimplemented" (or #UD when the encoding is invalid).
import { EA_16, EA_32, EA_32L, EA_64, EA_NONE, EA_RIP, Handler, Insn } from './insn.js';
import type { DecodeFn } from './optable.js';
import { DS, SS } from './regs.js';
import { opUD, opUnimplemented } from './ops/invalid.js';
import { MAP0F, MAP0F38, MAP0F3A, MAP1, MAP1_LEGACY } from './optable.js';

/** Raised while decoding when the bytes run past what could be fetched (the run loop turns it into #PF). */
export const NEED_MORE_BYTES = Object.freeze({ needMoreBytes: true });
/** Thrown when an instruction exceeds 15 bytes; executing it raises #GP(0). */
export const INSN_TOO_LONG = Object.freeze({ insnTooLong: true });

const MAX_LEN = 15;

export class Decoder {
  bytes: Uint8Array = new Uint8Array(16);
  start = 0;
  pos = 0;
  constructor() {
    doubleFields(this, 'start', 'pos');
  }

  /** Index in `bytes` past which the caller must supply more (page boundary); Infinity when unlimited. */
  limit = Infinity;
  /** Supplies more bytes when decoding runs into `limit` (instruction crossing a page). */
  more: ((d: Decoder) => void) | null = null;

  mode = 64;
  osz = 32;
  asz = 64;
  rex = 0;
  rexW = false;
  rexR = 0;
  rexX = 0;
  rexB = 0;
  seg = -1;
  lock = false;
  /** Last F2/F3 prefix, 0 if none. */
  rep = 0;
  p66 = false;
  /** Set by decode functions whose instruction accepts a LOCK prefix (with a memory destination). */
  lockable = false;
  /** ModRM fields of the current instruction. */
  modrmByte = 0;
  mod = 0;
  regField = 0;
  rmField = 0;
  opcode = 0;
  /** 0x66/0xF2/0xF3 selecting an SSE form: F2/F3 win over 66. */
  mandatory = 0;
  /** Used by length-only decoding: was the opcode claimed by a module (implemented)? */
  implemented = true;

  byte(): number {
    const p = this.pos;
    if (p - this.start >= MAX_LEN) throw INSN_TOO_LONG;
    if (p >= this.limit) {
      if (!this.more) throw NEED_MORE_BYTES;
      this.more(this);
    }
    this.pos = p + 1;
    return this.bytes[p];
  }

  imm8(): number { return (this.byte() << 24) >> 24; }
  imm8u(): number { return this.byte(); }
  imm16(): number { const lo = this.byte(); return lo | (this.byte() << 8); }
  imm16s(): number { return (this.imm16() << 16) >> 16; }
  imm32(): number {
    const a = this.byte(), b = this.byte(), c = this.byte(), e = this.byte();
    return a | (b << 8) | (c << 16) | (e << 24);
  }
  /** 16- or 32-bit immediate by operand size, sign-extended (64-bit operand size uses a 32-bit immediate). */
  immz(): number { return this.osz === 16 ? this.imm16s() : this.imm32(); }
  /** Operand-size immediate with its high half (B8+r mov with REX.W reads 8 bytes). */
  immv(i: Insn): void {
    if (this.osz === 64) { i.imm = this.imm32(); i.immHi = this.imm32(); }
    else { i.imm = this.osz === 16 ? this.imm16() : this.imm32(); i.immHi = 0; }
  }

  /** Picks a handler by operand size. */
  pick(h16: Handler, h32: Handler, h64: Handler): Handler {
    return this.osz === 64 ? h64 : this.osz === 32 ? h32 : h16;
  }

  /** Byte-register offset into Cpu.r8 for register number n (AH..BH without REX). */
  byteReg(n: number): number {
    if (this.rex === 0 && n >= 4 && n < 8) return (n - 4) * 8 + 1;
    return n * 8;
  }

  /** Converts i.reg and a register i.rm into byte-register offsets. */
  byteRegs(i: Insn): void {
    i.reg = this.byteReg(i.reg);
    if (!i.mem) i.rm = this.byteReg(i.rm);
  }

  /** Reads ModRM (+SIB, displacement) into i.reg / i.rm or the memory-operand fields. */
  modrm(i: Insn): void {
    const m = this.byte();
    this.modrmByte = m;
    const mod = m >> 6;
    this.mod = mod;
    this.regField = (m >> 3) & 7;
    this.rmField = m & 7;
    i.reg = this.regField | this.rexR;
    if (mod === 3) {
      i.mem = false;
      i.eaKind = EA_NONE;
      i.rm = this.rmField | this.rexB;
      return;
    }
    i.mem = true;
    if (this.asz === 16) { this.modrm16(i, mod); return; }
    let rm = this.rmField;
    let base = -1, index = -1, scale = 1, disp = 0;
    let defSeg = DS;
    let ripRel = false;
    if (rm === 4) {
      const sib = this.byte();
      const ss = sib >> 6, idx = ((sib >> 3) & 7) | this.rexX, b = sib & 7;
      scale = 1 << ss;
      if (idx !== 4) index = idx;
      if (b === 5 && mod === 0) {
        disp = this.imm32();
      } else {
        base = b | this.rexB;
      }
    } else if (rm === 5 && mod === 0) {
      disp = this.imm32();
      ripRel = this.mode === 64;
    } else {
      base = rm | this.rexB;
    }
    if (mod === 1) disp = this.imm8();
    else if (mod === 2) disp = this.imm32();
    if (base === 4 || base === 5) defSeg = SS;
    i.base = base;
    i.index = index;
    i.scale = scale;
    i.disp = disp;
    i.seg = this.seg >= 0 ? this.seg : defSeg;
    if (ripRel) {
      i.eaKind = EA_RIP;
      if (this.asz === 32) i.index = -2; // 67-prefixed RIP-relative: ea() truncates to 32 bits
    } else if (this.asz === 64) i.eaKind = EA_64;
    else i.eaKind = this.mode === 64 ? EA_32L : EA_32;
  }

  private modrm16(i: Insn, mod: number): void {
    const rm = this.rmField;
    // bx+si, bx+di, bp+si, bp+di, si, di, bp, bx
    const B = [3, 3, 5, 5, 6, 7, 5, 3];
    const X = [6, 7, 6, 7, -1, -1, -1, -1];
    let base = B[rm], index = X[rm], disp = 0;
    if (rm === 6 && mod === 0) { base = -1; disp = this.imm16(); }
    else if (mod === 1) disp = this.imm8();
    else if (mod === 2) disp = this.imm16s();
    if (rm >= 4) { index = -1; if (rm === 4) base = 6; else if (rm === 5) base = 7; }
    i.base = base;
    i.index = index;
    i.scale = 1;
    i.disp = disp;
    const defSeg = base === 5 ? SS : DS;
    i.seg = this.seg >= 0 ? this.seg : defSeg;
    i.eaKind = EA_16;
  }

  /**
   * Decodes one instruction from bytes[off...] in the given mode into `i`; returns its length.
   * An invalid encoding yields a #UD handler rather than an error (it must fault only if executed).
   */
  decode(bytes: Uint8Array, off: number, mode: number, i: Insn): number {
    this.bytes = bytes;
    this.start = off;
    this.pos = off;
    this.mode = mode;
    this.rex = 0; this.rexW = false; this.rexR = 0; this.rexX = 0; this.rexB = 0;
    this.seg = -1; this.lock = false; this.rep = 0; this.p66 = false; this.lockable = false;
    this.implemented = true;
    let p67 = false;
    let op: number;
    for (;;) {
      op = this.byte();
      if (op === 0x66) { this.p66 = true; this.rex = 0; continue; }
      if (op === 0x67) { p67 = true; this.rex = 0; continue; }
      if (op === 0xF2 || op === 0xF3) { this.rep = op; this.rex = 0; continue; }
      if (op === 0xF0) { this.lock = true; this.rex = 0; continue; }
      if (op === 0x26 || op === 0x2E || op === 0x36 || op === 0x3E) {
        // In 64-bit mode these segment overrides are ignored (but still prefixes).
        if (mode !== 64) this.seg = (op >> 3) & 3;
        this.rex = 0;
        continue;
      }
      if (op === 0x64 || op === 0x65) { this.seg = op - 0x60; this.rex = 0; continue; }
      if (mode === 64 && (op & 0xF0) === 0x40) { this.rex = op; continue; }
      break;
    }
    if (this.rex) {
      this.rexW = (this.rex & 8) !== 0;
      this.rexR = (this.rex & 4) << 1;
      this.rexX = (this.rex & 2) << 2;
      this.rexB = (this.rex & 1) << 3;
    }
    if (mode === 64) {
      this.osz = this.rexW ? 64 : this.p66 ? 16 : 32;
      this.asz = p67 ? 32 : 64;
    } else if (mode === 32) {
      this.osz = this.p66 ? 16 : 32;
      this.asz = p67 ? 16 : 32;
    } else {
      this.osz = this.p66 ? 32 : 16;
      this.asz = p67 ? 32 : 16;
    }
    this.mandatory = this.rep !== 0 ? this.rep : this.p66 ? 0x66 : 0;
    i.mem = false; i.eaKind = EA_NONE; i.imm = 0; i.immHi = 0; i.imm2 = 0; i.op = 0; i.reg = 0; i.rm = 0;
    i.base = -1; i.index = -1; i.scale = 1; i.disp = 0; i.seg = this.seg >= 0 ? this.seg : DS;
    i.ends = false; i.size = this.osz; i.asize = this.asz; i.rep = this.rep; i.mode = mode;
    i.h = opUD;
    let fn: DecodeFn | undefined;
    if (op === 0x0F) {
      const op2 = this.byte();
      if (op2 === 0x38) { this.opcode = this.byte(); fn = MAP0F38[this.opcode]; }
      else if (op2 === 0x3A) { this.opcode = this.byte(); fn = MAP0F3A[this.opcode]; }
      else { this.opcode = op2; fn = MAP0F[op2]; }
    } else {
      this.opcode = op;
      fn = mode !== 64 ? (MAP1_LEGACY[op] ?? MAP1[op]) : MAP1[op];
    }
    fn(this, i);
    if (this.lock && !(this.lockable && i.mem)) i.h = opUD;
    i.len = (this.pos - off) | 0; // an int, so that Insn.len stays a small-integer field (shapes.ts)
    // Handlers that read RIP besides control transfers and RIP-relative operands (codecache.ts Trace adds
    // those): x87 records FIP, an unimplemented encoding reports where it is.
    i.sync = (op & 0xF8) === 0xD8 || i.h === opUnimplemented;
    return i.len;
  }
}

// Ops modules register their decode functions when imported.
import './ops/hot.js';
import './ops/hot-mem.js';
import { doubleFields } from './shapes.js';

const lenDecoder = new Decoder();
const lenInsn = new Insn(opUD);

/**
 * Length of the instruction at bytes[offset], or -1 when the encoding is invalid (#UD), longer than 15 bytes,
 * or not implemented by osvemu (which then stops with an "unimplemented instruction" report when executing it).
 */
export function decodeLength(bytes: Uint8Array, offset: number, mode: 16 | 32 | 64): number {
  lenDecoder.limit = bytes.length;
  lenDecoder.more = null;
  try {
    const n = lenDecoder.decode(bytes, offset, mode, lenInsn);
    // Encodings osvemu does not implement (no module claims them, or the module's handler is opUnimplemented) stop
    // the machine when executed: decodeLength does not claim them valid.
    if (lenInsn.h === opUD || lenInsn.h === opUnimplemented || !lenDecoder.implemented) return -1;
    return n;
  } catch (e) {
    if (e === NEED_MORE_BYTES || e === INSN_TOO_LONG) return -1;
    throw e;
  } finally {
    lenDecoder.limit = Infinity;
  }
}

/** Decodes and returns the handler-bearing instruction, for tests and the disassembly in error reports. */
export function decodeOne(bytes: Uint8Array, offset: number, mode: 16 | 32 | 64): { insn: Insn; implemented: boolean } {
  const d = new Decoder();
  d.limit = bytes.length;
  const i = new Insn(opUD);
  d.decode(bytes, offset, mode, i);
  return { insn: i, implemented: d.implemented };
}
