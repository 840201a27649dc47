// SSE/SSE2 floating-point instructions: arithmetic (ps/pd/ss/sd), compares, comis/ucomis, conversions,
// FP shuffles/unpacks and SSE4.1 rounding. The IEEE work is done by SseFp (fp.ts) on staged operands;
// MXCSR flags are committed (possibly raising #XM) before any destination is written.
import type { Cpu } from '../cpu.js';
import { setArithFlags } from '../flags.js';
import type { Insn } from '../insn.js';
import { ea, setR32 } from '../operands.js';
import { def0F, def0F3A } from '../optable.js';
import { bySsePrefix } from './decode-util.js';
import { hCvtpd2pi, hCvtpi2pd, hCvtpi2ps, hCvtps2pi } from './ops-mmx.js';
import { OP_ADD, OP_DIV, OP_MAX, OP_MIN, OP_MUL, OP_SQRT, OP_SUB } from './fp.js';
import { commitFlags, commitT, D, fp, S, src128, src32, src64, sseCheck, stageDst, T, W } from './sse-state.js';

// ---- arithmetic: i.op = OP_* ----
function hArithSd(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  src64(cpu, i);
  arithSdStaged(cpu, i);
}
/**
 * The scalar-double operation once its source is staged in S (compiled code stages what it already loaded and
 * calls this when its fast path does not apply: jit/forms-sse.ts).
 */
export function arithSdStaged(cpu: Cpu, i: Insn): void {
  stageDst(cpu, i.reg);
  fp.mxcsr = cpu.mxcsr;
  const f = fp.op64(i.op, T, D, S);
  if (f !== 0) commitFlags(cpu, f);
  commitT(cpu, i.reg, 2);
}
function hArithSs(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  src32(cpu, i);
  arithSsStaged(cpu, i);
}
/** The scalar-single operation once its source is staged in S (see arithSdStaged). */
export function arithSsStaged(cpu: Cpu, i: Insn): void {
  stageDst(cpu, i.reg);
  fp.mxcsr = cpu.mxcsr;
  const f = fp.op32(i.op, T, D, S);
  if (f !== 0) commitFlags(cpu, f);
  commitT(cpu, i.reg, 1);
}
function hArithPd(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  src128(cpu, i, true);
  stageDst(cpu, i.reg);
  fp.mxcsr = cpu.mxcsr;
  const f = fp.op64(i.op, T, D, S) | fp.op64(i.op, T + 2, D + 2, S + 2);
  if (f !== 0) commitFlags(cpu, f);
  commitT(cpu, i.reg, 4);
}
function hArithPs(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  src128(cpu, i, true);
  stageDst(cpu, i.reg);
  fp.mxcsr = cpu.mxcsr;
  const f = fp.op32(i.op, T, D, S) | fp.op32(i.op, T + 1, D + 1, S + 1) |
    fp.op32(i.op, T + 2, D + 2, S + 2) | fp.op32(i.op, T + 3, D + 3, S + 3);
  if (f !== 0) commitFlags(cpu, f);
  commitT(cpu, i.reg, 4);
}

// ---- compares: i.imm = predicate ----
function hCmpSd(cpu: Cpu, i: Insn): void {
  sseCheck(cpu); src64(cpu, i); stageDst(cpu, i.reg); fp.mxcsr = cpu.mxcsr;
  const f = fp.cmp64(T, D, S, i.imm);
  if (f !== 0) commitFlags(cpu, f);
  commitT(cpu, i.reg, 2);
}
function hCmpSs(cpu: Cpu, i: Insn): void {
  sseCheck(cpu); src32(cpu, i); stageDst(cpu, i.reg); fp.mxcsr = cpu.mxcsr;
  const f = fp.cmp32(T, D, S, i.imm);
  if (f !== 0) commitFlags(cpu, f);
  commitT(cpu, i.reg, 1);
}
function hCmpPd(cpu: Cpu, i: Insn): void {
  sseCheck(cpu); src128(cpu, i, true); stageDst(cpu, i.reg); fp.mxcsr = cpu.mxcsr;
  const f = fp.cmp64(T, D, S, i.imm) | fp.cmp64(T + 2, D + 2, S + 2, i.imm);
  if (f !== 0) commitFlags(cpu, f);
  commitT(cpu, i.reg, 4);
}
function hCmpPs(cpu: Cpu, i: Insn): void {
  sseCheck(cpu); src128(cpu, i, true); stageDst(cpu, i.reg); fp.mxcsr = cpu.mxcsr;
  const p = i.imm;
  const f = fp.cmp32(T, D, S, p) | fp.cmp32(T + 1, D + 1, S + 1, p) | fp.cmp32(T + 2, D + 2, S + 2, p) |
    fp.cmp32(T + 3, D + 3, S + 3, p);
  if (f !== 0) commitFlags(cpu, f);
  commitT(cpu, i.reg, 4);
}

// ---- comis/ucomis: i.op = 1 for the signalling comi forms ----
function hComiSd(cpu: Cpu, i: Insn): void {
  sseCheck(cpu); src64(cpu, i); comiSdStaged(cpu, i);
}
/** comisd/ucomisd once the source is staged in S (see arithSdStaged). */
export function comiSdStaged(cpu: Cpu, i: Insn): void {
  stageDst(cpu, i.reg); fp.mxcsr = cpu.mxcsr;
  const f = fp.comi64(D, S, i.op !== 0);
  if (f !== 0) commitFlags(cpu, f);
  setArithFlags(cpu.lf, fp.eflags);
}
function hComiSs(cpu: Cpu, i: Insn): void {
  sseCheck(cpu); src32(cpu, i); comiSsStaged(cpu, i);
}
/** comiss/ucomiss once the source is staged in S (see arithSdStaged). */
export function comiSsStaged(cpu: Cpu, i: Insn): void {
  stageDst(cpu, i.reg); fp.mxcsr = cpu.mxcsr;
  const f = fp.comi32(D, S, i.op !== 0);
  if (f !== 0) commitFlags(cpu, f);
  setArithFlags(cpu.lf, fp.eflags);
}

// ---- conversions ----
/** Integer source of cvtsi2ss/sd (r/m32 or r/m64 by i.size): low half returned, high half in intHi. */
let intHi = 0;
function intSource(cpu: Cpu, i: Insn): number {
  if (i.mem) {
    const a = ea(cpu, i);
    if (i.size === 64) { const lo = cpu.mmu.read64(a); intHi = cpu.mmu.hi; return lo; }
    return cpu.mmu.read32(a);
  }
  intHi = cpu.r32[2 * i.rm + 1];
  return cpu.r32[2 * i.rm];
}
function hCvtsi2sd(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  cvtsi2sdFrom(cpu, i, intSource(cpu, i), intHi);
}
/** cvtsi2sd of an integer source already read (see arithSdStaged). */
export function cvtsi2sdFrom(cpu: Cpu, i: Insn, lo: number, hi: number): void {
  intHi = hi;
  fp.mxcsr = cpu.mxcsr;
  const f = i.size === 64 ? fp.cvtI64to64(T, lo, intHi) : fp.cvtI32to64(T, lo);
  if (f !== 0) commitFlags(cpu, f);
  commitT(cpu, i.reg, 2);
}
function hCvtsi2ss(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  cvtsi2ssFrom(cpu, i, intSource(cpu, i), intHi);
}
/** cvtsi2ss of an integer source already read (see arithSdStaged). */
export function cvtsi2ssFrom(cpu: Cpu, i: Insn, lo: number, hi: number): void {
  intHi = hi;
  fp.mxcsr = cpu.mxcsr;
  const f = i.size === 64 ? fp.cvtI64to32(T, lo, intHi) : fp.cvtI32to32(T, lo);
  if (f !== 0) commitFlags(cpu, f);
  commitT(cpu, i.reg, 1);
}
// cvt(t)sd2si / cvt(t)ss2si: i.op bit 0 = truncate, bit 1 = binary64 source; i.size = 32/64 destination.
function hCvtToInt(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  if ((i.op & 2) !== 0) src64(cpu, i); else src32(cpu, i);
  cvtToIntStaged(cpu, i);
}
/** cvt(t)sd2si / cvt(t)ss2si once the source is staged in S (see arithSdStaged). */
export function cvtToIntStaged(cpu: Cpu, i: Insn): void {
  const from64 = (i.op & 2) !== 0, trunc = (i.op & 1) !== 0, to64 = i.size === 64;
  fp.mxcsr = cpu.mxcsr;
  const f = from64 ? fp.cvt64toInt(S, trunc, to64) : fp.cvt32toInt(S, trunc, to64);
  if (f !== 0) commitFlags(cpu, f);
  if (to64) { cpu.r32[2 * i.reg] = fp.intLo; cpu.r32[2 * i.reg + 1] = fp.intHi; } else setR32(cpu, i.reg, fp.intLo);
}
function hCvtss2sd(cpu: Cpu, i: Insn): void {
  sseCheck(cpu); src32(cpu, i); cvtss2sdStaged(cpu, i);
}
/** cvtss2sd once the source is staged in S (see arithSdStaged). */
export function cvtss2sdStaged(cpu: Cpu, i: Insn): void {
  fp.mxcsr = cpu.mxcsr;
  const f = fp.cvt32to64(T, S);
  if (f !== 0) commitFlags(cpu, f);
  commitT(cpu, i.reg, 2);
}
function hCvtsd2ss(cpu: Cpu, i: Insn): void {
  sseCheck(cpu); src64(cpu, i); cvtsd2ssStaged(cpu, i);
}
/** cvtsd2ss once the source is staged in S (see arithSdStaged). */
export function cvtsd2ssStaged(cpu: Cpu, i: Insn): void {
  fp.mxcsr = cpu.mxcsr;
  const f = fp.cvt64to32(T, S);
  if (f !== 0) commitFlags(cpu, f);
  commitT(cpu, i.reg, 1);
}
function hCvtps2pd(cpu: Cpu, i: Insn): void {
  sseCheck(cpu); src64(cpu, i); fp.mxcsr = cpu.mxcsr;
  const f = fp.cvt32to64(T, S) | fp.cvt32to64(T + 2, S + 1);
  if (f !== 0) commitFlags(cpu, f);
  commitT(cpu, i.reg, 4);
}
function hCvtpd2ps(cpu: Cpu, i: Insn): void {
  sseCheck(cpu); src128(cpu, i, true); fp.mxcsr = cpu.mxcsr;
  const f = fp.cvt64to32(T, S) | fp.cvt64to32(T + 1, S + 2);
  if (f !== 0) commitFlags(cpu, f);
  W[T + 2] = 0; W[T + 3] = 0;
  commitT(cpu, i.reg, 4);
}
function hCvtdq2ps(cpu: Cpu, i: Insn): void {
  sseCheck(cpu); src128(cpu, i, true); fp.mxcsr = cpu.mxcsr;
  const f = fp.cvtI32to32(T, W[S]) | fp.cvtI32to32(T + 1, W[S + 1]) | fp.cvtI32to32(T + 2, W[S + 2]) |
    fp.cvtI32to32(T + 3, W[S + 3]);
  if (f !== 0) commitFlags(cpu, f);
  commitT(cpu, i.reg, 4);
}
function hCvtdq2pd(cpu: Cpu, i: Insn): void {
  sseCheck(cpu); src64(cpu, i);
  fp.cvtI32to64(T, W[S]); fp.cvtI32to64(T + 2, W[S + 1]);
  commitT(cpu, i.reg, 4);
}
// cvtps2dq (i.op = 0) / cvttps2dq (1).
function hCvtps2dq(cpu: Cpu, i: Insn): void {
  sseCheck(cpu); src128(cpu, i, true); fp.mxcsr = cpu.mxcsr;
  const trunc = i.op !== 0;
  let f = 0;
  for (let k = 0; k < 4; k++) { f |= fp.cvt32toInt(S + k, trunc, false); W[T + k] = fp.intLo; }
  if (f !== 0) commitFlags(cpu, f);
  commitT(cpu, i.reg, 4);
}
// cvtpd2dq (i.op = 0) / cvttpd2dq (1): two results in the low half, the high half zeroed.
function hCvtpd2dq(cpu: Cpu, i: Insn): void {
  sseCheck(cpu); src128(cpu, i, true); fp.mxcsr = cpu.mxcsr;
  const trunc = i.op !== 0;
  let f = fp.cvt64toInt(S, trunc, false);
  W[T] = fp.intLo;
  f |= fp.cvt64toInt(S + 2, trunc, false);
  W[T + 1] = fp.intLo;
  W[T + 2] = 0; W[T + 3] = 0;
  if (f !== 0) commitFlags(cpu, f);
  commitT(cpu, i.reg, 4);
}

// ---- FP shuffles and unpacks (no exceptions) ----
function hShufps(cpu: Cpu, i: Insn): void {
  sseCheck(cpu); src128(cpu, i, true);
  const x = cpu.xmm, d = 4 * i.reg, m = i.imm;
  const a = x[d + (m & 3)], b = x[d + ((m >> 2) & 3)];
  x[d] = a; x[d + 1] = b; x[d + 2] = W[S + ((m >> 4) & 3)]; x[d + 3] = W[S + ((m >> 6) & 3)];
}
function hShufpd(cpu: Cpu, i: Insn): void {
  sseCheck(cpu); src128(cpu, i, true);
  const x = cpu.xmm, d = 4 * i.reg, m = i.imm;
  const lo = d + 2 * (m & 1);
  const a = x[lo], b = x[lo + 1];
  const s = S + 2 * ((m >> 1) & 1);
  x[d] = a; x[d + 1] = b; x[d + 2] = W[s]; x[d + 3] = W[s + 1];
}
// unpcklps/unpckhps (i.imm = 0/2): dest = d[h], s[h], d[h+1], s[h+1].
function hUnpckps(cpu: Cpu, i: Insn): void {
  sseCheck(cpu); src128(cpu, i, true);
  const x = cpu.xmm, d = 4 * i.reg, h = i.imm;
  const a = x[d + h], b = x[d + h + 1];
  x[d] = a; x[d + 1] = W[S + h]; x[d + 2] = b; x[d + 3] = W[S + h + 1];
}
// unpcklpd/unpckhpd (i.imm = 0/2): dest = d.q[h/2], s.q[h/2].
function hUnpckpd(cpu: Cpu, i: Insn): void {
  sseCheck(cpu); src128(cpu, i, true);
  const x = cpu.xmm, d = 4 * i.reg, h = i.imm;
  const a = x[d + h], b = x[d + h + 1];
  x[d] = a; x[d + 1] = b; x[d + 2] = W[S + h]; x[d + 3] = W[S + h + 1];
}

// ---- SSE3: addsubps/pd and horizontal add/sub (i.op = OP_ADD or OP_SUB) ----
function hAddsubPd(cpu: Cpu, i: Insn): void {
  sseCheck(cpu); src128(cpu, i, true); stageDst(cpu, i.reg); fp.mxcsr = cpu.mxcsr;
  const f = fp.op64(OP_SUB, T, D, S) | fp.op64(OP_ADD, T + 2, D + 2, S + 2);
  if (f !== 0) commitFlags(cpu, f);
  commitT(cpu, i.reg, 4);
}
function hAddsubPs(cpu: Cpu, i: Insn): void {
  sseCheck(cpu); src128(cpu, i, true); stageDst(cpu, i.reg); fp.mxcsr = cpu.mxcsr;
  const f = fp.op32(OP_SUB, T, D, S) | fp.op32(OP_ADD, T + 1, D + 1, S + 1) |
    fp.op32(OP_SUB, T + 2, D + 2, S + 2) | fp.op32(OP_ADD, T + 3, D + 3, S + 3);
  if (f !== 0) commitFlags(cpu, f);
  commitT(cpu, i.reg, 4);
}
function hHorizPd(cpu: Cpu, i: Insn): void {
  sseCheck(cpu); src128(cpu, i, true); stageDst(cpu, i.reg); fp.mxcsr = cpu.mxcsr;
  const f = fp.op64(i.op, T, D, D + 2) | fp.op64(i.op, T + 2, S, S + 2);
  if (f !== 0) commitFlags(cpu, f);
  commitT(cpu, i.reg, 4);
}
function hHorizPs(cpu: Cpu, i: Insn): void {
  sseCheck(cpu); src128(cpu, i, true); stageDst(cpu, i.reg); fp.mxcsr = cpu.mxcsr;
  const f = fp.op32(i.op, T, D, D + 1) | fp.op32(i.op, T + 1, D + 2, D + 3) |
    fp.op32(i.op, T + 2, S, S + 1) | fp.op32(i.op, T + 3, S + 2, S + 3);
  if (f !== 0) commitFlags(cpu, f);
  commitT(cpu, i.reg, 4);
}

// ---- SSE4.1 insertps / extractps ----
function hInsertps(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const m = i.imm;
  const v = i.mem ? cpu.mmu.read32(ea(cpu, i)) : cpu.xmm[4 * i.rm + ((m >> 6) & 3)];
  const x = cpu.xmm, d = 4 * i.reg;
  x[d + ((m >> 4) & 3)] = v;
  for (let k = 0; k < 4; k++) if ((m >> k) & 1) x[d + k] = 0;
}
function hExtractps(cpu: Cpu, i: Insn): void { // extractps r/m32, xmm, imm8 (ModRM.reg is the xmm)
  sseCheck(cpu);
  const v = cpu.xmm[4 * i.reg + (i.imm & 3)];
  if (i.mem) cpu.mmu.write32(ea(cpu, i), v); else setR32(cpu, i.rm, v);
}

// ---- rcpps/rcpss/rsqrtps/rsqrtss: approximations, no MXCSR flags. Real CPUs return a table-based value with
// relative error <= 1.5 * 2^-12 that differs between vendors; osvemu returns the correctly rounded value
// (well inside that bound). Denormal inputs count as zero and results in the denormal range flush to zero. ----
const F32B = new Float32Array(1);
const U32B = new Uint32Array(F32B.buffer);
function approx(w: number, rsqrt: boolean): number {
  const exp = (w >>> 23) & 0xff, frac = w & 0x7fffff, sign = w & 0x80000000;
  if (exp === 0xff) {
    if (frac !== 0) return w | 0x400000; // NaN: quieted
    if (rsqrt) return sign !== 0 ? 0xffc00000 : 0; // rsqrt(-inf) = indefinite, rsqrt(+inf) = +0
    return sign; // rcp(+-inf) = +-0
  }
  if (exp === 0) return (sign | 0x7f800000) >>> 0; // +-0 and denormals: +-inf
  if (rsqrt && sign !== 0) return 0xffc00000;
  U32B[0] = w;
  const x = F32B[0];
  F32B[0] = rsqrt ? 1 / Math.sqrt(x) : 1 / x;
  const r = U32B[0];
  return ((r >>> 23) & 0xff) === 0 ? r & 0x80000000 : r; // flush denormal results
}
// i.op: bit 0 = rsqrt, bit 1 = scalar.
function hApprox(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const scalar = (i.op & 2) !== 0, rsqrt = (i.op & 1) !== 0;
  if (scalar) src32(cpu, i); else src128(cpu, i, true);
  const x = cpu.xmm, d = 4 * i.reg;
  for (let k = 0; k < (scalar ? 1 : 4); k++) x[d + k] = approx(W[S + k], rsqrt);
}

// ---- SSE4.1 dot products: masked products, summed pairwise, broadcast to the masked result lanes. Each
// stage records its flags before the next runs: an unmasked exception in the products stops the instruction
// before the additions (host behaviour). ----
const P = 12; // scratch words 12..15 (after T) hold the products
function hDpps(cpu: Cpu, i: Insn): void {
  sseCheck(cpu); src128(cpu, i, true); stageDst(cpu, i.reg); fp.mxcsr = cpu.mxcsr;
  const m = i.imm;
  let f = 0;
  for (let k = 0; k < 4; k++) {
    if ((m >> (4 + k)) & 1) f |= fp.op32(OP_MUL, P + k, D + k, S + k); else W[P + k] = 0;
  }
  if (f !== 0) commitFlags(cpu, f);
  if (cpu.vendor.dppsLaneOrder) { dppsIntelSums(cpu, i.reg, m); return; }
  f = fp.op32(OP_ADD, T, P, P + 1) | fp.op32(OP_ADD, T + 1, P + 2, P + 3);
  if (f !== 0) commitFlags(cpu, f);
  f = fp.op32(OP_ADD, T + 2, T, T + 1);
  if (f !== 0) commitFlags(cpu, f);
  const r = W[T + 2];
  for (let k = 0; k < 4; k++) W[T + k] = (m >> k) & 1 ? r : 0;
  commitT(cpu, i.reg, 4);
}
/**
 * Intel's dpps sums (vendor.ts dppsLaneOrder): lane k = (p[k^1] + p[k]) + (p[k^3] + p[k^2]). The same
 * additions as AMD's tree with the operands swapped per lane, so only which NaN propagates differs.
 */
function dppsIntelSums(cpu: Cpu, reg: number, m: number): void {
  let f = 0;
  for (let k = 0; k < 4; k++) f |= fp.op32(OP_ADD, T + k, P + (k ^ 1), P + k);
  if (f !== 0) commitFlags(cpu, f);
  f = 0;
  for (let k = 0; k < 4; k++) f |= fp.op32(OP_ADD, P + k, T + k, T + (k ^ 2));
  if (f !== 0) commitFlags(cpu, f);
  for (let k = 0; k < 4; k++) W[T + k] = (m >> k) & 1 ? W[P + k] : 0;
  commitT(cpu, reg, 4);
}
function hDppd(cpu: Cpu, i: Insn): void {
  sseCheck(cpu); src128(cpu, i, true); stageDst(cpu, i.reg); fp.mxcsr = cpu.mxcsr;
  const m = i.imm;
  let f = 0;
  for (let k = 0; k < 2; k++) {
    if ((m >> (4 + k)) & 1) f |= fp.op64(OP_MUL, P + 2 * k, D + 2 * k, S + 2 * k);
    else { W[P + 2 * k] = 0; W[P + 2 * k + 1] = 0; }
  }
  if (f !== 0) commitFlags(cpu, f);
  f = fp.op64(OP_ADD, T, P, P + 2);
  if (f !== 0) commitFlags(cpu, f);
  const lo = W[T], hi = W[T + 1];
  for (let k = 0; k < 2; k++) { const on = (m >> k) & 1; W[T + 2 * k] = on ? lo : 0; W[T + 2 * k + 1] = on ? hi : 0; }
  commitT(cpu, i.reg, 4);
}

// ---- SSE4.1 round: i.size = 32/64, i.op = 1 packed ----
function hRound(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const packed = i.op !== 0, is64 = i.size === 64;
  if (packed) src128(cpu, i, true); else if (is64) src64(cpu, i); else src32(cpu, i);
  fp.mxcsr = cpu.mxcsr;
  let f = 0;
  if (is64) { f = fp.round64(T, S, i.imm); if (packed) f |= fp.round64(T + 2, S + 2, i.imm); }
  else {
    f = fp.round32(T, S, i.imm);
    if (packed) for (let k = 1; k < 4; k++) f |= fp.round32(T + k, S + k, i.imm);
  }
  if (f !== 0) commitFlags(cpu, f);
  commitT(cpu, i.reg, packed ? 4 : is64 ? 2 : 1);
}

// ---- registration ----
const ARITH: [number, number][] = [[0x51, OP_SQRT], [0x58, OP_ADD], [0x59, OP_MUL], [0x5C, OP_SUB], [0x5D, OP_MIN],
  [0x5E, OP_DIV], [0x5F, OP_MAX]];
for (const [opc, op] of ARITH) {
  def0F(opc, (d, i) => { bySsePrefix(d, i, hArithPs, hArithPd, hArithSs, hArithSd); i.op = op; });
}
def0F(0x52, (d, i) => { bySsePrefix(d, i, hApprox, null, hApprox, null); i.op = d.mandatory === 0xF3 ? 3 : 1; });
def0F(0x53, (d, i) => { bySsePrefix(d, i, hApprox, null, hApprox, null); i.op = d.mandatory === 0xF3 ? 2 : 0; });
def0F(0xC2, (d, i) => { bySsePrefix(d, i, hCmpPs, hCmpPd, hCmpSs, hCmpSd); i.imm = d.imm8u() & 7; });
def0F(0x2E, (d, i) => { bySsePrefix(d, i, hComiSs, hComiSd, null, null); i.op = 0; });
def0F(0x2F, (d, i) => { bySsePrefix(d, i, hComiSs, hComiSd, null, null); i.op = 1; });

def0F(0x2A, (d, i) => { bySsePrefix(d, i, hCvtpi2ps, hCvtpi2pd, hCvtsi2ss, hCvtsi2sd); i.size = d.rexW ? 64 : 32; });
def0F(0x2C, (d, i) => { bySsePrefix(d, i, hCvtps2pi, hCvtpd2pi, hCvtToInt, hCvtToInt); i.size = d.rexW ? 64 : 32; i.op = d.mandatory === 0xF2 ? 3 : 1; });
def0F(0x2D, (d, i) => { bySsePrefix(d, i, hCvtps2pi, hCvtpd2pi, hCvtToInt, hCvtToInt); i.size = d.rexW ? 64 : 32; i.op = d.mandatory === 0xF2 ? 2 : 0; });
def0F(0x5A, (d, i) => { bySsePrefix(d, i, hCvtps2pd, hCvtpd2ps, hCvtss2sd, hCvtsd2ss); });
def0F(0x5B, (d, i) => { bySsePrefix(d, i, hCvtdq2ps, hCvtps2dq, hCvtps2dq, null); i.op = d.mandatory === 0xF3 ? 1 : 0; });
def0F(0xE6, (d, i) => { bySsePrefix(d, i, null, hCvtpd2dq, hCvtdq2pd, hCvtpd2dq); i.op = d.mandatory === 0x66 ? 1 : 0; });

def0F(0xC6, (d, i) => { bySsePrefix(d, i, hShufps, hShufpd, null, null); i.imm = d.imm8u(); });
def0F(0x14, (d, i) => { bySsePrefix(d, i, hUnpckps, hUnpckpd, null, null); i.imm = 0; });
def0F(0x15, (d, i) => { bySsePrefix(d, i, hUnpckps, hUnpckpd, null, null); i.imm = 2; });

def0F(0xD0, (d, i) => { bySsePrefix(d, i, null, hAddsubPd, null, hAddsubPs); });
def0F(0x7C, (d, i) => { bySsePrefix(d, i, null, hHorizPd, null, hHorizPs); i.op = OP_ADD; });
def0F(0x7D, (d, i) => { bySsePrefix(d, i, null, hHorizPd, null, hHorizPs); i.op = OP_SUB; });
def0F3A(0x40, (d, i) => { bySsePrefix(d, i, null, hDpps, null, null); i.imm = d.imm8u(); });
def0F3A(0x41, (d, i) => { bySsePrefix(d, i, null, hDppd, null, null); i.imm = d.imm8u(); });
def0F3A(0x21, (d, i) => { bySsePrefix(d, i, null, hInsertps, null, null); i.imm = d.imm8u(); });
def0F3A(0x17, (d, i) => { bySsePrefix(d, i, null, hExtractps, null, null); i.imm = d.imm8u(); });

for (const [opc, size, packed] of [[0x08, 32, 1], [0x09, 64, 1], [0x0A, 32, 0], [0x0B, 64, 0]]) {
  def0F3A(opc, (d, i) => { bySsePrefix(d, i, null, hRound, null, null); i.imm = d.imm8u(); i.size = size; i.op = packed; });
}
