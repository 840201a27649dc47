// Bit instructions: bt/bts/btr/btc (0F A3/AB/B3/BB and 0F BA /4-/7), bsf/bsr (0F BC/BD), tzcnt/lzcnt
// (F3 0F BC/BD), popcnt (F3 0F B8), bswap (0F C8+r) and movbe (0F 38 F0/F1).
import type { Cpu } from '../cpu.js';
import type { Decoder } from '../decoder.js';
import { arithFlags, setArithFlags } from '../flags.js';
import { EA_16, EA_32, EA_32L, EA_64, EA_RIP, type Insn } from '../insn.js';
import { ea, eaOffset, readMem, readRm, rmwMem, setReg, writeMem } from '../operands.js';
import { def0F, def0F38, MAP0F38 } from '../optable.js';
import { CF, ZF } from '../regs.js';
import { bitScanFlags, btFlags, bswap16, countFlags } from './undef.js';

const TWO32 = 4294967296;

// ---- bt / bts / btr / btc ---------------------------------------------------------------------
// i.op: 0 bt, 1 bts, 2 btr, 3 btc. i.imm2: 1 when the bit offset is a register (i.reg), else i.imm.

/** Applies the operation to one operand-sized unit (as halves); sets CF; returns the new low half, high in outHi. */
let outHi = 0;
function bitOp(cpu: Cpu, op: number, lo: number, hi: number, bit: number): number {
  const inHi = bit >= 32;
  const m = 1 << (bit & 31);
  const cf = ((inHi ? hi : lo) & m) !== 0 ? 1 : 0;
  setArithFlags(cpu.lf, btFlags(arithFlags(cpu.lf), cf));
  if (op !== 0) {
    let w = inHi ? hi : lo;
    if (op === 1) w |= m; else if (op === 2) w &= ~m; else w ^= m;
    if (inHi) hi = w; else lo = w;
  }
  outHi = hi;
  return lo;
}

/** Linear address of the memory operand displaced by `delta` bytes, wrapped to the address size. */
function displacedEa(cpu: Cpu, i: Insn, delta: number): number {
  switch (i.eaKind) {
    case EA_64: case EA_RIP: return ea(cpu, i) + delta;
    case EA_32L: return ((eaOffset(cpu, i) + delta) >>> 0) + cpu.segBase[i.seg];
    case EA_32: return ((eaOffset(cpu, i) + delta + cpu.segBase[i.seg]) >>> 0);
    case EA_16: default: return ((eaOffset(cpu, i) + delta) & 0xffff) + cpu.segBase[i.seg];
  }
}

function bt(cpu: Cpu, i: Insn): void {
  const size = i.size, op = i.op;
  const r = cpu.r32;
  let bit: number;
  let a = 0;
  if (i.imm2) {
    const oLo = size === 16 ? cpu.r16[4 * i.reg] : r[2 * i.reg];
    bit = oLo & (size - 1);
    if (i.mem) {
      // The register offset is signed and may address any unit around the operand.
      let off: number;
      if (size === 16) off = (oLo << 16) >> 16;
      else if (size === 32) off = oLo;
      else off = r[2 * i.reg + 1] * TWO32 + (oLo >>> 0);
      a = displacedEa(cpu, i, Math.floor(off / size) * (size >> 3));
    }
  } else {
    bit = i.imm & (size - 1);
    if (i.mem) a = ea(cpu, i);
  }
  if (i.mem) {
    const v = op === 0 ? readMem(cpu, a, size) : rmwMem(cpu, a, size);
    const lo = bitOp(cpu, op, v, size === 64 ? cpu.mmu.hi : 0, bit);
    if (op !== 0) writeMem(cpu, a, size, lo, outHi);
    return;
  }
  const n = i.rm;
  if (size === 16) {
    const lo = bitOp(cpu, op, cpu.r16[4 * n], 0, bit);
    if (op !== 0) cpu.r16[4 * n] = lo;
  } else if (size === 32) {
    const lo = bitOp(cpu, op, r[2 * n], 0, bit);
    if (op !== 0) { r[2 * n] = lo; r[2 * n + 1] = 0; }
  } else {
    const lo = bitOp(cpu, op, r[2 * n], r[2 * n + 1], bit);
    if (op !== 0) { r[2 * n] = lo; r[2 * n + 1] = outHi; }
  }
}

function decodeBtReg(d: Decoder, i: Insn, op: number): void {
  d.modrm(i);
  i.op = op; i.imm2 = 1; i.h = bt;
  d.lockable = op !== 0;
}
def0F(0xA3, (d, i) => decodeBtReg(d, i, 0));
def0F(0xAB, (d, i) => decodeBtReg(d, i, 1));
def0F(0xB3, (d, i) => decodeBtReg(d, i, 2));
def0F(0xBB, (d, i) => decodeBtReg(d, i, 3));
def0F(0xBA, (d, i) => {
  d.modrm(i);
  const r = d.regField;
  i.imm = d.imm8u();
  if (r < 4) return; // #UD
  i.op = r - 4; i.imm2 = 0; i.h = bt;
  d.lockable = r !== 4;
});

// ---- bsf / bsr / tzcnt / lzcnt / popcnt ---------------------------------------------------------
/** Source operand as halves: low returned, high (64-bit only, else 0) in srcHi. */
let srcHi = 0;
function source(cpu: Cpu, i: Insn): number {
  const size = i.size;
  const lo = readRm(cpu, i, size);
  srcHi = size === 64 ? (i.mem ? cpu.mmu.hi : cpu.r32[2 * i.rm + 1]) : 0;
  return lo;
}

function ctz32(v: number): number { return 31 - Math.clz32(v & -v); }

function bsf(cpu: Cpu, i: Insn): void {
  const lo = source(cpu, i), hi = srcHi;
  if ((lo | hi) === 0) {
    setArithFlags(cpu.lf, bitScanFlags(arithFlags(cpu.lf), true));
    return; // destination unchanged
  }
  const idx = lo !== 0 ? ctz32(lo) : 32 + ctz32(hi);
  setReg(cpu, i.size, i.reg, idx, 0);
  setArithFlags(cpu.lf, bitScanFlags(arithFlags(cpu.lf), false));
}
function bsr(cpu: Cpu, i: Insn): void {
  const lo = source(cpu, i), hi = srcHi;
  if ((lo | hi) === 0) {
    setArithFlags(cpu.lf, bitScanFlags(arithFlags(cpu.lf), true));
    return;
  }
  const idx = hi !== 0 ? 63 - Math.clz32(hi) : 31 - Math.clz32(lo);
  setReg(cpu, i.size, i.reg, idx, 0);
  setArithFlags(cpu.lf, bitScanFlags(arithFlags(cpu.lf), false));
}
function tzcnt(cpu: Cpu, i: Insn): void {
  const lo = source(cpu, i), hi = srcHi;
  const size = i.size;
  let n: number;
  if (size === 16) n = lo === 0 ? 16 : ctz32(lo);
  else if (lo !== 0) n = ctz32(lo);
  else n = size === 32 ? 32 : hi !== 0 ? 32 + ctz32(hi) : 64;
  setReg(cpu, size, i.reg, n, 0);
  setArithFlags(cpu.lf, countFlags(arithFlags(cpu.lf), n === size ? CF : 0, n));
}
function lzcnt(cpu: Cpu, i: Insn): void {
  const lo = source(cpu, i), hi = srcHi;
  const size = i.size;
  let n: number;
  if (size === 16) n = Math.clz32(lo) - 16;
  else if (size === 32) n = Math.clz32(lo);
  else n = hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo);
  setReg(cpu, size, i.reg, n, 0);
  setArithFlags(cpu.lf, countFlags(arithFlags(cpu.lf), n === size ? CF : 0, n));
}
function popcnt32(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}
function popcnt(cpu: Cpu, i: Insn): void {
  const lo = source(cpu, i), hi = srcHi;
  const n = popcnt32(lo) + popcnt32(hi);
  setReg(cpu, i.size, i.reg, n, 0);
  setArithFlags(cpu.lf, n === 0 ? ZF : 0);
}

def0F(0xBC, (d, i) => { d.modrm(i); i.h = d.rep === 0xF3 ? tzcnt : bsf; });
def0F(0xBD, (d, i) => { d.modrm(i); i.h = d.rep === 0xF3 ? lzcnt : bsr; });
def0F(0xB8, (d, i) => { d.modrm(i); if (d.rep === 0xF3) i.h = popcnt; }); // without F3: jmpe, #UD

// ---- bswap / movbe ----------------------------------------------------------------------------------
function swap32(v: number): number {
  return (v << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
}
function bswap(cpu: Cpu, i: Insn): void {
  const r = cpu.r32, n = i.reg;
  if (i.size === 64) {
    const lo = r[2 * n];
    r[2 * n] = swap32(r[2 * n + 1]);
    r[2 * n + 1] = swap32(lo);
  } else if (i.size === 32) {
    r[2 * n] = swap32(r[2 * n]);
    r[2 * n + 1] = 0;
  } else {
    cpu.r16[4 * n] = bswap16(cpu.r16[4 * n]);
  }
}
for (let k = 0; k < 8; k++) def0F(0xC8 + k, (d, i) => { i.reg = k | d.rexB; i.h = bswap; });

function movbeLoad(cpu: Cpu, i: Insn): void {
  const a = ea(cpu, i);
  const size = i.size;
  const v = readMem(cpu, a, size);
  if (size === 16) cpu.r16[4 * i.reg] = ((v & 0xff) << 8) | (v >>> 8);
  else if (size === 32) { cpu.r32[2 * i.reg] = swap32(v); cpu.r32[2 * i.reg + 1] = 0; }
  else { const hi = cpu.mmu.hi; cpu.r32[2 * i.reg] = swap32(hi); cpu.r32[2 * i.reg + 1] = swap32(v); }
}
function movbeStore(cpu: Cpu, i: Insn): void {
  const a = ea(cpu, i);
  const size = i.size, r = cpu.r32;
  if (size === 16) { const v = cpu.r16[4 * i.reg]; cpu.mmu.write16(a, ((v & 0xff) << 8) | (v >>> 8)); }
  else if (size === 32) cpu.mmu.write32(a, swap32(r[2 * i.reg]));
  else cpu.mmu.write64(a, swap32(r[2 * i.reg + 1]), swap32(r[2 * i.reg]));
}
// F2 0F 38 F0/F1 is crc32 (SSE4.2): left to whichever module registered it before us.
const crcF0 = MAP0F38[0xF0], crcF1 = MAP0F38[0xF1];
def0F38(0xF0, (d, i) => {
  if (d.rep === 0xF2) { crcF0(d, i); return; }
  d.modrm(i);
  if (i.mem && d.rep === 0) i.h = movbeLoad;
});
def0F38(0xF1, (d, i) => {
  if (d.rep === 0xF2) { crcF1(d, i); return; }
  d.modrm(i);
  if (i.mem && d.rep === 0) i.h = movbeStore;
});
