// String instructions movs/cmps/stos/lods/scas (A4-A7, AA-AF) with rep/repe/repne, DF, and 64/32/16-bit
// address size; plus xlat (D7). A repeated instruction runs in chunks that stay inside one page on every side:
// RAM chunks are done in bulk on the guest RAM array (fill/copyWithin, or a tight loop for compares), MMIO and
// page-crossing elements one at a time through the MMU. RSI/RDI/RCX are committed after every chunk or
// element, so a fault leaves them at the faulting iteration, as on hardware. After about 1 MiB the
// instruction stops with RIP still on itself, so the run loop can take interrupts before it continues.
import type { Cpu } from '../cpu.js';
import type { Decoder } from '../decoder.js';
import type { Insn } from '../insn.js';
import { ACC_READ, ACC_WRITE, TLB_SIZE } from '../mmu.js';
import { readMem, setReg, writeMem } from '../operands.js';
import { def1 } from '../optable.js';
import { DF, ES, RCX, RDI, RSI } from '../regs.js';
import { alu32, alu64, aluSmall, OP_CMP } from './alu-core.js';
import { arithFlags, setArithFlags } from '../flags.js';

const TWO32 = 4294967296;
const TLB_MASK = TLB_SIZE - 1;
/** Bytes a repeated instruction handles before it yields to the run loop (re-executing itself later). */
export const REP_BUDGET = 1 << 20;

// ---- address-size helpers ----------------------------------------------------------------------------
/** Offset register value for the address size (64-bit: exact below 2^53, which covers canonical addresses). */
function regOff(cpu: Cpu, n: number, asz: number): number {
  const r = cpu.r32;
  if (asz === 64) return r[2 * n + 1] * TWO32 + (r[2 * n] >>> 0);
  if (asz === 32) return r[2 * n] >>> 0;
  return cpu.r16[4 * n];
}

/** Count register as a number (64-bit counts above 2^53 are approximate: only compared with chunk sizes). */
function count(cpu: Cpu, asz: number): number {
  const r = cpu.r32;
  if (asz === 64) return (r[3] >>> 0) * TWO32 + (r[2] >>> 0);
  if (asz === 32) return r[2] >>> 0;
  return cpu.r16[4];
}

/** Adds delta (|delta| < 2^31) to register n, wrapping at the address size. */
function advance(cpu: Cpu, n: number, asz: number, delta: number): void {
  const r = cpu.r32;
  if (asz === 64) {
    const l = (r[2 * n] >>> 0) + delta;
    r[2 * n] = l | 0;
    if (l < 0 || l >= TWO32) r[2 * n + 1] = (r[2 * n + 1] + Math.floor(l / TWO32)) | 0;
  } else if (asz === 32) {
    r[2 * n] = (r[2 * n] + delta) | 0;
    r[2 * n + 1] = 0;
  } else {
    cpu.r16[4 * n] = (cpu.r16[4 * n] + delta) & 0xffff;
  }
}

function linear(cpu: Cpu, i: Insn, off: number, seg: number): number {
  if (i.mode === 64) return off + cpu.segBase[seg];
  return (off + cpu.segBase[seg]) % TWO32;
}

/**
 * How many n-byte elements starting at offset `off` (linear `lin`) stay in one page and do not wrap the
 * address size, going up (or down when `back`). 0 when the first element itself straddles a boundary.
 */
function room(lin: number, off: number, n: number, back: boolean, asz: number): number {
  const po = lin & 0xfff;
  if (po + n > 4096) return 0;
  let k = back ? ((po / n) | 0) + 1 : ((4096 - po) / n) | 0;
  if (asz !== 64) {
    const lim = asz === 32 ? TWO32 : 65536;
    if (off + n > lim) return 0;
    const w = back ? Math.floor(off / n) + 1 : Math.floor((lim - off) / n);
    if (w < k) k = w;
  }
  return k;
}

/** Physical address of a RAM byte for reading, or -1 when the page is not RAM (MMIO). May fault. */
function physRead(cpu: Cpu, lin: number): number {
  const m = cpu.mmu;
  const po = lin & 0xfff, idx = (lin >>> 12) & TLB_MASK;
  if (m.rTag[idx] === lin - po) return m.rOff[idx] + po;
  const p = m.translate(lin, ACC_READ);
  return cpu.mem.isRam(p - (p & 0xfff), 4096) ? p : -1;
}

/** Physical address of a RAM byte for writing (the page's decoded code is dropped), or -1 for MMIO. */
function physWrite(cpu: Cpu, lin: number): number {
  const m = cpu.mmu;
  const po = lin & 0xfff, idx = (lin >>> 12) & TLB_MASK;
  if (m.wTag[idx] === lin - po) return m.wOff[idx] + po;
  const p = m.translate(lin, ACC_WRITE);
  return cpu.mem.isRam(p - (p & 0xfff), 4096) ? p : -1;
}

// Element reads from RAM: low half returned, high half of a qword in rdHi.
let rdHi = 0;
function readPhys(dv: DataView, p: number, n: number): number {
  switch (n) {
    case 1: return dv.getUint8(p);
    case 2: return dv.getUint16(p, true);
    case 4: return dv.getInt32(p, true);
    default: rdHi = dv.getInt32(p + 4, true); return dv.getInt32(p, true);
  }
}

function accLo(cpu: Cpu, size: number): number {
  return size === 8 ? cpu.r8[0] : size === 16 ? cpu.r16[0] : cpu.r32[0];
}

// ---- the repeat loop ---------------------------------------------------------------------------------
// Each instruction's xxxOne does one element through the MMU: the whole of the plain form, and the elements
// of a repeat that the bulk path does not take (MMIO, an element across a page or address-size edge).

/**
 * Elements a repeated instruction has left, or 0 when it stops here: the count ran out, or the budget did
 * (RIP then goes back onto the instruction, which continues after the run loop has looked at events).
 */
function repLeft(cpu: Cpu, i: Insn, budget: number): number {
  const c = count(cpu, i.asize);
  if (c !== 0 && budget <= 0) { cpu.rip -= i.len; return 0; }
  return c;
}

/** Elements in the next bulk chunk: at most `k` (what stays in the page), the count `c` left, and about the budget. */
function chunk(k: number, c: number, n: number, budget: number): number {
  if (k > c) k = c;
  if (k * n > budget) k = Math.ceil(budget / n);
  return k;
}

// ---- stos ------------------------------------------------------------------------------------------
/** Fills [p, p+len) with the n-byte little-endian pattern (lo, hi). */
function fillPattern(cpu: Cpu, p: number, len: number, n: number, lo: number, hi: number): void {
  const mem = cpu.mem;
  const b = lo & 0xff;
  if (n === 1 || (lo === (b * 0x01010101 | 0) && (n < 8 || hi === lo)) || (n === 2 && (lo & 0xffff) === b * 0x0101)) {
    mem.bytes(p, len).fill(b);
    return;
  }
  const dv = mem.dv;
  if (n === 2) dv.setUint16(p, lo, true);
  else { dv.setInt32(p, lo, true); if (n === 8) dv.setInt32(p + 4, hi, true); }
  let done = n;
  while (done < len) {
    const c = done < len - done ? done : len - done;
    mem.copyWithin(p + done, p, c);
    done += c;
  }
}

function stos(cpu: Cpu, i: Insn): void {
  const size = i.size, n = size >> 3, asz = i.asize;
  const back = (cpu.flagsRest & DF) !== 0;
  const step = back ? -n : n;
  const lo = accLo(cpu, size), hi = cpu.r32[1];
  if (!i.rep) {
    stosOne(cpu, i, linear(cpu, i, regOff(cpu, RDI, asz), ES), lo, hi, step);
    return;
  }
  let budget = REP_BUDGET;
  for (;;) {
    const c = repLeft(cpu, i, budget);
    if (c === 0) return;
    const off = regOff(cpu, RDI, asz);
    const lin = linear(cpu, i, off, ES);
    const k = chunk(room(lin, off, n, back, asz), c, n, budget);
    if (k > 0) {
      const p = physWrite(cpu, lin);
      if (p >= 0) {
        const len = k * n;
        const start = back ? p - len + n : p;
        cpu.mem.noteWrite(start, len);
        fillPattern(cpu, start, len, n, lo, hi);
        advance(cpu, RDI, asz, step * k);
        advance(cpu, RCX, asz, -k);
        budget -= len;
        continue;
      }
    }
    stosOne(cpu, i, lin, lo, hi, step);
    advance(cpu, RCX, asz, -1);
    budget -= n;
  }
}

function stosOne(cpu: Cpu, i: Insn, dl: number, lo: number, hi: number, step: number): void {
  writeMem(cpu, dl, i.size, lo, hi);
  advance(cpu, RDI, i.asize, step);
}

// ---- movs ------------------------------------------------------------------------------------------
/** Element-by-element copy for overlapping blocks where a later element reads what an earlier one wrote. */
function copyElements(cpu: Cpu, sp: number, dp: number, k: number, n: number, step: number): void {
  const dv = cpu.mem.dv;
  for (let j = 0; j < k; j++, sp += step, dp += step) {
    switch (n) {
      case 1: dv.setUint8(dp, dv.getUint8(sp)); break;
      case 2: dv.setUint16(dp, dv.getUint16(sp, true), true); break;
      case 4: dv.setInt32(dp, dv.getInt32(sp, true), true); break;
      default: { const a = dv.getInt32(sp, true), b = dv.getInt32(sp + 4, true); dv.setInt32(dp, a, true); dv.setInt32(dp + 4, b, true); }
    }
  }
}

function movs(cpu: Cpu, i: Insn): void {
  const size = i.size, n = size >> 3, asz = i.asize;
  const back = (cpu.flagsRest & DF) !== 0;
  const step = back ? -n : n;
  if (!i.rep) {
    movsOne(cpu, i, linear(cpu, i, regOff(cpu, RSI, asz), i.seg), linear(cpu, i, regOff(cpu, RDI, asz), ES), step);
    return;
  }
  let budget = REP_BUDGET;
  for (;;) {
    const c = repLeft(cpu, i, budget);
    if (c === 0) return;
    const so = regOff(cpu, RSI, asz), doff = regOff(cpu, RDI, asz);
    const sl = linear(cpu, i, so, i.seg), dl = linear(cpu, i, doff, ES);
    const k = chunk(Math.min(room(sl, so, n, back, asz), room(dl, doff, n, back, asz)), c, n, budget);
    if (k > 0) {
      const sp = physRead(cpu, sl);
      const dp = sp >= 0 ? physWrite(cpu, dl) : -1;
      if (sp >= 0 && dp >= 0) {
        const len = k * n;
        const s0 = back ? sp - len + n : sp, d0 = back ? dp - len + n : dp;
        cpu.mem.noteWrite(d0, len);
        // copyWithin is a memmove; element order matters only when the destination runs into source bytes
        // that later elements still have to read.
        const hazard = back ? d0 < s0 && d0 + len > s0 : d0 > s0 && d0 < s0 + len;
        if (hazard) copyElements(cpu, sp, dp, k, n, step);
        else cpu.mem.copyWithin(d0, s0, len);
        advance(cpu, RSI, asz, step * k);
        advance(cpu, RDI, asz, step * k);
        advance(cpu, RCX, asz, -k);
        budget -= len;
        continue;
      }
    }
    movsOne(cpu, i, sl, dl, step);
    advance(cpu, RCX, asz, -1);
    budget -= n;
  }
}

function movsOne(cpu: Cpu, i: Insn, sl: number, dl: number, step: number): void {
  const v = readMem(cpu, sl, i.size);
  writeMem(cpu, dl, i.size, v, cpu.mmu.hi);
  advance(cpu, RSI, i.asize, step);
  advance(cpu, RDI, i.asize, step);
}

// ---- lods ------------------------------------------------------------------------------------------
function lods(cpu: Cpu, i: Insn): void {
  const size = i.size, n = size >> 3, asz = i.asize;
  const back = (cpu.flagsRest & DF) !== 0;
  const step = back ? -n : n;
  if (!i.rep) {
    lodsOne(cpu, i, linear(cpu, i, regOff(cpu, RSI, asz), i.seg), step);
    return;
  }
  let budget = REP_BUDGET;
  for (;;) {
    const c = repLeft(cpu, i, budget);
    if (c === 0) return;
    const so = regOff(cpu, RSI, asz);
    const sl = linear(cpu, i, so, i.seg);
    const k = chunk(room(sl, so, n, back, asz), c, n, budget);
    if (k > 0) {
      const sp = physRead(cpu, sl);
      if (sp >= 0) {
        // Only the last element survives in the accumulator.
        const v = readPhys(cpu.mem.dv, sp + (k - 1) * step, n);
        setReg(cpu, size, 0, v, rdHi);
        advance(cpu, RSI, asz, step * k);
        advance(cpu, RCX, asz, -k);
        budget -= k * n;
        continue;
      }
    }
    lodsOne(cpu, i, sl, step);
    advance(cpu, RCX, asz, -1);
    budget -= n;
  }
}

function lodsOne(cpu: Cpu, i: Insn, sl: number, step: number): void {
  const v = readMem(cpu, sl, i.size);
  setReg(cpu, i.size, 0, v, cpu.mmu.hi);
  advance(cpu, RSI, i.asize, step);
}

// ---- cmps / scas -------------------------------------------------------------------------------------
function compare(cpu: Cpu, size: number, aLo: number, aHi: number, bLo: number, bHi: number): void {
  switch (size) {
    case 8: aluSmall(cpu.lf, OP_CMP, 0, aLo, bLo); return;
    case 16: aluSmall(cpu.lf, OP_CMP, 1, aLo, bLo); return;
    case 32: alu32(cpu.lf, OP_CMP, aLo, bLo); return;
    default: alu64(cpu.lf, OP_CMP, aLo, aHi, bLo, bHi);
  }
}

// Shared by cmps (i.op = 1: first operand at DS:RSI) and scas (i.op = 0: first operand is the accumulator).
function cmpsScas(cpu: Cpu, i: Insn): void {
  const size = i.size, n = size >> 3, asz = i.asize;
  const back = (cpu.flagsRest & DF) !== 0;
  const step = back ? -n : n;
  const isCmps = i.op === 1;
  const acc = accLo(cpu, size), accHi = cpu.r32[1];
  // ES:RDI is read before DS:RSI: when both fault, the host (AMD) reports RDI's (seen with the neighbours of
  // a mapped page; not architectural, and it reports RSI's when both lie in a page without a page table).
  if (!i.rep) {
    const sl = isCmps ? linear(cpu, i, regOff(cpu, RSI, asz), i.seg) : 0;
    cmpsScasOne(cpu, i, isCmps, sl, linear(cpu, i, regOff(cpu, RDI, asz), ES), acc, accHi, step);
    return;
  }
  if (cpu.vendor.repCompareFaultKeepsFlags) {
    // Intel: a fault in a later iteration reports the status flags the instruction started with.
    const before = arithFlags(cpu.lf);
    try {
      repCompare(cpu, i, isCmps, acc, accHi, step);
    } catch (e) {
      setArithFlags(cpu.lf, before);
      throw e;
    }
  } else repCompare(cpu, i, isCmps, acc, accHi, step);
}

function repCompare(cpu: Cpu, i: Insn, isCmps: boolean, acc: number, accHi: number, step: number): void {
  const size = i.size, n = size >> 3, asz = i.asize;
  const back = step < 0;
  const stopOnEqual = i.rep === 0xF2; // repne stops at the first equal pair, repe at the first unequal one
  const wide = size === 64;
  let budget = REP_BUDGET;
  const dv = cpu.mem.dv;
  for (;;) {
    const c = repLeft(cpu, i, budget);
    if (c === 0) return;
    const so = isCmps ? regOff(cpu, RSI, asz) : 0, doff = regOff(cpu, RDI, asz);
    const sl = isCmps ? linear(cpu, i, so, i.seg) : 0, dl = linear(cpu, i, doff, ES);
    let k = room(dl, doff, n, back, asz);
    if (isCmps) k = Math.min(k, room(sl, so, n, back, asz));
    k = chunk(k, c, n, budget);
    if (k > 0) {
      let aLo = acc, aHi = accHi, bLo = 0, bHi = 0;
      const dp = physRead(cpu, dl);
      const sp = dp >= 0 && isCmps ? physRead(cpu, sl) : 0;
      if (sp >= 0 && dp >= 0) {
        let j = 0, s = sp, d = dp, stop = false;
        while (j < k) {
          if (isCmps) { aLo = readPhys(dv, s, n); aHi = rdHi; s += step; }
          bLo = readPhys(dv, d, n); bHi = rdHi; d += step;
          j++;
          if ((aLo === bLo && (!wide || aHi === bHi)) === stopOnEqual) { stop = true; break; }
        }
        compare(cpu, size, aLo, aHi, bLo, bHi);
        if (isCmps) advance(cpu, RSI, asz, step * j);
        advance(cpu, RDI, asz, step * j);
        advance(cpu, RCX, asz, -j);
        if (stop) return;
        budget -= j * n;
        continue;
      }
    }
    const equal = cmpsScasOne(cpu, i, isCmps, sl, dl, acc, accHi, step);
    advance(cpu, RCX, asz, -1);
    if (equal === stopOnEqual) return;
    budget -= n;
  }
}

/** One element through the MMU (ES:RDI read first, see above); returns whether the pair was equal. */
function cmpsScasOne(cpu: Cpu, i: Insn, isCmps: boolean, sl: number, dl: number, acc: number, accHi: number, step: number): boolean {
  const size = i.size, asz = i.asize;
  let aLo = acc, aHi = accHi;
  const bLo = readMem(cpu, dl, size), bHi = cpu.mmu.hi;
  if (isCmps) { aLo = readMem(cpu, sl, size); aHi = cpu.mmu.hi; }
  compare(cpu, size, aLo, aHi, bLo, bHi);
  if (isCmps) advance(cpu, RSI, asz, step);
  advance(cpu, RDI, asz, step);
  return aLo === bLo && (size !== 64 || aHi === bHi);
}

// ---- xlat ------------------------------------------------------------------------------------------
function xlat(cpu: Cpu, i: Insn): void {
  const r = cpu.r32, al = cpu.r8[0];
  let off: number;
  if (i.asize === 64) off = r[7] * TWO32 + (r[6] >>> 0) + al;
  else if (i.asize === 32) off = ((r[6] >>> 0) + al) >>> 0;
  else off = (cpu.r16[12] + al) & 0xffff;
  cpu.r8[0] = cpu.mmu.read8(linear(cpu, i, off, i.seg));
}

// ---- decoding ------------------------------------------------------------------------------------------
function decodeString(d: Decoder, i: Insn, op: number, h: (cpu: Cpu, i: Insn) => void, op2 = 0): void {
  if (!(op & 1)) i.size = 8;
  i.op = op2;
  i.h = h;
  // A repeated instruction may stop early with RIP on itself: it must end its trace.
  if (d.rep) i.ends = true;
}
def1(0xA4, (d, i) => decodeString(d, i, 0xA4, movs));
def1(0xA5, (d, i) => decodeString(d, i, 0xA5, movs));
def1(0xA6, (d, i) => decodeString(d, i, 0xA6, cmpsScas, 1));
def1(0xA7, (d, i) => decodeString(d, i, 0xA7, cmpsScas, 1));
def1(0xAA, (d, i) => decodeString(d, i, 0xAA, stos));
def1(0xAB, (d, i) => decodeString(d, i, 0xAB, stos));
def1(0xAC, (d, i) => decodeString(d, i, 0xAC, lods));
def1(0xAD, (d, i) => decodeString(d, i, 0xAD, lods));
def1(0xAE, (d, i) => decodeString(d, i, 0xAE, cmpsScas, 0));
def1(0xAF, (d, i) => decodeString(d, i, 0xAF, cmpsScas, 0));
def1(0xD7, (_d, i) => { i.h = xlat; });
