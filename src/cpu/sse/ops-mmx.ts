// MMX forms (no mandatory prefix) of the packed-integer instructions, plus the MMX-only moves. An MMX
// register is the 64-bit significand of x87 physical register n; every MMX instruction (emms aside) sets
// TOP = 0 and tags all registers valid, and a write sets the register's sign/exponent field to all ones.
// The lane arithmetic of simd-int.ts is reused: operands are staged in a private 128-bit pseudo-register
// (MM) with the layout each operation needs, and the low 64 bits of the result are written back.
import type { Cpu } from '../cpu.js';
import { raise, raiseUD } from '../exceptions.js';
import type { Handler, Insn } from '../insn.js';
import { ea, setR32 } from '../operands.js';
import { CR0_EM, CR0_TS, VEC_MF, VEC_NM } from '../regs.js';
import { MMX_0F, MMX_0F38, MMX_0F3A } from './decode-util.js';
import {
  bytesOp, dwordsOp, horizontal, logicOp, pack, pmaddubsw, pmaddwd, pmulhrsw, pmuludq, psadbw, pshufb, pshufw4,
  psign, qwordsOp, shiftDwords, shiftQwords, shiftWords, stagedCount, unpack, wordsOp,
} from './simd-int.js';
import { commitFlags, commitT, fp, S, src128, src64, sseCheck, T, W, WU8 } from './sse-state.js';

const SW_ES = 0x80; // x87 status word: an unmasked exception is pending

// The pseudo-register file the lane functions see (they only use these three views, register 0).
const mmBuf = new ArrayBuffer(16);
const MMW = new Int32Array(mmBuf);
const MM8 = new Uint8Array(mmBuf);
const MM = { xmm: MMW, xmmU8: MM8, xmmU16: new Uint16Array(mmBuf) } as unknown as Cpu;

/** x87/MMX availability: CR0.EM #UD, CR0.TS #NM, a pending unmasked x87 exception #MF. */
function mmxCheck(cpu: Cpu): void {
  const cr0 = cpu.cr0;
  if ((cr0 & CR0_EM) !== 0) raiseUD(cpu);
  if ((cr0 & CR0_TS) !== 0) raise(cpu, VEC_NM);
  if ((cpu.fpu.sw & SW_ES) !== 0) raise(cpu, VEC_MF);
}

/**
 * The x87 side effects of an MMX instruction: TOP = 0, all registers valid. They follow a successful memory
 * access (a #PF leaves the x87 state alone; except that an Intel store to memory has set TOP = 0 already,
 * vendor.ts mmxStoreFaultTopZero) but precede a SIMD exception (cvt*pi*) and, for maskmovq, the store.
 */
function mmxTransition(cpu: Cpu): void {
  const f = cpu.fpu;
  f.top = 0;
  f.empty.fill(0);
}

function writeMm(cpu: Cpu, n: number, lo: number, hi: number): void {
  const f = cpu.fpu;
  f.lo[n] = lo; f.hi[n] = hi; f.se[n] = 0xffff;
}

/** Stages the 64-bit mm/m64 source in S[0..1] (S[2..3] zero). MMX registers ignore REX.B. */
function srcMm(cpu: Cpu, i: Insn): void {
  if (i.mem) { W[S] = cpu.mmu.read64(ea(cpu, i)); W[S + 1] = cpu.mmu.hi; }
  else { const n = i.rm & 7; W[S] = cpu.fpu.lo[n]; W[S + 1] = cpu.fpu.hi[n]; }
  W[S + 2] = 0; W[S + 3] = 0;
}

// Staging layouts of the destination in MM: [d, 0], [d, s] (packs, horizontal ops), [d, d] (pshufb).
const LAY_D0 = 0, LAY_DS = 1, LAY_DD = 2;
function stage(cpu: Cpu, i: Insn, layout: number): void {
  mmxCheck(cpu);
  srcMm(cpu, i);
  const n = i.reg & 7;
  MMW[0] = cpu.fpu.lo[n]; MMW[1] = cpu.fpu.hi[n];
  if (layout === LAY_DS) { MMW[2] = W[S]; MMW[3] = W[S + 1]; }
  else if (layout === LAY_DD) { MMW[2] = MMW[0]; MMW[3] = MMW[1]; }
  else { MMW[2] = 0; MMW[3] = 0; }
}
function finish(cpu: Cpu, i: Insn): void {
  writeMm(cpu, i.reg & 7, MMW[0], MMW[1]);
  mmxTransition(cpu);
}

const hmBytes: Handler = (cpu, i) => { stage(cpu, i, LAY_D0); bytesOp(MM, 0, i.op); finish(cpu, i); };
const hmWords: Handler = (cpu, i) => { stage(cpu, i, LAY_D0); wordsOp(MM, 0, i.op); finish(cpu, i); };
const hmDwords: Handler = (cpu, i) => { stage(cpu, i, LAY_D0); dwordsOp(MM, 0, i.op); finish(cpu, i); };
const hmQwords: Handler = (cpu, i) => { stage(cpu, i, LAY_D0); qwordsOp(MM, 0, i.op); finish(cpu, i); };
const hmLogic: Handler = (cpu, i) => { stage(cpu, i, LAY_D0); logicOp(MM, 0, i.op); finish(cpu, i); };
const hmPmuludq: Handler = (cpu, i) => { stage(cpu, i, LAY_D0); pmuludq(MM, 0, false); finish(cpu, i); };
const hmPmaddwd: Handler = (cpu, i) => { stage(cpu, i, LAY_D0); pmaddwd(MM, 0); finish(cpu, i); };
const hmPsadbw: Handler = (cpu, i) => { stage(cpu, i, LAY_D0); psadbw(MM, 0); finish(cpu, i); };
const hmPsign: Handler = (cpu, i) => { stage(cpu, i, LAY_D0); psign(MM, 0, i.op); finish(cpu, i); };
const hmPmaddubsw: Handler = (cpu, i) => { stage(cpu, i, LAY_D0); pmaddubsw(MM, 0); finish(cpu, i); };
const hmPmulhrsw: Handler = (cpu, i) => { stage(cpu, i, LAY_D0); pmulhrsw(MM, 0); finish(cpu, i); };
// pshufb mm uses index bits 0-2: with the destination duplicated, the 128-bit form's bits 0-3 pick the same byte.
const hmPshufb: Handler = (cpu, i) => { stage(cpu, i, LAY_DD); pshufb(MM, 0); finish(cpu, i); };
const hmPack: Handler = (cpu, i) => { stage(cpu, i, LAY_DS); pack(MM, 0, i.op); finish(cpu, i); };
// phadd/phsub mm: the [d, s] staging puts both operands' pairs in the destination half of the 128-bit form.
const hmHoriz: Handler = (cpu, i) => { stage(cpu, i, LAY_DS); horizontal(MM, 0, i.op); finish(cpu, i); };
// punpckl*: low halves interleave as in the 128-bit form. punpckh*: the high dwords first moved down.
const hmUnpack: Handler = (cpu, i) => {
  stage(cpu, i, LAY_D0);
  if (i.imm !== 0) { MMW[0] = MMW[1]; MMW[1] = 0; W[S] = W[S + 1]; W[S + 1] = 0; }
  unpack(MM, 0, i.op, false);
  finish(cpu, i);
};
const hmShiftX: Handler = (cpu, i) => { stage(cpu, i, LAY_D0); shiftBy(i.size, i.op, stagedCount()); finish(cpu, i); };
// Shift by immediate: the register operand is ModRM.rm.
const hmShiftI: Handler = (cpu, i) => {
  mmxCheck(cpu);
  const n = i.rm & 7;
  MMW[0] = cpu.fpu.lo[n]; MMW[1] = cpu.fpu.hi[n]; MMW[2] = 0; MMW[3] = 0;
  shiftBy(i.size, i.op, i.imm);
  writeMm(cpu, n, MMW[0], MMW[1]);
  mmxTransition(cpu);
};
function shiftBy(bits: number, kind: number, c: number): void {
  if (bits === 16) shiftWords(MM, 0, kind, c);
  else if (bits === 32) shiftDwords(MM, 0, kind, c);
  else shiftQwords(MM, 0, kind, c);
}
// palignr mm: bytes imm..imm+7 of the 16-byte concatenation destination:source.
const hmPalignr: Handler = (cpu, i) => {
  stage(cpu, i, LAY_D0);
  for (let k = 0; k < 8; k++) { // result built in the unused upper half, then moved down
    const j = i.imm + k;
    MM8[8 + k] = j < 8 ? WU8[4 * S + j] : j < 16 ? MM8[j - 8] : 0;
  }
  MMW[0] = MMW[2]; MMW[1] = MMW[3];
  finish(cpu, i);
};
const hmPshufw: Handler = (cpu, i) => { stage(cpu, i, LAY_D0); pshufw4(MM, 0, i.imm, false); finish(cpu, i); };

// ---- moves ----
const hmMovdTo: Handler = (cpu, i) => { // movd/movq mm, r/m32|64 (0F 6E)
  mmxCheck(cpu);
  let lo: number, hi = 0;
  if (i.mem) {
    const a = ea(cpu, i);
    if (i.size === 64) { lo = cpu.mmu.read64(a); hi = cpu.mmu.hi; } else lo = cpu.mmu.read32(a);
  } else { lo = cpu.r32[2 * i.rm]; if (i.size === 64) hi = cpu.r32[2 * i.rm + 1]; }
  writeMm(cpu, i.reg & 7, lo, hi);
  mmxTransition(cpu);
};
const hmMovdFrom: Handler = (cpu, i) => { // movd/movq r/m32|64, mm (0F 7E)
  mmxCheck(cpu);
  const n = i.reg & 7, lo = cpu.fpu.lo[n] | 0, hi = cpu.fpu.hi[n] | 0;
  if (i.mem) {
    const a = ea(cpu, i);
    if (cpu.vendor.mmxStoreFaultTopZero) cpu.fpu.top = 0;
    if (i.size === 64) cpu.mmu.write64(a, lo, hi); else cpu.mmu.write32(a, lo);
  } else if (i.size === 64) { cpu.r32[2 * i.rm] = lo; cpu.r32[2 * i.rm + 1] = hi; }
  else setR32(cpu, i.rm, lo);
  mmxTransition(cpu);
};
const hmMovqLoad: Handler = (cpu, i) => { mmxCheck(cpu); srcMm(cpu, i); writeMm(cpu, i.reg & 7, W[S], W[S + 1]); mmxTransition(cpu); };
const hmMovqStore: Handler = (cpu, i) => { // movq mm/m64, mm (0F 7F) and movntq m64, mm (0F E7)
  mmxCheck(cpu);
  const n = i.reg & 7, lo = cpu.fpu.lo[n] | 0, hi = cpu.fpu.hi[n] | 0;
  if (i.mem) {
    const a = ea(cpu, i);
    if (cpu.vendor.mmxStoreFaultTopZero) cpu.fpu.top = 0;
    cpu.mmu.write64(a, lo, hi);
  } else writeMm(cpu, i.rm & 7, lo, hi);
  mmxTransition(cpu);
};
const hmPmovmskb: Handler = (cpu, i) => {
  mmxCheck(cpu);
  const n = i.rm & 7, lo = cpu.fpu.lo[n], hi = cpu.fpu.hi[n];
  let m = 0;
  for (let k = 0; k < 4; k++) m |= ((lo >>> (8 * k + 7)) & 1) << k | ((hi >>> (8 * k + 7)) & 1) << (k + 4);
  setR32(cpu, i.reg, m);
  mmxTransition(cpu);
};
const hmPextrw: Handler = (cpu, i) => {
  mmxCheck(cpu);
  const n = i.rm & 7, k = i.imm & 3;
  const w = k < 2 ? cpu.fpu.lo[n] >>> (16 * k) : cpu.fpu.hi[n] >>> (16 * (k - 2));
  setR32(cpu, i.reg, w & 0xffff);
  mmxTransition(cpu);
};
const hmPinsrw: Handler = (cpu, i) => {
  mmxCheck(cpu);
  const v = (i.mem ? cpu.mmu.read16(ea(cpu, i)) : cpu.r32[2 * i.rm]) & 0xffff;
  const n = i.reg & 7, k = i.imm & 3, sh = 16 * (k & 1);
  let lo = cpu.fpu.lo[n], hi = cpu.fpu.hi[n];
  if (k < 2) lo = (lo & ~(0xffff << sh)) | (v << sh); else hi = (hi & ~(0xffff << sh)) | (v << sh);
  writeMm(cpu, n, lo, hi);
  mmxTransition(cpu);
};
/** maskmovq mm1, mm2 (0F F7): like maskmovdqu for 8 bytes (the whole range is checked first). */
const hmMaskmovq: Handler = (cpu, i) => {
  mmxCheck(cpu);
  const r = cpu.r32;
  const off = i.asize === 64 ? r[15] * 4294967296 + (r[14] >>> 0) : i.asize === 32 ? r[14] >>> 0 : cpu.r16[28];
  const a = off + cpu.segBase[i.seg];
  mmxTransition(cpu); // before the store's own fault, unlike the other MMX instructions (host behaviour)
  cpu.mmu.probeWrite(a, 8);
  const s = i.reg & 7, m = i.rm & 7, f = cpu.fpu;
  for (let k = 0; k < 8; k++) {
    const mb = k < 4 ? f.lo[m] >>> (8 * k) : f.hi[m] >>> (8 * (k - 4));
    if (mb & 0x80) cpu.mmu.write8(a + k, k < 4 ? f.lo[s] >>> (8 * k) : f.hi[s] >>> (8 * (k - 4)));
  }
};
/** movq2dq xmm, mm (F3 0F D6). Both an SSE2 and an MMX instruction. */
export const hMovq2dq: Handler = (cpu, i) => {
  sseCheck(cpu); mmxCheck(cpu);
  const n = i.rm & 7, x = cpu.xmm, d = 4 * i.reg;
  x[d] = cpu.fpu.lo[n]; x[d + 1] = cpu.fpu.hi[n]; x[d + 2] = 0; x[d + 3] = 0;
  mmxTransition(cpu);
};
/** movdq2q mm, xmm (F2 0F D6). */
export const hMovdq2q: Handler = (cpu, i) => {
  sseCheck(cpu); mmxCheck(cpu);
  const x = cpu.xmm, s = 4 * i.rm;
  writeMm(cpu, i.reg & 7, x[s], x[s + 1]);
  mmxTransition(cpu);
};

// ---- registration: the MMX handler of each opcode (sub-operations come from the shared decode) ----
const set = (ops: number[], h: Handler) => { for (const op of ops) MMX_0F[op] = h; };
set([0x64, 0x74, 0xD8, 0xDA, 0xDC, 0xDE, 0xE0, 0xE8, 0xEC, 0xF8, 0xFC], hmBytes);
set([0x65, 0x75, 0xD5, 0xD9, 0xDD, 0xE3, 0xE4, 0xE5, 0xE9, 0xEA, 0xED, 0xEE, 0xF9, 0xFD], hmWords);
set([0x66, 0x76, 0xFA, 0xFE], hmDwords);
set([0xD4, 0xFB], hmQwords);
set([0xDB, 0xDF, 0xEB, 0xEF], hmLogic);
set([0xF4], hmPmuludq); set([0xF5], hmPmaddwd); set([0xF6], hmPsadbw);
set([0x60, 0x61, 0x62, 0x68, 0x69, 0x6A], hmUnpack);
set([0x63, 0x67, 0x6B], hmPack);
set([0xD1, 0xD2, 0xD3, 0xE1, 0xE2, 0xF1, 0xF2, 0xF3], hmShiftX);
set([0x71, 0x72, 0x73], hmShiftI);
set([0x70], hmPshufw); set([0xF7], hmMaskmovq); set([0xC4], hmPinsrw); set([0xC5], hmPextrw); set([0xD7], hmPmovmskb);
set([0x6E], hmMovdTo); set([0x7E], hmMovdFrom); set([0x6F], hmMovqLoad); set([0x7F, 0xE7], hmMovqStore);
MMX_0F38[0x00] = hmPshufb;
for (const op of [0x01, 0x02, 0x03, 0x05, 0x06, 0x07]) MMX_0F38[op] = hmHoriz;
MMX_0F38[0x04] = hmPmaddubsw; MMX_0F38[0x0B] = hmPmulhrsw;
for (const op of [0x08, 0x09, 0x0A]) MMX_0F38[op] = hmPsign;
MMX_0F38[0x1C] = hmBytes; MMX_0F38[0x1D] = hmWords; MMX_0F38[0x1E] = hmDwords; // pabsb/w/d (i.op = I_ABS)
MMX_0F3A[0x0F] = hmPalignr;

// ---- conversions between MMX integer pairs and packed floats (0F 2A / 2C / 2D without F2/F3) ----
/** cvtpi2ps xmm, mm/m64: two int32 to the low two floats (rounded per MXCSR); the upper half is kept. */
export const hCvtpi2ps: Handler = (cpu, i) => {
  sseCheck(cpu);
  if (!i.mem) mmxCheck(cpu);
  srcMm(cpu, i);
  fp.mxcsr = cpu.mxcsr;
  const f = fp.cvtI32to32(T, W[S]) | fp.cvtI32to32(T + 1, W[S + 1]);
  if (!i.mem) mmxTransition(cpu); // also when the conversion then raises #XM (host behaviour)
  if (f !== 0) commitFlags(cpu, f);
  commitT(cpu, i.reg, 2);
};
/** cvtpi2pd xmm, mm/m64: two int32 to two doubles (exact). */
export const hCvtpi2pd: Handler = (cpu, i) => {
  sseCheck(cpu);
  if (!i.mem) mmxCheck(cpu);
  srcMm(cpu, i);
  fp.cvtI32to64(T, W[S]); fp.cvtI32to64(T + 2, W[S + 1]);
  commitT(cpu, i.reg, 4);
  if (!i.mem) mmxTransition(cpu);
};
/** cvt(t)ps2pi mm, xmm/m64 (i.op bit 0: truncate). */
export const hCvtps2pi: Handler = (cpu, i) => {
  sseCheck(cpu);
  mmxCheck(cpu);
  src64(cpu, i);
  fp.mxcsr = cpu.mxcsr;
  const trunc = (i.op & 1) !== 0;
  let f = fp.cvt32toInt(S, trunc, false);
  const lo = fp.intLo;
  f |= fp.cvt32toInt(S + 1, trunc, false);
  mmxTransition(cpu);
  if (f !== 0) commitFlags(cpu, f);
  writeMm(cpu, i.reg & 7, lo, fp.intLo);
};
/** cvt(t)pd2pi mm, xmm/m128 (aligned). */
export const hCvtpd2pi: Handler = (cpu, i) => {
  sseCheck(cpu);
  mmxCheck(cpu);
  src128(cpu, i, true);
  fp.mxcsr = cpu.mxcsr;
  const trunc = (i.op & 1) !== 0;
  let f = fp.cvt64toInt(S, trunc, false);
  const lo = fp.intLo;
  f |= fp.cvt64toInt(S + 2, trunc, false);
  mmxTransition(cpu);
  if (f !== 0) commitFlags(cpu, f);
  writeMm(cpu, i.reg & 7, lo, fp.intLo);
};
