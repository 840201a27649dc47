// Trace -> WebAssembly function. The wasm twin of compiler.ts for the integer forms that make up most of a kernel's
// code (moves, lea, extensions, the ALU with adc/sbb, inc/dec, neg/not, shifts and rotates, imul, the atomics,
// push/pop, call/ret, direct and indirect jumps and calls, leave, cmov, setcc, bit scans, pushf, cli) and, in
// compile-sse.ts, its SSE floating point and moves; every other instruction calls its interpreter handler
// through the runtime (block.ts). Registers and lazy-flag slots live in i64/i32 locals, loaded from the vCPU's state
// slice (arena.ts) at first use and stored back only before what can see them: a runtime call (which may fault or run
// a handler), an exit. The rules are compiler.ts's: each instruction computes into temporaries and makes every access
// that can fault before it commits, writes the lazy-flag slots its handler writes, and leaves after an access that
// may have dropped decoded code (a slow-path store, a handler call). Wasm i64 arithmetic wraps as the hardware's does.
//
// The function is (state: i32, rip0: f64, left: i32) -> f64: the next RIP, or LEAVE + c for the other ways out
// (leave()); `left` bounds the instructions a looping block retires (loopTail). The runtime functions that can throw
// get k first, so that the JS side knows which instruction faulted.
import type { Trace } from '../../codecache.js';
import { EA_64, EA_RIP, type Insn } from '../../insn.js';
import { K_ADC, K_ADD, K_DEC, K_INC, K_LOGIC, K_NONE, K_SBB, K_SUB, LF_REST, sizeIndex } from '../../flags.js';
import { ARITH_FLAGS, IF, RF, VM } from '../../regs.js';
import { OP_ADC, OP_ADD, OP_AND, OP_CMP, OP_OR, OP_SBB, OP_SUB, OP_TEST, OP_XOR } from '../../ops/alu-core.js';
import { formTable, type Form, type FormInfo } from '../forms.js';
import { SHIFT_AF } from '../../ops/undef.js';
import { encodeModule, FnBody, Op, WT, type FnType } from './encode.js';
import { St } from './arena.js';
import { specialiseSse, SSE_FORMS } from './compile-sse.js';

/**
 * The runtime's functions (block.ts), called through the machine's function table at these indices: blocks import
 * no functions, because V8 compiles a wrapper per imported function signature for every module (~250 us a module,
 * measured), while a module that imports only the memory and the table costs ~70 us to compile and instantiate.
 * All have the one type TYPE_RT, (k: i32, address: f64, v: i32, w: i32) -> i32, unused arguments 0.
 */
export const IMPORT_NAMES = ['gen', 'rd8', 'rd16', 'rd32', 'rd64', 'rmw8', 'rmw16', 'rmw32', 'rmw64', 'hi', 'wr8', 'wr16', 'wr32', 'wr64',
  'ss', 'gp', 'callgp', 'cond', 'getcf', 'kept', 'callindgp', 'arith'] as const;
/** Type indices of every module of blocks and of the hub (block.ts): a block, a runtime function, the hub's entry. */
export const TYPE_BLOCK = 0, TYPE_RT = 1, TYPE_ENTRY = 2;
export const TYPES: FnType[] = [[[WT.I32, WT.F64, WT.I32], [WT.F64]], [[WT.I32, WT.F64, WT.I32, WT.I32], [WT.I32]], [[WT.I32, WT.I32, WT.F64, WT.I32], [WT.F64]]];
export const enum Imp { gen, rd8, rd16, rd32, rd64, rmw8, rmw16, rmw32, rmw64, hi, wr8, wr16, wr32, wr64, ss, gp, callgp, cond, getcf, kept, callindgp, arith }

const RD: Record<number, Imp> = { 8: Imp.rd8, 16: Imp.rd16, 32: Imp.rd32, 64: Imp.rd64 };
const RMW: Record<number, Imp> = { 8: Imp.rmw8, 16: Imp.rmw16, 32: Imp.rmw32, 64: Imp.rmw64 };
const WR: Record<number, Imp> = { 8: Imp.wr8, 16: Imp.wr16, 32: Imp.wr32 };
const LIM: Record<number, number> = { 8: 4095, 16: 0xffe, 32: 0xffc, 64: 0xff8, 128: 0xff0 };
const LOAD: Record<number, Op> = { 8: Op.i32_load8_u, 16: Op.i32_load16_u, 32: Op.i32_load, 64: Op.i64_load };
const STORE: Record<number, Op> = { 8: Op.i32_store8, 16: Op.i32_store16, 32: Op.i32_store, 64: Op.i64_store };
/** 2^47 as halves, for the canonical-address tests. */
const C47 = [0, 0x8000] as const;
const S = 0, RIP0 = 1, LEFT = 2;
const BLOCK_I32 = 0x7f, BLOCK_I64 = 0x7e, BLOCK_VOID = 0x40;

/** Lazy-flag slot byte offsets within the slice. */
const LFB = (slot: number) => St.LF + 4 * slot;

interface Producer { kind: number; sz: number }
const ABSENT = 0, CLEAN = 1, DIRTY = 2;

/**
 * A compiled trace: its function body (of type TYPE_BLOCK, encoded) and what the JS side needs to run it. A function of
 * the trace's mode and bytes only (no address, table index or machine in it), so that any machine of the process can
 * take it for the same code (block.ts shares them).
 */
export interface WasmPlan {
  body: number[];
  /** Per instruction: its handler is called (not specialised). */
  generic: boolean[];
  specialised: number;
}

export class Emit {
  readonly f = new FnBody(3);
  prod: Producer | null = null;
  k = 0;
  readonly ripI: number;
  /** The next instruction writes LF_OP and LF_ARITH without reading flags and cannot fault (compiler.ts Gen). */
  nextOverwritesExplicit = false;
  /** Set (i32 local) when a slow store of this block dropped decoded code; `stored`: this instruction stored. */
  readonly dropped: number;
  stored = false;
  constructor(readonly ins: Insn[]) {
    this.ripI = this.f.local(WT.I64);
    this.dropped = this.f.local(WT.I32);
    this.f.get(RIP0).op(Op.i64_trunc_f64_s).set(this.ripI);
  }
  i64(v: number): void { this.f.i64(v | 0, v < 0 ? -1 : Math.floor(v / 4294967296) | 0); }
  /** Pushes RIP after instruction k (i64). */
  ripAfter(k: number): void { this.f.get(this.ripI); this.i64(this.ins[k]!.end); this.f.op(Op.i64_add); }

  // ---- registers: i64 locals, loaded at first use, stored back before anything that can see them ------------
  /** Per GPR: its local (-1: none yet) and whether the local is not loaded, loaded, or newer than the slice. */
  private readonly regLocal = new Int32Array(16).fill(-1);
  private readonly regState = new Uint8Array(16);
  /** The local of GPR n, loaded from the slice if it is not yet (straight-line code only: not inside a branch). */
  use(n: number): number {
    let l = this.regLocal[n]!;
    if (l < 0) l = this.regLocal[n] = this.f.local(WT.I64);
    if (this.regState[n] === ABSENT) {
      this.f.get(S).mem(Op.i64_load, 3, St.R32 + 8 * n).set(l);
      this.regState[n] = CLEAN;
    }
    return l;
  }
  readReg(size: number, r: number): void {
    const f = this.f;
    if (size === 8) {
      f.get(this.use(r >> 3));
      if (r & 7) f.i64(8 * (r & 7), 0).op(Op.i64_shr_u);
      f.op(Op.i32_wrap_i64).i32(255).op(Op.i32_and);
      return;
    }
    f.get(this.use(r));
    if (size === 32) f.op(Op.i32_wrap_i64);
    else if (size === 16) f.op(Op.i32_wrap_i64).i32(65535).op(Op.i32_and);
  }
  /** Writes the value `val` pushes (i64 for 64 bits, else i32) with the x86-64 rules (32 bits zero the top). */
  writeReg(size: number, r: number, val: () => void): void {
    const f = this.f;
    if (size === 64 || size === 32) {
      let l = this.regLocal[r]!;
      if (l < 0) l = this.regLocal[r] = f.local(WT.I64);
      val();
      if (size === 32) f.op(Op.i64_extend_i32_u);
      f.set(l);
      this.regState[r] = DIRTY;
      return;
    }
    const n = size === 8 ? r >> 3 : r, sh = size === 8 ? 8 * (r & 7) : 0, m = size === 8 ? 255 : 65535;
    const l = this.use(n);
    f.get(l).i64(~(m << sh), -1).op(Op.i64_and);
    val();
    f.i32(m).op(Op.i32_and, Op.i64_extend_i32_u);
    if (sh) f.i64(sh, 0).op(Op.i64_shl);
    f.op(Op.i64_or).set(l);
    this.regState[n] = DIRTY;
  }
  /** Stores the registers newer than the slice. `keep`: code on one branch only (the state stays as it is). */
  flushRegs(keep: boolean): void {
    this.flushFlags(keep);
    for (let n = 0; n < 16; n++) {
      if (this.regState[n] !== DIRTY) continue;
      this.f.get(S).get(this.regLocal[n]!).mem(Op.i64_store, 3, St.R32 + 8 * n);
      if (!keep) this.regState[n] = CLEAN;
    }
  }
  saveRegs(): Uint8Array { return this.regState.slice(); }
  /** Registers this block has a local for (the ones it uses). */
  usedRegs(): number[] { return [...this.regLocal.keys()].filter((n) => this.regLocal[n]! >= 0); }
  /** Marks every loaded register as changed (a loop's head: a later pass may have changed it). */
  dirtyAll(): void {
    for (let n = 0; n < 16; n++) if (this.regState[n] !== ABSENT) this.regState[n] = DIRTY;
    for (let n = 0; n < 10; n++) if (this.flagState[n] !== ABSENT) this.flagState[n] = DIRTY;
  }
  /** In a looping block: the i32 local counting the instructions of its completed passes (-1: not a loop). */
  loopDone = -1;
  /** Stores the completed passes' instructions in EXTRA (a looping block, before it leaves or calls the runtime). */
  storeExtra(): void { if (this.loopDone >= 0) this.f.get(S).get(this.loopDone).mem(Op.i32_store, 2, St.EXTRA); }
  restoreRegs(s: Uint8Array): void { this.regState.set(s); }
  /** After a handler call (which may change any register): every register is read from the slice again. */
  forgetRegs(): void { this.regState.fill(ABSENT); this.flagState.fill(ABSENT); }
  local64(val: () => void): number { const l = this.f.local(WT.I64); val(); this.f.set(l); return l; }
  local32(val: () => void): number { const l = this.f.local(WT.I32); val(); this.f.set(l); return l; }
  /** A value of `size` bits as a local: i64 for 64, else i32. */
  localOf(size: number, val: () => void): number { return size === 64 ? this.local64(val) : this.local32(val); }

  // ---- addresses -----------------------------------------------------------------------------------------
  /** The linear address of i's memory operand as an i64 local, or -1 when the form is not compiled. */
  ea(i: Insn): number {
    if (i.eaKind === EA_64) {
      return this.local64(() => {
        this.i64(i.disp);
        if (i.base >= 0) { this.readReg(64, i.base); this.f.op(Op.i64_add); }
        if (i.index >= 0) {
          this.readReg(64, i.index);
          if (i.scale !== 1) this.f.i64(Math.log2(i.scale), 0).op(Op.i64_shl);
          this.f.op(Op.i64_add);
        }
        this.seg(i);
      });
    }
    if (i.eaKind === EA_RIP && i.index !== -2) {
      return this.local64(() => { this.ripAfter(this.k); this.i64(i.disp); this.f.op(Op.i64_add); this.seg(i); });
    }
    return -1;
  }
  private seg(i: Insn): void {
    if (i.seg >= 4) this.f.get(S).mem(Op.f64_load, 3, St.SEG + 8 * i.seg).op(Op.i64_trunc_f64_s, Op.i64_add);
  }
  /**
   * Pushes whether i64 local a lies outside [-2^47, 2^47 - max(slack, 1)] (compiler.ts: a target must be canonical,
   * an 8-byte stack slot must end by 2^47): shifted by 2^47, an unsigned compare.
   */
  nonCanonical(a: number, slack: number): void {
    this.f.get(a).i64(C47[0], C47[1]).op(Op.i64_add).i64(-Math.max(slack, 1), 0xffff).op(Op.i64_gt_u);
  }
  /** Sets o (page offset) and x (TLB slot) of address a; pushes the tag test against tagOff's array. */
  tlbTest(a: number, size: number, tagOff: number): { o: number; x: number } {
    const f = this.f;
    const o = this.local32(() => f.get(a).op(Op.i32_wrap_i64).i32(4095).op(Op.i32_and));
    const x = this.local32(() => f.get(a).i64(12, 0).op(Op.i64_shr_u, Op.i32_wrap_i64).i32(4095).op(Op.i32_and));
    f.get(S).get(x).i32(3).op(Op.i32_shl, Op.i32_add).mem(Op.f64_load, 3, tagOff);
    f.get(a).get(o).op(Op.i64_extend_i32_u, Op.i64_sub, Op.f64_convert_i64_s, Op.f64_eq);
    if (size > 8) f.get(o).i32(LIM[size]!).op(Op.i32_le_u, Op.i32_and);
    return { o, x };
  }
  /** Pushes the host offset of slot x's page plus o (offArr: ROFF or WOFF). */
  host(x: number, o: number, offArr: number): void {
    this.f.get(S).get(x).i32(2).op(Op.i32_shl, Op.i32_add).mem(Op.i32_load, 2, offArr).get(o).op(Op.i32_add);
  }
  /** A guest-memory access of `size` bits at the host offset on the stack (no alignment assumed). */
  private loadAt(size: number): void { this.f.mem(LOAD[size]!, 0, 0); }
  private storeAt(size: number): void { this.f.mem(STORE[size]!, 0, 0); }
  /** After a 64-bit slow read that returned the low half: the pair as an i64. */
  private withHi(): void {
    const lo = this.local32(() => {});
    this.rt(Imp.hi, 0, -1); this.f.op(Op.i64_extend_i32_u).i64(32, 0).op(Op.i64_shl).get(lo).op(Op.i64_extend_i32_u, Op.i64_or);
  }
  /** Loads `size` bits at address local a into a new local (i64 for 64, else i32). */
  load(size: number, a: number): number {
    const f = this.f;
    const { o, x } = this.tlbTest(a, size, St.RTAG);
    f.op(Op.if, size === 64 ? BLOCK_I64 : BLOCK_I32);
    this.host(x, o, St.ROFF); this.loadAt(size);
    f.op(Op.else); this.rt(RD[size]!, this.k, a);
    if (size === 64) this.withHi();
    f.op(Op.end);
    return this.localOf(size, () => {});
  }
  /** Read for read-modify-write: returns [value local, p local: host offset on a write-TLB hit, else -1]. */
  loadRmw(size: number, a: number): [number, number] {
    const f = this.f;
    const { o, x } = this.tlbTest(a, size, St.WTAG);
    f.op(Op.if, BLOCK_I32); this.host(x, o, St.WOFF); f.op(Op.else).i32(-1).op(Op.end);
    const p = this.local32(() => {});
    f.get(p).i32(0).op(Op.i32_ge_s, Op.if, size === 64 ? BLOCK_I64 : BLOCK_I32).get(p);
    this.loadAt(size);
    f.op(Op.else); this.rt(RMW[size]!, this.k, a);
    if (size === 64) this.withHi();
    f.op(Op.end);
    return [this.localOf(size, () => {}), p];
  }
  /**
   * The slow store of value local v. Whether it dropped decoded code is or-ed into `dropped`: the block leaves at the
   * end of this instruction (planWasm), once the instruction has committed everything (a push its RSP, inc its flags).
   */
  private slowStore(size: number, a: number, v: number): void {
    const f = this.f;
    if (size === 64) this.rt(Imp.wr64, this.k, a, () => f.get(v).op(Op.i32_wrap_i64), () => f.get(v).i64(32, 0).op(Op.i64_shr_u, Op.i32_wrap_i64));
    else this.rt(WR[size]!, this.k, a, () => f.get(v));
    f.get(this.dropped).op(Op.i32_or).set(this.dropped);
    this.stored = true;
  }
  storeRmw(size: number, a: number, p: number, v: number): void {
    const f = this.f;
    f.get(p).i32(0).op(Op.i32_ge_s, Op.if, BLOCK_VOID).get(p).get(v);
    this.storeAt(size);
    f.op(Op.else);
    this.slowStore(size, a, v);
    f.op(Op.end);
  }
  store(size: number, a: number, v: number): void {
    const f = this.f;
    const { o, x } = this.tlbTest(a, size, St.WTAG);
    f.op(Op.if, BLOCK_VOID);
    this.host(x, o, St.WOFF); f.get(v); this.storeAt(size);
    f.op(Op.else);
    this.slowStore(size, a, v);
    f.op(Op.end);
  }

  // ---- flags ---------------------------------------------------------------------------------------------
  /** Stores an i32 into lazy-flag slot n. */
  // ---- lazy flags: an i32 local per slot of cpu.lf (but REST), like the registers ----------------------------
  private readonly flagLocal = new Int32Array(10).fill(-1);
  private readonly flagState = new Uint8Array(10);
  private flagOf(slot: number): number {
    let l = this.flagLocal[slot]!;
    if (l < 0) l = this.flagLocal[slot] = this.f.local(WT.I32);
    return l;
  }
  /** Pushes slot's value, loading it first if it is not yet (straight-line code only). */
  private lf32(slot: number): void {
    const l = this.flagOf(slot);
    if (this.flagState[slot] === ABSENT) { this.f.get(S).mem(Op.i32_load, 2, LFB(slot)).set(l); this.flagState[slot] = CLEAN; }
    this.f.get(l);
  }
  /** The slot pair (slot, slot + 1) as an i64. */
  private lf64(slot: number): void {
    this.lf32(slot); this.f.op(Op.i64_extend_i32_u);
    this.lf32(slot + 1); this.f.op(Op.i64_extend_i32_u).i64(32, 0).op(Op.i64_shl, Op.i64_or);
  }
  /** Stores the slots newer than cpu.lf (`keep`: on one branch only). */
  flushFlags(keep: boolean): void {
    for (const slot of [0, 1, 2, 3, 4, 5, 6, 7, 9]) {
      if (this.flagState[slot] !== DIRTY) continue;
      this.f.get(S).get(this.flagLocal[slot]!).mem(Op.i32_store, 2, LFB(slot));
      if (!keep) this.flagState[slot] = CLEAN;
    }
  }
  /** Slots this block has a local for. */
  usedFlags(): number[] { return [...this.flagLocal.keys()].filter((n) => this.flagLocal[n]! >= 0); }
  loadFlag(slot: number): void { const l = this.flagOf(slot); this.f.get(S).mem(Op.i32_load, 2, LFB(slot)).set(l); this.flagState[slot] = DIRTY; }
  setF(slot: number, val: () => void): void { val(); this.f.set(this.flagOf(slot)); this.flagState[slot] = DIRTY; }
  /** Stores an i64 into the slot pair (n, n+1) (low, high halves). */
  setF2(slot: number, val: () => void): void {
    const t = this.local64(val);
    this.setF(slot, () => this.f.get(t).op(Op.i32_wrap_i64));
    this.setF(slot + 1, () => this.f.get(t).i64(32, 0).op(Op.i64_shr_u, Op.i32_wrap_i64));
  }
  private masked(slot: number, sz: number): void {
    this.lf32(slot);
    if (sz < 2) this.f.i32(sz === 0 ? 255 : 65535).op(Op.i32_and);
  }
  private zf(sz: number): void {
    if (sz === 3) { this.lf64(5); this.f.op(Op.i64_eqz); } else { this.masked(5, sz); this.f.op(Op.i32_eqz); }
  }
  /** The sign bit at size sz of the value the callback pushes (i64 for sz 3, else i32). */
  private signOf(sz: number, val: () => void): void {
    val();
    if (sz === 3) this.f.i64(0, 0).op(Op.i64_lt_s);
    else this.f.i32(sz === 0 ? 7 : sz === 1 ? 15 : 31).op(Op.i32_shr_u).i32(1).op(Op.i32_and);
  }
  private sf(sz: number): void { this.signOf(sz, () => (sz === 3 ? this.lf64(5) : this.lf32(5))); }
  /** Unsigned slot a < slot b at size sz. */
  private ltu(a: number, b: number, sz: number): void {
    if (sz === 3) { this.lf64(a); this.lf64(b); this.f.op(Op.i64_lt_u); } else { this.masked(a, sz); this.masked(b, sz); this.f.op(Op.i32_lt_u); }
  }
  private cf(p: Producer): void {
    if (p.kind === K_SUB) this.ltu(1, 3, p.sz);
    else if (p.kind === K_ADD) this.ltu(5, 1, p.sz);
    else if (p.kind === K_LOGIC) this.f.i32(0);
    else { this.lf32(7); this.f.i32(0).op(Op.i32_ne); }
  }
  private of(p: Producer): void {
    if (p.kind === K_LOGIC) { this.f.i32(0); return; }
    const sz = p.sz, w = sz === 3;
    const ld = (slot: number) => (w ? this.lf64(slot) : this.lf32(slot));
    const xor = w ? Op.i64_xor : Op.i32_xor, and = w ? Op.i64_and : Op.i32_and;
    this.signOf(sz, () => {
      if (p.kind === K_ADD || p.kind === K_INC) { ld(1); ld(5); this.f.op(xor); ld(3); ld(5); this.f.op(xor, and); }
      else { ld(1); ld(3); this.f.op(xor); ld(1); ld(5); this.f.op(xor, and); }
    });
  }
  private lts(sz: number): void {
    if (sz === 3) { this.lf64(1); this.lf64(3); this.f.op(Op.i64_lt_s); return; }
    const sh = sz === 2 ? 0 : sz === 0 ? 24 : 16;
    this.lf32(1); if (sh) this.f.i32(sh).op(Op.i32_shl);
    this.lf32(3); if (sh) this.f.i32(sh).op(Op.i32_shl);
    this.f.op(Op.i32_lt_s);
  }
  /** Pushes condition cc (0/1) from the producer's recorded flags, or through the interpreter's cond(). */
  cond(cc: number): void {
    const p = this.prod, f = this.f;
    if (p === null) { this.rt(Imp.cond, cc, -1); return; }
    if (p.kind === K_NONE) {
      // Flags given explicitly (shifts, multiplies): the bits in the ARITH slot (compiler.ts condExpr).
      const bit = (m: number) => { this.lf32(9); f.i32(m).op(Op.i32_and, Op.i32_eqz, Op.i32_eqz); };
      switch (cc >> 1) {
        case 0: bit(2048); break;
        case 1: bit(1); break;
        case 2: bit(64); break;
        case 3: bit(65); break;
        case 4: bit(128); break;
        case 5: bit(4); break;
        case 6: bit(128); bit(2048); f.op(Op.i32_ne); break;
        default: bit(64); bit(128); bit(2048); f.op(Op.i32_ne, Op.i32_or);
      }
      if (cc & 1) f.op(Op.i32_eqz);
      return;
    }
    const sub = p.kind === K_SUB;
    switch (cc >> 1) {
      case 0: this.of(p); break;
      case 1: this.cf(p); break;
      case 2: this.zf(p.sz); break;
      case 3: this.cf(p); this.zf(p.sz); f.op(Op.i32_or); break;
      case 4: this.sf(p.sz); break;
      case 5: this.lf32(5); f.i32(255).op(Op.i32_and, Op.i32_popcnt).i32(1).op(Op.i32_and, Op.i32_eqz); break;
      case 6: if (sub) this.lts(p.sz); else { this.sf(p.sz); this.of(p); f.op(Op.i32_ne); } break;
      default:
        if (sub) { this.lts(p.sz); this.zf(p.sz); f.op(Op.i32_or); }
        else { this.zf(p.sz); this.sf(p.sz); this.of(p); f.op(Op.i32_ne, Op.i32_or); }
    }
    if (cc & 1) f.op(Op.i32_eqz);
  }
  /** CF of the current flags (inc/dec's carry in), as an i32 0/1. */
  cfNow(): void {
    if (this.prod !== null && this.prod.kind === K_NONE) { this.lf32(9); this.f.i32(1).op(Op.i32_and); }
    else if (this.prod !== null) this.cf(this.prod);
    else this.rt(Imp.getcf, 0, -1);
  }
  /** SF ZF AF PF of the current flags, what imul keeps (compiler.ts keptFlags), as an i32. */
  kept(): void {
    const p = this.prod, f = this.f;
    if (p === null) { this.rt(Imp.kept, 0, -1); return; }
    if (p.kind === K_NONE) { this.lf32(9); f.i32(212).op(Op.i32_and); return; }
    // PF << 2 | AF << 4 | ZF << 6 | SF << 7
    this.lf32(5); f.i32(255).op(Op.i32_and, Op.i32_popcnt).i32(1).op(Op.i32_and, Op.i32_eqz).i32(2).op(Op.i32_shl);
    if (p.kind !== K_LOGIC) { this.lf32(1); this.lf32(3); f.op(Op.i32_xor); this.lf32(5); f.op(Op.i32_xor).i32(4).op(Op.i32_shr_s).i32(1).op(Op.i32_and).i32(4).op(Op.i32_shl, Op.i32_or); }
    this.zf(p.sz); f.i32(6).op(Op.i32_shl, Op.i32_or);
    this.sf(p.sz); f.i32(7).op(Op.i32_shl, Op.i32_or);
  }
  /** CF PF AF ZF SF OF of the current flags (flags.ts arithFlags), as an i32. */
  arithNow(): void {
    const p = this.prod, f = this.f;
    if (p === null) { this.rt(Imp.arith, 0, -1); return; }
    if (p.kind === K_NONE) { this.lf32(9); f.i32(2261).op(Op.i32_and); return; }
    this.kept(); this.cf(p); f.op(Op.i32_or); this.of(p); f.i32(11).op(Op.i32_shl, Op.i32_or);
  }
  /** Explicit flags `bits` when the i32 local nz is set, else the flags as they were (a shift by CL of 0). */
  keepFlagsUnless(nz: number, bits: number): void {
    const f = this.f;
    this.lf32(0); const op0 = this.local32(() => {});
    this.lf32(9); const ar0 = this.local32(() => {});
    this.setF(0, () => f.i32(0).get(op0).get(nz).op(Op.select));
    this.setF(9, () => f.get(bits).i32(2261).op(Op.i32_and).get(ar0).get(nz).op(Op.select));
    // Which record holds now is known at run time only.
    this.prod = null;
  }
  /** Flags given explicitly (the interpreter's setArithFlags): LF_OP = K_NONE, LF_ARITH = the six bits of `bits`. */
  explicitFlags(bits: () => void): void {
    // Computed before LF_OP changes: the bits may read the flags recorded so far (imul keeps four of them).
    const b = this.local32(bits);
    this.setF(0, () => this.f.i32(0));
    this.setF(9, () => this.f.get(b).i32(2261).op(Op.i32_and));
    this.prod = { kind: K_NONE, sz: 3 };
  }
  /**
   * Calls import imp with k (an i32 constant), the i64 local a as a double (-1: 0) and the values v and w push
   * (absent: 0); the i32 result is left on the stack.
   */
  rt(imp: Imp, k: number, a: number, v: (() => void) | null = null, w: (() => void) | null = null): void {
    // Anything but a flag test or mmu.hi may throw or run a handler: the slice holds the registers as of instruction
    // k's start (k computes into temporaries before it commits). On a branch: the state is left as it is.
    if (imp !== Imp.cond && imp !== Imp.getcf && imp !== Imp.hi && imp !== Imp.kept && imp !== Imp.arith) { this.flushRegs(true); this.storeExtra(); }
    else if (imp !== Imp.hi) this.flushFlags(true); // they read cpu.lf
    const f = this.f.i32(k);
    if (a >= 0) f.get(a).op(Op.f64_convert_i64_s); else f.f64(0);
    if (v !== null) v(); else f.i32(0);
    if (w !== null) w(); else f.i32(0);
    f.i32(imp).callIndirect(TYPE_RT);
  }
  /** #SS (through the import) when the test just pushed (nonCanonical) holds. */
  ssUnless(): void {
    this.f.op(Op.if, BLOCK_VOID); this.rt(Imp.ss, this.k, -1); this.f.op(Op.drop, Op.end);
  }
  /** Leaves with the next RIP (i64 local t). */
  done(t: number): void {
    this.flushRegs(true);
    this.f.get(t).op(Op.f64_convert_i64_s, Op.return);
  }
  /** Leaves with LEAVE + c (leave()). */
  leave(c: number): void {
    this.flushRegs(true);
    this.storeExtra();
    leave(this.f, c);
  }
  /** Throws #GP (through the import) unless the i64 local t is canonical. */
  checkTarget(t: number): void {
    this.nonCanonical(t, 0);
    this.f.op(Op.if, BLOCK_VOID); this.rt(Imp.gp, this.k, -1); this.f.op(Op.drop, Op.end);
  }
}

/** Emits specialised code for instruction i; false: not compiled (its handler is called). */
function specialise(e: Emit, i: Insn, fi: FormInfo, last: boolean): boolean | 'end' {
  const s = i.size, f = e.f, k = e.k;
  switch (fi.form) {
    case 'nop': return true;
    case 'movRmR': case 'movRmI': {
      const imm = fi.form === 'movRmI';
      const v = e.localOf(s, () => (imm ? (s === 64 ? f.i64(i.imm, i.immHi) : f.i32(i.imm)) : e.readReg(s, i.reg)));
      if (i.mem) {
        const a = e.ea(i);
        if (a < 0) return false;
        e.store(s, a, v);
      } else e.writeReg(s, i.rm, () => f.get(v));
      return true;
    }
    case 'movRRm': {
      let v: number;
      if (i.mem) { const a = e.ea(i); if (a < 0) return false; v = e.load(s, a); } else v = e.localOf(s, () => e.readReg(s, i.rm));
      e.writeReg(s, i.reg, () => f.get(v));
      return true;
    }
    case 'lea': {
      if (s !== 32 && s !== 64) return false;
      if (i.eaKind !== EA_64 && !(i.eaKind === EA_RIP && i.index !== -2)) return false;
      // No segment base: lea computes the offset.
      const seg = i.seg;
      i.seg = 0;
      const a = e.ea(i);
      i.seg = seg;
      if (s === 32) e.writeReg(32, i.reg, () => f.get(a).op(Op.i32_wrap_i64));
      else e.writeReg(64, i.reg, () => f.get(a));
      return true;
    }
    case 'movzxB': case 'movzxW': case 'movsxB': case 'movsxW': {
      if (s !== 16 && s !== 32 && s !== 64) return false;
      const bits = fi.form.endsWith('B') ? 8 : 16;
      let m: number;
      if (i.mem) { const a = e.ea(i); if (a < 0) return false; m = e.load(bits, a); } else m = e.local32(() => e.readReg(bits, i.rm));
      if (fi.form.startsWith('movzx')) {
        e.writeReg(s, i.reg, () => (s === 64 ? f.get(m).op(Op.i64_extend_i32_u) : f.get(m)));
        return true;
      }
      const sh = 32 - bits;
      const v = e.local32(() => f.get(m).i32(sh).op(Op.i32_shl).i32(sh).op(Op.i32_shr_s));
      e.writeReg(s, i.reg, () => (s === 64 ? f.get(v).op(Op.i64_extend_i32_s) : s === 16 ? f.get(v).i32(65535).op(Op.i32_and) : f.get(v)));
      return true;
    }
    case 'movsxd': {
      if (s !== 64) return false;
      let v: number;
      if (i.mem) { const a = e.ea(i); if (a < 0) return false; v = e.load(32, a); } else v = e.local32(() => e.readReg(32, i.rm));
      e.writeReg(64, i.reg, () => f.get(v).op(Op.i64_extend_i32_s));
      return true;
    }
    case 'aluRmR': case 'aluRRm': case 'aluRmI': return alu(e, i, fi);
    case 'incdec': return incdec(e, i);
    case 'shiftImm': return shiftImm(e, i, fi);
    case 'shift': return shift(e, i);
    case 'imul': return imul(e, i);
    case 'xchg': case 'xadd': case 'cmpxchg': return atomic(e, i, fi.form);
    case 'negnot': return negnot(e, i);
    case 'leave': {
      if (s !== 64) return false;
      const [a, v] = popSlot(e, 5);
      e.writeReg(64, 4, () => f.get(a).i64(8, 0).op(Op.i64_add));
      e.writeReg(64, 5, () => f.get(v));
      return true;
    }
    case 'jmpInd': case 'callInd': {
      if (!last || s !== 64) return false;
      let t: number;
      if (i.mem) { const a = e.ea(i); if (a < 0) return false; t = e.load(64, a); } else t = e.local64(() => e.readReg(64, i.rm));
      if (fi.form === 'jmpInd') { e.checkTarget(t); e.done(t); return 'end'; }
      // call r/m64 (forms-ctl.ts callInd): the target first; a non-canonical one raises #GP(0) with RSP unchanged, after
      // the push was probed (AMD) or written (Intel): the runtime does what the vCPU's vendor does.
      const r = e.local64(() => e.ripAfter(k));
      const q = pushSlot(e);
      e.nonCanonical(t, 0);
      f.op(Op.if, BLOCK_VOID);
      e.rt(Imp.callindgp, k, q, () => f.get(r).op(Op.i32_wrap_i64), () => f.get(r).i64(32, 0).op(Op.i64_shr_u, Op.i32_wrap_i64));
      f.op(Op.drop, Op.end);
      e.store(64, q, r);
      e.writeReg(64, 4, () => f.get(q));
      e.done(t);
      return 'end';
    }
    case 'push': {
      if (s !== 64) return false;
      pushValue(e, e.local64(() => e.readReg(64, i.reg)));
      return true;
    }
    case 'pop': {
      if (s !== 64) return false;
      const [a, v] = popSlot(e, 4);
      e.writeReg(64, 4, () => f.get(a).i64(8, 0).op(Op.i64_add));
      e.writeReg(64, i.reg, () => f.get(v));
      return true;
    }
    case 'call': {
      if (s !== 64 || !last || i.h.name !== 'call64') return false;
      const r = e.local64(() => e.ripAfter(k));
      const t = e.local64(() => { f.get(r); e.i64(i.imm); f.op(Op.i64_add); });
      const a = pushSlot(e);
      e.nonCanonical(t, 0);
      f.op(Op.if, BLOCK_VOID); e.rt(Imp.callgp, k, a); f.op(Op.drop, Op.end);
      e.store(64, a, r);
      e.writeReg(64, 4, () => f.get(a));
      e.done(t);
      return 'end';
    }
    case 'ret': {
      if (s !== 64 || !last || i.imm !== 0 || i.h.name !== 'ret64') return false;
      const [a, t] = popSlot(e, 4);
      e.checkTarget(t);
      e.writeReg(64, 4, () => f.get(a).i64(8, 0).op(Op.i64_add));
      e.done(t);
      return 'end';
    }
    case 'jcc': case 'jmp': {
      if (!last || i.mode !== 64) return false;
      const next = e.local64(() => e.ripAfter(k));
      const t = e.local64(() => { f.get(next); e.i64(i.imm); f.op(Op.i64_add); });
      if (fi.form === 'jcc') { e.cond(i.op); f.op(Op.if, BLOCK_VOID); }
      e.checkTarget(t);
      e.done(t);
      if (fi.form === 'jcc') { f.op(Op.end); e.done(next); }
      return 'end';
    }
    case 'cmov': {
      if (s !== 32 && s !== 64) return false;
      let v: number;
      if (i.mem) { const a = e.ea(i); if (a < 0) return false; v = e.load(s, a); } else v = e.localOf(s, () => e.readReg(s, i.rm));
      const c = e.local32(() => e.cond(i.op));
      if (s === 64) e.writeReg(64, i.reg, () => { f.get(v); e.readReg(64, i.reg); f.get(c).op(Op.select); });
      else e.writeReg(32, i.reg, () => { f.get(v); e.readReg(32, i.reg); f.get(c).op(Op.select); });
      return true;
    }
    case 'setcc': {
      const c = e.local32(() => e.cond(i.op));
      if (i.mem) { const a = e.ea(i); if (a < 0) return false; e.store(8, a, c); } else e.writeReg(8, i.rm, () => f.get(c));
      return true;
    }
    case 'bsf': case 'bsr': case 'tzcnt': return bitCount(e, i, fi.form);
    case 'pushf': {
      if (s !== 64) return false;
      // The image getFlags() makes, RF and VM read as 0 (branch.ts pushf).
      const v = e.local64(() => {
        f.get(0).mem(Op.i32_load, 2, LFB(LF_REST)).i32(~(ARITH_FLAGS | RF | VM)).op(Op.i32_and);
        e.arithNow(); f.op(Op.i32_or).i32(2).op(Op.i32_or, Op.i64_extend_i32_u);
      });
      pushValue(e, v);
      return true;
    }
    case 'cli': {
      // CPL <= IOPL (St.ASSUME bit 2) or the handler's #GP. IF lives in the REST slot, which no local caches.
      f.get(0).mem(Op.i32_load, 2, St.ASSUME).i32(4).op(Op.i32_and, Op.if, BLOCK_VOID);
      f.get(0).get(0).mem(Op.i32_load, 2, LFB(LF_REST)).i32(~IF).op(Op.i32_and).mem(Op.i32_store, 2, LFB(LF_REST));
      f.op(Op.else);
      e.rt(Imp.gen, k, -1);
      f.op(Op.drop, Op.end);
      return true;
    }
    default: return SSE_FORMS.has(fi.form) && specialiseSse(e, i, fi.form);
  }
}

function alu(e: Emit, i: Insn, fi: FormInfo): boolean {
  const op = i.op, s = i.size, f = e.f, sz = sizeIndex(s);
  if (fi.ops.size === 1 && !fi.ops.has(op)) return false;
  if (op > OP_TEST) return false;
  const carry = op === OP_ADC || op === OP_SBB;
  const discard = op >= OP_CMP, w = s === 64;
  const memDest = i.mem && fi.form !== 'aluRRm';
  let a = -1;
  if (i.mem) { a = e.ea(i); if (a < 0) return false; }
  let b: number;
  if (fi.form === 'aluRmI') b = e.localOf(s, () => (w ? f.i64(i.imm, i.immHi) : f.i32(i.imm)));
  else if (fi.form === 'aluRmR') b = e.localOf(s, () => e.readReg(s, i.reg));
  else if (i.mem) b = e.load(s, a);
  else b = e.localOf(s, () => e.readReg(s, i.rm));
  let m: number, p = -1;
  if (memDest) {
    if (discard) m = e.load(s, a);
    else [m, p] = e.loadRmw(s, a);
  } else {
    const d = fi.form === 'aluRRm' ? i.reg : i.rm;
    m = e.localOf(s, () => e.readReg(s, d));
  }
  const kind = op === OP_ADD ? K_ADD : op === OP_SUB || op === OP_CMP ? K_SUB : op === OP_ADC ? K_ADC : op === OP_SBB ? K_SBB : K_LOGIC;
  // adc/sbb: the carry in, CF of the flags so far (alu-core.ts records it in CIN at every size).
  const cin = carry ? e.local32(() => e.cfNow()) : -1;
  const r = e.localOf(s, () => {
    f.get(m).get(b);
    if (kind === K_ADD || kind === K_ADC) f.op(w ? Op.i64_add : Op.i32_add);
    else if (kind === K_SUB || kind === K_SBB) f.op(w ? Op.i64_sub : Op.i32_sub);
    else f.op(op === OP_OR ? (w ? Op.i64_or : Op.i32_or) : op === OP_XOR ? (w ? Op.i64_xor : Op.i32_xor) : (w ? Op.i64_and : Op.i32_and));
    if (carry) { f.get(cin); if (w) f.op(Op.i64_extend_i32_u); f.op(kind === K_ADC ? (w ? Op.i64_add : Op.i32_add) : (w ? Op.i64_sub : Op.i32_sub)); }
    if (s < 32) f.i32(s === 8 ? 255 : 65535).op(Op.i32_and);
  });
  if (memDest && !discard) e.storeRmw(s, a, p, r);
  // Flags as the interpreter's handler records them (compiler.ts alu), then the destination register.
  e.setF(0, () => f.i32((kind << 2) | sz));
  if (w) { e.setF2(1, () => f.get(m)); e.setF2(3, () => f.get(b)); e.setF2(5, () => f.get(r)); }
  else { e.setF(1, () => f.get(m)); e.setF(3, () => f.get(b)); e.setF(5, () => f.get(r)); }
  if (carry) e.setF(7, () => f.get(cin));
  else if (fi.hot ? s >= 32 : (s === 64 && kind !== K_LOGIC)) e.setF(7, () => f.i32(0));
  // Conditions after adc/sbb are left to the interpreter's cond() (as compiler.ts does).
  e.prod = carry ? null : { kind, sz };
  if (!discard && !memDest) e.writeReg(s, fi.form === 'aluRRm' ? i.reg : i.rm, () => f.get(r));
  return true;
}

/** The slot a push writes: RSP - 8 as an i64 local, #SS unless its 8 bytes are canonical. */
function pushSlot(e: Emit): number {
  const a = e.local64(() => { e.readReg(64, 4); e.f.i64(8, 0).op(Op.i64_sub); });
  e.nonCanonical(a, 8);
  e.ssUnless();
  return a;
}

/** push of the i64 local v: its store, then RSP. */
function pushValue(e: Emit, v: number): void {
  const a = pushSlot(e);
  e.store(64, a, v);
  e.writeReg(64, 4, () => e.f.get(a));
}

/** The 8 bytes at register `base` (RSP for pop and ret, RBP for leave), #SS unless canonical: [address, value] locals. */
function popSlot(e: Emit, base: number): [number, number] {
  const a = e.local64(() => e.readReg(64, base));
  e.nonCanonical(a, 8);
  e.ssUnless();
  return [a, e.load(64, a)];
}

/** shl/shr/sar of a 64-bit register by a constant 1..63 (compiler.ts shift64: the same explicit flags). */
function shiftImm(e: Emit, i: Insn, fi: FormInfo): boolean {
  const c = i.imm, op = i.op, f = e.f;
  if (i.mem || i.size !== 64 || c < 1 || c > 63 || fi.ops.size !== 1) return false;
  if (op !== 4 && op !== 5 && op !== 7) return false;
  const m = e.local64(() => e.readReg(64, i.rm));
  const bit = (n: number) => { f.get(m).i64(n, 0).op(Op.i64_shr_u, Op.i32_wrap_i64).i32(1).op(Op.i32_and); };
  const r = e.local64(() => f.get(m).i64(c, 0).op(op === 4 ? Op.i64_shl : op === 5 ? Op.i64_shr_u : Op.i64_shr_s));
  const cf = e.local32(() => bit(op === 4 ? 64 - c : c - 1));
  const rbit = (n: number) => { f.get(r).i64(n, 0).op(Op.i64_shr_u, Op.i32_wrap_i64).i32(1).op(Op.i32_and); };
  e.explicitFlags(() => {
    // PF, ZF, SF of the result, CF, OF, and AF as the interpreter leaves it (SHIFT_AF).
    f.get(r).op(Op.i32_wrap_i64).i32(255).op(Op.i32_and, Op.i32_popcnt).i32(1).op(Op.i32_and, Op.i32_eqz).i32(2).op(Op.i32_shl);
    f.get(r).op(Op.i64_eqz).i32(6).op(Op.i32_shl, Op.i32_or);
    rbit(63); f.i32(7).op(Op.i32_shl, Op.i32_or).get(cf).op(Op.i32_or);
    if (op === 4) { rbit(63); f.get(cf).op(Op.i32_xor); }
    else if (op === 7) f.i32(0);
    else if (c > 1) { rbit(63); rbit(62); f.op(Op.i32_xor); }
    else bit(63);
    f.i32(11).op(Op.i32_shl, Op.i32_or).i32(SHIFT_AF).op(Op.i32_or);
  });
  e.writeReg(64, i.rm, () => f.get(r));
  return true;
}

/**
 * shl/shr/sar of every size by a constant, by 1 or by CL, register or memory (shift.ts shiftGroup, shiftSmall,
 * shift64: the same result and flags). A masked count of 0 changes no flag and writes nothing but a 32-bit register's
 * zero top; by CL that is decided at run time with selects, so that no branch separates the locals' states.
 */
function shift(e: Emit, i: Insn): boolean {
  const s = i.size, op = i.op, f = e.f, w = s === 64, cl = i.imm2 !== 0;
  if ((op === 0 || op === 1) && !cl && (s === 32 || s === 64) && (i.imm & (s - 1)) !== 0) return rotate(e, i);
  if (op !== 4 && op !== 5 && op !== 7) return false;
  const mask = w ? 63 : 31;
  if (!cl && (i.imm & mask) === 0 && i.mem) return false;
  let a = -1, p = -1, v: number;
  if (i.mem) { a = e.ea(i); if (a < 0) return false; [v, p] = e.loadRmw(s, a); } else v = e.localOf(s, () => e.readReg(s, i.rm));
  const c = e.local32(() => (cl ? (e.readReg(8, 8), f.i32(mask).op(Op.i32_and)) : f.i32(i.imm & mask)));
  if (!cl && (i.imm & mask) === 0) { if (s === 32) e.writeReg(32, i.rm, () => f.get(v)); return true; }
  const msb = s - 1, m = s === 8 ? 255 : s === 16 ? 65535 : -1;
  const cm1 = () => { f.get(c).i32(1).op(Op.i32_sub); };
  // Result, CF and OF as shiftSmall / shift64 compute them.
  let r: number, cf: number, of: number;
  if (w) {
    const bitOf = (x: number, n: () => void) => { f.get(x); n(); f.op(Op.i64_extend_i32_u, Op.i64_shr_u, Op.i32_wrap_i64).i32(1).op(Op.i32_and); };
    r = e.local64(() => { f.get(v).get(c).op(Op.i64_extend_i32_u, op === 4 ? Op.i64_shl : op === 5 ? Op.i64_shr_u : Op.i64_shr_s); });
    cf = e.local32(() => bitOf(v, () => (op === 4 ? f.i32(64).get(c).op(Op.i32_sub) : cm1())));
    const top = (n: number) => { f.get(r).i64(n, 0).op(Op.i64_shr_u, Op.i32_wrap_i64).i32(1).op(Op.i32_and); };
    of = e.local32(() => {
      if (op === 4) { top(63); f.get(cf).op(Op.i32_xor); }
      else if (op === 7) f.i32(0);
      else { top(63); top(62); f.op(Op.i32_xor); f.get(v).i64(63, 0).op(Op.i64_shr_u, Op.i32_wrap_i64).get(c).i32(1).op(Op.i32_gt_u, Op.select); }
    });
  } else {
    const sv = () => { f.get(v); if (s < 32) f.i32(32 - s).op(Op.i32_shl).i32(32 - s).op(Op.i32_shr_s); };
    r = e.local32(() => {
      if (op === 4) f.get(v).get(c).op(Op.i32_shl);
      else if (op === 5) f.get(v).get(c).op(Op.i32_shr_u);
      else { sv(); f.get(c).op(Op.i32_shr_s); }
      if (s < 32) f.i32(m).op(Op.i32_and);
    });
    cf = e.local32(() => {
      if (op === 4) {
        // c <= size ? bit (size - c) of v : 0
        f.get(v).i32(s).get(c).op(Op.i32_sub, Op.i32_shr_u).i32(1).op(Op.i32_and).i32(0).get(c).i32(s).op(Op.i32_le_u, Op.select);
      } else if (op === 5) {
        f.get(v); cm1(); f.op(Op.i32_shr_u).i32(1).op(Op.i32_and);
        if (s < 32) f.i32(0).get(c).i32(s).op(Op.i32_le_u, Op.select);
      } else { sv(); cm1(); f.op(Op.i32_shr_s).i32(1).op(Op.i32_and); }
    });
    of = e.local32(() => {
      if (op === 4) { f.get(r).i32(msb).op(Op.i32_shr_u).i32(1).op(Op.i32_and).get(cf).op(Op.i32_xor); }
      else if (op === 7) f.i32(0);
      else {
        f.get(r).i32(msb).op(Op.i32_shr_u).get(r).i32(msb - 1).op(Op.i32_shr_u, Op.i32_xor).i32(1).op(Op.i32_and);
        f.get(v).i32(msb).op(Op.i32_shr_u).i32(1).op(Op.i32_and).get(c).i32(1).op(Op.i32_gt_u, Op.select);
      }
    });
  }
  const bits = e.local32(() => {
    // resultFlags: PF of the low byte, ZF of the value at its size, SF its top bit; then CF, OF, AF.
    if (w) f.get(r).op(Op.i32_wrap_i64); else f.get(r);
    f.i32(255).op(Op.i32_and, Op.i32_popcnt).i32(1).op(Op.i32_and, Op.i32_eqz).i32(2).op(Op.i32_shl);
    f.get(r); if (w) f.op(Op.i64_eqz); else f.op(Op.i32_eqz);
    f.i32(6).op(Op.i32_shl, Op.i32_or);
    if (w) f.get(r).i64(63, 0).op(Op.i64_shr_u, Op.i32_wrap_i64); else f.get(r).i32(msb).op(Op.i32_shr_u);
    f.i32(1).op(Op.i32_and).i32(7).op(Op.i32_shl, Op.i32_or).get(cf).op(Op.i32_or).get(of).i32(11).op(Op.i32_shl, Op.i32_or);
    f.i32(SHIFT_AF).op(Op.i32_or);
  });
  if (!cl) {
    if (i.mem) e.storeRmw(s, a, p, r);
    e.explicitFlags(() => f.get(bits));
    if (!i.mem) e.writeReg(s, i.rm, () => f.get(r));
    return true;
  }
  // By CL: a zero count keeps the operand and the flags.
  const nz = e.local32(() => f.get(c).op(Op.i32_eqz, Op.i32_eqz));
  if (i.mem) {
    f.get(nz).op(Op.if, BLOCK_VOID);
    e.storeRmw(s, a, p, r);
    f.op(Op.end);
  }
  e.keepFlagsUnless(nz, bits);
  if (!i.mem) e.writeReg(s, i.rm, () => f.get(r).get(v).get(nz).op(Op.select));
  return true;
}

/**
 * rol/ror of 32 or 64 bits by a constant that is not 0 after masking (shift.ts shiftSmall, shift64): CF the bit that
 * went round, OF from the result's top bits, SF ZF AF PF kept.
 */
function rotate(e: Emit, i: Insn): boolean {
  const s = i.size, w = s === 64, f = e.f, k = i.imm & (s - 1), rol = i.op === 0, msb = s - 1;
  let a = -1, p = -1, v: number;
  if (i.mem) { a = e.ea(i); if (a < 0) return false; [v, p] = e.loadRmw(s, a); } else v = e.localOf(s, () => e.readReg(s, i.rm));
  const r = e.localOf(s, () => {
    f.get(v);
    if (w) f.i64(k, 0).op(rol ? Op.i64_rotl : Op.i64_rotr); else f.i32(k).op(rol ? Op.i32_rotl : Op.i32_rotr);
  });
  const bit = (n: number) => {
    f.get(r);
    if (w) f.i64(n, 0).op(Op.i64_shr_u, Op.i32_wrap_i64); else f.i32(n).op(Op.i32_shr_u);
    f.i32(1).op(Op.i32_and);
  };
  const cf = e.local32(() => bit(rol ? 0 : msb));
  const of = e.local32(() => { bit(rol ? msb : msb - 1); f.get(cf).op(Op.i32_xor); });
  if (i.mem) e.storeRmw(s, a, p, r);
  e.explicitFlags(() => { e.kept(); f.get(cf).op(Op.i32_or).get(of).i32(11).op(Op.i32_shl, Op.i32_or); });
  if (!i.mem) e.writeReg(s, i.rm, () => f.get(r));
  return true;
}

/**
 * bsf/bsr (bitops.ts): the index of the lowest/highest set bit, a zero source leaving the destination; ZF set by a zero
 * source, the other flags kept (undef.ts bitScanFlags). tzcnt: the trailing zeros (the size for 0); CF for a zero
 * source, ZF for a zero count, OF kept, the others cleared (undef.ts countFlags). 32 and 64 bits.
 */
function bitCount(e: Emit, i: Insn, form: Form): boolean {
  const s = i.size, f = e.f, w = s === 64;
  if (s !== 32 && s !== 64) return false;
  let m: number;
  if (i.mem) { const a = e.ea(i); if (a < 0) return false; m = e.load(s, a); } else m = e.localOf(s, () => e.readReg(s, i.rm));
  const z = e.local32(() => { f.get(m); f.op(w ? Op.i64_eqz : Op.i32_eqz); });
  // The count as an i64 (ctz of 0 is the size, as tzcnt wants).
  const n = e.local64(() => {
    f.get(m);
    if (form === 'bsr') { f.op(w ? Op.i64_clz : Op.i32_clz); if (!w) f.op(Op.i64_extend_i32_u); f.i64(s - 1, 0).op(Op.i64_xor); }
    else { f.op(w ? Op.i64_ctz : Op.i32_ctz); if (!w) f.op(Op.i64_extend_i32_u); }
  });
  const old = e.local32(() => e.arithNow());
  if (form === 'tzcnt') {
    e.explicitFlags(() => {
      f.get(old).i32(2048).op(Op.i32_and).get(z).op(Op.i32_or);
      f.get(n).op(Op.i64_eqz).i32(6).op(Op.i32_shl, Op.i32_or);
    });
    e.writeReg(64, i.reg, () => f.get(n));
    return true;
  }
  e.explicitFlags(() => { f.get(old).i32(~64).op(Op.i32_and).get(z).i32(6).op(Op.i32_shl, Op.i32_or); });
  e.writeReg(64, i.reg, () => { e.readReg(64, i.reg); f.get(n).get(z).op(Op.select); });
  return true;
}

/** imul reg, r/m[, imm] at 32 and 64 bits (compiler.ts imul: flags SF ZF AF PF kept, CF = OF = overflow). */
function imul(e: Emit, i: Insn): boolean {
  const s = i.size, f = e.f, w = s === 64;
  if (s !== 32 && s !== 64) return false;
  let m: number;
  if (i.mem) { const a = e.ea(i); if (a < 0) return false; m = e.load(s, a); } else m = e.localOf(s, () => e.readReg(s, i.rm));
  const b = e.localOf(s, () => (i.op ? (w ? f.i64(i.imm, i.imm >> 31) : f.i32(i.imm)) : e.readReg(s, i.reg)));
  const r = e.localOf(s, () => f.get(m).get(b).op(w ? Op.i64_mul : Op.i32_mul));
  let o: number;
  if (!w) o = e.local32(() => f.get(m).op(Op.i64_extend_i32_s).get(b).op(Op.i64_extend_i32_s, Op.i64_mul).get(r).op(Op.i64_extend_i32_s, Op.i64_ne));
  else {
    // The product's high 64 bits (signed) against the sign of its low 64: Hacker's Delight mulhs from 32-bit halves.
    const lo32 = (x: number) => { f.get(x).i64(-1, 0).op(Op.i64_and); };
    const hi32 = (x: number) => { f.get(x).i64(32, 0).op(Op.i64_shr_u); };
    const p00 = e.local64(() => { lo32(m); lo32(b); f.op(Op.i64_mul); });
    const p01 = e.local64(() => { lo32(m); hi32(b); f.op(Op.i64_mul); });
    const p10 = e.local64(() => { hi32(m); lo32(b); f.op(Op.i64_mul); });
    const mid = e.local64(() => { f.get(p00).i64(32, 0).op(Op.i64_shr_u); lo32(p01); f.op(Op.i64_add); lo32(p10); f.op(Op.i64_add); });
    const hi = e.local64(() => {
      hi32(m); hi32(b); f.op(Op.i64_mul);
      hi32(p01); f.op(Op.i64_add); hi32(p10); f.op(Op.i64_add); hi32(mid); f.op(Op.i64_add);
      f.get(b).i64(0, 0).get(m).i64(0, 0).op(Op.i64_lt_s, Op.select, Op.i64_sub);
      f.get(m).i64(0, 0).get(b).i64(0, 0).op(Op.i64_lt_s, Op.select, Op.i64_sub);
    });
    o = e.local32(() => f.get(hi).get(r).i64(63, 0).op(Op.i64_shr_s, Op.i64_ne));
  }
  // Flags the next instruction overwrites before anything can see them (a register shift by a constant: compiler.ts
  // nextOverwritesExplicit) are not recorded; cpu.lf ends up the same.
  if (e.nextOverwritesExplicit) e.prod = null;
  else e.explicitFlags(() => { e.kept(); f.get(o).i32(2049).op(Op.i32_mul, Op.i32_or); });
  e.writeReg(s, i.reg, () => f.get(r));
  return true;
}

/** The lazy-flag record of an add or sub (forms-atomic.ts record: CIN cleared at 64 bits only). */
function record(e: Emit, s: number, kind: number, a: number, b: number, r: number): void {
  const f = e.f;
  e.setF(0, () => f.i32((kind << 2) | sizeIndex(s)));
  if (s === 64) { e.setF2(1, () => f.get(a)); e.setF2(3, () => f.get(b)); e.setF2(5, () => f.get(r)); e.setF(7, () => f.i32(0)); }
  else { e.setF(1, () => f.get(a)); e.setF(3, () => f.get(b)); e.setF(5, () => f.get(r)); }
  e.prod = { kind, sz: sizeIndex(s) };
}

/** a + b or a - b at size s (locals of that size), masked below 32 bits. */
function addSub(e: Emit, s: number, sub: boolean, a: number, b: number): number {
  const f = e.f, w = s === 64;
  return e.localOf(s, () => {
    f.get(a).get(b).op(sub ? (w ? Op.i64_sub : Op.i32_sub) : (w ? Op.i64_add : Op.i32_add));
    if (s < 32) f.i32(s === 8 ? 255 : 65535).op(Op.i32_and);
  });
}

/** xchg, xadd, cmpxchg, register or memory, every size (forms-atomic.ts; one vCPU runs at a time: lock changes nothing). */
function atomic(e: Emit, i: Insn, form: Form): boolean {
  const s = i.size, f = e.f;
  let a = -1, p = -1, m: number;
  const c = form === 'cmpxchg' ? e.localOf(s, () => e.readReg(s, 0)) : -1;
  const x0 = form !== 'cmpxchg' ? e.localOf(s, () => e.readReg(s, i.reg)) : -1;
  if (i.mem) { a = e.ea(i); if (a < 0) return false; [m, p] = e.loadRmw(s, a); } else m = e.localOf(s, () => e.readReg(s, i.rm));
  const x = form === 'cmpxchg' ? e.localOf(s, () => e.readReg(s, i.reg)) : x0;
  if (form === 'xchg') {
    if (i.mem) { e.storeRmw(s, a, p, x); e.writeReg(s, i.reg, () => f.get(m)); }
    else { e.writeReg(s, i.rm, () => f.get(x)); e.writeReg(s, i.reg, () => f.get(m)); }
    return true;
  }
  if (form === 'xadd') {
    const r = addSub(e, s, false, m, x);
    if (i.mem) e.storeRmw(s, a, p, r);
    record(e, s, K_ADD, m, x, r);
    e.writeReg(s, i.reg, () => f.get(m));
    if (!i.mem) e.writeReg(s, i.rm, () => f.get(r));
    return true;
  }
  const eq = e.local32(() => f.get(c).get(m).op(s === 64 ? Op.i64_eq : Op.i32_eq));
  const r = addSub(e, s, true, c, m);
  if (i.mem) {
    const n = e.localOf(s, () => f.get(x).get(m).get(eq).op(Op.select));
    e.storeRmw(s, a, p, n);
  }
  record(e, s, K_SUB, c, m, r);
  // Equal: the destination gets the source; else the accumulator the destination. Only the one written changes (a
  // 32-bit register not written keeps its high half): both loaded before the branch.
  e.use(s === 8 ? 0 : 0);
  if (!i.mem) e.use(s === 8 ? i.rm >> 3 : i.rm);
  f.get(eq).op(Op.if, BLOCK_VOID);
  if (!i.mem) e.writeReg(s, i.rm, () => f.get(x));
  f.op(Op.else);
  e.writeReg(s, 0, () => f.get(m));
  f.op(Op.end);
  return true;
}

/** neg and not, register or memory, every size (forms-alu2.ts negnot: neg records 0 - v, not leaves the flags). */
function negnot(e: Emit, i: Insn): boolean {
  const s = i.size, f = e.f, w = s === 64, neg = i.op === 3;
  if (i.op !== 2 && !neg) return false;
  let a = -1, p = -1, m: number;
  if (i.mem) { a = e.ea(i); if (a < 0) return false; [m, p] = e.loadRmw(s, a); } else m = e.localOf(s, () => e.readReg(s, i.rm));
  const r = e.localOf(s, () => {
    if (neg) { if (w) f.i64(0, 0); else f.i32(0); f.get(m).op(w ? Op.i64_sub : Op.i32_sub); }
    else { f.get(m); if (w) f.i64(-1, -1).op(Op.i64_xor); else f.i32(-1).op(Op.i32_xor); }
    if (s < 32) f.i32(s === 8 ? 255 : 65535).op(Op.i32_and);
  });
  if (i.mem) e.storeRmw(s, a, p, r);
  if (neg) {
    e.setF(0, () => f.i32((K_SUB << 2) | sizeIndex(s)));
    e.setF2(1, () => f.i64(0, 0));
    e.setF2(3, () => (w ? f.get(m) : f.get(m).op(Op.i64_extend_i32_u)));
    e.setF2(5, () => (w ? f.get(r) : f.get(r).op(Op.i64_extend_i32_u)));
    e.prod = { kind: K_SUB, sz: sizeIndex(s) };
  }
  if (!i.mem) e.writeReg(s, i.rm, () => f.get(r));
  return true;
}

function incdec(e: Emit, i: Insn): boolean {
  const s = i.size, sz = sizeIndex(s), f = e.f, w = s === 64;
  const dec = i.op === 1;
  if (i.op !== 0 && i.op !== 1) return false;
  const c = e.local32(() => e.cfNow());
  let a = -1, m: number, p = -1;
  if (i.mem) { a = e.ea(i); if (a < 0) return false; [m, p] = e.loadRmw(s, a); }
  else m = e.localOf(s, () => e.readReg(s, i.rm));
  const r = e.localOf(s, () => {
    if (w) f.get(m).i64(1, 0).op(dec ? Op.i64_sub : Op.i64_add);
    else {
      f.get(m).i32(1).op(dec ? Op.i32_sub : Op.i32_add);
      if (s < 32) f.i32(s === 8 ? 255 : 65535).op(Op.i32_and);
    }
  });
  if (i.mem) e.storeRmw(s, a, p, r);
  e.setF(0, () => f.i32(((dec ? K_DEC : K_INC) << 2) | sz));
  // Slots 2, 4 and 6 (the high halves) are written at every size: 0 below 64 bits.
  e.setF2(1, () => (w ? f.get(m) : f.get(m).op(Op.i64_extend_i32_u)));
  e.setF2(3, () => f.i64(1, 0));
  e.setF2(5, () => (w ? f.get(r) : f.get(r).op(Op.i64_extend_i32_u)));
  e.setF(7, () => f.get(c));
  e.prod = { kind: dec ? K_DEC : K_INC, sz };
  if (!i.mem) e.writeReg(s, i.rm, () => f.get(r));
  return true;
}

/**
 * Returns code c as the block's result: LEAVE + c, a double no RIP can be (RIPs are below 2^47 in magnitude) and
 * exact (spacing 1 below 2^53). 1: the last instruction's handler set cpu.rip; 2 + k: leave after instruction k.
 */
export const LEAVE = 4503599627370496;
function leave(f: FnBody, c: number): void {
  f.f64(LEAVE + c).op(Op.return);
}

/** Compiles trace t to a wasm function, or returns null when it is not worth it (no 64-bit code specialised). */
export function planWasm(t: Trace): WasmPlan | null {
  const once = emitTrace(new Emit(t.insns), t, false);
  if (once.specialised === 0) return null;
  // Floating-point code that the JS compiler specialises (forms-sse.ts) and wasm would call handlers for: left to the
  // JS compiler (tst-fpu's sin/__rem_pio2 as wasm blocks calling their SSE handlers ran 2.6x slower).
  const table = formTable();
  for (let k = 0; k < t.n; k++) if (once.generic[k] && JS_FP.has(table.get(t.insns[k]!.h)?.form ?? 'nop')) return null;
  const last = t.insns[t.n - 1]!, form = formTable().get(last.h)?.form;
  const loops = once.specialised === t.n && (form === 'jcc' || form === 'jmp') && last.end + last.imm === 0;
  if (!loops) return { body: once.body, generic: once.generic, specialised: once.specialised };
  // A pure trace that jumps back to its own start loops inside its function, its registers in locals throughout
  // (loaded before the loop: every register the trace uses, treated as changed, so that any exit stores them).
  const e = new Emit(t.insns);
  for (const n of once.regs) e.use(n);
  for (const n of once.flags) e.loadFlag(n);
  e.dirtyAll();
  const looped = emitTrace(e, t, true);
  return { body: looped.body, generic: looped.generic, specialised: looped.specialised };
}

/** Emits t into e (looping: the trace's last instruction is its back edge, compiled by loopTail). */
function emitTrace(e: Emit, t: Trace, loop: boolean): WasmPlan & { regs: number[]; flags: number[] } {
  const table = formTable();
  const ins = t.insns, n = t.n, f = e.f;
  const generic: boolean[] = [];
  let specialised = 0, ended = false;
  if (loop) { e.loopDone = e.f.local(WT.I32); f.op(Op.loop, BLOCK_VOID); }
  for (let k = 0; k < n; k++) {
    const i = ins[k]!;
    const last = k === n - 1;
    e.k = k;
    if (loop && last) { loopTail(e, i, table.get(i.h)!); specialised++; generic[k] = false; ended = true; break; }
    const fi = table.get(i.h);
    const nx = last ? undefined : ins[k + 1], nf = nx === undefined ? undefined : table.get(nx.h);
    e.nextOverwritesExplicit = nx !== undefined && nf !== undefined && nf.form === 'shiftImm' && !nx.mem && nx.mode === 64 &&
      nx.size === 64 && nx.imm >= 1 && nx.imm <= 63 && nf.ops.size === 1 && (nx.op === 4 || nx.op === 5 || nx.op === 7);
    let done: boolean | 'end' = false;
    if (fi !== undefined && i.mode === 64 && fi.sizes.has(i.size)) {
      const mark = f.code.length, prod = e.prod, regs = e.saveRegs();
      done = specialise(e, i, fi, last);
      if (done === false) { f.code.length = mark; e.prod = prod; e.restoreRegs(regs); }
    }
    generic[k] = done === false;
    if (done !== false) {
      specialised++;
      // A store that dropped decoded code: leave after this instruction, as compiler.ts's genCheck. Not after a
      // control transfer: the block ends there anyway, and the run loop checks the generation before it goes on.
      if (e.stored && done !== 'end') { f.get(e.dropped).op(Op.if, BLOCK_VOID); e.leave(2 + k); f.op(Op.end); }
      e.stored = false;
      if (done === 'end') ended = true;
      continue;
    }
    e.stored = false;
    // The handler, with RIP past the instruction; it may drop decoded code or end the trace itself.
    e.flushRegs(false);
    e.rt(Imp.gen, k, -1);
    e.forgetRegs();
    e.prod = null;
    if (last && i.ends) { f.op(Op.drop); e.leave(1); ended = true; }
    else { f.op(Op.if, BLOCK_VOID); e.leave(2 + k); f.op(Op.end); }
  }
  // A trace cut before a control transfer (at its length limit, a page's end) goes on after its last instruction: that
  // RIP, returned as a branch's target is, so that the hub chains on (as LEAVE + c it went back to JS: 1.2 M of the
  // 4.2 M entries into wasm in 600 M instructions of tst-eventfd).
  if (!ended) e.done(e.local64(() => e.ripAfter(n - 1)));
  else f.op(0x00 /* unreachable */);
  return { body: f.encode(), generic, specialised, regs: e.usedRegs(), flags: e.usedFlags() };
}

/**
 * The back edge of a looping trace (a jcc or jmp to its start): another pass while the budget the hub gave
 * (parameter LEFT) is not reached and no runtime call asked to stop (the checks chainFrom makes between two runs of a
 * pure block); else it leaves with the instructions of its earlier passes in the slice's EXTRA word.
 */
function loopTail(e: Emit, i: Insn, fi: FormInfo): void {
  const f = e.f, n = e.ins.length, done = e.loopDone;
  const out = (rip: () => void) => { e.storeExtra(); e.flushRegs(true); rip(); f.op(Op.return); };
  if (fi.form === 'jcc') { e.cond(i.op); f.op(Op.if, BLOCK_VOID); }
  f.get(done).i32(n).op(Op.i32_add).tee(done).get(LEFT).op(Op.i32_lt_s);
  f.get(S).mem(Op.i32_load, 2, St.STOP).op(Op.i32_eqz, Op.i32_and, Op.br_if, fi.form === 'jcc' ? 1 : 0);
  f.get(done).i32(n).op(Op.i32_sub).set(done);
  out(() => f.get(RIP0));
  if (fi.form === 'jcc') {
    f.op(Op.end);
    const next = e.local64(() => e.ripAfter(e.k));
    out(() => f.get(next).op(Op.f64_convert_i64_s));
  }
  f.op(Op.end); // the loop
}

/**
 * JS compiler forms of SSE floating point (forms-sse.ts) that wasm blocks call the handler for, or compile only in part
 * (compile-sse.ts declines a cvtss2si, an unaligned 16-byte access, ...): a trace with one of these left generic here
 * is declined.
 */
const JS_FP = SSE_FORMS;

/** A module of blocks (exported as f0, f1...), importing the memory and the function table. */
export function blockModule(plans: WasmPlan[]): Uint8Array<ArrayBuffer> {
  return encodeModule({ types: TYPES, memoryPages: 1, tableMin: 1, funcs: plans.map((p) => ({ type: TYPE_BLOCK, body: p.body })) });
}
