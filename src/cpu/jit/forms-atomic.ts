// The atomics OSv's locks, RCU and reference counts are made of: xchg, xadd and cmpxchg, register or memory, every
// size (ops/mov.ts xchg, ops/atomic.ts xadd/cmpxchg). One vCPU runs at a time, so the lock prefix changes nothing.
import { K_ADD, K_SUB } from '../flags.js';
import type { Insn } from '../insn.js';
import { type Gen, loadRmw, readHi, readReg, storeRmw, writeReg } from './compiler.js';

const SZI: Record<number, number> = { 8: 0, 16: 1, 32: 2, 64: 3 };
const MASK: Record<number, number> = { 8: 255, 16: 65535 };

/** Loads the local a register write of this size touches (so code inside a branch never loads it). */
function useFor(g: Gen, s: number, r: number): void { g.use(s === 8 ? r >> 3 : r); }

/** (lo, hi) of a register operand into consts `<v>`, `<v>h`. */
function regOperand(g: Gen, s: number, r: number, v: string): void {
  g.emit(`const ${v} = ${readReg(g, s, r)}, ${v}h = ${s === 64 ? readHi(g, r) : '0'};`);
}

/** The destination operand as `m<k>`, `m<k>h` (memory: read for write, `p<k>` its RAM offset or -1). */
function dest(g: Gen, i: Insn, A: string): void {
  const k = g.k;
  if (i.mem) { g.emit(`const a${k} = ${A};`); loadRmw(g, i.size, `a${k}`, `m${k}`, `p${k}`); }
  else regOperand(g, i.size, i.rm, `m${k}`);
}

/** a + b or a - b at the size into `r<k>`, `r<k>h` (alu-core.ts). */
function arith(g: Gen, s: number, sub: boolean, a: string, b: string): void {
  const k = g.k, o = sub ? '-' : '+';
  if (s === 64) {
    g.emit(`const t${k} = (${a} >>> 0) ${o} (${b} >>> 0), r${k} = t${k} | 0, r${k}h = (${a}h ${o} ${b}h ${o} (t${k} ${sub ? '< 0' : '> 4294967295'} ? 1 : 0)) | 0;`);
  } else if (s === 32) g.emit(`const r${k} = (${a} ${o} ${b}) | 0, r${k}h = 0;`);
  else g.emit(`const r${k} = (${a} ${o} ${b}) & ${MASK[s]}, r${k}h = 0;`);
}

/** The lazy-flag record alu-core.ts writes for add/sub (and cmp) of a and b with result r. */
function record(g: Gen, s: number, kind: number, a: string, b: string, r: string): void {
  g.setF(0, `${(kind << 2) | SZI[s]}`);
  g.setF(1, a); if (s === 64) g.setF(2, `${a}h`);
  g.setF(3, b); if (s === 64) g.setF(4, `${b}h`);
  g.setF(5, r); if (s === 64) { g.setF(6, `${r}h`); g.setF(7, '0'); }
  g.prod = { kind, sz: SZI[s] };
}

export function xchg(g: Gen, i: Insn, A: string): boolean {
  const k = g.k, s = i.size;
  regOperand(g, s, i.reg, `x${k}`);
  dest(g, i, A);
  if (i.mem) {
    storeRmw(g, s, `a${k}`, `p${k}`, `x${k}`, `x${k}h`);
    writeReg(g, s, i.reg, `m${k}`, `m${k}h`);
    g.genCheck();
  } else {
    writeReg(g, s, i.rm, `x${k}`, `x${k}h`);
    writeReg(g, s, i.reg, `m${k}`, `m${k}h`);
  }
  return true;
}

/** xadd: the source register gets the old destination, then the destination the sum (xadd r, r: the sum). */
export function xadd(g: Gen, i: Insn, A: string): boolean {
  const k = g.k, s = i.size;
  regOperand(g, s, i.reg, `x${k}`);
  dest(g, i, A);
  arith(g, s, false, `m${k}`, `x${k}`);
  if (i.mem) storeRmw(g, s, `a${k}`, `p${k}`, `r${k}`, `r${k}h`);
  record(g, s, K_ADD, `m${k}`, `x${k}`, `r${k}`);
  writeReg(g, s, i.reg, `m${k}`, `m${k}h`);
  if (i.mem) g.genCheck();
  else writeReg(g, s, i.rm, `r${k}`, `r${k}h`);
  return true;
}

/**
 * cmpxchg: flags of cmp accumulator, destination; equal: destination = source, else accumulator = destination.
 * A memory destination is always written (the old value when unequal), as on hardware.
 */
export function cmpxchg(g: Gen, i: Insn, A: string): boolean {
  const k = g.k, s = i.size;
  regOperand(g, s, 0, `c${k}`);
  dest(g, i, A);
  regOperand(g, s, i.reg, `x${k}`);
  const eq = s === 64 ? `c${k} === m${k} && c${k}h === m${k}h` : `c${k} === m${k}`;
  g.emit(`const e${k} = ${eq};`);
  arith(g, s, true, `c${k}`, `m${k}`);
  if (i.mem) {
    g.emit(`const n${k} = e${k} ? x${k} : m${k}, n${k}h = e${k} ? x${k}h : m${k}h;`);
    storeRmw(g, s, `a${k}`, `p${k}`, `n${k}`, `n${k}h`);
  }
  record(g, s, K_SUB, `c${k}`, `m${k}`, `r${k}`);
  useFor(g, s, 0);
  if (!i.mem) useFor(g, s, i.rm);
  g.emit(`if (e${k}) {`);
  if (!i.mem) writeReg(g, s, i.rm, `x${k}`, `x${k}h`);
  g.emit('} else {');
  writeReg(g, s, 0, `m${k}`, `m${k}h`);
  g.emit('}');
  if (i.mem) g.genCheck();
  return true;
}
