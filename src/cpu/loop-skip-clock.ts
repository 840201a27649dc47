// Clock-bound loops in the loop fast-forward (loop-skip.ts): `while (uptime::now() < deadline);` (OSv's tst-pin,
// kvmclock: pvclock::system_time = rdtsc - tsc_timestamp, scaled by tsc_to_system_mul and tsc_shift, plus
// system_time). No counter changes in such a loop: its only input that moves is the TSC, which every iteration
// reads exactly one period later (its instructions at 2^shift ns each plus the TSC-read charges: wait-cost.ts).
//
// Why a jump over n iterations is exact. As for counted loops, only this vCPU runs while it runs its quantum, so
// an iteration is a function of the state at its start and of the TSC values it reads. The pass below simulates
// one iteration with every value either untainted (a function of untainted state: the same every iteration) or
// derived from the TSC; a derived value must be affine in the iteration number k: v(k) = v0 + k * step modulo
// 2^64 (mod 2^32 for a 32-bit memory word), with v0 and step exact integers the pass computes. Copies, add, sub,
// neg, not, inc, dec, shl, lea and multiplication by an untainted constant keep that form modulo 2^64. The
// operations that do not (a right shift, the high half of a product, a zero-extending 32-bit write, an OR used as
// an add, a comparison) keep it only while the operand does not wrap, and, for a right shift by c (or the
// 128-bit product shifted right by c with shrd, pvclock's scale), only when step * scale is a multiple of 2^c:
// that is the exact-scale proof (kvmclock's mul 2^31, shift 1 passes; a 2.4-GHz scale does not). Each such use
// records a constraint on k; a value that is neither affine nor untainted ("poison", e.g. pvclock's `shr %cl`
// result that the cmovns discards) may only be overwritten, never read, kept at the end, or be live where the
// jump is made. A branch may read flags derived from the TSC only when they come from a cmp/sub of two affine
// values and test an order or equality: the outcome is then fixed while neither operand wraps and their
// difference keeps its sign, which bounds k too (the loop's exit, and tst-clock's `now >= prev`, whose
// difference has step 0). The skipper runs two iterations for real, checks the TSC moved by the period and the
// simulation predicted every register and store, then jumps n iterations with n inside every bound, minus a
// margin, so the exit and the last iterations run for real, and charges their TSC reads as running them would.
import type { Cpu } from './cpu.js';
import { Decoder } from './decoder.js';
import { EA_64, EA_RIP, type Handler, type Insn } from './insn.js';
import { decodeSample } from './jit/forms.js';
import type { Exec } from './exec.js';
import { formOf, MARGIN, readRam, reject, REJECT, walkPath, type PathPass, type Step } from './loop-skip.js';

const M64 = (1n << 64n) - 1n;
const M32 = 0xffffffffn;

/** What the board tells the skipper about guest time (machine.ts fills it in). */
export interface SkipClock {
  /** Guest ns per instruction (2^icount-shift). */
  readonly nsPerInsn: number;
  /** Guest ns a TSC read adds beyond its instruction time. */
  readonly tscExtraNs: number;
  /** Guest ns left in the running vCPU's quantum. */
  leftNs(): number;
  /**
   * The run stopped on a request (a TSC read's charge): the new instruction budget when the board would run the
   * vCPU on with a recomputed budget (the request is then consumed), or -1 when the quantum ends here.
   */
  resume(): number;
  /** Charges the TSC-read latency of skipped iterations. */
  stall(ns: number): void;
}

export type ClockForm = 'rdtsc' | 'rdtscp' | 'lfence';

let table: Map<Handler, ClockForm> | null = null;

/** rdtsc, rdtscp, lfence: the forms only clock loops have. */
export function clockForm(i: Insn): ClockForm | null {
  if (table === null) {
    table = new Map();
    const d = new Decoder();
    for (const [bytes, f] of [['0f 31', 'rdtsc'], ['0f 01 f9', 'rdtscp'], ['0f ae e8', 'lfence']] as [string, ClockForm][]) {
      const s = decodeSample(d, bytes);
      if (s !== null) table.set(s.h, f);
    }
  }
  const f = table.get(i.h) ?? null;
  // lfence runs the nop handler (as mfence, sfence and every multi-byte nop do): only 0f ae /5 is the fence.
  if (f === 'lfence' && (i.mem || i.reg !== 5)) return null;
  return f;
}


/**
 * A simulated value: v its value in the checked iteration (unsigned, `bits` wide); step null when untainted;
 * poison: TSC-derived but not affine. pair: the 128-bit product a mul left in rdx:rax (shrd may recombine it).
 */
interface CV { v: bigint; known: boolean; step: bigint | null; poison: boolean; pair?: Pair; half?: 'lo' | 'hi'; lazy?: Lazy }
/** A constant quotient whose bound is recorded when it is used: a right shift folded into it first widens it. */
interface Lazy { x: CV; bits: number; sgn: boolean; m: bigint; sh: number; done: boolean }
interface Pair { x: CV; m: bigint }

const U = (v: bigint, known = true): CV => ({ v, known, step: null, poison: false });
const POISON: CV = { v: 0n, known: false, step: null, poison: true };

/** A constraint: `v + k * step` stays within [0, 2^bits) (signed: within the signed range) for the k jumped. */
interface NoWrap { v: bigint; step: bigint; bits: number; signed: boolean }
/** A branch's order: a(k) - b(k) = d + k * dd keeps its sign (and zero-ness) as integers. */
interface Order { d: bigint; dd: bigint }
/**
 * A quotient held constant: floor((x + k * step) * m / 2^sh) stays what it is at k = 0 (x, m exact integers).
 * The high half of a product by a constant (clock_gettime's division by 10^9: imul by its reciprocal, sar) and
 * a right shift whose count the step is no multiple of are such quotients: constant until the next multiple.
 */
interface Quotient { x: bigint; step: bigint; m: bigint; sh: bigint }

/** What is derived from the TSC at one trace boundary: registers and memory words with their steps, flags. */
export interface ClockBoundary { regs: Map<number, bigint>; mem: Map<number, { size: number; step: bigint }>; flagsTainted: boolean; poison: boolean }

export interface ClockAnalysis {
  at: ClockBoundary[];
  /** Registers at the end of the iteration (known ones), for the check against the real iteration. */
  end: (CV | null)[];
  /** Memory words the iteration writes: values it leaves, and their steps (null: untainted). */
  writes: { lin: number; size: number; v: bigint; known: boolean; step: bigint | null }[];
  noWrap: NoWrap[];
  orders: Order[];
  quotients: Quotient[];
  /** TSC values the simulated iteration reads. */
  tscs: number[];
}

function signed(v: bigint, bits: number): bigint {
  return BigInt.asIntN(bits, v);
}

function mask(bits: number): bigint {
  return bits === 64 ? M64 : bits === 32 ? M32 : (1n << BigInt(bits)) - 1n;
}

function parity(v: bigint): boolean {
  let b = Number(v & 0xffn), p = 1;
  while (b) { p ^= b & 1; b >>= 1; }
  return p === 1;
}

/** Flags of the last producer, evaluated when known and untainted. */
interface Flags { tainted: boolean; known: boolean; cf: boolean; zf: boolean; sf: boolean; of: boolean; pf: boolean; order: { a: CV; b: CV; bits: number } | null }

const FLAGS_NONE: Flags = { tainted: false, known: false, cf: false, zf: false, sf: false, of: false, pf: false, order: null };

function evalCc(f: Flags, cc: number): boolean {
  if (!f.known) reject();
  let r: boolean;
  switch (cc >> 1) {
    case 0: r = f.of; break;
    case 1: r = f.cf; break;
    case 2: r = f.zf; break;
    case 3: r = f.cf || f.zf; break;
    case 4: r = f.sf; break;
    case 5: r = f.pf; break;
    case 6: r = f.sf !== f.of; break;
    default: r = f.zf || f.sf !== f.of; break;
  }
  return (cc & 1) === 1 ? !r : r;
}

/** Memory access for the pass (loop-skip.ts's readRam: RAM only, no page crossing). */
export type RamReader = (cpu: Cpu, lin: number, size: number) => { lo: number; hi: number };

export interface ClockHead { regs: Map<number, bigint>; mem: Map<number, { size: number; step: bigint }>; flagsTainted: boolean }


const OP_ADD = 0, OP_OR = 1, OP_ADC = 2, OP_SBB = 3, OP_AND = 4, OP_SUB = 5, OP_XOR = 6, OP_CMP = 7, OP_TEST = 8;

/** One simulated iteration (see the top of the file). */
class ClockPass implements PathPass<string> {
  readonly r: CV[] = [];
  flags: Flags = FLAGS_NONE;
  readonly mem = new Map<number, { size: number; cv: CV }>();
  readonly writes: { lin: number; size: number }[] = [];
  readonly noWrap: NoWrap[] = [];
  readonly orders: Order[] = [];
  readonly quotients: Quotient[] = [];
  readonly at: ClockBoundary[] = [];
  retTarget = NaN;
  private tscK = 0;

  constructor(private readonly cpu: Cpu, private readonly head: ClockHead, private readonly readRam: RamReader,
    private readonly tscs: number[]) {
    for (let n = 0; n < 16; n++) {
      const v = (BigInt(cpu.r32[2 * n + 1] >>> 0) << 32n) | BigInt(cpu.r32[2 * n] >>> 0);
      const step = head.regs.get(n);
      this.r.push({ v, known: true, step: step ?? null, poison: false });
    }
    // The flags at the head are the previous iteration's last: derived from the TSC when those are.
    if (head.flagsTainted) this.flags = { ...FLAGS_NONE, tainted: true };
  }

  private tainted(v: CV): boolean {
    return v.step !== null || v.poison;
  }

  /** A value read for a use that needs it affine or untainted. */
  private use(v: CV): CV {
    if (v.poison) reject();
    return v;
  }

  private noWrapOf(v: CV, bits: number, sgn: boolean): void {
    if (v.step === null) return;
    this.noWrap.push({ v: sgn ? signed(v.v, bits) : v.v & mask(bits), step: signed(v.step, bits), bits, signed: sgn });
  }

  /** Records the bound of a quotient about to be used (once). */
  private force(v: CV): CV {
    const z = v.lazy;
    if (z !== undefined && !z.done) {
      z.done = true;
      this.noWrapOf(z.x, z.bits, z.sgn);
      const xv = z.sgn ? signed(z.x.v, z.bits) : z.x.v & mask(z.bits);
      this.quotients.push({ x: xv, step: signed(z.x.step!, z.bits), m: z.m, sh: BigInt(z.sh) });
    }
    return v;
  }

  /** Register n as held (boundaries, the end): a quotient there is used. */
  held(n: number): CV {
    return this.force(this.r[n]);
  }

  private reg(n: number, size: number): CV {
    this.force(this.r[size === 8 ? n >> 3 : n]);
    if (size === 8) {
      const r = n >> 3, sh = BigInt(8 * (n & 7)), v = this.r[r];
      if (this.tainted(v)) reject();
      return U((v.v >> sh) & 0xffn, v.known);
    }
    const v = this.r[n];
    if (size === 64) return v;
    if (v.poison) return POISON;
    const m = mask(size);
    return { v: v.v & m, known: v.known, step: v.step === null ? null : v.step & m, poison: false };
  }

  private setReg(n: number, size: number, v: CV): void {
    if (size < 32) {
      const r = size === 8 ? n >> 3 : n;
      if (this.tainted(v) || this.tainted(this.r[r])) reject();
      const sh = size === 8 ? BigInt(8 * (n & 7)) : 0n, m = mask(size) << sh;
      const old = this.r[r];
      this.r[r] = U((old.v & ~m & M64) | ((v.v << sh) & m), old.known && v.known);
      return;
    }
    if (size === 32) {
      // Zero-extended: a 32-bit affine value stays affine in the 64-bit register only while it does not wrap.
      if (v.poison) { this.r[n] = POISON; return; }
      this.noWrapOf(v, 32, false);
      this.r[n] = { v: v.v & M32, known: v.known, step: v.step === null ? null : signed(v.step, 32) & M64, poison: false };
      return;
    }
    this.r[n] = v;
  }

  private addr(n: number): bigint {
    const v = this.r[n];
    if (!v.known || this.tainted(v)) reject();
    return v.v;
  }

  private ea(i: Insn, next: number, lea = false): number {
    let a: bigint;
    if (i.eaKind === EA_RIP) a = BigInt(next + i.disp);
    else if (i.eaKind === EA_64) {
      a = BigInt(i.disp);
      if (i.base >= 0) a += this.addr(i.base);
      if (i.index >= 0) a += this.addr(i.index) * BigInt(i.scale);
    } else reject();
    // As the interpreter forms it (operands.ts ea64): the 64-bit sum, signed (TLS offsets below FS are negative).
    if (!lea) a += BigInt(this.cpu.segBase[i.seg]);
    const n = Number(BigInt.asIntN(64, a));
    if (!(n < 2 ** 52 && n > -(2 ** 52))) reject();
    return n;
  }

  private cellAt(lin: number, size: number): { size: number; cv: CV } | undefined {
    const end = lin + size / 8;
    for (const [at, c] of this.mem) {
      if (at === lin && c.size === size) return c;
      if (at < end && lin < at + c.size / 8) reject();
    }
    return undefined;
  }

  private load(lin: number, size: number): CV {
    const c = this.cellAt(lin, size);
    if (c) return c.cv;
    for (const [at, h] of this.head.mem) {
      if (at === lin && h.size === size) {
        const v = this.readRam(this.cpu, lin, size);
        return { v: this.big(v, size), known: true, step: h.step, poison: false };
      }
      if (at < lin + size / 8 && lin < at + h.size / 8) reject();
    }
    const v = this.readRam(this.cpu, lin, size);
    return U(this.big(v, size));
  }

  private big(v: { lo: number; hi: number }, size: number): bigint {
    return size === 64 ? (BigInt(v.hi >>> 0) << 32n) | BigInt(v.lo >>> 0) : BigInt(v.lo >>> 0) & mask(size);
  }

  private store(lin: number, size: number, v: CV): void {
    if (v.poison || (v.step !== null && size < 32) || v.pair !== undefined) {
      if (v.poison || size < 32) reject();
    }
    this.readRam(this.cpu, lin, size);
    const m = mask(size);
    const cv: CV = { v: v.v & m, known: v.known, step: v.step === null ? null : v.step & m, poison: false };
    if (!this.cellAt(lin, size)) this.writes.push({ lin, size });
    this.mem.set(lin, { size, cv });
  }

  private rm(i: Insn, next: number, size: number): CV {
    return i.mem ? this.load(this.ea(i, next), size) : this.reg(i.rm, size);
  }

  private setRm(i: Insn, next: number, size: number, v: CV): void {
    if (i.mem) this.store(this.ea(i, next), size, v);
    else this.setReg(i.rm, size, v);
  }

  private moveRsp(by: number): void {
    const v = this.addr(4);
    this.r[4] = U((v + BigInt(by)) & M64);
  }

  boundary(): void {
    const regs = new Map<number, bigint>();
    let poison = false;
    for (let n = 0; n < 16; n++) {
      const v = this.held(n);
      if (v.poison) poison = true;
      else if (v.step !== null) regs.set(n, v.step);
    }
    const mem = new Map<number, { size: number; step: bigint }>();
    for (const [lin, h] of this.head.mem) if (!this.mem.has(lin)) mem.set(lin, h);
    for (const [lin, c] of this.mem) if (c.cv.step !== null) mem.set(lin, { size: c.size, step: c.cv.step });
    this.at.push({ regs, mem, flagsTainted: this.flags.tainted, poison });
  }

  private setFlagsArith(a: CV, b: CV, sub: boolean, bits: number): CV {
    const m = mask(bits), known = a.known && b.known;
    const r = (sub ? a.v - b.v : a.v + b.v) & m;
    const tainted = this.tainted(a) || this.tainted(b);
    const step = tainted ? (((a.step ?? 0n) + (sub ? -(b.step ?? 0n) : (b.step ?? 0n))) & m) : null;
    const top = 1n << BigInt(bits - 1);
    const sa = (a.v & top) !== 0n, sb = (b.v & top) !== 0n, sr = (r & top) !== 0n;
    this.flags = {
      tainted, known,
      cf: sub ? a.v < b.v : a.v + b.v > m, zf: r === 0n, sf: sr,
      of: sub ? sa !== sb && sr !== sa : sa === sb && sr !== sa, pf: parity(r),
      order: tainted && sub ? { a, b, bits } : null,
    };
    if (a.poison || b.poison) return POISON;
    return { v: r, known, step, poison: false };
  }

  private setFlagsLogic(r: CV, bits: number): void {
    const top = 1n << BigInt(bits - 1);
    this.flags = { tainted: this.tainted(r), known: r.known && !this.tainted(r), cf: false, zf: r.v === 0n, sf: (r.v & top) !== 0n, of: false, pf: parity(r.v), order: null };
  }

  private taintFlags(tainted: boolean): void {
    this.flags = { ...FLAGS_NONE, tainted };
  }

  insn(i: Insn, form: string, next: number): void {
    const s = i.size;
    switch (form) {
      case 'nop': case 'jmp': case 'lfence': return;
      case 'rdtsc': case 'rdtscp': {
        // The TSC: eax moves by the period, edx stays put while eax does not wrap (a constraint).
        const t = this.tscs[this.tscK++];
        if (t === undefined) reject();
        const lo: CV = { v: BigInt(t % 2 ** 32), known: true, step: 1n, poison: false };
        this.noWrap.push({ v: lo.v, step: 1n, bits: 32, signed: false });
        this.r[0] = lo;
        this.r[2] = U(BigInt(Math.floor(t / 2 ** 32)));
        if (form === 'rdtscp') this.r[1] = U(BigInt(this.cpu.tscAux >>> 0));
        return;
      }
      case 'movRmR': this.setRm(i, next, s, this.reg(i.reg, s)); return;
      case 'movRRm': this.setReg(i.reg, s, this.rm(i, next, s)); return;
      case 'movRmI': this.setRm(i, next, s, U(s === 64 ? ((BigInt(i.immHi >>> 0) << 32n) | BigInt(i.imm >>> 0)) : BigInt(i.imm >>> 0) & mask(s))); return;
      case 'lea': {
        // base + index * scale + disp of affine parts is affine (modulo 2^64).
        if (i.eaKind !== EA_64 && i.eaKind !== EA_RIP) reject();
        let v = i.eaKind === EA_RIP ? BigInt(next + i.disp) : BigInt(i.disp), step: bigint | null = null, known = true;
        const part = (n: number, sc: bigint) => {
          const x = this.use(this.r[n]);
          v += x.v * sc; known &&= x.known;
          if (x.step !== null) step = (step ?? 0n) + x.step * sc;
        };
        if (i.eaKind === EA_64) { if (i.base >= 0) part(i.base, 1n); if (i.index >= 0) part(i.index, BigInt(i.scale)); }
        const st = step as bigint | null;
        this.setReg(i.reg, s, { v: v & mask(s), known, step: st === null ? null : st & mask(s), poison: false });
        return;
      }
      case 'movzxB': case 'movzxW': case 'movsxB': case 'movsxW': case 'movsxd': {
        const bits = form === 'movsxd' ? 32 : form.endsWith('B') ? 8 : 16;
        const src = this.rm(i, next, bits);
        if (this.tainted(src)) { this.setReg(i.reg, s, POISON); return; }
        let v = src.v;
        if (form.startsWith('movsx')) v = BigInt.asUintN(s, signed(v, bits));
        this.setReg(i.reg, s, U(v & mask(s), src.known));
        return;
      }
      case 'aluRmR': case 'aluRRm': case 'aluRmI': this.alu(i, form, next); return;
      case 'incdec': {
        const v = this.rm(i, next, s);
        const cf = this.flags.cf, fk = this.flags.known;
        const r = this.setFlagsArith(v, U(1n), i.op !== 0, s);
        this.flags = { ...this.flags, cf, known: this.flags.known && fk, order: null };
        if (this.flags.tainted) this.flags = { ...FLAGS_NONE, tainted: true };
        this.setRm(i, next, s, r);
        return;
      }
      case 'push': {
        const v = this.reg(i.reg, 64);
        this.store(Number(this.addr(4) - 8n), 64, v);
        this.moveRsp(-8);
        return;
      }
      case 'pop': {
        if (i.reg === 4) reject();
        const v = this.load(Number(this.addr(4)), 64);
        this.moveRsp(8);
        this.setReg(i.reg, 64, v);
        return;
      }
      case 'leave': {
        this.r[4] = U(this.addr(5));
        const v = this.load(Number(this.addr(4)), 64);
        this.moveRsp(8);
        this.setReg(5, 64, v);
        return;
      }
      case 'call': {
        this.store(Number(this.addr(4) - 8n), 64, U(BigInt(next)));
        this.moveRsp(-8);
        return;
      }
      case 'jmpInd': case 'callInd': {
        const v = this.rm(i, next, 64);
        if (this.tainted(v) || !v.known) reject();
        if (form === 'callInd') {
          this.store(Number(this.addr(4) - 8n), 64, U(BigInt(next)));
          this.moveRsp(-8);
        }
        this.retTarget = Number(v.v);
        return;
      }
      case 'ret': {
        if (i.imm !== 0) reject();
        const v = this.load(Number(this.addr(4)), 64);
        if (this.tainted(v) || !v.known) reject();
        this.moveRsp(8);
        this.retTarget = Number(v.v);
        return;
      }
      case 'jcc': {
        // The path is the recorded one: a condition on TSC-derived flags only has to stay what it was.
        if (this.flags.tainted) this.cond(i.op);
        return;
      }
      case 'cmov': {
        const src = this.rm(i, next, s), old = this.reg(i.reg, s);
        if (!this.flags.tainted && !this.flags.known) {
          if (this.tainted(src) || this.tainted(old)) reject();
          this.setReg(i.reg, s, U(0n, false));
          return;
        }
        this.setReg(i.reg, s, this.cond(i.op) ? src : old);
        return;
      }
      case 'setcc': {
        this.setRm(i, next, 8, !this.flags.tainted && !this.flags.known ? U(0n, false) : U(this.cond(i.op) ? 1n : 0n));
        return;
      }
      case 'shiftImm': case 'shift': this.shift(i, next); return;
      case 'negnot': {
        const v = this.use(this.rm(i, next, s)), m = mask(s);
        if (i.op === 3) {
          const r = this.setFlagsArith(U(0n), v, true, s);
          this.flags = { ...this.flags, cf: v.v !== 0n, order: null };
          if (this.flags.tainted) this.flags = { ...FLAGS_NONE, tainted: true };
          this.setRm(i, next, s, r);
        } else if (i.op === 2) {
          this.setRm(i, next, s, { v: ~v.v & m, known: v.known, step: v.step === null ? null : -v.step & m, poison: false });
        } else reject();
        return;
      }
      case 'imul': {
        // reg = r/m * (imm or reg), the low half: affine times an untainted constant stays affine modulo 2^size.
        const a = this.use(this.rm(i, next, s));
        const b = i.op ? U(BigInt.asUintN(s, BigInt(i.imm | 0))) : this.use(this.reg(i.reg, s));
        if (a.step !== null && b.step !== null) reject();
        const m = mask(s), known = a.known && b.known;
        let step: bigint | null = null;
        if (a.step !== null || b.step !== null) {
          const [t, c] = a.step !== null ? [a, b] : [b, a];
          if (!c.known) reject();
          step = (t.step! * c.v) & m;
        }
        this.taintFlags(step !== null);
        if (step === null) this.flags = { ...FLAGS_NONE };
        this.setReg(i.reg, s, { v: (a.v * b.v) & m, known, step, poison: false });
        return;
      }
      case 'mulWide': this.mulWide(i, next); return;
      case 'shxd': this.shxd(i, next); return;
      default: reject();
    }
  }

  private alu(i: Insn, form: string, next: number): void {
    const s = i.size, op = i.op, m = mask(s);
    const dstIsReg = form === 'aluRRm';
    const a = dstIsReg ? this.reg(i.reg, s) : this.rm(i, next, s);
    const b: CV = form === 'aluRmI' ? U(BigInt.asUintN(s, s === 64 ? (BigInt(i.immHi) << 32n) | BigInt(i.imm >>> 0) : BigInt(i.imm))) : form === 'aluRmR' ? this.reg(i.reg, s) : this.rm(i, next, s);
    const same = form !== 'aluRmI' && !i.mem && i.reg === i.rm;
    let r: CV;
    if (same && (op === OP_XOR || op === OP_SUB)) {
      // xor/sub of a register with itself: zero whatever it held.
      r = U(0n);
      this.setFlagsLogic(r, s);
      if (op === OP_SUB) this.flags = { ...this.flags, known: true };
    } else if (op === OP_ADD || op === OP_SUB || op === OP_CMP) {
      r = this.setFlagsArith(this.use(a), this.use(b), op !== OP_ADD, s);
    } else if (op === OP_ADC || op === OP_SBB) {
      // The carry in may come from a TSC-derived comparison (`cmp prev,now; adc $0,back`: tst-clock's check).
      if (this.tainted(a) || this.tainted(b)) reject();
      const cf = this.flags.tainted || this.flags.known ? BigInt(this.cond(2)) : -1n;
      r = cf < 0n ? U(0n, false) : U((op === OP_ADC ? a.v + b.v + cf : a.v - b.v - cf) & m, a.known && b.known);
      this.flags = { ...FLAGS_NONE };
    } else {
      const ta = this.tainted(a), tb = this.tainted(b);
      if (!ta && !tb) {
        const v = op === OP_OR ? a.v | b.v : op === OP_XOR ? a.v ^ b.v : a.v & b.v;
        r = U(v & m, a.known && b.known);
        this.setFlagsLogic(r, s);
      } else {
        // An OR of a 32-bit affine value with a constant whose low half is zero is an add (rdtsc's hi << 32 | lo).
        const [t, c] = ta ? [a, b] : [b, a];
        if (op === OP_OR && s === 64 && !t.poison && t.step !== null && c.step === null && !c.poison && c.known && (c.v & M32) === 0n &&
          (t.v >> 32n) === 0n && this.fits32(t)) {
          r = { v: t.v | c.v, known: t.known, step: t.step, poison: false };
        } else r = POISON;
        this.taintFlags(true);
      }
    }
    if (op === OP_CMP || op === OP_TEST) return;
    if (dstIsReg) this.setReg(i.reg, s, r);
    else this.setRm(i, next, s, r);
  }

  /**
   * floor(x * m / 2^sh) of an affine x (read at `bits`, signed or not) and an untainted m: an untainted constant
   * while it does not change (a bound on the iterations jumped), x not wrapping either.
   */
  private quotient(x: CV, bits: number, sgn: boolean, m: bigint, sh: number): CV {
    const xv = sgn ? signed(x.v, bits) : x.v & mask(bits);
    return { ...U(BigInt.asUintN(64, (xv * m) >> BigInt(sh)), x.known), lazy: { x, bits, sgn, m, sh, done: false } };
  }

  /**
   * Condition cc on the current flags. On TSC-derived flags only an order or equality of a cmp/sub of affine
   * values: fixed while neither wraps and their difference keeps its sign (b/ae/e/ne/be/a compare unsigned
   * values, l/ge/le/g signed ones), which becomes a bound on the iterations jumped.
   */
  private cond(cc: number): boolean {
    const f = this.flags;
    if (f.tainted) {
      const o = f.order;
      if (o === null || !((cc >= 2 && cc <= 7) || cc >= 12) || !o.a.known || !o.b.known) reject();
      const sgn = cc >= 12;
      this.noWrapOf(o.a, o.bits, sgn);
      this.noWrapOf(o.b, o.bits, sgn);
      const av = sgn ? signed(o.a.v, o.bits) : o.a.v & mask(o.bits), bv = sgn ? signed(o.b.v, o.bits) : o.b.v & mask(o.bits);
      this.orders.push({ d: av - bv, dd: signed(o.a.step ?? 0n, o.bits) - signed(o.b.step ?? 0n, o.bits) });
    }
    return evalCc(f, cc);
  }

  /** An affine value known to stay below 2^32: a 32-bit register write recorded its no-wrap constraint. */
  private fits32(t: CV): boolean {
    return this.noWrap.some((c) => c.bits === 32 && !c.signed && c.v === (t.v & M32) && (c.step & M64) === (signed(t.step!, 32) & M64));
  }

  /** A shift's count: the immediate, or CL (which must be untainted and known), masked as the processor does. */
  private count(i: Insn, s: number): number {
    if (i.imm2 === 0) return i.imm & (s === 64 ? 63 : 31);
    const cl = this.r[1];
    if (this.tainted(cl) || !cl.known) reject();
    return Number(cl.v & 0xffn) & (s === 64 ? 63 : 31);
  }

  private shift(i: Insn, next: number): void {
    const s = i.size, m = mask(s);
    const c = this.count(i, s);
    const z = i.mem || s !== 64 ? undefined : this.r[i.rm].lazy;
    if (z !== undefined && !z.done && c !== 0 && (z.sgn ? i.op === 7 : i.op === 5)) {
      // floor(floor(X / 2^a) / 2^c) = floor(X / 2^(a + c)): clock_gettime's `sar $26` after the reciprocal's imul.
      this.flags = { ...FLAGS_NONE };
      this.r[i.rm] = this.quotient(z.x, z.bits, z.sgn, z.m, z.sh + c);
      return;
    }
    const v = this.rm(i, next, s);
    if (c === 0) {
      // No count: flags untouched; a 32-bit register is still zero-extended.
      this.setRm(i, next, s, v);
      return;
    }
    if (!this.tainted(v)) {
      let r: bigint;
      if (i.op === 4) r = (v.v << BigInt(c)) & m;
      else if (i.op === 5) r = v.v >> BigInt(c);
      else if (i.op === 7) r = BigInt.asUintN(s, signed(v.v, s) >> BigInt(c));
      else reject();
      this.flags = { ...FLAGS_NONE };
      this.setRm(i, next, s, U(r, v.known));
      return;
    }
    this.taintFlags(true);
    if (v.poison) { this.setRm(i, next, s, POISON); return; }
    const step = v.step!, sh = BigInt(c);
    if (i.op === 4) { this.setRm(i, next, s, { v: (v.v << sh) & m, known: v.known, step: (step << sh) & m, poison: false }); return; }
    // shr/sar: floor((v + k step) / 2^c) = floor(v / 2^c) + k step / 2^c when 2^c divides the step and v does not wrap.
    const sgn = i.op === 7;
    const st = signed(step, s);
    if (i.op !== 5 && !sgn) { this.setRm(i, next, s, POISON); return; }
    if (st % (1n << sh) !== 0n) { this.setRm(i, next, s, this.quotient(v, s, sgn, 1n, c)); return; }
    this.noWrapOf(v, s, sgn);
    const r = sgn ? BigInt.asUintN(s, signed(v.v, s) >> sh) : v.v >> sh;
    this.setRm(i, next, s, { v: r, known: v.known, step: (st >> sh) & m, poison: false });
  }

  private mulWide(i: Insn, next: number): void {
    const s = i.size;
    if (i.op === 5 && s === 64) {
      // imul r/m64 (signed, rdx:rax): clock_gettime divides by 10^9 with the high half of a product by its reciprocal.
      const a = this.use(this.reg(0, 64)), b = this.use(this.rm(i, next, 64));
      if (a.step !== null && b.step !== null) reject();
      const p = signed(a.v, 64) * signed(b.v, 64);
      this.taintFlags(a.step !== null || b.step !== null);
      if (a.step === null && b.step === null) {
        this.flags = { ...FLAGS_NONE };
        this.r[0] = U(BigInt.asUintN(64, p), a.known && b.known); this.r[2] = U(BigInt.asUintN(64, p >> 64n), a.known && b.known);
        return;
      }
      const [x, k] = a.step !== null ? [a, b] : [b, a];
      if (!k.known) reject();
      this.r[0] = { v: BigInt.asUintN(64, p), known: x.known, step: (x.step! * k.v) & M64, poison: false };
      this.r[2] = this.quotient(x, 64, true, signed(k.v, 64), 64);
      return;
    }
    if (i.op !== 4 || s !== 64) {
      const a = this.reg(0, s), b = this.rm(i, next, s);
      if (this.tainted(a) || this.tainted(b)) { this.setReg(0, s, POISON); this.setReg(2, s, POISON); this.taintFlags(true); return; }
      this.setReg(0, s, U(0n, false)); this.setReg(2, s, U(0n, false));
      this.flags = { ...FLAGS_NONE };
      return;
    }
    const a = this.use(this.reg(0, 64)), b = this.use(this.rm(i, next, 64));
    const p = a.v * b.v;
    if (a.step === null && b.step === null) {
      this.r[0] = U(p & M64, a.known && b.known); this.r[2] = U(p >> 64n, a.known && b.known);
      this.flags = { ...FLAGS_NONE };
      return;
    }
    if (a.step !== null && b.step !== null) reject();
    const [x, k] = a.step !== null ? [a, b] : [b, a];
    if (!k.known) reject();
    const pair: Pair = { x, m: k.v };
    // The low half alone is affine modulo 2^64; the high half a constant quotient, or with the low one (shrd below)
    // an affine value when the scale is exact.
    this.r[0] = { v: p & M64, known: x.known, step: (x.step! * k.v) & M64, poison: false, pair, half: 'lo' };
    this.r[2] = { ...this.quotient(x, 64, false, k.v, 64), pair, half: 'hi' };
    this.taintFlags(true);
  }

  private shxd(i: Insn, next: number): void {
    const s = i.size;
    const c = this.count(i, s);
    const d = this.rm(i, next, s), src = this.reg(i.reg, s);
    if (c === 0) return;
    if (!this.tainted(d) && !this.tainted(src)) {
      const m = mask(s), sh = BigInt(c);
      const r = i.op === 1 ? ((d.v >> sh) | (src.v << BigInt(s - c))) & m : ((d.v << sh) | (src.v >> BigInt(s - c))) & m;
      this.flags = { ...FLAGS_NONE };
      this.setRm(i, next, s, U(r, d.known && src.known));
      return;
    }
    this.taintFlags(true);
    // shrd $c, hi, lo of one 128-bit product x * m: floor(x * m / 2^c) mod 2^64, affine when 2^c divides
    // step(x) * m and x does not wrap (the exact scale of pvclock: mul * 2^shift a multiple of 2^32).
    if (s === 64 && i.op === 1 && !i.mem && d.half === 'lo' && src.half === 'hi' && d.pair !== undefined && d.pair === src.pair) {
      const { x, m } = d.pair, sh = BigInt(c);
      const st = signed(x.step!, 64) * m;
      if (st % (1n << sh) === 0n) {
        this.noWrapOf(x, 64, false);
        this.setRm(i, next, s, { v: ((x.v * m) >> sh) & M64, known: x.known, step: (st >> sh) & M64, poison: false });
        return;
      }
    }
    this.setRm(i, next, s, POISON);
  }
}

/**
 * Simulates the iteration about to run along `steps` (its TSC reads returning `tscs`), growing what is TSC-derived
 * at the head until it is stable; null when it cannot be proven. `period`: the TSC's move per iteration (ns).
 */
export function analyseClock(cpu: Cpu, steps: Step[], tscs: number[], period: number, readRam: RamReader,
  form: (i: Insn) => string | null): ClockAnalysis | null {
  let head: ClockHead = { regs: new Map(), mem: new Map(), flagsTainted: false };
  const P = BigInt(period);
  try {
    for (let round = 0; round < 6; round++) {
      const p = new ClockPass(cpu, head, readRam, tscs);
      if (!walkPath(steps, p, form)) reject();
      // What the iteration leaves derived from the TSC is derived at the head too, with the same step.
      const regs = new Map<number, bigint>();
      for (let n = 0; n < 16; n++) {
        const v = p.held(n);
        if (v.poison) reject();
        if (v.step !== null) regs.set(n, v.step);
      }
      const mem = new Map<number, { size: number; step: bigint }>();
      for (const [lin, h] of head.mem) if (!p.mem.has(lin)) mem.set(lin, h);
      for (const [lin, c] of p.mem) if (c.cv.step !== null) mem.set(lin, { size: c.size, step: c.cv.step });
      const flagsTainted = head.flagsTainted || p.flags.tainted;
      const same = flagsTainted === head.flagsTainted && regs.size === head.regs.size && [...regs].every(([n, st]) => head.regs.get(n) === st) &&
        mem.size === head.mem.size && [...mem].every(([lin, c]) => head.mem.get(lin)?.step === c.step && head.mem.get(lin)?.size === c.size);
      if (same) {
        // Steps were computed per unit of TSC movement: scale them by the period.
        const scale = (st: bigint, bits: number) => (st * P) & mask(bits);
        const at = p.at.map((b) => ({
          regs: new Map([...b.regs].map(([n, st]) => [n, signed(scale(st, 64), 64)])),
          mem: new Map([...b.mem].map(([lin, c]) => [lin, { size: c.size, step: signed(scale(c.step, c.size), c.size) }])),
          flagsTainted: b.flagsTainted, poison: b.poison,
        }));
        // Bounds use the exact per-iteration moves (a move of 2^(bits-1) or more leaves no room at all).
        const noWrap = p.noWrap.map((c) => ({ ...c, step: c.step * P }));
        return {
          at, end: p.r.map((v) => ({ ...v, step: v.step === null ? null : signed(scale(v.step, 64), 64) })),
          writes: p.writes.map(({ lin, size }) => {
            const c = p.mem.get(lin)!.cv;
            return { lin, size, v: c.v, known: c.known, step: c.step === null ? null : signed(scale(c.step, size), size) };
          }),
          noWrap, orders: p.orders.map((o) => ({ d: o.d, dd: o.dd * P })), quotients: p.quotients.map((q) => ({ ...q, step: q.step * P })), tscs,
        };
      }
      head = { regs, mem, flagsTainted };
    }
    return null;
  } catch (e) {
    if (e === REJECT) return null;
    throw e;
  }
}

/** The largest K such that every constraint holds for all k in [0, K] (capped at `cap`). */
export function clockRoom(an: ClockAnalysis, cap: number): number {
  let K = BigInt(Math.max(0, Math.floor(cap)));
  for (const c of an.noWrap) {
    const lo = c.signed ? -(1n << BigInt(c.bits - 1)) : 0n, hi = c.signed ? (1n << BigInt(c.bits - 1)) - 1n : (1n << BigInt(c.bits)) - 1n;
    if (c.v < lo || c.v > hi) return -1;
    if (c.step > 0n) K = min(K, (hi - c.v) / c.step);
    else if (c.step < 0n) K = min(K, (c.v - lo) / -c.step);
  }
  for (const q of an.quotients) {
    // (x + k step) m stays within [q0 2^sh, (q0 + 1) 2^sh).
    const X = q.x * q.m, D = q.step * q.m, q0 = X >> q.sh;
    if (D > 0n) K = min(K, (((q0 + 1n) << q.sh) - 1n - X) / D);
    else if (D < 0n) K = min(K, (X - (q0 << q.sh)) / -D);
  }
  for (const o of an.orders) {
    if (o.dd === 0n) continue;
    if (o.d === 0n) return -1;
    // d + k dd keeps d's sign (and stays non-zero) while k < |d| / |dd| (strictly).
    if ((o.d > 0n) === (o.dd > 0n)) continue;
    const ad = o.d < 0n ? -o.d : o.d, add = o.dd < 0n ? -o.dd : o.dd;
    K = min(K, (ad - 1n) / add);
  }
  return Number(K);
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

/** What clockAttempt needs of the skipper (loop-skip.ts). */
export interface ClockSkipper {
  clock: SkipClock | null;
  skippedInsns: number;
  skips: number;
  clockSkips: number;
  clockSkippedInsns: number;
  lastVerdict: string | null;
  cap(exec: Exec): number;
  fail(rip: number, verdict: 'unsupported' | 'changed' | 'not-a-loop' | 'too-short', detail?: string, wait?: number): number;
  iterate(exec: Exec, end: () => number, head: number, expect: Step[] | null, limit?: number, tscs?: number[] | null): Step[] | number | null;
}

/** Per skipper: paths whose proof failed, and how often (host-side: only decides when to look again). */
const unproven = new WeakMap<ClockSkipper, Map<string, number>>();
const MAX_CLOCK_BACKOFF = 4096;

const bigOf = (lo: number, hi: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);

/**
 * Iteration A (`a`, whose TSC reads returned `tscA`) just ran from `head`: proves the loop from the iteration about
 * to run (B), runs B for real and checks it, and jumps. Returns a stop reason to hand back, -1 after a jump, -2 to
 * go on running normally.
 */
export function clockAttempt(sk: ClockSkipper, exec: Exec, end: () => number, head: number, a: Step[], tscA: number[]): number {
  try {
    return attempt(sk, exec, end, head, a, tscA);
  } catch (e) {
    // A location that stopped being plain RAM (readRam) between the proof and the jump.
    if (e === REJECT) { sk.fail(head, 'changed', 'memory'); return -2; }
    throw e;
  }
}

function attempt(sk: ClockSkipper, exec: Exec, end: () => number, head: number, a: Step[], tscA: number[]): number {
  const cpu = exec.cpu, clock = sk.clock;
  const reads = a.reduce((s, st) => s + st.trace.insns.filter((i) => { const f = clockForm(i); return f === 'rdtsc' || f === 'rdtscp'; }).length, 0);
  if (clock === null || reads === 0 || tscA.length !== reads) { sk.fail(head, 'unsupported', 'clock'); return -2; }
  const P = a.reduce((s, st) => s + st.trace.n, 0);
  const T = P * clock.nsPerInsn + reads * clock.tscExtraNs;
  const form = (i: Insn): string | null => formOf(i) ?? clockForm(i);
  const tscB = tscA.map((t) => t + T);
  // Loops of one clock function share their head (inside it): a path that could not be proven waits by itself.
  let failed = unproven.get(sk);
  if (failed === undefined) unproven.set(sk, failed = new Map());
  const key = a.map((st) => st.rip).join();
  const an = analyseClock(cpu, a, tscB, T, readRam, form);
  if (an === null) {
    const n = (failed.get(key) ?? 0) + 1;
    failed.set(key, n);
    sk.fail(head, 'unsupported', 'clock dataflow', Math.min(MAX_CLOCK_BACKOFF, 2 ** n));
    return -2;
  }
  const regsB = cpu.r32.slice();
  const before = an.writes.map((w) => readRam(cpu, w.lin, w.size));
  const tscReal: number[] = [];
  const b = sk.iterate(exec, end, head, a, Infinity, tscReal);
  if (typeof b === 'number') { sk.lastVerdict = 'stopped'; return b; }
  if (b === null || b.length !== a.length) { sk.fail(head, 'changed', 'path'); return -2; }
  // The TSC moved by the period (no clamp to another vCPU's later time, no charge the proof did not count).
  if (tscReal.length !== tscB.length || tscReal.some((t, k) => t !== tscB[k])) { sk.fail(head, 'changed', 'tsc period'); return -2; }
  for (let n = 0; n < 16; n++) {
    const e = an.end[n]!, now = bigOf(cpu.r32[2 * n], cpu.r32[2 * n + 1]), was = bigOf(regsB[2 * n], regsB[2 * n + 1]);
    if (e.known && e.v !== now) { sk.fail(head, 'changed', `register ${n} mispredicted`); return -2; }
    const moved = (now - was) & M64;
    if ((e.step === null && moved !== 0n) || (e.step !== null && moved !== (e.step & M64))) { sk.fail(head, 'changed', `register ${n} step`); return -2; }
  }
  for (let k = 0; k < an.writes.length; k++) {
    const w = an.writes[k], m = mask(w.size);
    const now = BigInt.asUintN(w.size, bigOf(readRam(cpu, w.lin, w.size).lo, readRam(cpu, w.lin, w.size).hi));
    const was = BigInt.asUintN(w.size, bigOf(before[k].lo, before[k].hi));
    if (w.known && now !== w.v) { sk.fail(head, 'changed', `store to 0x${w.lin.toString(16)} mispredicted`); return -2; }
    if (((now - was) & m) !== ((w.step ?? 0n) & m)) { sk.fail(head, 'changed', `store to 0x${w.lin.toString(16)} step`); return -2; }
  }
  // Jump at the first boundary whose flags are not TSC-derived and where nothing held is poison.
  const j = an.at.findIndex((x) => !x.flagsTainted && !x.poison);
  if (j < 0) { sk.fail(head, 'unsupported', 'no boundary'); return -2; }
  if (j > 0) {
    const pre = sk.iterate(exec, end, head, a, j);
    if (typeof pre === 'number') { sk.lastVerdict = 'stopped'; return pre; }
    if (pre === null || pre.length !== j) { sk.fail(head, 'changed', 'path'); return -2; }
  }
  // Iteration B is k = 0; the jump leaves iteration n + 1 at boundary j, and MARGIN more run for real after it.
  const room = clockRoom(an, 2 ** 40);
  // Within run()'s whole budget, not only the chunk `end` closes (chunks only space the looks for loops).
  const fromBudget = Math.floor((sk.cap(exec) - cpu.icount - 1) / P) - MARGIN;
  const fromTime = Math.floor(clock.leftNs() / T) - MARGIN - 1;
  const n = Math.min(room - 1 - MARGIN, fromBudget, fromTime);
  if (n < 1) {
    // A bound this close (a quotient about to change, the exit) holds for a while: look again later.
    if (room - 1 - MARGIN < 1) {
      const f = (failed.get(key) ?? 0) + 1;
      failed.set(key, f);
      sk.fail(head, 'too-short', 'clock bound', Math.min(MAX_CLOCK_BACKOFF, 2 ** f));
    }
    sk.lastVerdict = 'too-short';
    return -2;
  }
  const at = an.at[j], N = BigInt(n);
  // Memory first (the only part that can still reject), then nothing can fail half-way.
  const words = [...at.mem].map(([lin, c]) => {
    const old = readRam(cpu, lin, c.size);
    return { lin, size: c.size, v: (bigOf(old.lo, old.hi) + N * c.step) & mask(c.size) };
  });
  for (const [r, step] of at.regs) {
    const v = (bigOf(cpu.r32[2 * r], cpu.r32[2 * r + 1]) + N * step) & M64;
    cpu.r32[2 * r] = Number(v & M32) | 0;
    cpu.r32[2 * r + 1] = Number(v >> 32n) | 0;
  }
  for (const { lin, size, v } of words) {
    if (size === 64) cpu.mmu.write64(lin, Number(v & M32) | 0, Number(v >> 32n) | 0);
    else cpu.mmu.write32(lin, Number(v) | 0);
  }
  cpu.icount += n * P;
  clock.stall(n * reads * clock.tscExtraNs);
  sk.skippedInsns += n * P;
  sk.skips++;
  sk.clockSkips++;
  sk.clockSkippedInsns += n * P;
  sk.lastVerdict = 'skipped';
  failed.delete(key);
  return -1;
}
