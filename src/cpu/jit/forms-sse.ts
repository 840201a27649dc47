// SSE/SSE2 forms of the block compiler: the data moves, the bitwise operations and the scalar single and
// double arithmetic, comparisons and conversions that compiled C code (musl's libm, OSv) is made of.
//
// XMM registers are not cached in locals: generated code reads and writes cpu.xmm (`xw`, and its binary64 view
// `xf`) directly, after every access that can fault, like the handlers.
//
// Floating point is exact only where the host's binary64 arithmetic provably gives the handler's result and
// MXCSR update: every operand and the result are zero or normal and finite (no NaN payloads, no denormal
// operands, so DAZ, DE and the NaN rules never apply; no overflow or tiny result, so OE, UE and FTZ never
// apply), rounding is to nearest, and an inexact result can only raise PE, which is then required to be
// already set and masked (sticky, so recording it again changes nothing; that is the steady state of any
// program that has computed one inexact value). Anything else calls the interpreter's code with the operand
// already read (a second read of MMIO could differ).
import type { Insn } from '../insn.js';
import { CR0_EM, CR0_TS, CR4_OSFXSR } from '../regs.js';
import { L_AND, L_ANDN, L_OR } from '../sse/simd-int.js';
import { OP_ADD, OP_DIV, OP_MAX, OP_MIN, OP_MUL, OP_SQRT, OP_SUB } from '../sse/fp.js';
import { MX_MASK_SHIFT, MX_PE, MX_RC } from '../sse/mxcsr.js';
import { type Gen, load, loadF64, readHi, readReg, setExplicitFlags, slow, store, writeReg } from './compiler.js';

/** PM set, PE set, RC = nearest: an inexact result records nothing new and raises nothing. */
const PE_OK = `(cpu.mxcsr & ${MX_RC | (MX_PE << MX_MASK_SHIFT) | MX_PE}) === ${(MX_PE << MX_MASK_SHIFT) | MX_PE}`;

function check(g: Gen): void {
  g.emit(`if ((cpu.cr0 & ${CR0_EM | CR0_TS}) !== 0 || (cpu.cr4 & ${CR4_OSFXSR}) === 0) sseCheck(cpu);`);
}
/** Opening of a call of interpreter code from a fast path's fallback: the state a handler call would see. */
function fallback(g: Gen): string {
  return `cpu.rip = rip0 + ${g.endOff[g.k]}; ${g.loop ? 'cpu.icount = ic; ' : ''}`;
}
function ea(g: Gen, A: string): string {
  g.emit(`const a${g.k} = ${A};`);
  return `a${g.k}`;
}
function alignCheck(g: Gen, a: string): void { g.emit(`if ((${a} & 15) !== 0) gpFault(cpu);`); }

/** 16 bytes at a into w0..w3 (two 8-byte reads in the handler's order). */
function load128(g: Gen, a: string): void {
  const k = g.k;
  load(g, 64, a, `q${k}`);
  g.emit(`const b${k} = ${a} + 8;`);
  load(g, 64, `b${k}`, `u${k}`);
  g.emit(`const w${k}0 = q${k}, w${k}1 = q${k}h, w${k}2 = u${k}, w${k}3 = u${k}h;`);
}
/**
 * Copies the low `words` 32-bit words of xmm `from` to xmm `to`. Whole 64-bit lanes go as doubles unless they hold a
 * NaN (whose payload a double copy need not keep): scalar arithmetic reads the copy as a double, and a double read
 * after two 4-byte stores waits for them (no store forwarding).
 */
function copy(g: Gen, to: number, from: number, words: number): void {
  if (to === from) return;
  const k = g.k;
  let s = '';
  for (let j = 0; j + 1 < words; j += 2) {
    const c = `c${k}_${j}`, f = (4 * from + j) / 2, t = (4 * to + j) / 2;
    s += `const ${c} = xf[${f}]; if (${c} === ${c}) xf[${t}] = ${c}; else { xw[${2 * t}] = xw[${2 * f}]; xw[${2 * t + 1}] = xw[${2 * f + 1}]; } `;
  }
  if (words % 2 === 1) s += `xw[${4 * to + words - 1}] = xw[${4 * from + words - 1}]; `;
  g.emit(s);
}

/** movups/movaps/movupd/movapd/movdqu/movdqa/lddqu xmm, xmm/m128 (ops-move.ts load128; i.op: aligned). */
export function sseLoad128(g: Gen, i: Insn, A: string): boolean {
  const k = g.k, d = 4 * i.reg;
  check(g);
  if (!i.mem) { copy(g, i.reg, i.rm, 4); return true; }
  const a = ea(g, A);
  if (i.op !== 0) alignCheck(g, a);
  load128(g, a);
  g.emit(`xw[${d}] = w${k}0; xw[${d + 1}] = w${k}1; xw[${d + 2}] = w${k}2; xw[${d + 3}] = w${k}3;`);
  return true;
}

/** The stores of the same moves (ops-move.ts store128h): a page-crossing store is probed whole first. */
export function sseStore128(g: Gen, i: Insn, A: string): boolean {
  const k = g.k, s = 4 * i.reg;
  check(g);
  if (!i.mem) { copy(g, i.rm, i.reg, 4); return true; }
  const a = ea(g, A);
  if (i.op !== 0) alignCheck(g, a);
  g.emit(`if ((${a} & 4095) > 4080) ${slow(g)}mmu.probeWrite(${a}, 16)${g.loop ? ')' : ''};`);
  store(g, 64, a, `xw[${s}]`, `xw[${s + 1}]`);
  g.emit(`const b${k} = ${a} + 8;`);
  store(g, 64, `b${k}`, `xw[${s + 2}]`, `xw[${s + 3}]`);
  g.genCheck();
  return true;
}

/** movsd/movss/movq xmm, xmm/m (ops-move.ts movsdLoad, movssLoad, movqLoad): a memory source zeroes the rest. */
export function scalarLoad(g: Gen, i: Insn, A: string, bits: 32 | 64, zeroReg: boolean): boolean {
  const k = g.k, d = 4 * i.reg, s = 4 * i.rm;
  check(g);
  if (i.mem && bits === 64) {
    // As a double unless it is a NaN (whose payload a double store need not keep): the arithmetic that usually
    // follows reads the lane as a double, which a pair of 4-byte stores would make wait (store forwarding).
    loadF64(g, ea(g, A), `v${k}`, `f${k}`);
    g.emit(`if (f${k} === f${k}) xf[${d / 2}] = f${k}; else { xw[${d}] = v${k}; xw[${d + 1}] = v${k}h; } xw[${d + 2}] = 0; xw[${d + 3}] = 0;`);
  } else if (i.mem) {
    load(g, bits, ea(g, A), `v${k}`);
    g.emit(`xw[${d}] = v${k}; xw[${d + 1}] = 0; xw[${d + 2}] = 0; xw[${d + 3}] = 0;`);
  } else if (zeroReg) {
    g.emit(`const v${k} = xw[${s}], v${k}h = xw[${s + 1}]; xw[${d}] = v${k}; xw[${d + 1}] = v${k}h; xw[${d + 2}] = 0; xw[${d + 3}] = 0;`);
  } else copy(g, i.reg, i.rm, bits / 32);
  return true;
}

/** movsd/movss/movq xmm/m, xmm (ops-move.ts movsdStore, movssStore, movqStore). */
export function scalarStore(g: Gen, i: Insn, A: string, bits: 32 | 64, zeroReg: boolean): boolean {
  const k = g.k, s = 4 * i.reg, d = 4 * i.rm;
  check(g);
  if (i.mem) {
    store(g, bits, ea(g, A), `xw[${s}]`, `xw[${s + 1}]`);
    g.genCheck();
  } else if (zeroReg) {
    g.emit(`const v${k} = xw[${s}], v${k}h = xw[${s + 1}]; xw[${d}] = v${k}; xw[${d + 1}] = v${k}h; xw[${d + 2}] = 0; xw[${d + 3}] = 0;`);
  } else copy(g, i.rm, i.reg, bits / 32);
  return true;
}

/** movd/movq xmm, r/m32/64 (ops-move.ts movdToXmm). */
export function movdTo(g: Gen, i: Insn, A: string): boolean {
  const k = g.k, d = 4 * i.reg, w = i.size === 64;
  check(g);
  if (i.mem) load(g, w ? 64 : 32, ea(g, A), `v${k}`);
  else g.emit(`const v${k} = ${readReg(g, 32, i.rm)}, v${k}h = ${w ? readHi(g, i.rm) : '0'};`);
  g.emit(`xw[${d}] = v${k}; xw[${d + 1}] = ${w ? `v${k}h` : '0'}; xw[${d + 2}] = 0; xw[${d + 3}] = 0;`);
  return true;
}

/** movd/movq r/m32/64, xmm (ops-move.ts movdFromXmm). */
export function movdFrom(g: Gen, i: Insn, A: string): boolean {
  const k = g.k, s = 4 * i.reg, w = i.size === 64;
  check(g);
  if (i.mem) {
    store(g, w ? 64 : 32, ea(g, A), `xw[${s}]`, `xw[${s + 1}]`);
    g.genCheck();
  } else {
    g.emit(`const v${k} = xw[${s}], v${k}h = ${w ? `xw[${s + 1}]` : '0'};`);
    writeReg(g, w ? 64 : 32, i.rm, `v${k}`, `v${k}h`);
  }
  return true;
}

/** pxor/xorps/xorpd xmm, xmm (ops-int.ts hXorReg; the same register is the zeroing idiom). */
export function pxorReg(g: Gen, i: Insn): boolean {
  const d = 4 * i.reg, s = 4 * i.rm;
  check(g);
  let e = '';
  for (let j = 0; j < 4; j++) e += i.reg === i.rm ? `xw[${d + j}] = 0; ` : `xw[${d + j}] ^= xw[${s + j}]; `;
  g.emit(e);
  return true;
}

/** and/andn/or/xor of ps/pd and pand/pandn/por/pxor (ops-int.ts hLogic: the memory operand is aligned). */
export function sseLogic(g: Gen, i: Insn, A: string): boolean {
  const k = g.k, d = 4 * i.reg, s = 4 * i.rm;
  check(g);
  if (i.mem) { const a = ea(g, A); alignCheck(g, a); load128(g, a); }
  else g.emit(`const w${k}0 = xw[${s}], w${k}1 = xw[${s + 1}], w${k}2 = xw[${s + 2}], w${k}3 = xw[${s + 3}];`);
  let e = '';
  for (let j = 0; j < 4; j++) {
    const a = `xw[${d + j}]`, b = `w${k}${j}`;
    e += `${a} = ${i.op === L_AND ? `${a} & ${b}` : i.op === L_ANDN ? `~${a} & ${b}` : i.op === L_OR ? `${a} | ${b}` : `${a} ^ ${b}`}; `;
  }
  g.emit(e);
  return true;
}

/** unpcklps/unpckhps/unpcklpd/unpckhpd, punpck[lh]dq/qdq (i.op: element bytes, 4 or 8; i.imm: high halves). */
export function sseUnpack(g: Gen, i: Insn, A: string, op: number, high: boolean): boolean {
  const k = g.k, d = 4 * i.reg, s = 4 * i.rm;
  if (op !== 4 && op !== 8) return false;
  check(g);
  if (i.mem) { const a = ea(g, A); alignCheck(g, a); load128(g, a); }
  else g.emit(`const w${k}0 = xw[${s}], w${k}1 = xw[${s + 1}], w${k}2 = xw[${s + 2}], w${k}3 = xw[${s + 3}];`);
  const b = high ? 2 : 0;
  g.emit(`const x${k}0 = xw[${d + b}], x${k}1 = xw[${d + b + 1}];`);
  const out = op === 8 ? [`x${k}0`, `x${k}1`, `w${k}${b}`, `w${k}${b + 1}`] : [`x${k}0`, `w${k}${b}`, `x${k}1`, `w${k}${b + 1}`];
  g.emit(out.map((v, j) => `xw[${d + j}] = ${v};`).join(' '));
  return true;
}

/** Width of a scalar operation: binary64 (sd) or binary32 (ss). */
interface Scalar { bits: 32 | 64; view: string; lane: number; minNormal: string; round: (e: string) => string; staged: string }
const SD: Scalar = { bits: 64, view: 'xf', lane: 2, minNormal: '2.2250738585072014e-308', round: (e) => e, staged: 'Sd' };
// binary64 has more than 2p+2 bits of binary32's p: computing in double and rounding once to single gives the
// correctly rounded single result of + - * / and sqrt.
const SS: Scalar = { bits: 32, view: 'xs', lane: 4, minNormal: '1.1754943508222875e-38', round: (e) => `Math.fround(${e})`, staged: 'Ss' };

/** x is +-0 or a finite normal number of the width. */
const ordOf = (w: Scalar, x: string) => `(${x} === 0 || (Math.abs(${x}) >= ${w.minNormal} && Math.abs(${x}) < Infinity))`;

/**
 * The scalar source as the number `s<k>`; for a memory operand also its words `m<k>`(, `m<k>h`), and the
 * fallback's staging of them (sse-state.ts S).
 */
function sourceScalar(g: Gen, w: Scalar, i: Insn, A: string): string {
  const k = g.k;
  if (!i.mem) { g.emit(`const s${k} = ${w.view}[${w.lane * i.rm}];`); return ''; }
  if (w.bits === 32) { load(g, 32, ea(g, A), `m${k}`); g.emit(`CVI[0] = m${k}; const s${k} = CVS[0];`); return `W[4] = m${k}; `; }
  loadF64(g, ea(g, A), `m${k}`, `s${k}`);
  return `W[4] = m${k}; W[5] = m${k}h; `;
}

/** add sub mul div min max sqrt, sd and ss (ops-fp.ts hArithSd, hArithSs). */
export function arithScalar(g: Gen, i: Insn, A: string, w: Scalar): boolean {
  const k = g.k, op = i.op, d = w.lane * i.reg;
  const sd = `s${k}`, dd = `d${k}`, ord = (x: string) => ordOf(w, x);
  let r: string, ok: string;
  switch (op) {
    case OP_ADD: r = w.round(`${dd} + ${sd}`); break;
    case OP_SUB: r = w.round(`${dd} - ${sd}`); break;
    case OP_MUL: r = w.round(`${dd} * ${sd}`); break;
    case OP_DIV: r = w.round(`${dd} / ${sd}`); break;
    case OP_MIN: r = `${dd} < ${sd} ? ${dd} : ${sd}`; break;
    case OP_MAX: r = `${dd} > ${sd} ? ${dd} : ${sd}`; break;
    case OP_SQRT: r = w.round(`Math.sqrt(${sd})`); break;
    default: return false;
  }
  // min and max are exact and raise nothing on such operands: no MXCSR condition.
  if (op === OP_MIN || op === OP_MAX) ok = `${ord(dd)} && ${ord(sd)}`;
  else if (op === OP_SQRT) ok = `${PE_OK} && ${sd} >= 0 && ${ord(sd)} && ${ord(`r${k}`)}`;
  else if (op === OP_ADD || op === OP_SUB) ok = `${PE_OK} && ${ord(dd)} && ${ord(sd)} && ${ord(`r${k}`)}`;
  // A zero sum is exact; a zero product or quotient of non-zero operands underflowed (UE).
  else ok = `${PE_OK} && ${ord(dd)} && ${ord(sd)} && (r${k} === 0 ? ${dd} === 0 || ${sd} === 0 : ${ord(`r${k}`)})`;
  check(g);
  const stage = sourceScalar(g, w, i, A);
  g.emit(`const ${dd} = ${w.view}[${d}], r${k} = ${r};`);
  const slowCall = i.mem ? `${stage}arith${w.staged}Staged(cpu, IK[${k}]);` : `HK[${k}](cpu, IK[${k}]);`;
  g.emit(`if (${ok}) ${w.view}[${d}] = r${k}; else { ${fallback(g)}${slowCall} }`);
  return true;
}
export const arithSd = (g: Gen, i: Insn, A: string) => arithScalar(g, i, A, SD);
export const arithSs = (g: Gen, i: Insn, A: string) => arithScalar(g, i, A, SS);

/** comisd/ucomisd, comiss/ucomiss (ops-fp.ts hComiSd, hComiSs): ZF PF CF from the comparison, OF SF AF cleared. */
export function comiScalar(g: Gen, i: Insn, A: string, w: Scalar): boolean {
  const k = g.k;
  check(g);
  const stage = sourceScalar(g, w, i, A);
  g.emit(`const d${k} = ${w.view}[${w.lane * i.reg}]; let e${k};`);
  const slowCall = i.mem ? `${stage}comi${w.staged}Staged(cpu, IK[${k}]);` : `HK[${k}](cpu, IK[${k}]);`;
  // The handler records its flags explicitly (LF_OP = K_NONE, LF_ARITH = bits): read them back.
  g.emit(`if (${ordOf(w, `d${k}`)} && ${ordOf(w, `s${k}`)}) e${k} = d${k} < s${k} ? 1 : d${k} === s${k} ? 64 : 0; else { ${fallback(g)}${slowCall} e${k} = lf[9]; }`);
  setExplicitFlags(g, `e${k}`);
  return true;
}
export const comiSd = (g: Gen, i: Insn, A: string) => comiScalar(g, i, A, SD);
export const comiSs = (g: Gen, i: Insn, A: string) => comiScalar(g, i, A, SS);

/**
 * cvtsi2sd/cvtsi2ss xmm, r/m32/64 (ops-fp.ts hCvtsi2sd, hCvtsi2ss). An int32 or an |int64| below 2^53 is exact as
 * a double; a double rounds once to single (Math.fround), which is inexact only with PE already set.
 */
export function cvtsi2x(g: Gen, i: Insn, A: string, w: Scalar): boolean {
  const k = g.k, d = w.lane * i.reg, wide = i.size === 64;
  check(g);
  if (i.mem) load(g, wide ? 64 : 32, ea(g, A), `v${k}`);
  else g.emit(`const v${k} = ${readReg(g, 32, i.rm)}, v${k}h = ${wide ? readHi(g, i.rm) : '0'};`);
  const exact = wide ? `v${k}h >= -2097152 && v${k}h < 2097152` : 'true';
  g.emit(`const n${k} = ${wide ? `v${k}h * 4294967296 + (v${k} >>> 0)` : `v${k} | 0`}, r${k} = ${w.round(`n${k}`)};`);
  const ok = w.bits === 64 ? exact : `${exact} && (r${k} === n${k} || ${PE_OK})`;
  if (ok === 'true') { g.emit(`${w.view}[${d}] = r${k};`); return true; }
  g.emit(`if (${ok}) ${w.view}[${d}] = r${k}; else { ${fallback(g)}cvtsi2${w.staged.toLowerCase()}From(cpu, IK[${k}], v${k}, v${k}h); }`);
  return true;
}
export const cvtsi2sd = (g: Gen, i: Insn, A: string) => cvtsi2x(g, i, A, SD);
export const cvtsi2ss = (g: Gen, i: Insn, A: string) => cvtsi2x(g, i, A, SS);

/**
 * cvtss2sd (exact, no flag for a zero or normal source) and cvtsd2ss (rounds once; inexact only with PE already
 * set, and an overflow, underflow or denormal falls back) (ops-fp.ts hCvtss2sd, hCvtsd2ss).
 */
export function cvtScalar(g: Gen, i: Insn, A: string, from: Scalar, to: Scalar): boolean {
  const k = g.k;
  check(g);
  const stage = sourceScalar(g, from, i, A);
  g.emit(`const r${k} = ${to.round(`s${k}`)};`);
  let ok = ordOf(from, `s${k}`);
  if (to.bits === 32) ok += ` && ${ordOf(to, `r${k}`)} && (r${k} === s${k} || (${PE_OK} && r${k} !== 0))`;
  const slowCall = i.mem ? `${stage}cvt${from.staged.toLowerCase()}2${to.staged.toLowerCase()}Staged(cpu, IK[${k}]);` : `HK[${k}](cpu, IK[${k}]);`;
  g.emit(`if (${ok}) ${to.view}[${to.lane * i.reg}] = r${k}; else { ${fallback(g)}${slowCall} }`);
  return true;
}
export const cvtss2sd = (g: Gen, i: Insn, A: string) => cvtScalar(g, i, A, SS, SD);
export const cvtsd2ss = (g: Gen, i: Insn, A: string) => cvtScalar(g, i, A, SD, SS);

/** cvttsd2si r32/64, xmm/m64 (ops-fp.ts hCvtToInt with i.op = 3); the rounding cvtsd2si calls the handler. */
export function cvtToInt(g: Gen, i: Insn, A: string): boolean {
  const k = g.k, w = i.size === 64;
  if (i.op !== 3) return false;
  check(g);
  const stage = sourceScalar(g, SD, i, A);
  const t = `t${k}`;
  g.emit(`const ${t} = Math.trunc(s${k}); let v${k}, v${k}h = 0;`);
  const range = w ? `${t} >= -9223372036854775808 && ${t} < 9223372036854775808` : `${t} >= -2147483648 && ${t} <= 2147483647`;
  const fast = w ? `{ v${k}h = Math.floor(${t} / 4294967296); v${k} = (${t} - v${k}h * 4294967296) | 0; v${k}h |= 0; }` : `v${k} = ${t} | 0;`;
  const slowCall = i.mem ? `${stage}cvtToIntStaged(cpu, IK[${k}]);` : `HK[${k}](cpu, IK[${k}]);`;
  g.emit(`if (${ordOf(SD, `s${k}`)} && ${range} && (${t} === s${k} || ${PE_OK})) ${fast}`);
  g.emit(`else { ${fallback(g)}${slowCall} v${k} = r32[${2 * i.reg}]; v${k}h = r32[${2 * i.reg + 1}]; }`);
  writeReg(g, w ? 64 : 32, i.reg, `v${k}`, `v${k}h`);
  return true;
}
