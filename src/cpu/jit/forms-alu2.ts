// Shifts and rotates of every size by a constant, by 1 and by CL, register or memory (shift.ts shiftGroup). The
// result and flags come from the interpreter's own shiftSmall/shift64 with a scratch flag record, so they are
// the interpreter's by construction; what compiled code gains is keeping registers and flags in locals
// around them (a handler call flushes both and stops a block from looping in place).
import type { Insn } from '../insn.js';
import { OP_SAR, OP_SHL, OP_SHR } from '../ops/shift.js';
import { ABSENT, type Gen, loadRmw, readHi, readReg, setExplicitFlags, storeRmw, writeReg } from './compiler.js';

export function shift(g: Gen, i: Insn, A: string): boolean {
  const s = i.size, op = i.op, k = g.k;
  const cl = i.imm2 !== 0;
  const c = i.imm & (s === 64 ? 63 : 31);
  if (!cl && c === 0) {
    if (i.mem) return false;
    // A 32-bit destination is zero-extended even when nothing shifts; other sizes are left alone.
    if (s === 32) { g.emit(`const v${k} = ${readReg(g, 32, i.rm)};`); writeReg(g, 32, i.rm, `v${k}`, '0'); }
    return true;
  }
  // Rotates read the flags they keep (and rcl/rcr CF), and a count of 0 from CL changes none: those work on
  // cpu.lf itself, made current first. shl/shr/sar by a constant define all six and write a scratch record.
  const inLf = cl || (op !== OP_SHL && op !== OP_SHR && op !== OP_SAR);
  const rec = inLf ? 'lf' : 'SLF';
  if (inLf) g.flushFlags();
  let p = '';
  if (i.mem) { p = `p${k}`; g.emit(`const a${k} = ${A};`); loadRmw(g, s, `a${k}`, `m${k}`, p); }
  else g.emit(`const m${k} = ${readReg(g, s, i.rm)}, m${k}h = ${s === 64 ? readHi(g, i.rm) : '0'};`);
  const count = cl ? `c${k}` : `${c}`;
  if (cl) g.emit(`const c${k} = ${readReg(g, 8, 8)} & ${s === 64 ? 63 : 31};`);
  const calc = s === 64 ? `r${k} = shift64(${rec}, ${op}, m${k}, m${k}h, ${count}); r${k}h = shiftHi();`
    : `r${k} = shiftSmall(${rec}, ${op}, ${s}, m${k}, ${count});`;
  g.emit(`let r${k} = m${k}, r${k}h = m${k}h;`);
  if (cl) g.emit(`if (c${k} !== 0) { ${calc} }`); else g.emit(calc);
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
