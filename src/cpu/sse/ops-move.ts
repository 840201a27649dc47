// SSE/SSE2/SSE3 data movement: full-register moves (aligned and unaligned), scalar and half-register
// moves, movd/movq, non-temporal stores and the sign-mask extractions.
import type { Cpu } from '../cpu.js';
import { raiseGP } from '../exceptions.js';
import type { Insn } from '../insn.js';
import { ea, setR32 } from '../operands.js';
import { def0F } from '../optable.js';
import { bySsePrefix, memOnly, MMX, regOnly } from './decode-util.js';
import { hMovdq2q, hMovq2dq } from './ops-mmx.js';
import { sseCheck, store128 } from './sse-state.js';

// i.op = 1: the memory operand must be 16-byte aligned (movaps/movapd/movdqa/movnt*).
function load128(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const x = cpu.xmm, d = 4 * i.reg;
  if (i.mem) {
    const a = ea(cpu, i);
    if (i.op !== 0 && (a & 15) !== 0) raiseGP(cpu, 0);
    const m = cpu.mmu;
    const w0 = m.read64(a), w1 = m.hi, w2 = m.read64(a + 8), w3 = m.hi;
    x[d] = w0; x[d + 1] = w1; x[d + 2] = w2; x[d + 3] = w3;
  } else {
    const s = 4 * i.rm;
    x[d] = x[s]; x[d + 1] = x[s + 1]; x[d + 2] = x[s + 2]; x[d + 3] = x[s + 3];
  }
}

function store128h(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const x = cpu.xmm, s = 4 * i.reg;
  if (i.mem) {
    const a = ea(cpu, i);
    if (i.op !== 0 && (a & 15) !== 0) raiseGP(cpu, 0);
    store128(cpu, a, x[s], x[s + 1], x[s + 2], x[s + 3]);
  } else {
    const d = 4 * i.rm;
    x[d] = x[s]; x[d + 1] = x[s + 1]; x[d + 2] = x[s + 2]; x[d + 3] = x[s + 3];
  }
}

// movss/movsd: a register source merges into the low lane, a memory source zeroes the rest.
function movssLoad(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const x = cpu.xmm, d = 4 * i.reg;
  if (i.mem) { x[d] = cpu.mmu.read32(ea(cpu, i)); x[d + 1] = 0; x[d + 2] = 0; x[d + 3] = 0; }
  else x[d] = x[4 * i.rm];
}
function movssStore(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const x = cpu.xmm;
  if (i.mem) cpu.mmu.write32(ea(cpu, i), x[4 * i.reg]);
  else x[4 * i.rm] = x[4 * i.reg];
}
function movsdLoad(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const x = cpu.xmm, d = 4 * i.reg;
  if (i.mem) {
    const lo = cpu.mmu.read64(ea(cpu, i));
    x[d] = lo; x[d + 1] = cpu.mmu.hi; x[d + 2] = 0; x[d + 3] = 0;
  } else { const s = 4 * i.rm; x[d] = x[s]; x[d + 1] = x[s + 1]; }
}
function movsdStore(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const x = cpu.xmm, s = 4 * i.reg;
  if (i.mem) cpu.mmu.write64(ea(cpu, i), x[s], x[s + 1]);
  else { const d = 4 * i.rm; x[d] = x[s]; x[d + 1] = x[s + 1]; }
}

// Half-register moves. i.op = 0: low half, 2: high half (dword offset within the register).
function movHalfLoad(cpu: Cpu, i: Insn): void { // movlps/movlpd/movhps/movhpd xmm, m64
  sseCheck(cpu);
  const x = cpu.xmm, d = 4 * i.reg + i.op;
  const lo = cpu.mmu.read64(ea(cpu, i));
  x[d] = lo; x[d + 1] = cpu.mmu.hi;
}
function movHalfStore(cpu: Cpu, i: Insn): void { // movlps/movlpd/movhps/movhpd m64, xmm
  sseCheck(cpu);
  const x = cpu.xmm, s = 4 * i.reg + i.op;
  cpu.mmu.write64(ea(cpu, i), x[s], x[s + 1]);
}
function movhlps(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const x = cpu.xmm, d = 4 * i.reg, s = 4 * i.rm;
  x[d] = x[s + 2]; x[d + 1] = x[s + 3];
}
function movlhps(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const x = cpu.xmm, d = 4 * i.reg, s = 4 * i.rm;
  x[d + 2] = x[s]; x[d + 3] = x[s + 1];
}

// SSE3 duplicating loads.
function movddup(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const x = cpu.xmm, d = 4 * i.reg;
  let lo: number, hi: number;
  if (i.mem) { lo = cpu.mmu.read64(ea(cpu, i)); hi = cpu.mmu.hi; } else { lo = x[4 * i.rm]; hi = x[4 * i.rm + 1]; }
  x[d] = lo; x[d + 1] = hi; x[d + 2] = lo; x[d + 3] = hi;
}
// i.op = 0: movsldup (even dwords), 1: movshdup (odd dwords).
function movsxdup(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const x = cpu.xmm, d = 4 * i.reg;
  let a: number, b: number;
  if (i.mem) {
    const ad = ea(cpu, i);
    if ((ad & 15) !== 0) raiseGP(cpu, 0);
    const m = cpu.mmu;
    const w0 = m.read64(ad), w1 = m.hi, w2 = m.read64(ad + 8), w3 = m.hi;
    a = i.op ? w1 : w0; b = i.op ? w3 : w2;
  } else {
    const s = 4 * i.rm + i.op;
    a = x[s]; b = x[s + 2];
  }
  x[d] = a; x[d + 1] = a; x[d + 2] = b; x[d + 3] = b;
}

// movd/movq between xmm and general registers or memory. i.size = 32 or 64 (REX.W).
function movdToXmm(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const x = cpu.xmm, d = 4 * i.reg;
  let lo: number, hi = 0;
  if (i.mem) {
    const a = ea(cpu, i);
    if (i.size === 64) { lo = cpu.mmu.read64(a); hi = cpu.mmu.hi; } else lo = cpu.mmu.read32(a);
  } else {
    lo = cpu.r32[2 * i.rm];
    if (i.size === 64) hi = cpu.r32[2 * i.rm + 1];
  }
  x[d] = lo; x[d + 1] = hi; x[d + 2] = 0; x[d + 3] = 0;
}
function movdFromXmm(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const x = cpu.xmm, s = 4 * i.reg;
  if (i.mem) {
    const a = ea(cpu, i);
    if (i.size === 64) cpu.mmu.write64(a, x[s], x[s + 1]); else cpu.mmu.write32(a, x[s]);
  } else if (i.size === 64) {
    cpu.r32[2 * i.rm] = x[s]; cpu.r32[2 * i.rm + 1] = x[s + 1];
  } else setR32(cpu, i.rm, x[s]);
}
// movq xmm, xmm/m64 (F3 0F 7E): zero-extends.
function movqLoad(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const x = cpu.xmm, d = 4 * i.reg;
  let lo: number, hi: number;
  if (i.mem) { lo = cpu.mmu.read64(ea(cpu, i)); hi = cpu.mmu.hi; } else { lo = x[4 * i.rm]; hi = x[4 * i.rm + 1]; }
  x[d] = lo; x[d + 1] = hi; x[d + 2] = 0; x[d + 3] = 0;
}
// movq xmm/m64, xmm (66 0F D6): a register destination is zero-extended.
function movqStore(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const x = cpu.xmm, s = 4 * i.reg;
  if (i.mem) cpu.mmu.write64(ea(cpu, i), x[s], x[s + 1]);
  else { const d = 4 * i.rm; x[d] = x[s]; x[d + 1] = x[s + 1]; x[d + 2] = 0; x[d + 3] = 0; }
}

function movnti(cpu: Cpu, i: Insn): void {
  const a = ea(cpu, i), r = cpu.r32, n = 2 * i.reg;
  if (i.size === 64) cpu.mmu.write64(a, r[n], r[n + 1]); else cpu.mmu.write32(a, r[n]);
}

// Sign-bit extraction into a general register (zero-extended).
function movmskps(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const x = cpu.xmm, s = 4 * i.rm;
  setR32(cpu, i.reg, (x[s] >>> 31) | ((x[s + 1] >>> 31) << 1) | ((x[s + 2] >>> 31) << 2) | ((x[s + 3] >>> 31) << 3));
}
function movmskpd(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const x = cpu.xmm, s = 4 * i.rm;
  setR32(cpu, i.reg, (x[s + 1] >>> 31) | ((x[s + 3] >>> 31) << 1));
}
function pmovmskb(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const b = cpu.xmmU8, s = 16 * i.rm;
  let m = 0;
  for (let k = 15; k >= 0; k--) m = (m << 1) | (b[s + k] >>> 7);
  setR32(cpu, i.reg, m);
}

/**
 * maskmovdqu xmm1, xmm2 (66 0F F7): stores the bytes of xmm1 whose byte in xmm2 has its top bit set to
 * DS:[rDI] (segment overridable, address size from 67). Like the host CPU, the whole 16-byte range is
 * checked for writability first, whatever the mask (an all-zero mask can still fault).
 */
/**
 * Intel's check of a maskmovdqu destination (vendor.ts maskmovHalves): the high eight bytes, then the low
 * eight, each from its first selected byte; nothing is written before both pass.
 */
function maskmovCheckHalves(cpu: Cpu, a: number, msk: number): void {
  const b = cpu.xmmU8;
  for (let h = 8; h >= 0; h -= 8) {
    for (let k = h; k < h + 8; k++) if (b[msk + k] & 0x80) cpu.mmu.probeWrite(a + k, 1);
  }
}
function maskmovdqu(cpu: Cpu, i: Insn): void {
  sseCheck(cpu);
  const b = cpu.xmmU8, src = 16 * i.reg, msk = 16 * i.rm;
  let first = -1, last = -1;
  for (let k = 0; k < 16; k++) if (b[msk + k] & 0x80) { if (first < 0) first = k; last = k; }
  const r = cpu.r32;
  const off = i.asize === 64 ? r[15] * 4294967296 + (r[14] >>> 0) : i.asize === 32 ? r[14] >>> 0 : cpu.r16[28];
  const a = off + cpu.segBase[i.seg];
  if (cpu.vendor.maskmovHalves) maskmovCheckHalves(cpu, a, msk);
  else cpu.mmu.probeWrite(a, 16);
  for (let k = first; k <= last && first >= 0; k++) if (b[msk + k] & 0x80) cpu.mmu.write8(a + k, b[src + k]);
}

// ---- registration ----
const op = (v: number) => (i: Insn) => { i.op = v; };
const U = op(0), A = op(1);

def0F(0x10, (d, i) => { bySsePrefix(d, i, load128, load128, movssLoad, movsdLoad); U(i); });
def0F(0x11, (d, i) => { bySsePrefix(d, i, store128h, store128h, movssStore, movsdStore); U(i); });
def0F(0x28, (d, i) => { bySsePrefix(d, i, load128, load128, null, null); A(i); });
def0F(0x29, (d, i) => { bySsePrefix(d, i, store128h, store128h, null, null); A(i); });
def0F(0x2B, (d, i) => { bySsePrefix(d, i, store128h, store128h, null, null); A(i); memOnly(i); });
def0F(0x6F, (d, i) => { bySsePrefix(d, i, MMX, load128, load128, null); i.op = d.mandatory === 0x66 ? 1 : 0; });
def0F(0x7F, (d, i) => { bySsePrefix(d, i, MMX, store128h, store128h, null); i.op = d.mandatory === 0x66 ? 1 : 0; });
def0F(0xE7, (d, i) => { bySsePrefix(d, i, MMX, store128h, null, null); A(i); memOnly(i); });
def0F(0xF0, (d, i) => { bySsePrefix(d, i, null, null, null, load128); U(i); memOnly(i); }); // lddqu

// 0F 12: movlps/movlpd load (memory), movhlps (register, no prefix), movsldup (F3), movddup (F2).
def0F(0x12, (d, i) => {
  bySsePrefix(d, i, movHalfLoad, movHalfLoad, movsxdup, movddup);
  i.op = 0;
  if (!i.mem && d.mandatory === 0) i.h = movhlps;
  else if (d.mandatory === 0x66) memOnly(i);
});
// 0F 16: movhps/movhpd load (memory), movlhps (register, no prefix), movshdup (F3).
def0F(0x16, (d, i) => {
  bySsePrefix(d, i, movHalfLoad, movHalfLoad, movsxdup, null);
  i.op = d.mandatory === 0xF3 ? 1 : 2;
  if (!i.mem && d.mandatory === 0) i.h = movlhps;
  else if (d.mandatory === 0x66) memOnly(i);
});
def0F(0x13, (d, i) => { bySsePrefix(d, i, movHalfStore, movHalfStore, null, null); i.op = 0; memOnly(i); });
def0F(0x17, (d, i) => { bySsePrefix(d, i, movHalfStore, movHalfStore, null, null); i.op = 2; memOnly(i); });

def0F(0x6E, (d, i) => { bySsePrefix(d, i, MMX, movdToXmm, null, null); i.size = d.rexW ? 64 : 32; });
def0F(0x7E, (d, i) => { bySsePrefix(d, i, MMX, movdFromXmm, movqLoad, null); i.size = d.rexW ? 64 : 32; });
def0F(0xD6, (d, i) => { bySsePrefix(d, i, null, movqStore, hMovq2dq, hMovdq2q); if (d.mandatory !== 0x66) regOnly(i); });
def0F(0xC3, (d, i) => { bySsePrefix(d, i, movnti, null, null, null); i.size = d.rexW ? 64 : 32; memOnly(i); });
def0F(0xF7, (d, i) => { bySsePrefix(d, i, MMX, maskmovdqu, null, null); regOnly(i); });
def0F(0x50, (d, i) => { bySsePrefix(d, i, movmskps, movmskpd, null, null); regOnly(i); });
def0F(0xD7, (d, i) => { bySsePrefix(d, i, MMX, pmovmskb, null, null); regOnly(i); });
