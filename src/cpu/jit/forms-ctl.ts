// Control forms of the block compiler beyond jcc/jmp/call/ret (compiler.ts): the indirect jump and call that
// end a trace (`jmp *%reg`, `call *mem`: PLT stubs, switch tables, virtual calls, OSv's function pointers) and
// `leave`.
import type { Insn } from '../insn.js';
import { CANON, type Gen, load, readHi, readReg, store, writeReg } from './compiler.js';

/** jmp r/m64 (branch.ts jmpRm): #GP(0) for a non-canonical target, RIP unchanged. */
export function jmpInd(g: Gen, i: Insn, last: boolean, A: string): boolean | 'end' {
  const k = g.k;
  if (!last || i.size !== 64) return false;
  if (i.mem) { g.emit(`const a${k} = ${A};`); load(g, 64, `a${k}`, `v${k}`); }
  else g.emit(`const v${k} = ${readReg(g, 64, i.rm)}, v${k}h = ${readHi(g, i.rm)};`);
  g.emit(`const t${k} = v${k}h * 4294967296 + (v${k} >>> 0); if (t${k} >= ${CANON} || t${k} < -${CANON}) gpFault(cpu); rip = t${k};`);
  return 'end';
}

/** leave (branch.ts leave): reads [rbp] first (#SS for a non-canonical rbp, #PF), then rsp = rbp + 8, rbp = value. */
export function leave(g: Gen, i: Insn): boolean {
  const k = g.k;
  if (i.size !== 64) return false;
  g.use(5);
  g.emit(`const a${k} = H5 * 4294967296 + (L5 >>> 0);`);
  g.emit(`if (a${k} < -${CANON} || a${k} > ${CANON - 8}) ssFault(cpu);`);
  load(g, 64, `a${k}`, `v${k}`);
  g.emit(`const s${k} = (L5 >>> 0) + 8; L4 = s${k} | 0; H4 = s${k} > 4294967295 ? (H5 + 1) | 0 : H5;`);
  g.dirty(4);
  writeReg(g, 64, 5, `v${k}`, `v${k}h`);
  return true;
}

/**
 * call r/m64 (branch.ts callRm): the target is read first; a non-canonical one raises #GP(0) with RSP unchanged,
 * after the return-address push was probed (AMD) or written below RSP (Intel: vendor.ts).
 */
export function callInd(g: Gen, i: Insn, last: boolean, A: string): boolean | 'end' {
  const k = g.k;
  if (!last || i.size !== 64) return false;
  if (i.mem) { g.emit(`const a${k} = ${A};`); load(g, 64, `a${k}`, `v${k}`); }
  else g.emit(`const v${k} = ${readReg(g, 64, i.rm)}, v${k}h = ${readHi(g, i.rm)};`);
  g.use(4);
  g.emit(`const t${k} = v${k}h * 4294967296 + (v${k} >>> 0), r${k} = rip0 + ${g.endOff[k]}, sl${k} = (L4 >>> 0) - 8, sh${k} = sl${k} < 0 ? (H4 - 1) | 0 : H4, q${k} = sh${k} * 4294967296 + (sl${k} >>> 0);`);
  g.emit(`if (q${k} < -${CANON} || q${k} > ${CANON - 8}) ssFault(cpu);`);
  g.emit(`if (t${k} >= ${CANON} || t${k} < -${CANON}) { if (cpu.vendor.callNonCanonicalWritesReturn) {`);
  store(g, 64, `q${k}`, `r${k} | 0`, `Math.floor(r${k} / 4294967296) | 0`);
  g.emit(`} else mmu.probeWrite(q${k}, 8); gpFault(cpu); }`);
  store(g, 64, `q${k}`, `r${k} | 0`, `Math.floor(r${k} / 4294967296) | 0`);
  g.emit(`L4 = sl${k} | 0; H4 = sh${k}; rip = t${k};`);
  g.dirty(4);
  return 'end';
}
