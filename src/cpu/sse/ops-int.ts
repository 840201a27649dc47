// Packed-integer instructions (SSE2, SSSE3 and SSE4.1 basics): opcode registration and handlers.
// The lane arithmetic lives in simd-int.ts; handlers stage the source, then update the destination.
import type { Cpu } from '../cpu.js';
import type { Decoder } from '../decoder.js';
import { setArithFlags } from '../flags.js';
import type { Handler, Insn } from '../insn.js';
import { ea, setR32 } from '../operands.js';
import { def0F, def0F38, def0F3A } from '../optable.js';
import { CF, ZF } from '../regs.js';
import { opUD } from '../ops/invalid.js';
import { bySsePrefix, MMX, MMX38, MMX3A, pick, regOnly } from './decode-util.js';
import {
  bytesOp, dwordsOp, I_ABS, I_ADD, I_ADDS, I_ADDUS, I_AVG, I_CMPEQ, I_CMPGT, I_MAXS, I_MAXU, I_MINS, I_MINU,
  I_MULHI, I_MULHU, I_MULLO, I_SUB, I_SUBS, I_SUBUS, L_AND, L_ANDN, L_OR, L_XOR, logicOp, P_SSDW, P_SSWB, P_USDW,
  P_USWB, pack, palignr, pmaddwd, pmuludq, psadbw, pshufb, pshufd, pshufw4, qwordsOp, SH_SLL, SH_SRA, SH_SRL,
  shiftBytes, shiftDwords, shiftQwords, shiftWords, stagedCount, unpack, wordsOp, blendv, H_ADDD, H_ADDSW, H_ADDW,
  H_SUBD, H_SUBSW, H_SUBW, horizontal, mpsadbw, phminposuw, pmaddubsw, pmulhrsw, psign,
} from './simd-int.js';
import { explicitLength, implicitLength, pcmpstr, strFlags, strIndex, strMask } from './simd-str.js';
import { S, src128, sseCheck, W, WU16, WU8 } from './sse-state.js';

// ---- handlers (i.op = sub-operation, i.imm = immediate) ----
function hBytes(cpu: Cpu, i: Insn): void { sseCheck(cpu); src128(cpu, i, true); bytesOp(cpu, i.reg, i.op); }
function hWords(cpu: Cpu, i: Insn): void { sseCheck(cpu); src128(cpu, i, true); wordsOp(cpu, i.reg, i.op); }
function hDwords(cpu: Cpu, i: Insn): void { sseCheck(cpu); src128(cpu, i, true); dwordsOp(cpu, i.reg, i.op); }
function hQwords(cpu: Cpu, i: Insn): void { sseCheck(cpu); src128(cpu, i, true); qwordsOp(cpu, i.reg, i.op); }
function hLogic(cpu: Cpu, i: Insn): void { sseCheck(cpu); src128(cpu, i, true); logicOp(cpu, i.reg, i.op); }
// The most common SSE instruction of a kernel: pxor/xorps reg, reg (often the zeroing idiom).
function hXorReg(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const x = cpu.xmm, d = 4 * i.reg, s = 4 * i.rm;
  x[d] ^= x[s]; x[d + 1] ^= x[s + 1]; x[d + 2] ^= x[s + 2]; x[d + 3] ^= x[s + 3];
}
function hPmuludq(cpu: Cpu, i: Insn): void { sseCheck(cpu); src128(cpu, i, true); pmuludq(cpu, i.reg, i.op !== 0); }
function hPmaddwd(cpu: Cpu, i: Insn): void { sseCheck(cpu); src128(cpu, i, true); pmaddwd(cpu, i.reg); }
function hPsadbw(cpu: Cpu, i: Insn): void { sseCheck(cpu); src128(cpu, i, true); psadbw(cpu, i.reg); }
function hPack(cpu: Cpu, i: Insn): void { sseCheck(cpu); src128(cpu, i, true); pack(cpu, i.reg, i.op); }
// i.op = element size in bytes; i.imm = 1 for the high halves.
function hUnpack(cpu: Cpu, i: Insn): void { sseCheck(cpu); src128(cpu, i, true); unpack(cpu, i.reg, i.op, i.imm !== 0); }
function hPshufd(cpu: Cpu, i: Insn): void { sseCheck(cpu); src128(cpu, i, true); pshufd(cpu, i.reg, i.imm); }
function hPshufw(cpu: Cpu, i: Insn): void { sseCheck(cpu); src128(cpu, i, true); pshufw4(cpu, i.reg, i.imm, i.op !== 0); }
function hPshufb(cpu: Cpu, i: Insn): void { sseCheck(cpu); src128(cpu, i, true); pshufb(cpu, i.reg); }
// SSE4.2 string compares: i.op bit 0 = explicit lengths (pcmpestr*), bit 1 = mask result (pcmp*strm).
// The memory operand need not be aligned.
function hPcmpstr(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  src128(cpu, i, false);
  const imm = i.imm, n = i.reg;
  let la: number, lb: number;
  if (i.op & 1) {
    const r = cpu.r32, wide = i.size === 64;
    la = explicitLength(r[0], r[1], wide, imm); // rax
    lb = explicitLength(r[4], r[5], wide, imm); // rdx
  } else {
    la = implicitLength(cpu, true, n, imm);
    lb = implicitLength(cpu, false, n, imm);
  }
  pcmpstr(cpu, n, la, lb, imm);
  if (i.op & 2) strMask(cpu, imm); else setR32(cpu, 1, strIndex(imm)); // ecx
  setArithFlags(cpu.lf, strFlags);
}
function hMpsadbw(cpu: Cpu, i: Insn): void { sseCheck(cpu); src128(cpu, i, true); mpsadbw(cpu, i.reg, i.imm); }
function hPalignr(cpu: Cpu, i: Insn): void { sseCheck(cpu); src128(cpu, i, true); palignr(cpu, i.reg, i.imm); }

// Shifts by xmm/m128 count: i.op = kind, i.size = element bits.
function hShiftX(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  src128(cpu, i, true);
  shiftBy(cpu, i.reg, i.size, i.op, stagedCount());
}
// Shifts by immediate (groups 71/72/73, register operand in rm).
function hShiftI(cpu: Cpu, i: Insn): void { sseCheck(cpu); shiftBy(cpu, i.rm, i.size, i.op, i.imm); }
function shiftBy(cpu: Cpu, n: number, bits: number, kind: number, c: number): void {
  if (bits === 16) shiftWords(cpu, n, kind, c);
  else if (bits === 32) shiftDwords(cpu, n, kind, c);
  else shiftQwords(cpu, n, kind, c);
}
// psrldq (op 0) / pslldq (op 1) by immediate bytes.
function hShiftBytes(cpu: Cpu, i: Insn): void { sseCheck(cpu); shiftBytes(cpu, i.rm, i.op === 0, i.imm > 16 ? 16 : i.imm); }

function hPextrw(cpu: Cpu, i: Insn): void { // 66 0F C5: pextrw r32, xmm, imm8
  sseCheck(cpu);
  setR32(cpu, i.reg, cpu.xmmU16[8 * i.rm + (i.imm & 7)]);
}
function hPinsrw(cpu: Cpu, i: Insn): void { // 66 0F C4: pinsrw xmm, r32/m16, imm8
  sseCheck(cpu);
  const v = i.mem ? cpu.mmu.read16(ea(cpu, i)) : cpu.r32[2 * i.rm];
  cpu.xmmU16[8 * i.reg + (i.imm & 7)] = v;
}

// SSE4.1 pextrb/w/d/q r/m, xmm, imm8 (ModRM.reg is the xmm source). i.size = element bits.
function hPextr(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const x = cpu.xmm, n = i.reg;
  let lo: number, hi = 0;
  switch (i.size) {
    case 8: lo = cpu.xmmU8[16 * n + (i.imm & 15)]; break;
    case 16: lo = cpu.xmmU16[8 * n + (i.imm & 7)]; break;
    case 32: lo = x[4 * n + (i.imm & 3)]; break;
    default: lo = x[4 * n + 2 * (i.imm & 1)]; hi = x[4 * n + 2 * (i.imm & 1) + 1];
  }
  if (i.mem) {
    const a = ea(cpu, i), m = cpu.mmu;
    switch (i.size) {
      case 8: m.write8(a, lo); break;
      case 16: m.write16(a, lo); break;
      case 32: m.write32(a, lo); break;
      default: m.write64(a, lo, hi);
    }
  } else {
    cpu.r32[2 * i.rm] = lo; cpu.r32[2 * i.rm + 1] = hi;
  }
}
// SSE4.1 pinsrb/d/q xmm, r/m, imm8.
function hPinsr(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  let lo: number, hi = 0;
  if (i.mem) {
    const a = ea(cpu, i), m = cpu.mmu;
    if (i.size === 8) lo = m.read8(a);
    else if (i.size === 32) lo = m.read32(a);
    else { lo = m.read64(a); hi = m.hi; }
  } else { lo = cpu.r32[2 * i.rm]; hi = cpu.r32[2 * i.rm + 1]; }
  const x = cpu.xmm, n = i.reg;
  if (i.size === 8) cpu.xmmU8[16 * n + (i.imm & 15)] = lo;
  else if (i.size === 32) x[4 * n + (i.imm & 3)] = lo;
  else { x[4 * n + 2 * (i.imm & 1)] = lo; x[4 * n + 2 * (i.imm & 1) + 1] = hi; }
}

function hPtest(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  src128(cpu, i, true);
  const x = cpu.xmm, d = 4 * i.reg;
  let and = 0, andn = 0;
  for (let k = 0; k < 4; k++) { and |= x[d + k] & W[S + k]; andn |= ~x[d + k] & W[S + k]; }
  setArithFlags(cpu.lf, (and === 0 ? ZF : 0) | (andn === 0 ? CF : 0));
}

// pblendw (i.size 16) / blendps (32) / blendpd (64): imm bit k selects source element k.
function hBlend(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  src128(cpu, i, true);
  const h = cpu.xmmU16, d = 8 * i.reg, per = i.size / 16; // words per element
  for (let w = 0; w < 8; w++) if ((i.imm >> Math.floor(w / per)) & 1) h[d + w] = WU16[2 * S + w];
}

// pmovsx/pmovzx: i.op = source element bytes, i.size = destination element bytes, i.imm = 1 signed.
function hPmovx(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const from = i.op, to = i.size, count = 16 / to, srcBytes = from * count;
  if (i.mem) {
    const a = ea(cpu, i), m = cpu.mmu;
    if (srcBytes === 8) { W[S] = m.read64(a); W[S + 1] = m.hi; }
    else if (srcBytes === 4) W[S] = m.read32(a);
    else W[S] = m.read16(a);
  } else { const x = cpu.xmm, r = 4 * i.rm; W[S] = x[r]; W[S + 1] = x[r + 1]; }
  const x = cpu.xmm, d = 4 * i.reg;
  for (let e = 0; e < count; e++) {
    let v = from === 1 ? WU8[4 * S + e] : from === 2 ? WU16[2 * S + e] : W[S + e];
    if (i.imm !== 0) v = from === 1 ? (v << 24) >> 24 : from === 2 ? (v << 16) >> 16 : v;
    else v = v >>> 0;
    if (to === 2) cpu.xmmU16[8 * i.reg + e] = v;
    else if (to === 4) x[d + e] = v;
    else { x[d + 2 * e] = v | 0; x[d + 2 * e + 1] = i.imm !== 0 && v < 0 ? -1 : 0; }
  }
}

function hHorizontal(cpu: Cpu, i: Insn): void { sseCheck(cpu); src128(cpu, i, true); horizontal(cpu, i.reg, i.op); }
function hPsign(cpu: Cpu, i: Insn): void { sseCheck(cpu); src128(cpu, i, true); psign(cpu, i.reg, i.op); }
function hPmaddubsw(cpu: Cpu, i: Insn): void { sseCheck(cpu); src128(cpu, i, true); pmaddubsw(cpu, i.reg); }
function hPmulhrsw(cpu: Cpu, i: Insn): void { sseCheck(cpu); src128(cpu, i, true); pmulhrsw(cpu, i.reg); }
function hPhminposuw(cpu: Cpu, i: Insn): void { sseCheck(cpu); src128(cpu, i, true); phminposuw(cpu, i.reg); }
// Variable blends take the mask from xmm0 (i.op = element bytes).
function hBlendv(cpu: Cpu, i: Insn): void { sseCheck(cpu); src128(cpu, i, true); blendv(cpu, i.reg, i.op); }
// movntdqa xmm, m128: an aligned load (the non-temporal hint has no architectural effect here).
function hMovntdqa(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  src128(cpu, i, true);
  const x = cpu.xmm, d = 4 * i.reg;
  x[d] = W[S]; x[d + 1] = W[S + 1]; x[d + 2] = W[S + 2]; x[d + 3] = W[S + 3];
}

// ---- registration ----
type Fam = Handler;
function int66(op: number, h: Fam, sub: number, extra?: (d: Decoder, i: Insn) => void): void {
  def0F(op, (d, i) => { bySsePrefix(d, i, MMX, h, null, null); i.op = sub; if (extra) extra(d, i); });
}

for (const [op, size, high] of [[0x60, 1, 0], [0x61, 2, 0], [0x62, 4, 0], [0x68, 1, 1], [0x69, 2, 1], [0x6A, 4, 1]]) {
  int66(op, hUnpack, size, (_d, i) => { i.imm = high; });
}
def0F(0x6C, (d, i) => { bySsePrefix(d, i, null, hUnpack, null, null); i.op = 8; i.imm = 0; });
def0F(0x6D, (d, i) => { bySsePrefix(d, i, null, hUnpack, null, null); i.op = 8; i.imm = 1; });
int66(0x63, hPack, P_SSWB); int66(0x67, hPack, P_USWB); int66(0x6B, hPack, P_SSDW);
int66(0x64, hBytes, I_CMPGT); int66(0x65, hWords, I_CMPGT); int66(0x66, hDwords, I_CMPGT);
int66(0x74, hBytes, I_CMPEQ); int66(0x75, hWords, I_CMPEQ); int66(0x76, hDwords, I_CMPEQ);
int66(0xD4, hQwords, I_ADD); int66(0xD5, hWords, I_MULLO);
int66(0xD8, hBytes, I_SUBUS); int66(0xD9, hWords, I_SUBUS); int66(0xDA, hBytes, I_MINU);
int66(0xDC, hBytes, I_ADDUS); int66(0xDD, hWords, I_ADDUS); int66(0xDE, hBytes, I_MAXU);
int66(0xE0, hBytes, I_AVG); int66(0xE3, hWords, I_AVG); int66(0xE4, hWords, I_MULHU); int66(0xE5, hWords, I_MULHI);
int66(0xE8, hBytes, I_SUBS); int66(0xE9, hWords, I_SUBS); int66(0xEA, hWords, I_MINS);
int66(0xEC, hBytes, I_ADDS); int66(0xED, hWords, I_ADDS); int66(0xEE, hWords, I_MAXS);
int66(0xF4, hPmuludq, 0); int66(0xF5, hPmaddwd, 0); int66(0xF6, hPsadbw, 0);
int66(0xF8, hBytes, I_SUB); int66(0xF9, hWords, I_SUB); int66(0xFA, hDwords, I_SUB); int66(0xFB, hQwords, I_SUB);
int66(0xFC, hBytes, I_ADD); int66(0xFD, hWords, I_ADD); int66(0xFE, hDwords, I_ADD);

// Logic: 66 0F DB/DF/EB/EF (pand pandn por pxor) and 0F 54-57 (andps andnps orps xorps, 66: the pd forms).
const xorPick = (i: Insn) => { if (i.h === hLogic && i.op === L_XOR && !i.mem) i.h = hXorReg; };
int66(0xDB, hLogic, L_AND); int66(0xDF, hLogic, L_ANDN); int66(0xEB, hLogic, L_OR);
int66(0xEF, hLogic, L_XOR, (_d, i) => xorPick(i));
for (const [op, sub] of [[0x54, L_AND], [0x55, L_ANDN], [0x56, L_OR], [0x57, L_XOR]]) {
  def0F(op, (d, i) => { bySsePrefix(d, i, hLogic, hLogic, null, null); i.op = sub; xorPick(i); });
}

// Shifts by xmm count.
for (const [op, kind, bits] of [[0xD1, SH_SRL, 16], [0xD2, SH_SRL, 32], [0xD3, SH_SRL, 64], [0xE1, SH_SRA, 16],
  [0xE2, SH_SRA, 32], [0xF1, SH_SLL, 16], [0xF2, SH_SLL, 32], [0xF3, SH_SLL, 64]]) {
  int66(op, hShiftX, kind, (_d, i) => { i.size = bits; });
}
// Shift groups by immediate: 71 (words), 72 (dwords), 73 (qwords, and the byte shifts /3 /7).
for (const [op, bits] of [[0x71, 16], [0x72, 32], [0x73, 64]]) {
  def0F(op, (d, i) => {
    d.modrm(i);
    i.imm = d.imm8u();
    const r = d.regField;
    i.size = bits;
    if (d.mandatory === 0) { // MMX: psrl/psra/psll by immediate only
      if (r === 2 || (r === 4 && bits !== 64) || r === 6) { pick(d, i, MMX, null, null, null); i.op = r === 2 ? SH_SRL : r === 4 ? SH_SRA : SH_SLL; }
      else i.h = opUD;
      regOnly(i);
      return;
    }
    if (d.mandatory !== 0x66) { i.h = opUD; return; }
    if (r === 2) { i.h = hShiftI; i.op = SH_SRL; }
    else if (r === 4 && bits !== 64) { i.h = hShiftI; i.op = SH_SRA; }
    else if (r === 6) { i.h = hShiftI; i.op = SH_SLL; }
    else if (bits === 64 && r === 3) { i.h = hShiftBytes; i.op = 0; }
    else if (bits === 64 && r === 7) { i.h = hShiftBytes; i.op = 1; }
    else i.h = opUD;
    regOnly(i);
  });
}

def0F(0x70, (d, i) => {
  bySsePrefix(d, i, MMX, hPshufd, hPshufw, hPshufw);
  i.imm = d.imm8u();
  i.op = d.mandatory === 0xF3 ? 1 : 0;
});
def0F(0xC4, (d, i) => { bySsePrefix(d, i, MMX, hPinsrw, null, null); i.imm = d.imm8u(); });
def0F(0xC5, (d, i) => { bySsePrefix(d, i, MMX, hPextrw, null, null); i.imm = d.imm8u(); regOnly(i); });

// 0F 38 (SSSE3 / SSE4.1), 66 prefix only; no prefix is the MMX form where one exists.
function int38(op: number, h: Fam, sub: number, mmx = true): void {
  def0F38(op, (d, i) => { bySsePrefix(d, i, mmx ? MMX38 : null, h, null, null); i.op = sub; });
}
int38(0x00, hPshufb, 0);
int38(0x1C, hBytes, I_ABS); int38(0x1D, hWords, I_ABS); int38(0x1E, hDwords, I_ABS);
int38(0x17, hPtest, 0, false);
int38(0x28, hPmuludq, 1, false);
int38(0x29, hQwords, I_CMPEQ, false); int38(0x37, hQwords, I_CMPGT, false);
int38(0x2B, hPack, P_USDW, false);
int38(0x38, hBytes, I_MINS, false); int38(0x39, hDwords, I_MINS, false);
int38(0x3A, hWords, I_MINU, false); int38(0x3B, hDwords, I_MINU, false);
int38(0x3C, hBytes, I_MAXS, false); int38(0x3D, hDwords, I_MAXS, false);
int38(0x3E, hWords, I_MAXU, false); int38(0x3F, hDwords, I_MAXU, false);
int38(0x40, hDwords, I_MULLO, false);
int38(0x01, hHorizontal, H_ADDW); int38(0x02, hHorizontal, H_ADDD); int38(0x03, hHorizontal, H_ADDSW);
int38(0x05, hHorizontal, H_SUBW); int38(0x06, hHorizontal, H_SUBD); int38(0x07, hHorizontal, H_SUBSW);
int38(0x04, hPmaddubsw, 0); int38(0x0B, hPmulhrsw, 0);
int38(0x08, hPsign, 1); int38(0x09, hPsign, 2); int38(0x0A, hPsign, 4);
int38(0x41, hPhminposuw, 0, false);
int38(0x10, hBlendv, 1, false); int38(0x14, hBlendv, 4, false); int38(0x15, hBlendv, 8, false);
def0F38(0x2A, (d, i) => { bySsePrefix(d, i, null, hMovntdqa, null, null); if (!i.mem) i.h = opUD; });
// pmovsx (20-25) / pmovzx (30-35): bw bd bq wd wq dq.
const PMOV: [number, number][] = [[1, 2], [1, 4], [1, 8], [2, 4], [2, 8], [4, 8]];
PMOV.forEach(([from, to], k) => {
  for (const signed of [1, 0]) {
    def0F38((signed ? 0x20 : 0x30) + k, (d, i) => {
      bySsePrefix(d, i, null, hPmovx, null, null);
      i.op = from; i.size = to; i.imm = signed;
    });
  }
});

// 0F 3A with imm8.
function int3A(op: number, h: Fam, size: number, mmx = false): void {
  def0F3A(op, (d, i) => { bySsePrefix(d, i, mmx ? MMX3A : null, h, null, null); i.imm = d.imm8u(); i.size = size; });
}
int3A(0x0F, hPalignr, 0, true);
int3A(0x42, hMpsadbw, 0);
for (const [opc, op] of [[0x60, 3], [0x61, 1], [0x62, 2], [0x63, 0]]) {
  def0F3A(opc, (d, i) => { bySsePrefix(d, i, null, hPcmpstr, null, null); i.imm = d.imm8u(); i.op = op; i.size = d.rexW ? 64 : 32; });
}
int3A(0x0E, hBlend, 16); int3A(0x0C, hBlend, 32); int3A(0x0D, hBlend, 64);
int3A(0x14, hPextr, 8); int3A(0x15, hPextr, 16); int3A(0x20, hPinsr, 8);
def0F3A(0x16, (d, i) => { bySsePrefix(d, i, null, hPextr, null, null); i.imm = d.imm8u(); i.size = d.rexW ? 64 : 32; });
def0F3A(0x22, (d, i) => { bySsePrefix(d, i, null, hPinsr, null, null); i.imm = d.imm8u(); i.size = d.rexW ? 64 : 32; });
