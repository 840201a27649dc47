// Loop fast-forward: a vCPU in a loop whose iterations provably change nothing but a counter (OSv's idle
// poll, `cpu::do_idle`: 10,000 calls of handle_incoming_wakeups() before it halts; a spin on a flag that
// nobody else can write while this vCPU runs) jumps over the iterations left before the loop's exit or
// its quantum's end, and is charged exactly the instructions they would have retired. The state after the
// jump is the state running them would have left, bit for bit (docs/waiting.md, test/cpu/loop-skip.test.ts).
//
// Why it is exact. The board runs one vCPU at a time and takes device events and timers only between quanta
// (a timer falling due cuts the quantum), so while this vCPU runs its quantum nothing else writes memory or
// raises an interrupt: a loop built only of plain moves, stack operations, calls, returns, ALU operations and
// branches (no I/O, no MMIO, no time reads, no flag or mode changes) computes each iteration from the state at
// its start alone. The skipper runs two iterations for real, trace by trace, exactly as run() would (same
// trace boundaries, same budget), then proves the rest by dataflow over the decoded instructions of that path:
// - "tainted" values are those derived from the loop's counter; they may only be copied (mov, push, pop) or
//   moved by a constant (add/sub/cmp with an untainted operand, inc, dec) at 32 or 64 bits, so each changes by
//   the same d per iteration; they may not feed an address, a return target or any flag reader except a
//   je/jne (the exit test, whose first zero is computed);
// - everything else is a function of untainted inputs only, so if one iteration leaves the untainted registers
//   and every untainted location it stores to as they were (checked on the real second iteration: registers,
//   and memory before and after), all later iterations do too, take the same path, touch the same addresses;
// - every access is to RAM, at addresses computed from untainted registers, never straddling a page.
// Then n iterations later the untainted state is the same and each tainted register and memory word is
// d * n further, as long as no tainted value wraps its low 32 bits or reaches zero (bounded with a margin:
// the loop's last iterations run for real). The flags at the point of the jump must be untainted (the jump
// is made at a trace boundary whose last flag producer is not the counter). The skip never crosses the budget:
// the run resumes at the same trace boundary, with the same end, as an unskipped run passes.
import type { Trace } from './codecache.js';
import type { Cpu } from './cpu.js';
import { STOP_BUDGET, STOP_REQUEST, type Exec } from './exec.js';
import { LF_REST } from './flags.js';
import { EA_64, EA_RIP, type Insn } from './insn.js';
import { ACC_READ } from './mmu.js';
import { TF } from './regs.js';
import { formTable, type Form, type FormInfo } from './jit/forms.js';
import { flagsDeadAtHead } from './loop-skip-flags.js';
import { clockAttempt, clockForm, type SkipClock } from './loop-skip-clock.js';
import { fpuState, mmxSkipForm, sameFpuState, type MmxForm } from './loop-skip-mmx.js';

const TWO32 = 4294967296;
/** Longest loop body looked at (instructions, traces). */
const MAX_BODY_INSNS = 400;
const MAX_BODY_TRACES = 48;
/** Tainted values keep this many iterations away from wrapping or reaching zero (the exit runs for real). */
export const MARGIN = 3;
/** Instructions between two looks for a loop in a long budget. */
const CHUNK = 8192;
/** Quanta before a start RIP whose loop could not be skipped is tried again (doubling per failure). */
const MAX_BACKOFF = 4096;
/** 'unsupported' verdicts at a boundary after which it is not tried again (LoopSkipper.fail). */
const UNSUPPORTED_TRIES = 8;

const OP_ADD = 0, OP_ADC = 2, OP_SBB = 3, OP_AND = 4, OP_SUB = 5, OP_XOR = 6, OP_CMP = 7, OP_TEST = 8, OP_OR = 1;

/** Why the last attempt did not skip (tests and the bench read it). */
export type SkipVerdict = 'skipped' | 'not-a-loop' | 'unsupported' | 'changed' | 'too-short' | 'stopped';

export interface Step { trace: Trace; rip: number }

interface Cell { lin: number; size: number; lo: number; hi: number; known: boolean; taint: boolean }

/** A value of the simulated iteration. */
interface Val { lo: number; hi: number; known: boolean; taint: boolean }

/** A tainted value's low half (unsigned) as seen in the checked iteration; `neg`: it moves by -d (x - counter). */
interface Linear { v: number; neg: boolean }

class Reject extends Error {}
/** Thrown by the proof (and readRam) when the loop cannot be reasoned about; caught where the proof is made. */
export const REJECT = new Reject('loop not skippable');

export function reject(): never {
  throw REJECT;
}

/** The state of the dataflow pass at one trace boundary of the body. */
interface Boundary { regT: number; flagsT: boolean; memT: Cell[] }

interface Analysis {
  /** Registers tainted at the body's head (bit n: register n). */
  headRegT: number;
  /** Memory locations written with a tainted value (tainted at the head too). */
  tainted: Cell[];
  /** Every memory location the body writes, in order of first write. */
  writes: Cell[];
  /** Every tainted value the body produced, for the wrap and zero bounds. */
  linear: Linear[];
  /** Per trace boundary k (before steps[k]): what is tainted there. */
  at: Boundary[];
  reads: Cell[];
  /** The registers the pass could compute at the end of the body (bit n), with their values. */
  endKnown: number;
  endLo: Int32Array;
  endHi: Int32Array;
  /** An exit test is a signed comparison with the counter (Pass.signedExit). */
  signedExit: boolean;
}

function forms(): Map<unknown, FormInfo> {
  return formTable() as Map<unknown, FormInfo>;
}

/** The form of an instruction the skipper can reason about, or null. */
export function formOf(i: Insn): Form | MmxForm | null {
  if (i.mode !== 64 || i.rep !== 0) return null;
  const f = forms().get(i.h);
  if (f === undefined) return mmxSkipForm(i);
  if (!f.sizes.has(i.size)) return null;
  if (f.ops.size === 1 && !f.ops.has(i.op)) return null;
  switch (f.form) {
    case 'call': return i.h.name === 'call64' ? 'call' : null;
    case 'ret': return i.h.name === 'ret64' && i.imm === 0 ? 'ret' : null;
    case 'push': case 'pop': return i.size === 64 ? f.form : null;
    default: break;
  }
  if (i.mem && i.eaKind !== EA_64 && !(i.eaKind === EA_RIP && i.index !== -2)) return null;
  return f.form;
}

const MASKS: Record<number, number> = { 8: 0xff, 16: 0xffff };

/** One simulated pass over the body: concrete values where they can be computed, taint everywhere. */
class Pass {
  readonly lo = new Int32Array(16);
  readonly hi = new Int32Array(16);
  known = 0xffff;
  regT: number;
  flagsT: boolean;
  /** The last flag producer's result, when it is tainted and linear (a je/jne may read it). */
  flagsLinear = false;
  /** ...and it was an add, sub or cmp (whose ordered conditions stay put while nothing crosses; see 'jcc'). */
  flagsCmp = false;
  /** A signed condition reads the counter's flags: tainted values must not cross 2^31 either (room()). */
  signedExit = false;
  readonly mem = new Map<number, Cell>();
  readonly writes: Cell[] = [];
  readonly linear: Linear[] = [];
  readonly at: Boundary[] = [];
  /** Untainted loads from memory as it was at the head (the pass's inputs besides the registers). */
  readonly reads: Cell[] = [];

  constructor(private readonly cpu: Cpu, regT: number, flagsT: boolean, private readonly headMemT: Cell[],
    private readonly headMem: Map<number, { lo: number; hi: number }> | null) {
    for (let n = 0; n < 16; n++) { this.lo[n] = cpu.r32[2 * n]; this.hi[n] = cpu.r32[2 * n + 1]; }
    this.regT = regT;
    this.flagsT = flagsT;
  }

  private reg(n: number, size: number): Val {
    if (size === 8) {
      const r = n >> 3, sh = 8 * (n & 7);
      return { lo: (this.lo[r] >>> sh) & 0xff, hi: 0, known: ((this.known >> r) & 1) === 1, taint: ((this.regT >> r) & 1) === 1 };
    }
    const known = ((this.known >> n) & 1) === 1, taint = ((this.regT >> n) & 1) === 1;
    if (size === 64) return { lo: this.lo[n], hi: this.hi[n], known, taint };
    if (size === 32) return { lo: this.lo[n], hi: 0, known, taint };
    return { lo: this.lo[n] & 0xffff, hi: 0, known, taint };
  }

  private setReg(n: number, size: number, v: Val): void {
    // A part-register write keeps the rest of the register: a counter's value would no longer be linear.
    if (size < 32 && (v.taint || ((this.regT >> (size === 8 ? n >> 3 : n)) & 1) === 1)) reject();
    if (size === 8) {
      const r = n >> 3, sh = 8 * (n & 7);
      const merged = (this.lo[r] & ~(0xff << sh)) | ((v.lo & 0xff) << sh);
      this.lo[r] = merged;
      this.mark(r, v.known && ((this.known >> r) & 1) === 1, ((this.regT >> r) & 1) === 1);
      return;
    }
    if (size === 16) {
      this.lo[n] = (this.lo[n] & ~0xffff) | (v.lo & 0xffff);
      this.mark(n, v.known && ((this.known >> n) & 1) === 1, ((this.regT >> n) & 1) === 1);
      return;
    }
    this.lo[n] = v.lo;
    this.hi[n] = size === 64 ? v.hi : 0;
    this.mark(n, v.known, v.taint);
    if (v.taint) this.linear.push({ v: v.lo >>> 0, neg: false });
  }

  private mark(n: number, known: boolean, taint: boolean): void {
    this.known = known ? this.known | (1 << n) : this.known & ~(1 << n);
    this.regT = taint ? this.regT | (1 << n) : this.regT & ~(1 << n);
  }

  /** A 64-bit register as an address part: must be known and untainted. */
  private addr(n: number): number {
    if (((this.known >> n) & 1) === 0 || ((this.regT >> n) & 1) === 1) reject();
    return this.hi[n] * TWO32 + (this.lo[n] >>> 0);
  }

  /** The linear address of i's memory operand (lea: without the segment base). */
  private ea(i: Insn, next: number, lea = false): number {
    let a: number;
    if (i.eaKind === EA_RIP) a = next + i.disp;
    else {
      a = i.disp;
      if (i.base >= 0) a += this.addr(i.base);
      if (i.index >= 0) a += this.addr(i.index) * i.scale;
    }
    if (!lea) a += this.cpu.segBase[i.seg];
    if (!(a < 2 ** 52 && a > -(2 ** 52))) reject();
    return a;
  }

  private cellAt(lin: number, size: number): Cell | undefined {
    const end = lin + size / 8;
    for (const c of this.mem.values()) {
      if (c.lin === lin && c.size === size) return c;
      if (c.lin < end && lin < c.lin + c.size / 8) reject();
    }
    return undefined;
  }

  private headTaint(lin: number, size: number): boolean {
    const end = lin + size / 8;
    for (const c of this.headMemT) {
      if (c.lin === lin && c.size === size) return true;
      if (c.lin < end && lin < c.lin + c.size / 8) reject();
    }
    return false;
  }

  private load(lin: number, size: number): Val {
    const c = this.cellAt(lin, size);
    if (c) return { lo: c.lo, hi: c.hi, known: c.known, taint: c.taint };
    const taint = this.headTaint(lin, size);
    const old = this.headMem?.get(lin);
    if (old) return { lo: old.lo, hi: old.hi, known: true, taint };
    const v = readRam(this.cpu, lin, size);
    if (!taint) this.reads.push({ lin, size, lo: v.lo, hi: v.hi, known: true, taint: false });
    return { lo: v.lo, hi: v.hi, known: true, taint };
  }

  private store(lin: number, size: number, v: Val): void {
    if (v.taint && size < 32) reject();
    // Only RAM (never MMIO: a device would see the store) and never across a page.
    readRam(this.cpu, lin, size);
    const prev = this.cellAt(lin, size);
    const cell: Cell = { lin, size, lo: size === 64 ? v.lo : size === 32 ? v.lo : v.lo & MASKS[size], hi: size === 64 ? v.hi : 0, known: v.known, taint: v.taint };
    if (!prev) this.writes.push({ ...cell });
    this.mem.set(lin, cell);
    if (v.taint) this.linear.push({ v: v.lo >>> 0, neg: false });
  }

  private rm(i: Insn, next: number, size: number): Val {
    return i.mem ? this.load(this.ea(i, next), size) : this.reg(i.rm, size);
  }

  private setRm(i: Insn, next: number, size: number, v: Val): void {
    if (i.mem) this.store(this.ea(i, next), size, v);
    else this.setReg(i.rm, size, v);
  }

  private stackPtr(): number {
    return this.addr(4);
  }

  private moveRsp(by: number): void {
    const v = this.addr(4) + by;
    this.lo[4] = v | 0;
    this.hi[4] = Math.floor(v / TWO32) | 0;
  }

  /** The boundary before step k. */
  boundary(): void {
    const memT: Cell[] = [];
    for (const c of this.headMemT) if (!this.mem.has(c.lin)) memT.push(c);
    for (const c of this.mem.values()) if (c.taint) memT.push(c);
    this.at.push({ regT: this.regT, flagsT: this.flagsT, memT });
  }

  /** Simulates instruction i (at linear `rip`, `next` after it). */
  insn(i: Insn, form: Form | MmxForm, next: number): void {
    const s = i.size;
    switch (form) {
      case 'nop': case 'jmp': case 'mmxOp': case 'emms': return;
      case 'mmxFromGpr': if (this.reg(i.rm, s).taint) reject(); return;
      case 'movRmR': this.setRm(i, next, s, this.reg(i.reg, s)); return;
      case 'movRRm': this.setReg(i.reg, s, this.rm(i, next, s)); return;
      case 'movRmI': this.setRm(i, next, s, { lo: i.imm, hi: s === 64 ? i.immHi : 0, known: true, taint: false }); return;
      case 'lea': {
        if (i.eaKind !== EA_64 && i.eaKind !== EA_RIP) reject();
        const a = this.ea(i, next, true);
        this.setReg(i.reg, s, { lo: a | 0, hi: Math.floor(a / TWO32) | 0, known: true, taint: false });
        return;
      }
      case 'movzxB': case 'movzxW': case 'movsxB': case 'movsxW': case 'movsxd': {
        const bits = form === 'movsxd' ? 32 : form.endsWith('B') ? 8 : 16;
        const src = this.rm(i, next, bits);
        if (src.taint) reject();
        let lo = src.lo, hi = 0;
        if (form.startsWith('movsx')) { lo = bits === 32 ? lo | 0 : (lo << (32 - bits)) >> (32 - bits); hi = lo >> 31; }
        if (s === 16) lo &= 0xffff;
        this.setReg(i.reg, s, { lo, hi, known: src.known, taint: false });
        return;
      }
      case 'aluRmR': case 'aluRRm': case 'aluRmI': this.alu(i, form, next); return;
      case 'incdec': {
        const v = this.rm(i, next, s);
        const cfIn = this.flagsT;
        if (v.taint && s !== 32 && s !== 64) reject();
        const r = add(v, i.op === 0 ? 1 : -1, s);
        r.taint = v.taint;
        this.setRm(i, next, s, r);
        this.flagsT = v.taint || cfIn;
        this.flagsLinear = v.taint;
        this.flagsCmp = false;
        return;
      }
      case 'push': {
        const v = this.reg(i.reg, 64);
        const sp = this.stackPtr() - 8;
        this.store(sp, 64, v);
        this.moveRsp(-8);
        return;
      }
      case 'pop': {
        if (i.reg === 4) reject();
        const v = this.load(this.stackPtr(), 64);
        this.moveRsp(8);
        this.setReg(i.reg, 64, v);
        return;
      }
      case 'call': {
        this.store(this.stackPtr() - 8, 64, { lo: next | 0, hi: Math.floor(next / TWO32) | 0, known: true, taint: false });
        this.moveRsp(-8);
        return;
      }
      case 'jmpInd': case 'callInd': {
        // Through a register or memory (a PLT slot's GOT entry): the target must be a known, untainted address,
        // checked against where the next trace starts, as a return address is.
        const v = this.rm(i, next, 64);
        if (v.taint || !v.known) reject();
        if (form === 'callInd') {
          this.store(this.stackPtr() - 8, 64, { lo: next | 0, hi: Math.floor(next / TWO32) | 0, known: true, taint: false });
          this.moveRsp(-8);
        }
        this.retTarget = v.hi * TWO32 + (v.lo >>> 0);
        return;
      }
      case 'ret': {
        const v = this.load(this.stackPtr(), 64);
        if (v.taint || !v.known) reject();
        this.moveRsp(8);
        this.retTarget = v.hi * TWO32 + (v.lo >>> 0);
        return;
      }
      case 'jcc': {
        // Only the exit test may read the counter's flags: ZF of a linear result (je/jne).
        // Or an ordered test of an add/sub/cmp on it (tst-condvar's `cmp bound,%ebx; jl`): b/ae/be/a compare
        // unsigned values, which change order only where one reaches the other (the result reaches zero) or
        // wraps, and room() keeps every linear value from both; l/ge/le/g also change where a value crosses
        // 2^31 (signed overflow), which room() then rules out too.
        if (this.flagsT && (!this.flagsLinear || (i.op !== 4 && i.op !== 5))) {
          if (!this.flagsCmp || !((i.op >= 2 && i.op <= 7) || i.op >= 12)) reject();
          if (i.op >= 12) this.signedExit = true;
        }
        return;
      }
      case 'cmov': case 'setcc': {
        if (this.flagsT) reject();
        if (form === 'cmov') {
          const src = this.rm(i, next, s), old = this.reg(i.reg, s);
          if (src.taint || old.taint) reject();
          this.setReg(i.reg, s, { lo: 0, hi: 0, known: false, taint: false });
        } else this.setRm(i, next, 8, { lo: 0, hi: 0, known: false, taint: false });
        return;
      }
      case 'shiftImm': case 'imul': {
        const v = this.reg(form === 'imul' ? i.reg : i.rm, s);
        const src = form === 'imul' ? this.rm(i, next, s) : v;
        if (v.taint || src.taint) reject();
        this.setReg(form === 'imul' ? i.reg : i.rm, s, { lo: 0, hi: 0, known: false, taint: false });
        this.flagsT = false;
        this.flagsLinear = false;
        this.flagsCmp = false;
        return;
      }
      default: reject();
    }
  }

  /** The return address the last ret loaded (checked against the next trace's start). */
  retTarget = NaN;

  private alu(i: Insn, form: Form, next: number): void {
    const s = i.size, op = i.op;
    const dstIsReg = form === 'aluRRm';
    const a = dstIsReg ? this.reg(i.reg, s) : this.rm(i, next, s);
    const b: Val = form === 'aluRmI' ? { lo: i.imm, hi: s === 64 ? i.immHi : 0, known: true, taint: false }
      : form === 'aluRmR' ? this.reg(i.reg, s) : this.rm(i, next, s);
    const carry = op === OP_ADC || op === OP_SBB;
    const taint = a.taint || b.taint || (carry && this.flagsT);
    // A counter moved (or compared) by an untainted amount, at 32 or 64 bits, stays linear; so does a bound
    // compared with the counter (cmp %counter, %bound: bound - counter), whose result only sets flags.
    const negated = op === OP_CMP && b.taint && !a.taint;
    if (taint) {
      if (s !== 32 && s !== 64) reject();
      if (negated) { if (!a.known) reject(); }
      else if (b.taint || !(op === OP_ADD || op === OP_SUB || op === OP_CMP) || !b.known) reject();
    }
    let r: Val;
    if (op === OP_ADD || op === OP_SUB || op === OP_CMP) r = addVal(a, b, op === OP_ADD ? 1 : -1, s);
    else if (op === OP_AND || op === OP_OR || op === OP_XOR || op === OP_TEST) r = logic(a, b, op, s);
    else r = { lo: 0, hi: 0, known: false, taint: false };
    r.taint = taint;
    if (taint) this.linear.push({ v: r.lo >>> 0, neg: negated });
    this.flagsT = taint;
    this.flagsLinear = taint;
    this.flagsCmp = taint && (op === OP_ADD || op === OP_SUB || op === OP_CMP);
    if (op === OP_CMP || op === OP_TEST) return;
    if (dstIsReg) this.setReg(i.reg, s, r);
    else this.setRm(i, next, s, r);
  }
}

function add(v: Val, k: number, size: number): Val {
  return addVal(v, { lo: k, hi: k < 0 ? -1 : 0, known: true, taint: false }, 1, size);
}

/** a + sign * b at `size` bits. */
function addVal(a: Val, b: Val, sign: number, size: number): Val {
  const known = a.known && b.known;
  if (size === 64) {
    const l = sign > 0 ? (a.lo >>> 0) + (b.lo >>> 0) : (a.lo >>> 0) - (b.lo >>> 0);
    const carry = l >= TWO32 ? 1 : l < 0 ? -1 : 0;
    return { lo: l | 0, hi: (sign > 0 ? a.hi + b.hi : a.hi - b.hi) + carry | 0, known, taint: false };
  }
  const r = sign > 0 ? a.lo + b.lo : a.lo - b.lo;
  return { lo: size === 32 ? r | 0 : r & MASKS[size], hi: 0, known, taint: false };
}

function logic(a: Val, b: Val, op: number, size: number): Val {
  const known = a.known && b.known;
  const f = op === OP_OR ? (x: number, y: number) => x | y : op === OP_XOR ? (x: number, y: number) => x ^ y : (x: number, y: number) => x & y;
  if (size === 64) return { lo: f(a.lo, b.lo), hi: f(a.hi, b.hi), known, taint: false };
  const r = f(a.lo, b.lo);
  return { lo: size === 32 ? r : r & MASKS[size], hi: 0, known, taint: false };
}

/** Reads RAM at a linear address (no MMIO, no page crossing); rejects anything else. */
export function readRam(cpu: Cpu, lin: number, size: number): { lo: number; hi: number } {
  const bytes = size / 8;
  if ((lin & 0xfff) + bytes > 4096) reject();
  let phys = cpu.mmu.ramOffset(lin, false);
  if (phys < 0) {
    try {
      phys = cpu.mmu.translate(lin, ACC_READ, 0);
    } catch {
      reject();
    }
  }
  const mem = cpu.mem;
  if (!mem.isRam(phys, bytes)) reject();
  if (size === 64) return { lo: mem.dv.getInt32(phys, true), hi: mem.dv.getInt32(phys + 4, true) };
  if (size === 32) return { lo: mem.dv.getInt32(phys, true), hi: 0 };
  if (size === 16) return { lo: mem.dv.getUint16(phys, true), hi: 0 };
  return { lo: mem.dv.getUint8(phys), hi: 0 };
}

/** A simulated pass over a loop's path (Pass here, loop-skip-clock.ts's ClockPass). */
export interface PathPass<F> {
  /** The target the last ret or indirect jump/call loaded: where the next trace must start. */
  retTarget: number;
  boundary(): void;
  insn(i: Insn, form: F, next: number): void;
}

/**
 * Walks `p` over the path, trace by trace (boundary() before each); false when an instruction has no form or a
 * return / indirect target is not where the next trace (or the head) starts.
 */
export function walkPath<F>(steps: Step[], p: PathPass<F>, form: (i: Insn) => F | null): boolean {
  for (let k = 0; k < steps.length; k++) {
    const st = steps[k];
    if (k > 0 && !Number.isNaN(p.retTarget) && p.retTarget !== st.rip) return false;
    p.retTarget = NaN;
    p.boundary();
    let rip = st.rip;
    for (const i of st.trace.insns) {
      const f = form(i);
      if (f === null) return false;
      rip += i.len;
      p.insn(i, f, rip);
    }
  }
  return Number.isNaN(p.retTarget) || p.retTarget === steps[0].rip;
}

/** Simulates the body until the taint sets stop growing; null when it cannot be reasoned about. */
function analyse(cpu: Cpu, steps: Step[], seedRegT: number, headMem: Map<number, { lo: number; hi: number }> | null): Analysis | null {
  let regT = seedRegT, flagsT = false;
  let memT: Cell[] = [];
  try {
    for (let round = 0; round < 6; round++) {
      const p: Pass = new Pass(cpu, regT, flagsT, memT, headMem);
      if (!walkPath(steps, p, formOf)) reject();
      // Tainted at the head: what the counter reaches, and whatever one iteration leaves different from how it
      // found it (a saved copy of the counter is restored from memory before it is stored again).
      let nextRegT: number = regT | p.regT;
      for (let n = 0; n < 16; n++) {
        if (((p.known >> n) & 1) === 1 && (p.lo[n] !== cpu.r32[2 * n] || p.hi[n] !== cpu.r32[2 * n + 1])) nextRegT |= 1 << n;
      }
      const endMemT = [...p.mem.values()].filter((c) => {
        if (c.taint) return true;
        if (!c.known) return false;
        const now = readRam(cpu, c.lin, c.size);
        return now.lo !== c.lo || now.hi !== c.hi;
      });
      const nextFlagsT: boolean = flagsT || p.flagsT;
      const grown = endMemT.filter((c) => !memT.some((m) => m.lin === c.lin && m.size === c.size));
      if (nextRegT === regT && nextFlagsT === flagsT && grown.length === 0) {
        return {
          headRegT: regT, tainted: memT, writes: p.writes, linear: p.linear, at: p.at, reads: p.reads,
          endKnown: p.known, endLo: p.lo, endHi: p.hi, signedExit: p.signedExit,
        };
      }
      regT = nextRegT;
      flagsT = nextFlagsT;
      memT = [...memT, ...grown.map((c) => ({ ...c }))];
    }
    return null;
  } catch (e) {
    if (e === REJECT) return null;
    throw e;
  }
}

function hasMmx(path: Step[]): boolean {
  return path.some((st) => st.trace.insns.some((i) => forms().get(i.h) === undefined && mmxSkipForm(i) !== null));
}

/** The body's instructions from its head, in path order, with their forms. */
function* bodyInsns(path: Step[]): Generator<{ i: Insn; form: string }> {
  for (const st of path) for (const i of st.trace.insns) yield { i, form: formOf(i) ?? '' };
}

/** Registers as 32-bit halves. */
function regs(cpu: Cpu): Int32Array {
  return cpu.r32.slice();
}

/**
 * A proven loop, kept to skip it again without re-proving: the proof is a function of the path's code, the
 * untainted registers at the head, the memory its untainted loads read, what its untainted stores found, and
 * the lazy flags at the head; tainted registers and memory may sit anywhere, as long as all moved by the same
 * amount since (a uniform shift commutes with copies and constant moves).
 */
interface Memo {
  path: Step[];
  an: Analysis;
  period: number;
  d: number | null;
  regs: Int32Array;
  lf: Int32Array;
  /** Values of the untainted stores' locations at the head. */
  stores: { lin: number; size: number; lo: number; hi: number }[];
  /** Values of the tainted memory locations at the head. */
  taintedMem: { lin: number; size: number; lo: number; hi: number }[];
  gen: number;
  epoch: number;
  cr3: number;
  /** Segment bases (FS/GS addressing: another thread's TLS is other memory). */
  segBase: Float64Array;
  /** x87/MMX state at the head, when the path has MMX instructions (loop-skip-mmx.ts). */
  fpu: number[] | null;
  /** The flags at the head are dead (loop-skip-flags.ts): compare only the non-arithmetic ones, jump one short. */
  deadFlags: boolean;
}

/**
 * Runs a vCPU's budget like Exec.run, jumping over the iterations of a provably idle loop (see the top of
 * the file). Host-side caches only decide when to look; what the guest sees never depends on them.
 */
export class LoopSkipper {
  /** Instructions retired by skipping (statistics). */
  skippedInsns = 0;
  skips = 0;
  lastVerdict: SkipVerdict | null = null;
  /** Guest time as the board keeps it: set, loops reading the TSC are jumped over too (loop-skip-clock.ts). */
  clock: SkipClock | null = null;
  /** Clock loops skipped, and their instructions (statistics). */
  clockSkips = 0;
  clockSkippedInsns = 0;
  /**
   * The budget's end as the board recomputed it after a TSC read's charge consumed inside the skipper (resume):
   * an absolute instruction count, less the faults delivered since (as Exec.run cuts its own end).
   */
  private capAt = Infinity;
  private capCuts = 0;
  /** The end of the running budget as the board has it now. */
  cap(exec: Exec): number {
    return Math.min(this.capAt - (exec.budgetCuts - this.capCuts), this.runTo - (exec.budgetCuts - this.runCuts));
  }
  /** The end of run()'s whole budget (its chunks only space the looks for a loop). */
  private runTo = Infinity;
  private runCuts = 0;
  /** Per vCPU: quantum start RIPs seen lately (a loop brings the same ones back). */
  private readonly recent = new Map<Exec, Float64Array>();
  private readonly recentPos = new Map<Exec, number>();
  /** RIPs where a skip succeeded. */
  private readonly heads = new Set<number>();
  /**
   * Per vCPU: proven loops by head RIP, and which head each boundary of their paths leads to. Per vCPU because
   * two threads running the same loop on two vCPUs (tst-condvar's) have different stacks and registers: one
   * shared memo would fail the other's check at every quantum and be proven again.
   */
  private readonly memoSets = new Map<Exec, { memos: Map<number, Memo>; memoOf: Map<number, number> }>();
  private memoSet(exec: Exec): { memos: Map<number, Memo>; memoOf: Map<number, number> } {
    let m = this.memoSets.get(exec);
    if (m === undefined) { m = { memos: new Map(), memoOf: new Map() }; this.memoSets.set(exec, m); }
    return m;
  }
  /** RIPs where it did not: how often, and the attempt count before the next try. */
  private readonly failed = new Map<number, { n: number; wait: number; unsupported: number }>();
  /** RIPs where a skip succeeded at least once: a failure there (the poll found work) is no reason to wait long. */
  private readonly everSkipped = new Set<number>();

  /**
   * Runs about `budget` instructions of `exec` (whole traces, as Exec.run); returns the stop reason. A long
   * budget (one vCPU has quanta of up to 2^20 instructions) runs in chunks, each a chance to find a loop:
   * run() stops at the first trace boundary at or past its end, so chunks pass the boundaries one run would.
   */
  run(exec: Exec, budget: number): number {
    const cpu = exec.cpu;
    let end = cpu.icount + budget;
    this.capAt = Infinity;
    this.runTo = end;
    this.runCuts = exec.budgetCuts;
    for (;;) {
      const left = Math.min(end, this.cap(exec)) - cpu.icount;
      if (left <= CHUNK) return this.runChunk(exec, left);
      const cuts = exec.budgetCuts;
      const r = this.runChunk(exec, CHUNK);
      end -= exec.budgetCuts - cuts;
      if (r !== STOP_BUDGET) return r;
      if (cpu.icount >= Math.min(end, this.cap(exec))) return r;
    }
  }

  private runChunk(exec: Exec, budget: number): number {
    const cpu = exec.cpu;
    if (exec.debug !== null || exec.eventPending || cpu.intShadow || cpu.halted || cpu.mode !== 64 ||
      (cpu.lf[LF_REST] & TF) !== 0 || budget < 200 || (!this.memoSet(exec).memoOf.has(cpu.rip) && !this.worthTrying(exec, cpu.rip))) {
      return exec.run(budget);
    }
    let end = cpu.icount + budget;
    const cuts0 = exec.budgetCuts;
    const r = this.memoHead(exec, end) ?? this.attempt(exec, end);

    end -= exec.budgetCuts - cuts0;
    if (r >= 0) return r;
    const left = Math.min(end, this.cap(exec)) - cpu.icount;
    if (left <= 0) return STOP_BUDGET;
    return exec.run(left);
  }

  private worthTrying(exec: Exec, rip: number): boolean {
    const f = this.failed.get(rip);
    if (f !== undefined && f.wait > 0) { f.wait--; return false; }
    if (this.heads.has(rip) || f !== undefined) return true;
    let ring = this.recent.get(exec);
    if (ring === undefined) { ring = new Float64Array(8).fill(NaN); this.recent.set(exec, ring); this.recentPos.set(exec, 0); }
    const seen = ring.includes(rip);
    const pos = this.recentPos.get(exec)!;
    ring[pos] = rip;
    this.recentPos.set(exec, (pos + 1) & 7);
    return seen;
  }

  /** What the last failed attempt tripped on (debugging). */
  lastDetail = '';

  fail(rip: number, verdict: SkipVerdict, detail = '', wait?: number): number {
    this.lastVerdict = verdict;
    this.lastDetail = detail;
    this.heads.delete(rip);
    const f = this.failed.get(rip) ?? { n: 0, wait: 0, unsupported: 0 };
    f.n++;
    // A path of forms the analysis lacks is no poll that found work: it backs off even where skips succeeded before,
    // and after UNSUPPORTED_TRIES such verdicts for good (tst-eventfd: 12.7 K attempts per 600 M instructions, 5% of
    // its CPU, nearly all on paths through calls and atomics).
    if (verdict === 'unsupported') f.unsupported++;
    f.wait = wait ?? (f.unsupported >= UNSUPPORTED_TRIES ? Infinity
      : this.everSkipped.has(rip) && verdict !== 'unsupported' ? 1 : Math.min(MAX_BACKOFF, 2 ** f.n));
    this.failed.set(rip, f);
    return -1;
  }

  /**
   * Runs traces one at a time (exactly as run() would) from the head until RIP is back at the head.
   * Returns the steps, or a stop reason (a number) when the run stopped as run() would have, or null when the
   * path left the forms the skipper knows or grew too long (the instructions run so far ran normally).
   */
  iterate(exec: Exec, end: () => number, head: number, expect: Step[] | null, limit = Infinity, tscs: number[] | null = null): Step[] | number | null {
    const cpu = exec.cpu;
    const steps: Step[] = [];
    let insns = 0;
    for (;;) {
      if (cpu.icount >= Math.min(end(), this.cap(exec))) return STOP_BUDGET;
      if (steps.length >= limit) return steps;
      const rip = cpu.rip;
      const t = exec.peekTrace();
      if (t === null) return null;
      if (expect !== null && (steps.length >= expect.length || expect[steps.length].trace !== t || expect[steps.length].rip !== rip)) return null;
      for (const i of t.insns) if (formOf(i) === null && (this.clock === null || clockForm(i) === null)) return null;
      const before = cpu.icount, cuts = exec.budgetCuts, gen = exec.cache.gen;
      const r = exec.run(1);
      const last = clockForm(t.insns[t.n - 1]), readsTsc = last !== null && last !== 'lfence';
      if (r === STOP_REQUEST && this.clock !== null && readsTsc) {
        // A TSC read's charge: the board would run on with a budget recomputed from the time left (or end here).
        const b = this.clock.resume();
        if (b < 0) return r;
        this.capAt = cpu.icount + b;
        this.capCuts = exec.budgetCuts;
      } else if (r !== STOP_BUDGET) return r;
      // The TSC value a read returned (edx:eax), for the clock loops' proof.
      if (tscs !== null && readsTsc) tscs.push((cpu.r32[4] >>> 0) * TWO32 + (cpu.r32[0] >>> 0));
      if (cpu.icount - before !== t.n || exec.budgetCuts !== cuts || exec.cache.gen !== gen) return null;
      steps.push({ trace: t, rip });
      insns += t.n;
      if (cpu.rip === head) return steps;
      if (insns > MAX_BODY_INSNS || steps.length > MAX_BODY_TRACES) return null;
    }
  }

  /** Iterations that can be skipped: within the budget, no tainted value wrapping or reaching zero. */
  private room(cpu: Cpu, end: number, period: number, d: number | null, linear: Linear[], shift: number, at: Boundary, signed = false): number {
    let n = Math.floor((end - 1 - cpu.icount) / period);
    if (d === null) return n;
    const lows: Linear[] = linear.map((x) => ({ v: (x.v + (x.neg ? -shift : shift)) >>> 0, neg: x.neg }));
    for (let r = 0; r < 16; r++) if (((at.regT >> r) & 1) === 1) lows.push({ v: cpu.r32[2 * r] >>> 0, neg: false });
    for (const c of at.memT) lows.push({ v: readRam(cpu, c.lin, c.size).lo >>> 0, neg: false });
    // v + 2^31 wraps or reaches zero exactly where v crosses 2^31.
    if (signed) for (const x of lows.splice(0)) lows.push(x, { v: (x.v + 0x80000000) >>> 0, neg: x.neg });
    for (const { v, neg } of lows) {
      const e = neg ? -d : d;
      const room = e < 0 ? Math.floor((v - 1) / -e) : Math.floor((TWO32 - 1 - v) / e);
      n = Math.min(n, room - 2 * MARGIN);
    }
    return n;
  }

  /** Retires n iterations at once: tainted registers and memory move by n * d. */
  private jump(cpu: Cpu, n: number, period: number, d: number | null, at: Boundary): void {
    if (d !== null) {
      const by = d * n;
      for (let r = 0; r < 16; r++) if (((at.regT >> r) & 1) === 1) cpu.r32[2 * r] = (cpu.r32[2 * r] + by) | 0;
      for (const c of at.memT) {
        const v = readRam(cpu, c.lin, c.size);
        cpu.mmu.write32(c.lin, (v.lo + by) | 0);
      }
    }
    cpu.icount += n * period;
    this.skippedInsns += n * period;
    this.skips++;
    this.lastVerdict = 'skipped';
  }

  /** Keeps a loop just proven at its head (whose flags do not depend on the counter), state as it is now. */
  private remember(exec: Exec, head: number, path: Step[], an: Analysis, period: number, d: number | null,
    storesFound: { lo: number; hi: number }[], deadFlags: boolean): void {
    const cpu = exec.cpu;
    if (d !== null && an.at[0].regT === 0) return;
    const tainted = (lin: number) => an.tainted.some((t) => t.lin === lin);
    const memo: Memo = {
      path, an, period, d, regs: cpu.r32.slice(), lf: cpu.lf.slice(),
      stores: an.writes.map((c, k) => ({ lin: c.lin, size: c.size, ...storesFound[k] })).filter((c) => !tainted(c.lin)),
      taintedMem: an.at[0].memT.map((c) => ({ lin: c.lin, size: c.size, ...readRam(cpu, c.lin, c.size) })),
      gen: exec.cache.gen, epoch: cpu.mmu.epoch, cr3: cpu.cr3, segBase: cpu.segBase.slice(),
      fpu: hasMmx(path) ? fpuState(cpu) : null, deadFlags,
    };
    const { memos, memoOf } = this.memoSet(exec);
    memos.set(head, memo);
    for (const st of path) memoOf.set(st.rip, head);
  }

  /**
   * A quantum starting inside a proven loop: runs (for real) to the loop's head, checks that the proof's inputs
   * are as they were, and jumps. Returns a stop reason, -1 (go on with exec.run), or null (no proven loop here).
   */
  private memoHead(exec: Exec, end0: number): number | null {
    const cpu = exec.cpu;
    const { memos, memoOf } = this.memoSet(exec);
    const head = memoOf.get(cpu.rip);
    if (head === undefined) return null;
    const memo = memos.get(head)!;
    const cuts0 = exec.budgetCuts;
    const end = () => end0 - (exec.budgetCuts - cuts0);
    if (cpu.rip !== head) {
      const k = memo.path.findIndex((st) => st.rip === cpu.rip);
      const pre = this.iterate(exec, end, head, memo.path.slice(k), memo.path.length - k);
      if (typeof pre === 'number') return pre;
      // Instructions ran: whatever happens next must count the budget from here (no second look this chunk).
      if (pre === null || cpu.rip !== head || exec.budgetCuts !== cuts0) return -1;
    }
    if (!this.memoHolds(exec, memo)) {
      memos.delete(head);
      for (const st of memo.path) if (memoOf.get(st.rip) === head) memoOf.delete(st.rip);
      return null;
    }
    const at = memo.an.at[0];
    let shift = 0;
    for (let r = 0; r < 16; r++) if (((at.regT >> r) & 1) === 1) { shift = (cpu.r32[2 * r] - memo.regs[2 * r]) | 0; break; }
    const n = this.room(cpu, end(), memo.period, memo.d, memo.an.linear, shift, at, memo.an.signedExit) - (memo.deadFlags ? 1 : 0);
    if (n < 1) { this.lastVerdict = 'too-short'; return -1; }
    this.jump(cpu, n, memo.period, memo.d, at);
    return -1;
  }

  private memoHolds(exec: Exec, m: Memo): boolean {
    const cpu = exec.cpu;
    if (exec.cache.gen !== m.gen || cpu.mmu.epoch !== m.epoch || cpu.cr3 !== m.cr3) return false;
    for (let k = 0; k < 6; k++) if (cpu.segBase[k] !== m.segBase[k]) return false;
    for (let k = 0; k < cpu.lf.length; k++) if (cpu.lf[k] !== m.lf[k] && (!m.deadFlags || k === LF_REST)) return false;
    if (m.fpu !== null && !sameFpuState(m.fpu, fpuState(cpu))) return false;
    const at = m.an.at[0];
    let shift: number | null = null;
    const same = (lo: number, hi: number, lo0: number, hi0: number, taint: boolean): boolean => {
      if (!taint) return lo === lo0 && hi === hi0;
      if (hi !== hi0) return false;
      const s = (lo - lo0) | 0;
      if (shift === null) shift = s;
      return s === shift;
    };
    try {
      for (let r = 0; r < 16; r++) {
        if (!same(cpu.r32[2 * r], cpu.r32[2 * r + 1], m.regs[2 * r], m.regs[2 * r + 1], ((at.regT >> r) & 1) === 1)) return false;
      }
      for (const c of m.taintedMem) { const v = readRam(cpu, c.lin, c.size); if (!same(v.lo, v.hi, c.lo, c.hi, true)) return false; }
      for (const c of m.stores) { const v = readRam(cpu, c.lin, c.size); if (v.lo !== c.lo || v.hi !== c.hi) return false; }
      for (const c of m.an.reads) { const v = readRam(cpu, c.lin, c.size); if (v.lo !== c.lo || v.hi !== c.hi) return false; }
    } catch (e) {
      if (e === REJECT) return false;
      throw e;
    }
    return true;
  }

  /** Returns a stop reason to hand back, or -1 to go on with exec.run to `end` (less the budget cuts). */
  private attempt(exec: Exec, end0: number): number {
    const cpu = exec.cpu;
    const cuts0 = exec.budgetCuts;
    const end = () => end0 - (exec.budgetCuts - cuts0);
    const head = cpu.rip;
    const regsA = regs(cpu);
    const tscA: number[] = [];
    const a = this.iterate(exec, end, head, null, Infinity, tscA);
    if (typeof a === 'number') { this.lastVerdict = 'stopped'; return a; }
    if (a === null) return this.fail(head, 'not-a-loop');
    if (a.some((st) => st.trace.insns.some((i) => clockForm(i) !== null))) {
      const r = clockAttempt(this, exec, end, head, a, tscA);
      if (r === -2) return -1;
      if (r === -1) {
        this.heads.add(head);
        this.everSkipped.add(head);
        this.failed.delete(head);
      }
      return r;
    }
    const regsB = regs(cpu);
    const mmx = hasMmx(a), fpuB = mmx ? fpuState(cpu) : null;
    let seed = 0;
    for (let n = 0; n < 16; n++) if (regsA[2 * n] !== regsB[2 * n] || regsA[2 * n + 1] !== regsB[2 * n + 1]) seed |= 1 << n;
    // The iteration about to run (B), simulated from its real starting state along A's path.
    const an = analyse(cpu, a, seed, null);
    if (an === null) {
      // The path's forms are what the analysis lacks, whichever of its boundaries a quantum starts at: every one waits
      // (tst-queue-mpsc's consumer loop, ~40 instructions through a call, was tried 7 K times per 1 G instructions at
      // the boundaries quanta happened to start at).
      for (const st of a) if (st.rip !== head) this.fail(st.rip, 'unsupported');
      return this.fail(head, 'unsupported');
    }
    const before = an.writes.map((c) => readRam(cpu, c.lin, c.size));
    // Registers and flags at each boundary of B, for the check at the point of the jump.
    const b = this.iterate(exec, end, head, a);
    if (typeof b === 'number') { this.lastVerdict = 'stopped'; return b; }
    if (b === null || b.length !== a.length) return this.fail(head, 'changed', 'path');
    const regsC = regs(cpu);
    if (fpuB !== null && !sameFpuState(fpuB, fpuState(cpu))) return this.fail(head, 'changed', 'x87/MMX state');
    // The counter's step: every tainted register moved by the same d; every other register did not move.
    let d: number | null = null;
    for (let n = 0; n < 16; n++) {
      const lo0 = regsB[2 * n], lo1 = regsC[2 * n], hi0 = regsB[2 * n + 1], hi1 = regsC[2 * n + 1];
      if (((an.headRegT >> n) & 1) === 0) {
        if (lo0 !== lo1 || hi0 !== hi1) return this.fail(head, 'changed', `untainted register ${n}`);
        continue;
      }
      const step = (lo1 - lo0) | 0;
      if (hi0 !== hi1 || step === 0 || (d !== null && step !== d)) return this.fail(head, 'changed', `tainted register ${n} step ${step}`);
      d = step;
      // The simulation must have predicted it.
      if (((an.endKnown >> n) & 1) === 1 && (an.endLo[n] !== lo1 || an.endHi[n] !== hi1)) return this.fail(head, 'changed', `tainted register ${n} mispredicted`);
    }
    for (let n = 0; n < 16; n++) {
      if (((an.endKnown >> n) & 1) === 1 && ((an.headRegT >> n) & 1) === 0 && (an.endLo[n] !== regsC[2 * n] || an.endHi[n] !== regsC[2 * n + 1])) {
        return this.fail(head, 'changed', `register ${n} mispredicted`);
      }
    }
    // Memory: untainted stores wrote back what was there; tainted ones moved by d.
    for (let k = 0; k < an.writes.length; k++) {
      const c = an.writes[k], now = readRam(cpu, c.lin, c.size), old = before[k];
      const tainted = an.tainted.some((t) => t.lin === c.lin);
      if (!tainted) {
        if (now.lo !== old.lo || now.hi !== old.hi) return this.fail(head, 'changed', `store to 0x${c.lin.toString(16)} changed memory`);
      } else if (d === null || now.hi !== old.hi || ((now.lo - old.lo) | 0) !== d) return this.fail(head, 'changed', `tainted store to 0x${c.lin.toString(16)}`);
    }
    if (d === null && an.tainted.length > 0) return this.fail(head, 'changed');
    // The jump is made at the first boundary whose flags do not depend on the counter, else at the head when
    // its flags are dead there (one iteration short: the last one runs for real and writes them).
    let j = an.at.findIndex((x) => !x.flagsT);
    const deadFlags = j < 0 && flagsDeadAtHead(bodyInsns(a));
    if (deadFlags) j = 0;
    if (j < 0) return this.fail(head, 'unsupported');
    if (j > 0) {
      const pre = this.iterate(exec, end, head, a, j);
      if (typeof pre === 'number') { this.lastVerdict = 'stopped'; return pre; }
      if (pre === null || pre.length !== j) return this.fail(head, 'changed');
    }
    const period = a.reduce((s, st) => s + st.trace.n, 0);
    const at = an.at[j];
    const n = this.room(cpu, end(), period, d, an.linear, 0, at, an.signedExit) - (deadFlags ? 1 : 0);
    if (n < 1) { this.lastVerdict = 'too-short'; return -1; }
    if (j === 0) this.remember(exec, head, a, an, period, d, before, deadFlags);
    this.jump(cpu, n, period, d, at);
    this.heads.add(head);
    this.everSkipped.add(head);
    this.failed.delete(head);
    this.lastVerdict = 'skipped';
    return -1;
  }
}
