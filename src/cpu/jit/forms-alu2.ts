// Shifts and rotates of every size by a constant, by 1 and by CL, register or memory (shift.ts shiftGroup),
// shld/shrd, one-operand mul/imul, neg, not, bsf and bsr. The shifts'
// result and flags come from the interpreter's own shiftSmall/shift64 with a scratch flag record, so they are
// the interpreter's by construction; what compiled code gains is keeping registers and flags in locals
// around them (a handler call flushes both and stops a block from looping in place).
import { K_SUB } from '../flags.js';
import type { Insn } from '../insn.js';
import { OP_SAR, OP_SHL, OP_SHR } from '../ops/shift.js';
import { ABSENT, type Gen, keptFlags, load, loadRmw, readHi, readReg, setExplicitFlags, storeRmw, writeReg } from './compiler.js';

export function shift(g: Gen, i: Insn, A: string): boolean {
  const s = i.size, op = i.op, k = g.k;
  // Rotates read the flags they keep (and rcl/rcr CF): those work on cpu.lf itself, made current first.
  const rotate = op !== OP_SHL && op !== OP_SHR && op !== OP_SAR;
  return shiftLike(g, i, A, rotate, (rec, c) => s === 64 ? `r${k} = shift64(${rec}, ${op}, m${k}, m${k}h, ${c}); r${k}h = shiftHi();`
    : `r${k} = shiftSmall(${rec}, ${op}, ${s}, m${k}, ${c});`);
}

/** shld/shrd r/m, reg, imm8/CL (shift.ts shxd, doubleShift). */
export function shxd(g: Gen, i: Insn, A: string): boolean {
  const s = i.size, k = g.k;
  if (s !== 16 && s !== 32 && s !== 64) return false;
  g.emit(`const x${k} = ${readReg(g, s, i.reg)}, x${k}h = ${readHi(g, i.reg)};`);
  return shiftLike(g, i, A, false, (rec, c) => `r${k} = doubleShift(${rec}, ${i.op === 1}, ${s}, m${k}, m${k}h, x${k}, x${k}h, ${c}); r${k}h = shiftHi();`);
}

/**
 * The frame of a shift by a constant or CL: operand, masked count, result and flags from `calc`, write-back. A
 * count of 0 from CL changes no flag, so CL counts (and `readsFlags` operations) work on cpu.lf made current;
 * constant counts that define all six flags write a scratch record.
 */
function shiftLike(g: Gen, i: Insn, A: string, readsFlags: boolean, calc: (rec: string, count: string) => string): boolean {
  const s = i.size, k = g.k;
  const cl = i.imm2 !== 0;
  const c = i.imm & (s === 64 ? 63 : 31);
  if (!cl && c === 0) {
    if (i.mem) return false;
    // A 32-bit destination is zero-extended even when nothing shifts; other sizes are left alone.
    if (s === 32) { g.emit(`const v${k} = ${readReg(g, 32, i.rm)};`); writeReg(g, 32, i.rm, `v${k}`, '0'); }
    return true;
  }
  const inLf = cl || readsFlags;
  const rec = inLf ? 'lf' : 'SLF';
  if (inLf) g.flushFlags();
  let p = '';
  if (i.mem) { p = `p${k}`; g.emit(`const a${k} = ${A};`); loadRmw(g, s, `a${k}`, `m${k}`, p); }
  else g.emit(`const m${k} = ${readReg(g, s, i.rm)}, m${k}h = ${s === 64 ? readHi(g, i.rm) : '0'};`);
  const count = cl ? `c${k}` : `${c}`;
  if (cl) g.emit(`const c${k} = ${readReg(g, 8, 8)} & ${s === 64 ? 63 : 31};`);
  g.emit(`let r${k} = m${k}, r${k}h = m${k}h;`);
  if (cl) g.emit(`if (c${k} !== 0) { ${calc(rec, count)} }`); else g.emit(calc(rec, count));
  if (i.mem) {
    if (cl) g.emit(`if (c${k} !== 0) {`);
    storeRmw(g, s, `a${k}`, p, `r${k}`, `r${k}h`);
    if (cl) g.emit('}');
  }
  if (inLf) {
    // cpu.lf holds the flags now; the locals of the fields it wrote are stale.
    g.fl[0] = ABSENT; g.fl[9] = ABSENT;
    g.prod = null;
  } else setExplicitFlags(g, 'SLF[9]');
  if (i.mem) g.genCheck();
  else writeReg(g, s, i.rm, `r${k}`, `r${k}h`);
  return true;
}

/** mul/imul r/m32 and r/m64 into edx:eax / rdx:rax (muldiv.ts mul32, imul32, mul64, imul64, wide.ts). */
export function mulWide(g: Gen, i: Insn, A: string): boolean {
  const s = i.size, k = g.k, signed = i.op === 5;
  if ((s !== 32 && s !== 64) || (i.op !== 4 && !signed)) return false;
  if (i.mem) { g.emit(`const a${k} = ${A};`); load(g, s, `a${k}`, `b${k}`); }
  else g.emit(`const b${k} = ${readReg(g, s, i.rm)}, b${k}h = ${s === 64 ? readHi(g, i.rm) : '0'};`);
  const ax = readReg(g, s, 0);
  let ovf: string;
  if (s === 64) {
    g.emit(`${signed ? 'mulS64w' : 'mulU64w'}(${ax}, ${readHi(g, 0)}, b${k}, b${k}h); const w${k}0 = WW[0], w${k}1 = WW[1], w${k}2 = WW[2], w${k}3 = WW[3];`);
    ovf = signed ? `(w${k}2 !== (w${k}1 >> 31) || w${k}3 !== (w${k}1 >> 31))` : `((w${k}2 | w${k}3) !== 0)`;
  } else {
    g.emit(`const w${k}0 = ${signed ? 'mulS32w' : 'mulU32w'}(${ax}, b${k}), w${k}2 = WW[1], w${k}1 = 0, w${k}3 = 0;`);
    ovf = signed ? `(w${k}2 !== (w${k}0 >> 31))` : `(w${k}2 !== 0)`;
  }
  setExplicitFlags(g, `${keptFlags(g)} | (${ovf} ? 2049 : 0)`);
  writeReg(g, s, 0, `w${k}0`, `w${k}1`);
  writeReg(g, s, 2, `w${k}2`, `w${k}3`);
  return true;
}

/** neg and not, register or memory, every size (branch.ts negnot: neg records 0 - v, not leaves the flags). */
export function negnot(g: Gen, i: Insn, A: string): boolean {
  const s = i.size, k = g.k, neg = i.op === 3;
  if (i.op !== 2 && !neg) return false;
  let p = '';
  if (i.mem) { p = `p${k}`; g.emit(`const a${k} = ${A};`); loadRmw(g, s, `a${k}`, `m${k}`, p); }
  else g.emit(`const m${k} = ${readReg(g, s, i.rm)}, m${k}h = ${s === 64 ? readHi(g, i.rm) : '0'};`);
  const mask = s === 8 ? ' & 255' : s === 16 ? ' & 65535' : '';
  if (neg) {
    g.emit(s === 64 ? `const r${k} = (-m${k}) | 0, r${k}h = (~m${k}h + (m${k} === 0 ? 1 : 0)) | 0;`
      : `const r${k} = ${s === 32 ? `(-m${k}) | 0` : `(-m${k})${mask}`}, r${k}h = 0;`);
  } else g.emit(`const r${k} = ${s === 32 || s === 64 ? `~m${k}` : `~m${k}${mask}`}, r${k}h = ~m${k}h;`);
  if (i.mem) storeRmw(g, s, `a${k}`, p, `r${k}`, `r${k}h`);
  if (neg) {
    const sz = s === 64 ? 3 : s === 32 ? 2 : s === 16 ? 1 : 0;
    g.setF(0, `${(K_SUB << 2) | sz}`);
    g.setF(1, '0'); g.setF(2, '0');
    g.setF(3, `m${k}`); g.setF(4, s === 64 ? `m${k}h` : '0');
    g.setF(5, `r${k}`); g.setF(6, `r${k}h`);
    g.prod = { kind: K_SUB, sz };
  }
  if (i.mem) g.genCheck();
  else writeReg(g, s, i.rm, `r${k}`, `r${k}h`);
  return true;
}

/**
 * bsf/bsr (bitops.ts): index of the lowest/highest set bit; a zero source leaves the destination and sets ZF,
 * the other flags as undef.ts bitScanFlags keeps them (so cpu.lf is made current first).
 */
export function bitScan(g: Gen, i: Insn, A: string, reverse: boolean): boolean {
  const s = i.size, k = g.k;
  if (s !== 16 && s !== 32 && s !== 64) return false;
  if (i.mem) { g.emit(`const a${k} = ${A};`); load(g, s, `a${k}`, `m${k}`); }
  else g.emit(`const m${k} = ${readReg(g, s, i.rm)}, m${k}h = ${s === 64 ? readHi(g, i.rm) : '0'};`);
  if (s !== 64) g.emit(`const l${k} = m${k}${s === 16 ? ' & 65535' : ''}, z${k} = l${k} === 0;`);
  else g.emit(`const l${k} = m${k}, z${k} = (m${k} | m${k}h) === 0;`);
  const hi = s === 64 ? `m${k}h` : '0';
  const idx = reverse ? `${hi} !== 0 ? 63 - Math.clz32(${hi}) : 31 - Math.clz32(l${k})`
    : `l${k} !== 0 ? 31 - Math.clz32(l${k} & -l${k}) : 63 - Math.clz32(${hi} & -${hi})`;
  g.flushFlags();
  setExplicitFlags(g, `bitScanFlags(arithFlags(lf), z${k})`);
  g.use(i.reg);
  g.emit(`if (!z${k}) {`);
  g.emit(`const v${k} = ${idx};`);
  writeReg(g, s, i.reg, `v${k}`, '0');
  g.emit('}');
  return true;
}
