// Scalar SSE floating-point operations on raw bit patterns in a register-file buffer, with MXCSR semantics
// (rounding control, FTZ, DAZ, exception flags) matching x86 bit for bit. Operands are addressed by 32-bit
// word index into the buffer: a binary64 lane at word i occupies words i (low) and i + 1 (high), i even.
// Each operation writes its result and returns the exception flags it raised (MX_IE..MX_PE); committing
// the flags to MXCSR and raising #XM for unmasked ones is the caller's job, so packed instructions can
// compute every lane into scratch slots first.
import { F32, F64, type Fmt } from './fp-round.js';
import { FX, add, div, fromInt, mul, opFlags, roundToInt, sqrt } from './fp-exact.js';
import { MX_DAZ, MX_DE, MX_IE, MX_PE, MX_ZE, MX_RC_SHIFT, MXCSR_DEFAULT } from './mxcsr.js';

// Operand classes.
const K_ZERO = 0, K_NORMAL = 1, K_DENORMAL = 2, K_INF = 3, K_QNAN = 4, K_SNAN = 5;

// Compare predicates of cmpss/cmpsd/cmpps/cmppd (imm8 & 7).
export const CMP_EQ = 0, CMP_LT = 1, CMP_LE = 2, CMP_UNORD = 3, CMP_NEQ = 4, CMP_NLT = 5, CMP_NLE = 6, CMP_ORD = 7;

// EFLAGS bits written by comis/ucomis.
const ZF = 0x40, PF = 0x04, CF = 0x01;

function cls64(h: number, l: number): number {
  const e = (h >>> 20) & 0x7ff;
  const frac = (h & 0xfffff) | l;
  if (e === 0) return frac === 0 ? K_ZERO : K_DENORMAL;
  if (e === 0x7ff) return frac === 0 ? K_INF : (h & 0x80000) !== 0 ? K_QNAN : K_SNAN;
  return K_NORMAL;
}

function cls32(w: number): number {
  const e = (w >>> 23) & 0xff;
  const frac = w & 0x7fffff;
  if (e === 0) return frac === 0 ? K_ZERO : K_DENORMAL;
  if (e === 0xff) return frac === 0 ? K_INF : (w & 0x400000) !== 0 ? K_QNAN : K_SNAN;
  return K_NORMAL;
}

// Arithmetic selectors for op64/op32 (handlers keep the one an opcode needs in Insn.op).
export const OP_ADD = 0, OP_SUB = 1, OP_MUL = 2, OP_DIV = 3, OP_MIN = 4, OP_MAX = 5, OP_SQRT = 6;

export class SseFp {
  readonly u32: Uint32Array;
  readonly i32: Int32Array;
  readonly f32: Float32Array;
  readonly f64: Float64Array;
  /** MXCSR; the operations read its control bits only. */
  mxcsr = MXCSR_DEFAULT;
  /** EFLAGS result (ZF, PF, CF; all other arithmetic flags clear) of the last comi/ucomi. */
  eflags = 0;
  /** Integer result of the last float-to-integer conversion: low and high 32-bit halves. */
  intLo = 0;
  intHi = 0;

  constructor(buffer: ArrayBuffer) {
    this.u32 = new Uint32Array(buffer);
    this.i32 = new Int32Array(buffer);
    this.f32 = new Float32Array(buffer);
    this.f64 = new Float64Array(buffer);
  }

  // ---- operand loading: value after DAZ, with the operand class in `k` ----
  private k = 0;
  private de = 0;

  /**
   * FX[slot] = value of the binary64 at word i (meaningless for NaNs), after DAZ; sets this.k to its class
   * and this.de when it is a denormal that counts. Values stay in typed arrays so no double is boxed.
   */
  private load64(i: number, slot: number): void {
    const h = this.u32[i + 1];
    const k = cls64(h, this.u32[i]);
    this.k = k;
    if (k === K_DENORMAL) {
      if ((this.mxcsr & MX_DAZ) !== 0) { FX[slot] = (h >>> 31) !== 0 ? -0 : 0; return; }
      this.de = MX_DE;
    }
    FX[slot] = this.f64[i >>> 1];
  }

  private load32(i: number, slot: number): void {
    const w = this.u32[i];
    const k = cls32(w);
    this.k = k;
    if (k === K_DENORMAL) {
      if ((this.mxcsr & MX_DAZ) !== 0) { FX[slot] = (w >>> 31) !== 0 ? -0 : 0; return; }
      this.de = MX_DE;
    }
    FX[slot] = this.f32[i];
  }

  // ---- NaN propagation: the first operand's NaN if it is one, else the second's, quieted ----
  private nan64(d: number, a: number, b: number, ka: number, kb: number): number {
    const u = this.u32;
    const src = ka >= K_QNAN ? a : b;
    const lo = u[src], hi = u[src + 1];
    u[d] = lo; u[d + 1] = hi | 0x80000;
    return (ka === K_SNAN || kb === K_SNAN) ? MX_IE : 0;
  }

  private nan32(d: number, a: number, b: number, ka: number, kb: number): number {
    const u = this.u32;
    u[d] = u[ka >= K_QNAN ? a : b] | 0x400000;
    return (ka === K_SNAN || kb === K_SNAN) ? MX_IE : 0;
  }

  private arith64(op: number, d: number, a: number, b: number): number {
    this.de = 0;
    this.load64(a, 0); const ka = this.k;
    this.load64(b, 1); const kb = this.k;
    if (ka >= K_QNAN || kb >= K_QNAN) return this.nan64(d, a, b, ka, kb);
    this.compute(op, F64);
    return this.store64(d, SseFp.merge(this.de, opFlags));
  }

  private compute(op: number, f: Fmt): void {
    const mx = this.mxcsr;
    switch (op) {
      case OP_ADD: add(f, mx); break;
      case OP_SUB: FX[1] = -FX[1]; add(f, mx); break;
      case OP_MUL: mul(f, mx); break;
      default: div(f, mx); break;
    }
  }

  /** IE and ZE take precedence over (suppress) DE; the post-computation flags accompany it. */
  private static merge(de: number, op: number): number {
    return (op & (MX_IE | MX_ZE)) !== 0 ? op : de | op;
  }

  private arith32(op: number, d: number, a: number, b: number): number {
    this.de = 0;
    this.load32(a, 0); const ka = this.k;
    this.load32(b, 1); const kb = this.k;
    if (ka >= K_QNAN || kb >= K_QNAN) return this.nan32(d, a, b, ka, kb);
    this.compute(op, F32);
    return this.store32(d, SseFp.merge(this.de, opFlags));
  }

  /** Writes the result FX[2] (NaN: the invalid-operation default QNaN) and passes `flags` through. */
  private store64(d: number, flags: number): number {
    const r = FX[2];
    if (r !== r) { this.u32[d] = 0; this.u32[d + 1] = 0xfff80000; } // QNaN indefinite
    else this.f64[d >>> 1] = r;
    return flags;
  }

  private store32(d: number, flags: number): number {
    const r = FX[2];
    if (r !== r) this.u32[d] = 0xffc00000;
    else this.f32[d] = r;
    return flags;
  }

  /** One binary64 lane of an arithmetic instruction chosen by OP_*; sqrt uses only b. */
  op64(op: number, d: number, a: number, b: number): number {
    switch (op) {
      case OP_MIN: return this.minmax64(d, a, b, false);
      case OP_MAX: return this.minmax64(d, a, b, true);
      case OP_SQRT: return this.sqrt64(d, b);
      default: return this.arith64(op, d, a, b);
    }
  }

  op32(op: number, d: number, a: number, b: number): number {
    switch (op) {
      case OP_MIN: return this.minmax32(d, a, b, false);
      case OP_MAX: return this.minmax32(d, a, b, true);
      case OP_SQRT: return this.sqrt32(d, b);
      default: return this.arith32(op, d, a, b);
    }
  }

  add64(d: number, a: number, b: number): number { return this.arith64(OP_ADD, d, a, b); }
  sub64(d: number, a: number, b: number): number { return this.arith64(OP_SUB, d, a, b); }
  mul64(d: number, a: number, b: number): number { return this.arith64(OP_MUL, d, a, b); }
  div64(d: number, a: number, b: number): number { return this.arith64(OP_DIV, d, a, b); }
  add32(d: number, a: number, b: number): number { return this.arith32(OP_ADD, d, a, b); }
  sub32(d: number, a: number, b: number): number { return this.arith32(OP_SUB, d, a, b); }
  mul32(d: number, a: number, b: number): number { return this.arith32(OP_MUL, d, a, b); }
  div32(d: number, a: number, b: number): number { return this.arith32(OP_DIV, d, a, b); }

  /** sqrtsd: d = sqrt(a). */
  sqrt64(d: number, a: number): number {
    this.de = 0;
    this.load64(a, 1); const ka = this.k;
    if (ka >= K_QNAN) return this.nan64(d, a, a, ka, ka);
    sqrt(F64, this.mxcsr);
    return this.store64(d, SseFp.merge(this.de, opFlags));
  }

  sqrt32(d: number, a: number): number {
    this.de = 0;
    this.load32(a, 1); const ka = this.k;
    if (ka >= K_QNAN) return this.nan32(d, a, a, ka, ka);
    sqrt(F32, this.mxcsr);
    return this.store32(d, SseFp.merge(this.de, opFlags));
  }

  // ---- min/max: the second operand wins on NaN (either kind, raising IE) and on equality (e.g. ±0) ----
  private minmax64(d: number, a: number, b: number, max: boolean): number {
    this.de = 0;
    this.load64(a, 0); const ka = this.k;
    this.load64(b, 1); const kb = this.k;
    const u = this.u32;
    let src = b, flags = this.de;
    if (ka >= K_QNAN || kb >= K_QNAN) flags = MX_IE;
    else if (max ? FX[0] > FX[1] : FX[0] < FX[1]) src = a;
    const lo = u[src], hi = u[src + 1];
    // Under DAZ a denormal operand was read as a signed zero, and that zero is what gets returned.
    if ((this.mxcsr & MX_DAZ) !== 0 && cls64(hi, lo) === K_DENORMAL) { u[d] = 0; u[d + 1] = hi & 0x80000000; }
    else { u[d] = lo; u[d + 1] = hi; }
    return flags;
  }

  private minmax32(d: number, a: number, b: number, max: boolean): number {
    this.de = 0;
    this.load32(a, 0); const ka = this.k;
    this.load32(b, 1); const kb = this.k;
    let src = b, flags = this.de;
    if (ka >= K_QNAN || kb >= K_QNAN) flags = MX_IE;
    else if (max ? FX[0] > FX[1] : FX[0] < FX[1]) src = a;
    const w = this.u32[src];
    this.u32[d] = (this.mxcsr & MX_DAZ) !== 0 && cls32(w) === K_DENORMAL ? w & 0x80000000 : w;
    return flags;
  }

  min64(d: number, a: number, b: number): number { return this.minmax64(d, a, b, false); }
  max64(d: number, a: number, b: number): number { return this.minmax64(d, a, b, true); }
  min32(d: number, a: number, b: number): number { return this.minmax32(d, a, b, false); }
  max32(d: number, a: number, b: number): number { return this.minmax32(d, a, b, true); }

  // ---- compares ----
  /** Compare predicate on FX[0] (x) and FX[1] (y). */
  private static predicate(pred: number, unord: boolean): boolean {
    const x = FX[0], y = FX[1];
    switch (pred & 7) {
      case CMP_EQ: return !unord && x === y;
      case CMP_LT: return !unord && x < y;
      case CMP_LE: return !unord && x <= y;
      case CMP_UNORD: return unord;
      case CMP_NEQ: return unord || x !== y;
      case CMP_NLT: return unord || !(x < y);
      case CMP_NLE: return unord || !(x <= y);
      default: return !unord;
    }
  }

  /** IE for a compare: SNaN always; QNaN too for the signalling predicates (lt, le, nlt, nle). */
  private static cmpInvalid(pred: number, ka: number, kb: number): number {
    if (ka === K_SNAN || kb === K_SNAN) return MX_IE;
    if ((ka === K_QNAN || kb === K_QNAN) && (pred & 3) !== 0 && (pred & 3) !== 3) return MX_IE;
    return 0;
  }

  /** cmpsd: d = all ones if (a pred b) else zeros. */
  cmp64(d: number, a: number, b: number, pred: number): number {
    this.de = 0;
    this.load64(a, 0); const ka = this.k;
    this.load64(b, 1); const kb = this.k;
    const unord = ka >= K_QNAN || kb >= K_QNAN;
    const m = SseFp.predicate(pred, unord) ? 0xffffffff : 0;
    this.u32[d] = m; this.u32[d + 1] = m;
    return unord ? SseFp.cmpInvalid(pred, ka, kb) : this.de;
  }

  cmp32(d: number, a: number, b: number, pred: number): number {
    this.de = 0;
    this.load32(a, 0); const ka = this.k;
    this.load32(b, 1); const kb = this.k;
    const unord = ka >= K_QNAN || kb >= K_QNAN;
    this.u32[d] = SseFp.predicate(pred, unord) ? 0xffffffff : 0;
    return unord ? SseFp.cmpInvalid(pred, ka, kb) : this.de;
  }

  /** comisd (signalling = true) / ucomisd: sets this.eflags; returns exception flags. */
  comi64(a: number, b: number, signalling: boolean): number {
    this.de = 0;
    this.load64(a, 0); const ka = this.k;
    this.load64(b, 1); const kb = this.k;
    return this.comiResult(ka, kb, signalling);
  }

  comi32(a: number, b: number, signalling: boolean): number {
    this.de = 0;
    this.load32(a, 0); const ka = this.k;
    this.load32(b, 1); const kb = this.k;
    return this.comiResult(ka, kb, signalling);
  }

  private comiResult(ka: number, kb: number, signalling: boolean): number {
    const x = FX[0], y = FX[1];
    if (ka >= K_QNAN || kb >= K_QNAN) {
      this.eflags = ZF | PF | CF;
      return (signalling || ka === K_SNAN || kb === K_SNAN) ? MX_IE : 0;
    }
    this.eflags = x < y ? CF : x === y ? ZF : 0;
    return this.de;
  }

  // ---- roundss/roundsd (SSE4.1): to an integral value; imm bit 2 selects MXCSR.RC, bit 3 suppresses PE ----
  round64(d: number, a: number, imm: number): number {
    this.load64(a, 0); const ka = this.k;
    if (ka >= K_QNAN) return this.nan64(d, a, a, ka, ka);
    roundToInt((imm & 4) !== 0 ? (this.mxcsr >>> MX_RC_SHIFT) & 3 : imm & 3); // infinities pass unchanged
    this.f64[d >>> 1] = FX[2];
    return FX[2] !== FX[0] && (imm & 8) === 0 ? MX_PE : 0;
  }

  round32(d: number, a: number, imm: number): number {
    this.load32(a, 0); const ka = this.k;
    if (ka >= K_QNAN) return this.nan32(d, a, a, ka, ka);
    roundToInt((imm & 4) !== 0 ? (this.mxcsr >>> MX_RC_SHIFT) & 3 : imm & 3); // infinities pass unchanged
    this.f32[d] = FX[2];
    return FX[2] !== FX[0] && (imm & 8) === 0 ? MX_PE : 0;
  }

  // ---- float <-> float conversions ----
  /** cvtss2sd: binary64 at d = binary32 at a. */
  cvt32to64(d: number, a: number): number {
    this.de = 0;
    this.load32(a, 0); const ka = this.k;
    const u = this.u32;
    if (ka >= K_QNAN) {
      const w = u[a];
      const frac = w & 0x7fffff;
      u[d] = (frac & 7) << 29;
      u[d + 1] = (w & 0x80000000) | 0x7ff80000 | (frac >>> 3);
      return ka === K_SNAN ? MX_IE : 0;
    }
    this.f64[d >>> 1] = FX[0];
    return this.de;
  }

  /** cvtsd2ss: binary32 at d = binary64 at a, rounded per MXCSR. */
  cvt64to32(d: number, a: number): number {
    this.de = 0;
    this.load64(a, 0); const ka = this.k;
    const u = this.u32;
    if (ka >= K_QNAN) {
      const h = u[a + 1];
      u[d] = (h & 0x80000000) | 0x7fc00000 | ((h & 0xfffff) << 3) | (u[a] >>> 29);
      return ka === K_SNAN ? MX_IE : 0;
    }
    if (ka === K_ZERO || ka === K_INF || FX[0] === 0) { this.f32[d] = FX[0]; return this.de; }
    // A product with 1 is exact, so mul() reduces to a pure rounding to binary32.
    FX[1] = 1;
    mul(F32, this.mxcsr);
    this.f32[d] = FX[2];
    return this.de | opFlags;
  }

  // ---- integer -> float ----
  /** cvtsi2sd r32: exact. */
  cvtI32to64(d: number, v: number): number { this.f64[d >>> 1] = v | 0; return 0; }

  /** cvtsi2ss r32. */
  cvtI32to32(d: number, v: number): number {
    FX[0] = 0; FX[1] = v | 0;
    fromInt(F32, this.mxcsr);
    this.f32[d] = FX[2];
    return opFlags;
  }

  /** cvtsi2sd r64 given as (lo, hi) 32-bit halves. */
  cvtI64to64(d: number, lo: number, hi: number): number {
    FX[0] = (hi | 0) * 4294967296; FX[1] = lo >>> 0;
    fromInt(F64, this.mxcsr);
    this.f64[d >>> 1] = FX[2];
    return opFlags;
  }

  cvtI64to32(d: number, lo: number, hi: number): number {
    FX[0] = (hi | 0) * 4294967296; FX[1] = lo >>> 0;
    fromInt(F32, this.mxcsr);
    this.f32[d] = FX[2];
    return opFlags;
  }

  // ---- float -> integer: result in intLo (and intHi for 64-bit); out of range / NaN -> indefinite + IE ----
  /** Converts FX[0] (class k). */
  private toInt(k: number, truncate: boolean, bits64: boolean): number {
    if (k >= K_INF) return this.indefinite(bits64);
    roundToInt(truncate ? 3 : (this.mxcsr >>> MX_RC_SHIFT) & 3);
    const r = FX[2], x = FX[0];
    if (bits64) {
      if (!(r >= -9223372036854775808 && r < 9223372036854775808)) return this.indefinite(true);
      const hi = Math.floor(r / 4294967296);
      this.intHi = hi | 0;
      this.intLo = (r - hi * 4294967296) | 0;
    } else {
      if (!(r >= -2147483648 && r <= 2147483647)) return this.indefinite(false);
      this.intLo = r | 0;
      this.intHi = 0;
    }
    return r !== x ? MX_PE : 0; // no DE: conversions to integer do not report denormal operands
  }

  private indefinite(bits64: boolean): number {
    if (bits64) { this.intLo = 0; this.intHi = 0x80000000 | 0; } else { this.intLo = 0x80000000 | 0; this.intHi = 0; }
    return MX_IE;
  }

  /** cvtsd2si / cvttsd2si (truncate) of the binary64 at a; 32- or 64-bit result. */
  cvt64toInt(a: number, truncate: boolean, bits64: boolean): number {
    this.de = 0;
    this.load64(a, 0);
    return this.toInt(this.k, truncate, bits64);
  }

  cvt32toInt(a: number, truncate: boolean, bits64: boolean): number {
    this.de = 0;
    this.load32(a, 0);
    return this.toInt(this.k, truncate, bits64);
  }
}

