// SSE forms of wasm blocks: the data moves, bitwise operations and the scalar single and double arithmetic,
// comparisons and conversions of compiled C code (OSv's scheduler accounts thread run time in floats; musl's libm), on
// the rules of the JS compiler's forms-sse.ts.
//
// XMM registers live in the vCPU's state slice (arena.ts St.XMM) and are read and written there, not cached in locals.
// Floating point takes the fast path only where wasm's IEEE arithmetic provably gives the handler's result and MXCSR
// update: every operand and the result zero or normal and finite, rounding to nearest, and an inexact result possible
// only with PE already set and masked (St.ASSUME bit 1, kept by the runtime: block.ts assumptions). Each instruction
// first checks that SSE instructions run at all (St.ASSUME bit 0: CR0.EM and TS clear, CR4.OSFXSR set). Anything else
// calls the instruction's handler, which starts over: so a memory operand is read here only through a TLB hit (RAM,
// which a second read returns unchanged), never through the slow path that reaches MMIO.
import type { Insn } from '../../insn.js';
import { OP_ADD, OP_DIV, OP_MAX, OP_MIN, OP_MUL, OP_SQRT, OP_SUB } from '../../sse/fp.js';
import { L_AND, L_ANDN, L_OR } from '../../sse/simd-int.js';
import type { Form } from '../forms.js';
import { St } from './arena.js';
import { Op, WT } from './encode.js';
import { type Emit, Imp } from './compile.js';

const BLOCK_VOID = 0x40, BLOCK_I32 = 0x7f, BLOCK_I64 = 0x7e;
/** Byte offset in the slice of dword j of XMM register n. */
const X = (n: number, j = 0) => St.XMM + 16 * n + 4 * j;

/** The forms compiled here. */
export const SSE_FORMS = new Set<Form>(['sseLoad128', 'sseStore128', 'movsdLoad', 'movsdStore', 'movssLoad', 'movssStore',
  'movqLoad', 'movqStore', 'movdTo', 'movdFrom', 'pxorReg', 'sseLogic', 'arithSs', 'arithSd', 'comiSs', 'comiSd',
  'cvtsi2ss', 'cvtsi2sd', 'cvtss2sd', 'cvtsd2ss', 'cvtToInt', 'unpckps', 'unpckpd', 'punpck']);

/** Pushes bit `bit` (1 or 2) of St.ASSUME as 0 or 1. */
function fpok(e: Emit, bit: 1 | 2): void {
  e.f.get(0).mem(Op.i32_load, 2, St.ASSUME);
  if (bit === 2) e.f.i32(1).op(Op.i32_shr_u);
  e.f.i32(1).op(Op.i32_and);
}

/**
 * The instruction's handler (through the runtime, state stored first), on a branch: it raises what the fast path
 * does not handle, or computes the cases the fast path leaves. Whether it dropped decoded code ends the block after
 * the instruction as after a store.
 */
function slow(e: Emit): void {
  e.rt(Imp.gen, e.k, -1);
  e.f.get(e.dropped).op(Op.i32_or).set(e.dropped);
  e.stored = true;
}

/** if (cond) fast else handler; `type` the value both leave (the handler's from `after`). */
function guarded(e: Emit, cond: () => void, fast: () => void, type = BLOCK_VOID, after: () => void = () => {}): void {
  cond();
  e.f.op(Op.if, type);
  fast();
  e.f.op(Op.else);
  slow(e);
  after();
  e.f.op(Op.end);
}

/**
 * Reaches `bytes` of memory operand at i64 local a through the read (or write) TLB: runs hit(offset local) on a hit
 * with SSE enabled, the handler (then `after`) otherwise; `aligned`: a misaligned address is the handler's (#GP).
 */
function withRam(e: Emit, a: number, bytes: number, write: boolean, aligned: boolean, hit: (p: number) => void,
  after: () => void = () => {}): void {
  const f = e.f;
  const { o, x } = e.tlbTest(a, bytes * 8, write ? St.WTAG : St.RTAG);
  guarded(e, () => {
    fpok(e, 1); f.op(Op.i32_and);
    if (aligned) f.get(a).op(Op.i32_wrap_i64).i32(15).op(Op.i32_and, Op.i32_eqz, Op.i32_and);
  }, () => hit(e.local32(() => e.host(x, o, write ? St.WOFF : St.ROFF))), BLOCK_VOID, after);
}

/** Copies `words` dwords of XMM register `from` to `to` (as integers: a NaN's payload is kept). */
function copy(e: Emit, to: number, from: number, words: number): void {
  const f = e.f;
  if (to === from) return;
  for (let j = 0; j + 1 < words; j += 2) f.get(0).get(0).mem(Op.i64_load, 3, X(from, j)).mem(Op.i64_store, 3, X(to, j));
  if (words % 2 === 1) f.get(0).get(0).mem(Op.i32_load, 2, X(from, words - 1)).mem(Op.i32_store, 2, X(to, words - 1));
}
/** Zeroes dwords from..3 of XMM register n. */
function zeroFrom(e: Emit, n: number, from: number): void {
  const f = e.f;
  if (from === 1) { f.get(0).i32(0).mem(Op.i32_store, 2, X(n, 1)); from = 2; }
  if (from === 2) f.get(0).i64(0, 0).mem(Op.i64_store, 3, X(n, 2));
}

/** Pushes whether the i32 (32) or i64 (64) bits in local b are a zero or a finite normal number of that width. */
function ord(e: Emit, bits: 32 | 64, b: number): void {
  const f = e.f;
  isZero(e, bits, b);
  if (bits === 32) {
    f.get(b).i32(23).op(Op.i32_shr_u).i32(1).op(Op.i32_add).i32(255).op(Op.i32_and).i32(2).op(Op.i32_ge_u, Op.i32_or);
  } else {
    f.get(b).i64(52, 0).op(Op.i64_shr_u).i64(1, 0).op(Op.i64_add).i64(0x7ff, 0).op(Op.i64_and).i64(2, 0).op(Op.i64_ge_u, Op.i32_or);
  }
}
/** Pushes whether the bits in local b are neither a NaN nor a denormal (an ordered comparison of them raises nothing). */
function comparable(e: Emit, bits: 32 | 64, b: number): void {
  const f = e.f;
  // Zero, or an exponent field other than 0 that is not all ones with a non-zero fraction.
  isZero(e, bits, b);
  if (bits === 32) {
    f.get(b).i32(23).op(Op.i32_shr_u).i32(255).op(Op.i32_and, Op.i32_eqz, Op.i32_eqz, Op.i32_or);
    f.get(b).i32(0x7fffffff).op(Op.i32_and).i32(0x7f800000).op(Op.i32_le_u, Op.i32_and);
  } else {
    f.get(b).i64(52, 0).op(Op.i64_shr_u).i64(0x7ff, 0).op(Op.i64_and, Op.i64_eqz, Op.i32_eqz, Op.i32_or);
    f.get(b).i64(-1, 0x7fffffff).op(Op.i64_and).i64(0, 0x7ff00000).op(Op.i64_le_u, Op.i32_and);
  }
}
/** Pushes whether the bits in local b are +-0. */
function isZero(e: Emit, bits: 32 | 64, b: number): void {
  if (bits === 32) e.f.get(b).i32(1).op(Op.i32_shl, Op.i32_eqz);
  else e.f.get(b).i64(1, 0).op(Op.i64_shl, Op.i64_eqz);
}

/** Width of a scalar operation. */
interface Scalar { bits: 32 | 64; load: Op; store: Op; align: number; asF: Op; asI: Op; add: Op; sub: Op; mul: Op; div: Op; sqrt: Op; lt: Op; gt: Op; eq: Op }
const SS: Scalar = { bits: 32, load: Op.i32_load, store: Op.i32_store, align: 2, asF: Op.f32_reinterpret_i32, asI: Op.i32_reinterpret_f32,
  add: Op.f32_add, sub: Op.f32_sub, mul: Op.f32_mul, div: Op.f32_div, sqrt: Op.f32_sqrt, lt: Op.f32_lt, gt: Op.f32_gt, eq: Op.f32_eq };
const SD: Scalar = { bits: 64, load: Op.i64_load, store: Op.i64_store, align: 3, asF: Op.f64_reinterpret_i64, asI: Op.i64_reinterpret_f64,
  add: Op.f64_add, sub: Op.f64_sub, mul: Op.f64_mul, div: Op.f64_div, sqrt: Op.f64_sqrt, lt: Op.f64_lt, gt: Op.f64_gt, eq: Op.f64_eq };

/**
 * Runs body(source bits local) for a scalar source of width w: XMM register i.rm's low lane, or memory through a TLB
 * hit; with SSE disabled or on a TLB miss, the handler (then `after`).
 */
function scalarSource(e: Emit, i: Insn, w: Scalar, body: (s: number) => void, after: () => void = () => {}): boolean {
  const f = e.f;
  if (!i.mem) {
    guarded(e, () => fpok(e, 1), () => body(e.localOf(w.bits, () => f.get(0).mem(w.load, w.align, X(i.rm)))), BLOCK_VOID, after);
    return true;
  }
  const a = e.ea(i);
  if (a < 0) return false;
  withRam(e, a, w.bits / 8, false, false, (p) => body(e.localOf(w.bits, () => f.get(p).mem(w.load, 0, 0))), after);
  return true;
}

/** add sub mul div min max sqrt, ss and sd (ops-fp.ts hArithSs, hArithSd). */
function arith(e: Emit, i: Insn, w: Scalar): boolean {
  const f = e.f, op = i.op, w64 = w.bits === 64;
  if (op < OP_ADD || op > OP_SQRT) return false;
  const F = (b: number) => f.get(b).op(w.asF);
  const and = () => f.op(Op.i32_and);
  return scalarSource(e, i, w, (s) => {
    const d = e.localOf(w.bits, () => f.get(0).mem(w.load, w.align, X(i.reg)));
    const minMax = op === OP_MIN || op === OP_MAX;
    const r = e.localOf(w.bits, () => {
      // min/max: the destination when it is below (above) the source, else the source (equal zeros, unordered too).
      if (minMax) { f.get(d).get(s); F(d); F(s); f.op(op === OP_MIN ? w.lt : w.gt, Op.select); return; }
      if (op === OP_SQRT) { F(s); f.op(w.sqrt); } else { F(d); F(s); f.op(op === OP_ADD ? w.add : op === OP_SUB ? w.sub : op === OP_MUL ? w.mul : w.div); }
      f.op(w.asI);
    });
    guarded(e, () => {
      if (minMax) { ord(e, w.bits, d); ord(e, w.bits, s); and(); return; }
      fpok(e, 2);
      if (op === OP_SQRT) {
        // s >= 0: the sign clear, or -0.
        if (w64) f.get(s).i64(0, 0).op(Op.i64_ge_s); else f.get(s).i32(0).op(Op.i32_ge_s);
        isZero(e, w.bits, s); f.op(Op.i32_or); and();
        ord(e, w.bits, s); and(); ord(e, w.bits, r); and();
      } else {
        ord(e, w.bits, d); and(); ord(e, w.bits, s); and();
        if (op === OP_ADD || op === OP_SUB) { ord(e, w.bits, r); and(); }
        else {
          // A zero product or quotient of non-zero operands underflowed (UE).
          isZero(e, w.bits, r);
          f.op(Op.if, BLOCK_I32); isZero(e, w.bits, d); isZero(e, w.bits, s); f.op(Op.i32_or);
          f.op(Op.else); ord(e, w.bits, r); f.op(Op.end);
          and();
        }
      }
    }, () => f.get(0).get(r).mem(w.store, w.align, X(i.reg)));
  });
}

/**
 * comiss/ucomiss, comisd/ucomisd (ops-fp.ts hComiSs, hComiSd): ZF PF CF from the comparison, OF SF AF cleared. Infinities
 * compare without an exception (OSv's scheduler compares run times with an infinite one).
 */
function comi(e: Emit, i: Insn, w: Scalar): boolean {
  const f = e.f;
  const bits = e.f.local(WT.I32);
  // The handler's flags on its paths (it records them explicitly: LF_OP = K_NONE, LF_ARITH = bits).
  const handlerBits = () => f.get(0).mem(Op.i32_load, 2, St.LF + 4 * 9).set(bits);
  const compiled = scalarSource(e, i, w, (s) => {
    const d = e.localOf(w.bits, () => f.get(0).mem(w.load, w.align, X(i.reg)));
    guarded(e, () => { comparable(e, w.bits, d); comparable(e, w.bits, s); f.op(Op.i32_and); }, () => {
      // d < s: CF; d = s: ZF; else none.
      f.i32(1).i32(64).i32(0);
      f.get(d).op(w.asF).get(s).op(w.asF, w.eq, Op.select);
      f.get(d).op(w.asF).get(s).op(w.asF, w.lt, Op.select).set(bits);
    }, BLOCK_VOID, handlerBits);
  }, handlerBits);
  if (!compiled) return false;
  e.explicitFlags(() => f.get(bits));
  return true;
}

/**
 * cvtsi2ss/cvtsi2sd xmm, r/m32/64 (ops-fp.ts hCvtsi2ss, hCvtsi2sd): an int32, or an int64 of magnitude below 2^53, is
 * exact as a double; rounding it once to single is inexact only with PE set (else the handler).
 */
function cvtsi2x(e: Emit, i: Insn, w: Scalar): boolean {
  const f = e.f, wide = i.size === 64;
  let a = -1, v = -1;
  if (i.mem) { a = e.ea(i); if (a < 0) return false; } else v = e.localOf(i.size, () => e.readReg(i.size, i.rm));
  const conv = (v: number) => {
    // n: the integer as an exact double (the range test first for 64 bits).
    const ok = e.local32(() => (wide ? f.get(v).i64(0, 0x200000).op(Op.i64_add).i64(0, 0x400000).op(Op.i64_lt_u) : f.i32(1)));
    const n = e.local64(() => f.get(v).op(wide ? Op.f64_convert_i64_s : Op.f64_convert_i32_s, Op.i64_reinterpret_f64));
    const r = w.bits === 64 ? n : e.local32(() => f.get(n).op(Op.f64_reinterpret_i64, Op.f32_demote_f64, Op.i32_reinterpret_f32));
    guarded(e, () => {
      f.get(ok);
      if (w.bits === 32) {
        f.get(r).op(Op.f32_reinterpret_i32, Op.f64_promote_f32).get(n).op(Op.f64_reinterpret_i64, Op.f64_eq);
        fpok(e, 2); f.op(Op.i32_or, Op.i32_and);
      }
    }, () => f.get(0).get(r).mem(w.store, w.align, X(i.reg)));
  };
  if (!i.mem) { guarded(e, () => fpok(e, 1), () => conv(v)); return true; }
  withRam(e, a, i.size / 8, false, false, (p) => conv(e.localOf(i.size, () => f.get(p).mem(wide ? Op.i64_load : Op.i32_load, 0, 0))));
  return true;
}

/** cvtss2sd (exact for a zero or normal source) and cvtsd2ss (rounds once; a change only with PE set, never to 0). */
function cvtScalar(e: Emit, i: Insn, from: Scalar, to: Scalar): boolean {
  const f = e.f;
  return scalarSource(e, i, from, (s) => {
    const r = e.localOf(to.bits, () => f.get(s).op(from.asF, to.bits === 64 ? Op.f64_promote_f32 : Op.f32_demote_f64, to.asI));
    guarded(e, () => {
      ord(e, from.bits, s);
      if (to.bits === 32) {
        ord(e, 32, r); f.op(Op.i32_and);
        f.get(r).op(Op.f32_reinterpret_i32, Op.f64_promote_f32).get(s).op(Op.f64_reinterpret_i64, Op.f64_eq);
        fpok(e, 2); isZero(e, 32, r); f.op(Op.i32_eqz, Op.i32_and, Op.i32_or, Op.i32_and);
      }
    }, () => f.get(0).get(r).mem(to.store, to.align, X(i.reg)));
  });
}

/** cvttsd2si r32/64, xmm/m64 (ops-fp.ts hCvtToInt, i.op 3); the others call the handler. */
function cvtToInt(e: Emit, i: Insn): boolean {
  const f = e.f, w = i.size === 64;
  if (i.op !== 3) return false;
  const out = e.f.local(WT.I64);
  const fromSlice = () => f.get(0).mem(Op.i64_load, 3, St.R32 + 8 * i.reg).set(out);
  const compiled = scalarSource(e, i, SD, (s) => {
    const t = e.local64(() => f.get(s).op(Op.f64_reinterpret_i64, Op.f64_trunc, Op.i64_reinterpret_f64));
    const T = () => f.get(t).op(Op.f64_reinterpret_i64);
    guarded(e, () => {
      ord(e, 64, s);
      if (w) { T(); f.f64(-9223372036854775808).op(Op.f64_ge); T(); f.f64(9223372036854775808).op(Op.f64_lt); }
      else { T(); f.f64(-2147483648).op(Op.f64_ge); T(); f.f64(2147483647).op(Op.f64_le); }
      f.op(Op.i32_and, Op.i32_and);
      f.get(t).get(s).op(Op.i64_eq); fpok(e, 2); f.op(Op.i32_or, Op.i32_and);
    }, () => {
      T();
      if (w) f.op(Op.i64_trunc_f64_s).set(out); else f.op(Op.i32_trunc_f64_s, Op.i64_extend_i32_u).set(out);
    }, BLOCK_VOID, fromSlice);
  }, fromSlice);
  if (!compiled) return false;
  e.writeReg(64, i.reg, () => f.get(out));
  return true;
}

/**
 * movss/movsd/movq xmm, xmm/m (`store` false: a memory source, or movq's, zeroes the rest) and xmm/m, xmm (`store`: movq
 * to a register zeroes its rest).
 */
function scalarMove(e: Emit, i: Insn, bits: 32 | 64, zeroReg: boolean, store: boolean): boolean {
  const f = e.f, w = bits === 64, ld = w ? Op.i64_load : Op.i32_load, st = w ? Op.i64_store : Op.i32_store, al = w ? 3 : 2;
  if (!i.mem) {
    const [to, from] = store ? [i.rm, i.reg] : [i.reg, i.rm];
    guarded(e, () => fpok(e, 1), () => { copy(e, to, from, bits / 32); if (zeroReg) zeroFrom(e, to, 2); });
    return true;
  }
  const a = e.ea(i);
  if (a < 0) return false;
  guarded(e, () => fpok(e, 1), () => {
    if (store) { e.store(bits, a, e.localOf(bits, () => f.get(0).mem(ld, al, X(i.reg)))); return; }
    f.get(0).get(e.load(bits, a)).mem(st, al, X(i.reg));
    zeroFrom(e, i.reg, bits / 32);
  });
  return true;
}

/** movd/movq xmm, r/m32/64 (ops-move.ts movdToXmm). */
function movdTo(e: Emit, i: Insn): boolean {
  const f = e.f, w = i.size === 64;
  let a = -1, v = -1;
  if (i.mem) { a = e.ea(i); if (a < 0) return false; } else v = e.local64(() => e.readReg(64, i.rm));
  guarded(e, () => fpok(e, 1), () => {
    const x = i.mem ? e.load(w ? 64 : 32, a) : v;
    if (w) f.get(0).get(x).mem(Op.i64_store, 3, X(i.reg));
    else {
      f.get(0).get(x);
      if (!i.mem) f.op(Op.i32_wrap_i64);
      f.mem(Op.i32_store, 2, X(i.reg));
    }
    zeroFrom(e, i.reg, w ? 2 : 1);
  });
  return true;
}

/** movd/movq r/m32/64, xmm (ops-move.ts movdFromXmm). */
function movdFrom(e: Emit, i: Insn): boolean {
  const f = e.f, w = i.size === 64;
  if (i.mem) {
    const a = e.ea(i);
    if (a < 0) return false;
    guarded(e, () => fpok(e, 1), () => {
      const v = e.localOf(w ? 64 : 32, () => f.get(0).mem(w ? Op.i64_load : Op.i32_load, w ? 3 : 2, X(i.reg)));
      e.store(w ? 64 : 32, a, v);
    });
    return true;
  }
  // The handler's result read back from the slice (it wrote the register there).
  guarded(e, () => fpok(e, 1), () => {
    if (w) f.get(0).mem(Op.i64_load, 3, X(i.reg)); else f.get(0).mem(Op.i32_load, 2, X(i.reg)).op(Op.i64_extend_i32_u);
  }, BLOCK_I64, () => f.get(0).mem(Op.i64_load, 3, St.R32 + 8 * i.rm));
  const v = e.local64(() => {});
  e.writeReg(64, i.rm, () => f.get(v));
  return true;
}

/** The 16 bytes of a memory operand (movaps/movups/movdqa/movdqu; i.op: aligned), or of XMM i.rm, into/out of i.reg. */
function move128(e: Emit, i: Insn, store: boolean): boolean {
  const f = e.f;
  if (!i.mem) {
    guarded(e, () => fpok(e, 1), () => (store ? copy(e, i.rm, i.reg, 4) : copy(e, i.reg, i.rm, 4)));
    return true;
  }
  const a = e.ea(i);
  if (a < 0) return false;
  withRam(e, a, 16, store, i.op !== 0, (p) => {
    for (const j of [0, 2]) {
      if (store) f.get(p).get(0).mem(Op.i64_load, 3, X(i.reg, j)).mem(Op.i64_store, 0, 4 * j);
      else f.get(0).get(p).mem(Op.i64_load, 0, 4 * j).mem(Op.i64_store, 3, X(i.reg, j));
    }
  });
  return true;
}

/** and/andn/or/xor of ps/pd and pand/pandn/por/pxor (ops-int.ts hLogic: the memory operand is aligned). */
function logic(e: Emit, i: Insn): boolean {
  const f = e.f, op = i.op;
  const apply = (src: (j: number) => void) => {
    for (const j of [0, 2]) {
      f.get(0);
      if (op === L_ANDN) f.get(0).mem(Op.i64_load, 3, X(i.reg, j)).i64(-1, -1).op(Op.i64_xor);
      else f.get(0).mem(Op.i64_load, 3, X(i.reg, j));
      src(j);
      f.op(op === L_AND || op === L_ANDN ? Op.i64_and : op === L_OR ? Op.i64_or : Op.i64_xor).mem(Op.i64_store, 3, X(i.reg, j));
    }
  };
  if (!i.mem) { guarded(e, () => fpok(e, 1), () => apply((j) => f.get(0).mem(Op.i64_load, 3, X(i.rm, j)))); return true; }
  const a = e.ea(i);
  if (a < 0) return false;
  withRam(e, a, 16, false, true, (p) => apply((j) => f.get(p).mem(Op.i64_load, 0, 4 * j)));
  return true;
}

/**
 * unpcklps/unpckhps/unpcklpd/unpckhpd, punpck[lh]dq/qdq (ops-int.ts hUnpack; elements of `op` bytes, 4 or 8; `high`:
 * the high halves interleaved; the memory operand is aligned). Sources are read before the destination is written.
 */
function unpack(e: Emit, i: Insn, op: number, high: boolean): boolean {
  const f = e.f, b = high ? 2 : 0;
  if (op !== 4 && op !== 8) return false;
  const body = (src: (j: number) => void) => {
    const x0 = e.local32(() => f.get(0).mem(Op.i32_load, 2, X(i.reg, b))), x1 = e.local32(() => f.get(0).mem(Op.i32_load, 2, X(i.reg, b + 1)));
    const w0 = e.local32(() => src(b)), w1 = e.local32(() => src(b + 1));
    (op === 8 ? [x0, x1, w0, w1] : [x0, w0, x1, w1]).forEach((l, j) => f.get(0).get(l).mem(Op.i32_store, 2, X(i.reg, j)));
  };
  if (!i.mem) { guarded(e, () => fpok(e, 1), () => body((j) => f.get(0).mem(Op.i32_load, 2, X(i.rm, j)))); return true; }
  const a = e.ea(i);
  if (a < 0) return false;
  withRam(e, a, 16, false, true, (p) => body((j) => f.get(p).mem(Op.i32_load, 0, 4 * j)));
  return true;
}

/** pxor/xorps/xorpd xmm, xmm (the same register: the zeroing idiom). */
function pxorReg(e: Emit, i: Insn): boolean {
  const f = e.f;
  guarded(e, () => fpok(e, 1), () => {
    for (const j of [0, 2]) {
      if (i.reg === i.rm) f.get(0).i64(0, 0);
      else f.get(0).get(0).mem(Op.i64_load, 3, X(i.reg, j)).get(0).mem(Op.i64_load, 3, X(i.rm, j)).op(Op.i64_xor);
      f.mem(Op.i64_store, 3, X(i.reg, j));
    }
  });
  return true;
}

/** Emits form `form` of instruction i; false: not compiled here (its handler is called unconditionally). */
export function specialiseSse(e: Emit, i: Insn, form: Form): boolean {
  switch (form) {
    case 'sseLoad128': return move128(e, i, false);
    case 'sseStore128': return move128(e, i, true);
    case 'movsdLoad': return scalarMove(e, i, 64, false, false);
    case 'movssLoad': return scalarMove(e, i, 32, false, false);
    case 'movqLoad': return scalarMove(e, i, 64, true, false);
    case 'movsdStore': return scalarMove(e, i, 64, false, true);
    case 'movssStore': return scalarMove(e, i, 32, false, true);
    case 'movqStore': return scalarMove(e, i, 64, true, true);
    case 'movdTo': return movdTo(e, i);
    case 'movdFrom': return movdFrom(e, i);
    case 'pxorReg': return pxorReg(e, i);
    case 'sseLogic': return logic(e, i);
    case 'arithSs': return arith(e, i, SS);
    case 'arithSd': return arith(e, i, SD);
    case 'comiSs': return comi(e, i, SS);
    case 'comiSd': return comi(e, i, SD);
    case 'cvtsi2ss': return cvtsi2x(e, i, SS);
    case 'cvtsi2sd': return cvtsi2x(e, i, SD);
    case 'cvtss2sd': return cvtScalar(e, i, SS, SD);
    case 'cvtsd2ss': return cvtScalar(e, i, SD, SS);
    case 'cvtToInt': return cvtToInt(e, i);
    case 'unpckps': return unpack(e, i, 4, i.imm !== 0);
    case 'unpckpd': return unpack(e, i, 8, i.imm !== 0);
    case 'punpck': return unpack(e, i, i.op, i.imm !== 0);
    default: return false;
  }
}
