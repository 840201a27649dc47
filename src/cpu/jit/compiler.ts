// Block compiler: turns a hot Trace into one JavaScript function (new Function) that runs the trace's
// instructions with the guest registers and the lazy-flag record in JS locals, inlines the software TLB's
// hit path, and calls the interpreter's own handler for every form it does not specialise.
//
// Exactness rules the generated code keeps (so that a run with and without the compiler is the same run):
// - Each instruction computes into temporaries, performs every access that can fault, and only then
//   commits to the locals: a fault leaves the locals as they were before the instruction. The catch block
//   writes back exactly the locals that are newer than the register file at that instruction (known
//   statically: the trace is straight-line), puts RIP after the instruction and reports its index, and the
//   run loop settles it as the interpreter does (fault: rewind; trap: retire).
// - Specialised forms write the same lazy-flag fields their interpreter handler writes, so cpu.lf is
//   bit-identical afterwards; a generic handler sees the register file and cpu.lf fully up to date.
// - After any access that may have written through the slow path (and after any handler call) the block
//   checks the code-cache generation and leaves after that instruction, as the interpreter does.
// - A trace whose last instruction jumps back to its own start, with no handler calls inside, loops inside
//   the function while the run loop's own conditions hold (budget, pending event, stop request, code
//   cache generation): the same traces run, in the same order, as in the interpreter.
import { writeFileSync } from 'node:fs';
import type { Cpu } from '../cpu.js';
import type { Trace } from '../codecache.js';
import { EA_64, EA_RIP, type Handler, type Insn } from '../insn.js';
import { arithFlags, cond, getCF, K_ADD, K_DEC, K_NONE, K_INC, K_LOGIC, K_SUB, parity } from '../flags.js';
import { raise } from '../exceptions.js';
import { exactEa64 } from '../operands.js';
import { mulFlags, SHIFT_AF } from '../ops/undef.js';
import { mulHiU32, mulLoHi64 } from '../ops/wide.js';
import { VEC_GP, VEC_SS } from '../regs.js';
import { TLB_SIZE } from '../mmu.js';
import { formTable, type FormInfo } from './forms.js';
import { specialiseMore } from './forms-more.js';
import { MORE_RT } from './forms-rt.js';

/** What a compiled block needs from its run loop. */
export interface BlockEnv {
  readonly cache: { gen: number };
  stopReason: number;
  eventPending: boolean;
  /** Index within its trace of the instruction that threw (set by the block before rethrowing). */
  jitK: number;
  /** That instruction (a region's blocks span several traces). */
  jitI: Insn | null;
}

/**
 * A compiled block. Returns the trace it ended in when that is not its own (wasm blocks chain into others: wasm/block.ts),
 * else nothing.
 */
export type BlockFn = (cpu: Cpu, env: BlockEnv, end: number) => Trace | void;

export const ABSENT = 0, CLEAN = 1, DIRTY = 2;
// Lazy-flag fields the compiled code keeps in locals (LF_OP .. LF_CIN, LF_ARITH); LF_REST stays in cpu.lf.
export const FIELDS = [0, 1, 2, 3, 4, 5, 6, 7, 9];
const OP_ADD = 0, OP_OR = 1, OP_AND = 4, OP_SUB = 5, OP_XOR = 6, OP_CMP = 7, OP_TEST = 8;
export const CANON = 140737488355328;
/** Below this magnitude a sum of address parts is exact (operands.ts exactEa64's own test). */
const EXACT = 4503599627370496;
const TLB_MASK = TLB_SIZE - 1;

const PARITY = new Uint8Array(256);
for (let b = 0; b < 256; b++) PARITY[b] = parity(b);

function gpFault(cpu: Cpu): never { return raise(cpu, VEC_GP, 0); }
function ssFault(cpu: Cpu): never { return raise(cpu, VEC_SS, 0); }

const TWO_M32 = 1 / 4294967296;

/** High half of the signed 64-bit product of two int32 values (the low half is Math.imul). */
function mulHiS32(a: number, b: number): number {
  const au = a >>> 0, bu = b >>> 0;
  return (mulHiU32(au, bu) - (a < 0 ? bu : 0) - (b < 0 ? au : 0)) | 0;
}

/** Result of mulS64: high half of the low 64 bits, and whether the signed 128-bit product overflows 64 bits. */
const MUL = { hi: 0, of: false };

/** Signed 64 x 64 multiply: returns the low 32 bits; MUL.hi the next 32, MUL.of the imul overflow. */
function mulS64(aL: number, aH: number, bL: number, bH: number): number {
  const a0 = aL >>> 0, a1 = aH >>> 0, b0 = bL >>> 0, b1 = bH >>> 0;
  // Sums of a few uint32 stay exact as doubles; >>> 0 takes them modulo 2^32.
  const t1 = mulHiU32(a0, b0) + (Math.imul(aL, bH) >>> 0) + (Math.imul(aH, bL) >>> 0);
  const w1 = t1 >>> 0;
  // Words 2 and 3 of the unsigned product, then the signed correction (subtract b << 64 if a < 0, and a << 64
  // if b < 0), all modulo 2^64.
  const t2 = mulHiU32(a0, b1) + mulHiU32(a1, b0) + (Math.imul(aH, bH) >>> 0) + (t1 - w1) / 4294967296;
  let w2 = t2 >>> 0;
  let w3 = (mulHiU32(a1, b1) + (t2 - w2) / 4294967296) >>> 0;
  if (aH < 0) { const borrow = w2 < b0 ? 1 : 0; w2 = (w2 - b0) >>> 0; w3 = (w3 - b1 - borrow) >>> 0; }
  if (bH < 0) { const borrow = w2 < a0 ? 1 : 0; w2 = (w2 - a0) >>> 0; w3 = (w3 - a1 - borrow) >>> 0; }
  const sign = (w1 | 0) < 0 ? 4294967295 : 0;
  MUL.hi = w1 | 0;
  MUL.of = w2 !== sign || w3 !== sign;
  return Math.imul(aL, bL);
}

/** Calls of a looping block that leave early so that its exit path gets V8 type feedback (see compileLoop). */
export const WARM_EXITS = 200;
/**
 * Calls of a new block whose memory accesses all take the MMU's slow path (same result, the MMU looks the TLB up
 * itself): the slow paths' property accesses and calls then have type feedback when V8 optimises the block.
 * Without it, the first TLB miss in an optimised block met an access V8 had never seen run and deoptimised the
 * block ("insufficient type feedback for generic named access": 48 of tst-eventfd's block deopts in 300 M
 * instructions), which then ran unoptimised again (~1.5 us per instruction) until V8 recompiled it. More than
 * the calls V8 makes before it allocates a function's feedback vector.
 */
export const SLOW_CALLS = 64;

/** Generated code that can throw (memory access, faults, the SSE checks and the interpreter code fast paths fall back to). */
const MAY_THROW = /mmu\)?\.|Fault\(|throw|sseCheck\(|HK\[|Staged\(|From\(/;

/** Calls that may throw and can take pending flag stores in their own path (Gen.loopLine). */
const INJECTABLE = /throw GEN_EXIT|\bmmu\.\w+\(|\b(?:gp|ss)Fault\(cpu\)/g;

/** Thrown by a block to leave after an instruction whose write dropped decoded code. */
const GEN_EXIT = Object.freeze({ genExit: true });

const RT = { exactEa64, GEN_EXIT, cond, getCF, PARITY, gpFault, ssFault, arithFlags, mulFlags, mulHiS32, SHIFT_AF, mulS64, MUL, mulLoHi64, X: MORE_RT };

/** Flags recorded by a known instruction of this block, still in the locals. */
interface Producer { kind: number; sz: number }

interface Snapshot { regs: number[]; flags: number[]; rip: boolean }

export class Gen {
  readonly out: string[] = [];
  readonly reg = new Uint8Array(16);
  readonly fl = new Uint8Array(10);
  prod: Producer | null = null;
  readonly usedRegs = new Set<number>();
  readonly usedFlags = new Set<number>();
  /** Per instruction index: what the catch block must write back. */
  readonly snaps: Snapshot[] = [];
  exits = 0;
  k = 0;
  /** Offset of the end of instruction k from the trace start. */
  endOff: number[] = [];
  generic = false;
  /**
   * The next instruction writes LF_OP and LF_ARITH (explicit flags) without reading flags and cannot fault:
   * an explicit-flag write by this one is dead, and skipping it leaves cpu.lf bit-identical.
   */
  nextOverwritesExplicit = false;
  /** Emitting a self-looping block: retired instructions are counted in the local ic. */
  loop = false;
  /** The run of pushes or pops being emitted (stackRun): its test's name and the instructions still to come. */
  stackRun: { kind: 'push' | 'pop'; name: string; left: number } | null = null;

  emit(s: string): void {
    if (this.loop) s = this.loopLine(s);
    this.out.push(s);
  }

  /**
   * Lazy flag stores (loops and regions): setF keeps a flag field's value pending as an expression of the
   * instruction's constants, and it reaches its local only where something can observe it: a line that reads
   * the field gets the expression in its place; a call that may throw (the catch block writes the locals back)
   * gets the stores injected just before it, on its own (cold) path; anything else that could see the locals
   * (handler calls, exits, nested blocks, a write to a constant the expression names) gets them as statements
   * before it. A field set again before any of these costs nothing.
   */
  private readonly pend = new Map<number, string>();
  /** Nesting depth of the emitted code (stores are left pending only at depth 0). */
  private depth = 0;

  private loopLine(s: string): string {
    const d0 = this.depth;
    for (const c of s) if (c === '{') this.depth++; else if (c === '}') this.depth--;
    if (this.pend.size !== 0) {
      // Reads of a pending field: its expression.
      s = s.replace(/\bF(\d)\b(?!\s*=(?!=))/g, (m, d: string) => {
        const e = this.pend.get(Number(d));
        return e === undefined ? m : `(${e})`;
      });
      // A region's test between two traces: the stores go with the exit, and stay pending for the next trace.
      const exit = /^if \((.*)\) break;$/.exec(s);
      if (exit !== null && d0 === 0 && !MAY_THROW.test(exit[1]!)) {
        return `if (${exit[1]}) { ${[...this.pend].map(([f, e]) => `F${f} = ${e}; `).join('')}break; }`;
      }
      const rest = s.replace(INJECTABLE, '').replace(/\bmmu\.hi\b/g, '');
      const temps = [...new Set([...this.pend.values()].flatMap((e) => e.match(/\b[a-z]{1,2}\d+h?\b/g) ?? []))];
      const writesTemp = temps.some((t) => new RegExp(`\\b${t}\\s*([-+*/|&^]|<<|>>>?)?=(?!=)|\\b${t}\\s*(\\+\\+|--)`).test(rest));
      if (d0 !== 0 || this.depth !== 0 || writesTemp || MAY_THROW.test(rest) || /\bh\d+\(|\b(break|continue|return)\b/.test(rest)) {
        this.out.push(this.flushPendingCode());
      } else if (rest !== s) {
        const inj = [...this.pend].map(([f, e]) => `F${f} = (${e})`).join(', ');
        s = s.replace(INJECTABLE, (m: string) => m.startsWith('throw') ? `throw (${inj}, GEN_EXIT)`
          : m.startsWith('mmu') ? `(slowed = 1, ${inj}, mmu).${m.slice(4)}` : `${m.slice(0, -4)}(${inj}, cpu))`);
      }
    }
    // Calls that may change what the loop's exit test reads (env.eventPending, stopReason, cache.gen).
    return s.replace(/\bmmu\.(\w+)\(/g, '(slowed = 1, mmu).$1(').replace(/\bHK\[/g, '(slowed = 1, HK)[')
      .replace(/\b(\w+Staged|h\d+)\(cpu\b/g, '$1((slowed = 1, cpu)');
  }

  private flushPendingCode(): string {
    let s = '';
    for (const [f, e] of this.pend) s += `F${f} = ${e}; `;
    this.pend.clear();
    return s;
  }

  lazyState(): { pend: [number, string][]; depth: number } { return { pend: [...this.pend], depth: this.depth }; }
  setLazyState(x: { pend: [number, string][]; depth: number }): void {
    this.pend.clear();
    for (const [f, e] of x.pend) this.pend.set(f, e);
    this.depth = x.depth;
  }

  /** Makes the pending flag stores (the loop's back edge). */
  flushPending(): void { if (this.pend.size !== 0) this.out.push(this.flushPendingCode()); }

  use(n: number): void {
    this.usedRegs.add(n);
    if (this.reg[n] === ABSENT) { this.emit(`L${n} = r32[${2 * n}]; H${n} = r32[${2 * n + 1}];`); this.reg[n] = CLEAN; }
  }
  dirty(n: number): void { this.usedRegs.add(n); this.reg[n] = DIRTY; }
  setF(f: number, v: string): void {
    this.usedFlags.add(f);
    this.fl[f] = DIRTY;
    // Deferred when the value is an expression of instruction temporaries and constants (see loopLine).
    if (this.loop && this.depth === 0 && /^[\w\s()&|^<>+\-*?:!=~[\]]*$/.test(v) &&
        (v.match(/[A-Za-z_]\w*/g) ?? []).every((t) => /^[a-z]{1,2}\d+h?$|^PARITY$|^SHIFT_AF$/.test(t))) {
      this.pend.set(f, v);
      return;
    }
    // v may read the field's own pending value: substituted by emit before the value is dropped.
    this.emit(`F${f} = ${v};`);
    this.pend.delete(f);
  }

  /** Code that writes the dirty locals back (state unchanged). */
  writeback(): string {
    let s = '';
    for (let n = 0; n < 16; n++) if (this.reg[n] === DIRTY) s += `r32[${2 * n}] = L${n}; r32[${2 * n + 1}] = H${n}; `;
    for (const f of FIELDS) if (this.fl[f] === DIRTY) s += `lf[${f}] = F${f}; `;
    return s;
  }
  flushRegs(which: Iterable<number> | null): void {
    for (let n = 0; n < 16; n++) {
      if (this.reg[n] !== DIRTY) continue;
      if (which !== null && !(which as Set<number>).has(n)) continue;
      this.emit(`r32[${2 * n}] = L${n}; r32[${2 * n + 1}] = H${n};`);
      this.reg[n] = CLEAN;
    }
  }
  flushFlags(): void {
    for (const f of FIELDS) if (this.fl[f] === DIRTY) { this.emit(`lf[${f}] = F${f};`); this.fl[f] = CLEAN; }
  }
  /** Records the catch-block state for the current instruction (before it changes anything). */
  snap(rip: boolean): void {
    this.snaps[this.k] = {
      regs: [...this.reg.keys()].filter((n) => this.reg[n] === DIRTY),
      flags: FIELDS.filter((f) => this.fl[f] === DIRTY),
      rip,
    };
  }
  /** Per instruction index: what leaving after it (code-cache generation changed) must write back. */
  readonly afterSnaps: (Snapshot | undefined)[] = [];
  /**
   * Leaves the block after instruction k when a write dropped decoded code (rare: the exit goes through the
   * catch block, which keeps each block's source small).
   */
  genCheck(): void {
    this.afterSnaps[this.k] = {
      regs: [...this.reg.keys()].filter((n) => this.reg[n] === DIRTY),
      flags: FIELDS.filter((f) => this.fl[f] === DIRTY),
      rip: false,
    };
    this.emit('if (cache.gen !== G) throw GEN_EXIT;');
  }
}

// ---- register access by operand size (8-bit operands are byte offsets into r8) ------------------------
export function readReg(g: Gen, size: number, r: number): string {
  if (size === 8) {
    const n = r >> 3, sh = (r & 7) * 8;
    g.use(n);
    return sh ? `((L${n} >>> 8) & 255)` : `(L${n} & 255)`;
  }
  g.use(r);
  return size === 16 ? `(L${r} & 65535)` : `L${r}`;
}
export function readHi(g: Gen, r: number): string { g.use(r); return `H${r}`; }

/** Emits the write of (lo, hi) to a register with the x86-64 rules; lo/hi are simple expressions. */
export function writeReg(g: Gen, size: number, r: number, lo: string, hi: string): void {
  if (size === 8) {
    const n = r >> 3, sh = (r & 7) * 8;
    g.use(n);
    g.emit(sh ? `L${n} = (L${n} & -65281) | ((${lo}) << 8);` : `L${n} = (L${n} & -256) | (${lo});`);
    g.dirty(n);
  } else if (size === 16) {
    g.use(r);
    g.emit(`L${r} = (L${r} & -65536) | (${lo});`);
    g.dirty(r);
  } else if (size === 32) {
    g.usedRegs.add(r);
    g.emit(`L${r} = ${lo}; H${r} = 0;`);
    g.dirty(r);
  } else {
    g.usedRegs.add(r);
    g.emit(`L${r} = ${lo}; H${r} = ${hi};`);
    g.dirty(r);
  }
}

/**
 * Opening of a slow-path memory call: in a looping block cpu.icount lives in a local, and a device behind the
 * slow path (a clock read through MMIO) must see the count the interpreter would show.
 */
export function slow(g: Gen): string { return g.loop ? '(cpu.icount = ic, ' : ''; }

// ---- memory ---------------------------------------------------------------------------------------------
/** Linear-address expression of the memory operand, or null when the form is not compiled. */
function eaExpr(g: Gen, i: Insn): string | null {
  const segAdd = i.seg >= 4 ? ` + sb[${i.seg}]` : '';
  if (i.eaKind === EA_64) {
    let e = `(${i.disp})`;
    if (i.base >= 0) { g.use(i.base); e = `(${e} + (H${i.base} * 4294967296 + (L${i.base} >>> 0)))`; }
    if (i.index >= 0) { g.use(i.index); e = `(${e} + (H${i.index} * 4294967296 + (L${i.index} >>> 0)) * ${i.scale})`; }
    // The sum wraps modulo 2^64 on hardware: past 2^52 (never for a canonical address reached without wrap)
    // the runtime recomputes it from the halves.
    const b = i.base >= 0 ? `H${i.base}, L${i.base}` : '0, 0', x = i.index >= 0 ? `H${i.index}, L${i.index}, ${i.scale}` : '0, 0, 1';
    // The range test is inline, on the sum computed once: a call per address, 8 arguments, cost a
    // 5-instruction block about a third of its time.
    const v = `ea${g.k}`;
    g.emit(`const ${v} = ${e}${segAdd};`);
    return `(${v} < ${EXACT} && ${v} > -${EXACT} ? ${v} : exactEa64(${v}, ${i.disp}, ${b}, ${x}, ${i.seg >= 4 ? `sb[${i.seg}]` : '0'}))`;
  }
  if (i.eaKind === EA_RIP) {
    const rip = `(rip0 + ${g.endOff[g.k]})`;
    if (i.index === -2) return `(((${rip} + (${i.disp})) >>> 0)${i.seg >= 4 ? ` + sb[${i.seg}]` : ' + 0'})`;
    return `(${rip} + (${i.disp})${segAdd})`;
  }
  return null;
}

const GET = { 8: 'getUint8', 16: 'getUint16', 32: 'getInt32' } as Record<number, string>;
const SET = { 8: 'setUint8', 16: 'setUint16', 32: 'setInt32' } as Record<number, string>;
const LIM = { 8: 4095, 16: 0xffe, 32: 0xffc, 64: 0xff8 } as Record<number, number>;

/** Loads `size` bits at address variable `a` into `v` (and `vh` for 64); declares both. */
export function load(g: Gen, size: number, a: string, v: string): void {
  if (size === 64) {
    g.emit(`let ${v}, ${v}h = 0;`);
    loadInto(g, a, v);
    return;
  }
  const lim = size === 8 ? '' : ` && o <= ${LIM[size]}`;
  g.emit(`let ${v}, ${v}h = 0; { const o = ${a} & 4095, x = (${a} >>> 12) & ${TLB_MASK}; if (FAST && rT[x] === ${a} - o${lim}) ${v} = dv.${GET[size]}(rO[x] + o${size === 8 ? '' : ', true'}); else ${v} = ${slow(g)}mmu.read${size}(${a})${g.loop ? ')' : ''}; }`);
}
/** Read for read-modify-write: `p` is the RAM offset on a write-TLB hit, else -1 (slow path already probed). */
export function loadRmw(g: Gen, size: number, a: string, v: string, p: string): void {
  const lim = size === 8 ? '' : ` && o <= ${LIM[size]}`;
  g.emit(`let ${p} = -1, ${v}, ${v}h = 0; { const o = ${a} & 4095, x = (${a} >>> 12) & ${TLB_MASK}; if (FAST && wT[x] === ${a} - o${lim}) ${p} = wO[x] + o; }`);
  if (size === 64) g.emit(`if (${p} >= 0) { ${v}h = dv.getInt32(${p} + 4, true); ${v} = dv.getInt32(${p}, true); } else { ${v} = ${slow(g)}mmu.rmw64(${a})${g.loop ? ')' : ''}; ${v}h = mmu.hi; }`);
  else g.emit(`if (${p} >= 0) ${v} = dv.${GET[size]}(${p}${size === 8 ? '' : ', true'}); else ${v} = ${slow(g)}mmu.rmw${size}(${a})${g.loop ? ')' : ''};`);
}
export function storeRmw(g: Gen, size: number, a: string, p: string, lo: string, hi: string): void {
  if (size === 64) g.emit(`if (${p} >= 0) { dv.setInt32(${p}, ${lo}, true); dv.setInt32(${p} + 4, ${hi}, true); } else ${slow(g)}mmu.write64(${a}, ${lo}, ${hi})${g.loop ? ')' : ''};`);
  else g.emit(`if (${p} >= 0) dv.${SET[size]}(${p}, ${lo}${size === 8 ? '' : ', true'}); else ${slow(g)}mmu.write${size}(${a}, ${lo})${g.loop ? ')' : ''};`);
}
export function store(g: Gen, size: number, a: string, lo: string, hi: string): void {
  const lim = size === 8 ? '' : ` && o <= ${LIM[size]}`;
  const open = `{ const o = ${a} & 4095, x = (${a} >>> 12) & ${TLB_MASK}; `;
  if (size === 64) g.emit(`${open}if (FAST && wT[x] === ${a} - o${lim}) { const p = wO[x] + o; dv.setInt32(p, ${lo}, true); dv.setInt32(p + 4, ${hi}, true); } else ${slow(g)}mmu.write64(${a}, ${lo}, ${hi})${g.loop ? ')' : ''}; }`);
  else g.emit(`${open}if (FAST && wT[x] === ${a} - o${lim}) dv.${SET[size]}(wO[x] + o, ${lo}${size === 8 ? '' : ', true'}); else ${slow(g)}mmu.write${size}(${a}, ${lo})${g.loop ? ')' : ''}; }`);
}

/**
 * The test that the `bytes` bytes at the stack address with halves (lo, hi) (lo a non-negative double below 2^32
 * or down to -bytes, o its page offset) lie on the block's stack page, whose write-TLB slot still holds it: pushes
 * and pops then skip the address arithmetic in doubles, the canonical check (a page the TLB holds is canonical)
 * and the lookup. Only the slot's offset is read again (a flush and a refill may map the page elsewhere).
 */
function stackHit(lo: string, hi: string, o: string, bytes = 8): string {
  return `FAST && ((${lo} - ${o}) | 0) === SL && ${hi} === SH && ${o} <= ${4096 - bytes} && wT[SX] === ST`;
}
/** After a push or pop that took the TLB path at address a: its page becomes the stack page if it is in the write TLB. */
function stackFill(a: string, lo: string, hi: string, o: string): string {
  return `{ const x = (${a} >>> 12) & ${TLB_MASK}; if (wT[x] === ${a} - (${a} & 4095)) { SX = x; ST = wT[x]; SL = (${lo} - ${o}) | 0; SH = ${hi}; } }`;
}
/**
 * A run whose slots are not on the block's stack page (none is known yet: a prologue or an epilogue at the start of
 * a block, the common case) looks its page up in the write TLB once and, when the whole run fits on it, makes it the
 * stack page and goes ahead. Without this a run at a block's start never took its one test: ST is NaN there.
 */
function runFill(name: string, hi: string, bytes: number): string {
  const l = `${name}l`, o = `${name}o`;
  return `if (!${name} && FAST && ${l} >= 0 && ${o} <= ${4096 - bytes}) { const a = ${hi} * 4294967296 + ${l}; ` +
    `${stackFill('a', l, hi, o)} ${name} = ${stackHit(l, hi, o, bytes)}; }`;
}
/** v${k}, v${k}h = the 8 bytes at RSP (pop, ret): through the stack page, else checked and loaded through the TLB. */
function stackLoad(g: Gen, k: number): void {
  g.emit(`const sl${k} = L4 >>> 0, so${k} = sl${k} & 4095;`);
  g.emit(`let v${k}, v${k}h = 0; if (${stackHit(`sl${k}`, 'H4', `so${k}`)}) { const p = wO[SX] + so${k}; v${k}h = dv.getInt32(p + 4, true); v${k} = dv.getInt32(p, true); } else {`);
  g.emit(`const a${k} = H4 * 4294967296 + sl${k};`);
  g.emit(`if (a${k} < -${CANON} || a${k} > ${CANON - 8}) ssFault(cpu);`);
  loadInto(g, `a${k}`, `v${k}`);
  g.emit(`${stackFill(`a${k}`, `sl${k}`, 'H4', `so${k}`)} }`);
}
/**
 * Runs of pushes or pops of 64-bit registers (function prologues and epilogues: OSv's push four to six). The run's
 * first instruction tests once that the whole run's stack slots lie on the stack page (stackHit of 8 x the run's
 * length) and, if so, makes all its stores or loads and the one RSP update; every instruction of the run keeps its
 * own code, which runs only when that test failed (`if (!runK) { ... }`), so faults stay exact. Returns whether the caller must close that
 * `if`. The pushed registers are loaded before the test: a load the Gen records inside a conditional block would
 * not have happened on the other path. Popped ones are written on both paths before the run ends.
 */
function stackRun(g: Gen, i: Insn, k: number, kind: 'push' | 'pop'): boolean {
  const run = g.stackRun;
  if (run !== null && run.kind === kind && run.left > 0) {
    run.left--;
    g.emit(`if (!${run.name}) {`);
    return true;
  }
  g.stackRun = null;
  const regs = [i.reg];
  for (let x = i.next; x !== null && x.h === i.h && x.size === 64 && !x.mem && x.mode === 64 && x.reg !== 4; x = x.next) regs.push(x.reg);
  if (regs.length < 2 || i.reg === 4 || i.mode !== 64) return false;
  const m = regs.length, name = `run${k}`;
  g.use(4);
  if (kind === 'push') {
    const vals = regs.map((r) => [readReg(g, 64, r), readHi(g, r)]);
    g.emit(`const ${name}l = (L4 >>> 0) - ${8 * m}, ${name}h = ${name}l < 0 ? (H4 - 1) | 0 : H4, ${name}o = ${name}l & 4095;`);
    g.emit(`let ${name} = ${stackHit(`${name}l`, `${name}h`, `${name}o`, 8 * m)};`);
    g.emit(runFill(name, `${name}h`, 8 * m));
    // Push j of the run writes RSP - 8 (j + 1): the run's lowest slot is the last push's.
    const stores = vals.map(([lo, hi], j) => `dv.setInt32(p + ${8 * (m - 1 - j)}, ${lo}, true); dv.setInt32(p + ${8 * (m - 1 - j) + 4}, ${hi}, true);`).join(' ');
    g.emit(`if (${name}) { const p = wO[SX] + ${name}o; ${stores} L4 = ${name}l | 0; H4 = ${name}h; }`);
  } else {
    g.emit(`const ${name}l = L4 >>> 0, ${name}o = ${name}l & 4095;`);
    g.emit(`let ${name} = ${stackHit(`${name}l`, 'H4', `${name}o`, 8 * m)};`);
    g.emit(runFill(name, 'H4', 8 * m));
    // In order: a register popped twice keeps the later value.
    const loads = regs.map((r, j) => `L${r} = dv.getInt32(p + ${8 * j}, true); H${r} = dv.getInt32(p + ${8 * j + 4}, true);`).join(' ');
    g.emit(`if (${name}) { const p = wO[SX] + ${name}o; ${loads} const e = ${name}l + ${8 * m}; if (e > 4294967295) H4 = (H4 + 1) | 0; L4 = e | 0; }`);
  }
  g.stackRun = { kind, name, left: m - 1 };
  g.emit(`if (!${name}) {`);
  return true;
}

/**
 * A 64-bit load() into new variables `v`, `vh` and also `f`, the same bits as a double (an SSE operand). On the TLB's
 * hit path f is read from RAM as a double: made from the two words through a scratch array instead (CVI then CVF),
 * the 8-byte load after two 4-byte stores cannot be forwarded from the store buffer and stalls (~5% of tst-fpu's
 * compiled time on one such line).
 */
export function loadF64(g: Gen, a: string, v: string, f: string): void {
  g.emit(`let ${v}, ${v}h = 0, ${f};`);
  loadInto(g, a, v, `${f} = dv.getFloat64(p, true);`, `CVI[0] = ${v}; CVI[1] = ${v}h; ${f} = CVF[0];`);
}

/**
 * A 64-bit load() into variables `v` and `vh` declared before; `onHit` (which may read the RAM offset p) and
 * `onSlow` run after the words are in, on the TLB's hit path and on the MMU's.
 */
function loadInto(g: Gen, a: string, v: string, onHit = '', onSlow = ''): void {
  g.emit(`{ const o = ${a} & 4095, x = (${a} >>> 12) & ${TLB_MASK}; if (FAST && rT[x] === ${a} - o && o <= ${LIM[64]}) { const p = rO[x] + o; ${v}h = dv.getInt32(p + 4, true); ${v} = dv.getInt32(p, true);${onHit ? ` ${onHit}` : ''} } else { ${v} = ${slow(g)}mmu.read64(${a})${g.loop ? ')' : ''}; ${v}h = mmu.hi;${onSlow ? ` ${onSlow}` : ''} } }`);
}

// ---- flags -------------------------------------------------------------------------------------------------
const SZI: Record<number, number> = { 8: 0, 16: 1, 32: 2, 64: 3 };
const MASK: Record<number, string> = { 0: '255', 1: '65535' };

function zfExpr(sz: number): string {
  return sz === 3 ? '((F5 | F6) === 0)' : sz === 2 ? '(F5 === 0)' : `((F5 & ${MASK[sz]}) === 0)`;
}
function sfExpr(sz: number): string {
  return sz === 3 ? '(F6 < 0)' : sz === 2 ? '(F5 < 0)' : `((F5 & ${sz === 0 ? 128 : 32768}) !== 0)`;
}
function signOf(e: string, sz: number): string {
  return sz === 3 ? `((${e}) < 0)` : sz === 2 ? `((${e}) < 0)` : `(((${e}) & ${sz === 0 ? 128 : 32768}) !== 0)`;
}
function ltuExpr(aL: string, aH: string, bL: string, bH: string, sz: number): string {
  if (sz === 3) return `((${aH} >>> 0) < (${bH} >>> 0) || (${aH} === ${bH} && (${aL} >>> 0) < (${bL} >>> 0)))`;
  if (sz === 2) return `((${aL} >>> 0) < (${bL} >>> 0))`;
  return `((${aL} & ${MASK[sz]}) < (${bL} & ${MASK[sz]}))`;
}
function cfExpr(p: Producer): string | null {
  switch (p.kind) {
    case K_SUB: return ltuExpr('F1', 'F2', 'F3', 'F4', p.sz);
    case K_ADD: return ltuExpr('F5', 'F6', 'F1', 'F2', p.sz);
    case K_LOGIC: return 'false';
    case K_INC: case K_DEC: return '(F7 !== 0)';
    default: return null;
  }
}
function ofExpr(p: Producer): string | null {
  const hi = p.sz === 3;
  const a = hi ? 'F2' : 'F1', b = hi ? 'F4' : 'F3', r = hi ? 'F6' : 'F5';
  switch (p.kind) {
    case K_ADD: case K_INC: return signOf(`(${a} ^ ${r}) & (${b} ^ ${r})`, p.sz);
    case K_SUB: case K_DEC: return signOf(`(${a} ^ ${b}) & (${a} ^ ${r})`, p.sz);
    case K_LOGIC: return 'false';
    default: return null;
  }
}
function ltsExpr(sz: number): string {
  if (sz === 3) return '(F2 < F4 || (F2 === F4 && (F1 >>> 0) < (F3 >>> 0)))';
  if (sz === 2) return '(F1 < F3)';
  const sh = sz === 0 ? 24 : 16;
  return `((F1 << ${sh}) < (F3 << ${sh}))`;
}

/** Condition cc as a JS boolean expression. */
function condExpr(g: Gen, cc: number): string {
  const p = g.prod;
  let e: string | null = null;
  if (p !== null && p.kind === K_NONE) {
    // Flags given explicitly (shifts, multiplies): test the bits.
    const bit = (m: number) => `((F9 & ${m}) !== 0)`;
    switch (cc >> 1) {
      case 0: e = bit(2048); break;
      case 1: e = bit(1); break;
      case 2: e = bit(64); break;
      case 3: e = bit(65); break;
      case 4: e = bit(128); break;
      case 5: e = bit(4); break;
      case 6: e = `(${bit(128)} !== ${bit(2048)})`; break;
      default: e = `(${bit(64)} || ${bit(128)} !== ${bit(2048)})`; break;
    }
  } else if (p !== null) {
    const zf = zfExpr(p.sz), sf = sfExpr(p.sz), cf = cfExpr(p), of = ofExpr(p);
    const sub = p.kind === K_SUB;
    switch (cc >> 1) {
      case 0: e = of; break;
      case 1: e = cf; break;
      case 2: e = zf; break;
      case 3: e = cf === null ? null : `(${cf} || ${zf})`; break;
      case 4: e = sf; break;
      case 5: e = '(PARITY[F5 & 255] === 1)'; break;
      case 6: e = sub ? ltsExpr(p.sz) : of === null ? null : `(${sf} !== ${of})`; break;
      default: e = sub ? `(${ltsExpr(p.sz)} || ${zf})` : of === null ? null : `(${zf} || ${sf} !== ${of})`; break;
    }
  }
  if (e === null) {
    g.flushFlags();
    return `cond(lf, ${cc})`;
  }
  return (cc & 1) ? `!${e}` : e;
}
/** Carry in for inc/dec: CF of the current flags. */
function cfNum(g: Gen): string {
  const p = g.prod;
  if (p !== null && p.kind === K_NONE) return '(F9 & 1)';
  const e = p !== null ? cfExpr(p) : null;
  if (e !== null) return `(${e} ? 1 : 0)`;
  g.flushFlags();
  return 'getCF(lf)';
}

// ---- forms ---------------------------------------------------------------------------------------------------
/** Emits the specialised code of instruction i; false when it is not specialised (the handler is called). */
function specialise(g: Gen, i: Insn, f: FormInfo, last: boolean): boolean | 'end' {
  const s = i.size;
  const needEa = i.mem && f.form !== 'lea' && f.form !== 'nop';
  let A = '';
  if (needEa || f.form === 'lea') {
    if (i.mem || f.form === 'lea') {
      const e = eaExpr(g, i);
      if (e === null) return false;
      A = e;
    }
  }
  const k = g.k;
  const setA = () => { g.emit(`const a${k} = ${A};`); return `a${k}`; };
  switch (f.form) {
    case 'nop': return true;
    case 'movRmR': {
      if (i.mem) {
        const lo = readReg(g, s, i.reg), hi = s === 64 ? readHi(g, i.reg) : '0';
        const a = setA();
        store(g, s, a, lo, hi);
        g.genCheck();
      } else {
        const lo = readReg(g, s, i.reg), hi = s === 64 ? readHi(g, i.reg) : '0';
        g.emit(`const v${k} = ${lo}, w${k} = ${hi};`);
        writeReg(g, s, i.rm, `v${k}`, `w${k}`);
      }
      return true;
    }
    case 'movRRm': {
      if (i.mem) {
        const a = setA();
        load(g, s, a, `v${k}`);
      } else {
        g.emit(`const v${k} = ${readReg(g, s, i.rm)}, v${k}h = ${s === 64 ? readHi(g, i.rm) : '0'};`);
      }
      writeReg(g, s, i.reg, `v${k}`, `v${k}h`);
      return true;
    }
    case 'movRmI': {
      if (i.mem) { const a = setA(); store(g, s, a, `${i.imm}`, `${i.immHi}`); g.genCheck(); }
      else writeReg(g, s, i.rm, `${i.imm}`, `${i.immHi}`);
      return true;
    }
    case 'lea': {
      if (s !== 32 && s !== 64) return false;
      // RIP-relative (PIC code's address of a global: 1.7% of tst-clock's compiled instructions went to the
      // generic handler): RIP + disp, exact as a double; its low half is the 32-bit form.
      if (i.eaKind === EA_RIP && i.index !== -2) {
        g.emit(`const e${k} = rip0 + ${g.endOff[k] + i.disp}, v${k} = e${k} | 0;`);
        if (s === 32) writeReg(g, 32, i.reg, `v${k}`, '0');
        else {
          g.emit(`const w${k} = Math.floor((e${k} - (v${k} >>> 0)) / 4294967296) | 0;`);
          writeReg(g, 64, i.reg, `v${k}`, `w${k}`);
        }
        return true;
      }
      if (i.eaKind !== EA_64) return false;
      if (s === 32) {
        let e = `${i.disp}`;
        if (i.base >= 0) { g.use(i.base); e = `(${e} + L${i.base})`; }
        if (i.index >= 0) { g.use(i.index); e = `(${e} + L${i.index} * ${i.scale})`; }
        g.emit(`const v${k} = ${e} | 0;`);
        writeReg(g, 32, i.reg, `v${k}`, '0');
        return true;
      }
      g.emit(`let lo${k} = ${i.disp >>> 0}, hi${k} = ${i.disp < 0 ? -1 : 0};`);
      if (i.base >= 0) { g.use(i.base); g.emit(`lo${k} += L${i.base} >>> 0; hi${k} += H${i.base};`); }
      if (i.index >= 0) { g.use(i.index); g.emit(`lo${k} += (L${i.index} >>> 0) * ${i.scale}; hi${k} += H${i.index} * ${i.scale};`); }
      // lo is a non-negative sum below 2^53: scaling by 2^-32 is exact and >>> 0 its floor.
      g.emit(`const v${k} = lo${k} | 0, w${k} = (hi${k} + ((lo${k} * ${TWO_M32}) >>> 0)) | 0;`);
      writeReg(g, 64, i.reg, `v${k}`, `w${k}`);
      return true;
    }
    case 'movzxB': case 'movzxW': case 'movsxB': case 'movsxW': {
      if (s !== 16 && s !== 32 && s !== 64) return false;
      const bits = f.form.endsWith('B') ? 8 : 16;
      if (i.mem) { const a = setA(); load(g, bits, a, `m${k}`); } else g.emit(`const m${k} = ${readReg(g, bits, i.rm)};`);
      if (f.form.startsWith('movzx')) { writeReg(g, s, i.reg, `m${k}`, '0'); return true; }
      const sh = 32 - bits;
      g.emit(`const v${k} = (m${k} << ${sh}) >> ${sh};`);
      writeReg(g, s, i.reg, s === 16 ? `(v${k} & 65535)` : `v${k}`, `(v${k} >> 31)`);
      return true;
    }
    case 'movsxd': {
      if (s !== 64) return false;
      if (i.mem) { const a = setA(); load(g, 32, a, `v${k}`); } else g.emit(`const v${k} = ${readReg(g, 32, i.rm)};`);
      writeReg(g, 64, i.reg, `v${k}`, `(v${k} >> 31)`);
      return true;
    }
    case 'aluRmR': case 'aluRRm': case 'aluRmI': return alu(g, i, f, A);
    case 'shiftImm': return shift64(g, i, f);
    case 'imul': return imul(g, i, f, A);
    case 'incdec': return incdec(g, i, A);
    case 'push': {
      if (s !== 64) return false;
      const close = stackRun(g, i, k, 'push');
      const lo = readReg(g, 64, i.reg), hi = readHi(g, i.reg);
      g.use(4);
      g.emit(`const v${k} = ${lo}, w${k} = ${hi}, sl${k} = (L4 >>> 0) - 8, sh${k} = sl${k} < 0 ? (H4 - 1) | 0 : H4, so${k} = sl${k} & 4095;`);
      g.emit(`if (${stackHit(`sl${k}`, `sh${k}`, `so${k}`)}) { const p = wO[SX] + so${k}; dv.setInt32(p, v${k}, true); dv.setInt32(p + 4, w${k}, true); } else {`);
      g.emit(`const a${k} = sh${k} * 4294967296 + (sl${k} >>> 0);`);
      g.emit(`if (a${k} < -${CANON} || a${k} > ${CANON - 8}) ssFault(cpu);`);
      store(g, 64, `a${k}`, `v${k}`, `w${k}`);
      g.emit(`${stackFill(`a${k}`, `sl${k}`, `sh${k}`, `so${k}`)} }`);
      g.emit(`L4 = sl${k} | 0; H4 = sh${k};`);
      g.dirty(4);
      g.genCheck();
      if (close) g.emit('}');
      return true;
    }
    case 'pop': {
      if (s !== 64) return false;
      const close = stackRun(g, i, k, 'pop');
      g.use(4);
      stackLoad(g, k);
      g.emit(`const s${k} = (L4 >>> 0) + 8; if (s${k} > 4294967295) H4 = (H4 + 1) | 0; L4 = s${k} | 0;`);
      g.dirty(4);
      writeReg(g, 64, i.reg, `v${k}`, `v${k}h`);
      if (close) g.emit('}');
      return true;
    }
    case 'call': {
      if (s !== 64 || !last || i.h.name !== 'call64') return false;
      g.use(4);
      g.emit(`const r${k} = rip0 + ${g.endOff[k]}, sl${k} = (L4 >>> 0) - 8, sh${k} = sl${k} < 0 ? (H4 - 1) | 0 : H4, so${k} = sl${k} & 4095, t${k} = r${k} + (${i.imm});`);
      // On the stack page the stack address is canonical; the target is checked as on the TLB path.
      g.emit(`if (${stackHit(`sl${k}`, `sh${k}`, `so${k}`)} && t${k} < ${CANON} && t${k} >= -${CANON}) { const p = wO[SX] + so${k}; dv.setInt32(p, r${k} | 0, true); dv.setInt32(p + 4, Math.floor(r${k} / 4294967296) | 0, true); } else {`);
      g.emit(`const a${k} = sh${k} * 4294967296 + (sl${k} >>> 0);`);
      g.emit(`if (a${k} < -${CANON} || a${k} > ${CANON - 8}) ssFault(cpu);`);
      g.emit(`if (t${k} >= ${CANON} || t${k} < -${CANON}) { mmu.probeWrite(a${k}, 8); gpFault(cpu); }`);
      store(g, 64, `a${k}`, `r${k} | 0`, `Math.floor(r${k} / 4294967296) | 0`);
      g.emit(`${stackFill(`a${k}`, `sl${k}`, `sh${k}`, `so${k}`)} }`);
      g.emit(`L4 = sl${k} | 0; H4 = sh${k}; rip = t${k};`);
      g.dirty(4);
      return 'end';
    }
    case 'ret': {
      if (s !== 64 || !last || i.imm !== 0 || i.h.name !== 'ret64') return false;
      g.use(4);
      stackLoad(g, k);
      g.emit(`const t${k} = v${k}h * 4294967296 + (v${k} >>> 0); if (t${k} >= ${CANON} || t${k} < -${CANON}) gpFault(cpu);`);
      g.emit(`const s${k} = (L4 >>> 0) + 8; if (s${k} > 4294967295) H4 = (H4 + 1) | 0; L4 = s${k} | 0; rip = t${k};`);
      g.dirty(4);
      return 'end';
    }
    case 'jcc': case 'jmp': {
      if (!last || i.mode !== 64) return false;
      const c = f.form === 'jcc' ? condExpr(g, i.op) : 'true';
      // Back to the block's own start: an address already being executed, canonical.
      if (g.endOff[k] + i.imm === 0) { g.emit(`rip = rip0 + ${g.endOff[k]}; if (${c}) rip = rip0;`); return 'end'; }
      g.emit(`rip = rip0 + ${g.endOff[k]}; if (${c}) { const t = rip + (${i.imm}); if (t >= ${CANON} || t < -${CANON}) gpFault(cpu); rip = t; }`);
      return 'end';
    }
    case 'cmov': {
      if (s !== 32 && s !== 64) return false;
      if (i.mem) { const a = setA(); load(g, s, a, `v${k}`); }
      else g.emit(`const v${k} = ${readReg(g, s, i.rm)}, v${k}h = ${s === 64 ? readHi(g, i.rm) : '0'};`);
      const c = condExpr(g, i.op);
      g.use(i.reg);
      if (s === 64) g.emit(`if (${c}) { L${i.reg} = v${k}; H${i.reg} = v${k}h; }`);
      else g.emit(`if (${c}) L${i.reg} = v${k}; H${i.reg} = 0;`);
      g.dirty(i.reg);
      return true;
    }
    case 'setcc': {
      const c = condExpr(g, i.op);
      if (i.mem) { const a = setA(); store(g, 8, a, `(${c} ? 1 : 0)`, '0'); g.genCheck(); }
      else { g.emit(`const v${k} = ${c} ? 1 : 0;`); writeReg(g, 8, i.rm, `v${k}`, '0'); }
      return true;
    }
    default: return specialiseMore(g, i, f, last, A);
  }
}

function alu(g: Gen, i: Insn, f: FormInfo, A: string): boolean {
  const op = i.op, s = i.size, k = g.k;
  if (f.ops.size === 1 && !f.ops.has(op)) return false;
  if (op !== OP_ADD && op !== OP_OR && op !== OP_AND && op !== OP_SUB && op !== OP_XOR && op !== OP_CMP && op !== OP_TEST) return false;
  const discard = op >= OP_CMP;
  const sz = SZI[s];
  // Operands: destination side a (r/m, or reg for aluRRm), source b.
  let aL: string, aH = '0', bL: string, bH = '0';
  let p = '';
  const memDest = i.mem && f.form !== 'aluRRm';
  if (f.form === 'aluRmI') { bL = `${i.imm}`; bH = `${i.immHi}`; }
  else if (f.form === 'aluRmR') { bL = readReg(g, s, i.reg); if (s === 64) bH = readHi(g, i.reg); g.emit(`const b${k} = ${bL}, b${k}h = ${bH};`); bL = `b${k}`; bH = `b${k}h`; }
  else {
    if (i.mem) { g.emit(`const a${k} = ${A};`); load(g, s, `a${k}`, `b${k}`); }
    else g.emit(`const b${k} = ${readReg(g, s, i.rm)}, b${k}h = ${s === 64 ? readHi(g, i.rm) : '0'};`);
    bL = `b${k}`; bH = `b${k}h`;
  }
  if (memDest) {
    g.emit(`const a${k} = ${A};`);
    if (discard) load(g, s, `a${k}`, `m${k}`);
    else { p = `p${k}`; loadRmw(g, s, `a${k}`, `m${k}`, p); }
    aL = `m${k}`; aH = `m${k}h`;
  } else {
    const d = f.form === 'aluRRm' ? i.reg : i.rm;
    g.emit(`const m${k} = ${readReg(g, s, d)}, m${k}h = ${s === 64 ? readHi(g, d) : '0'};`);
    aL = `m${k}`; aH = `m${k}h`;
  }
  const kind = op === OP_ADD ? K_ADD : op === OP_SUB || op === OP_CMP ? K_SUB : K_LOGIC;
  const jsop = op === OP_OR ? '|' : op === OP_XOR ? '^' : '&';
  let lo: string, hi = '0';
  if (s === 64) {
    // Carry and borrow from 32-bit compares: no double arithmetic.
    if (kind === K_ADD) g.emit(`const r${k} = (${aL} + ${bL}) | 0, r${k}h = (${aH} + ${bH} + ((r${k} >>> 0) < (${aL} >>> 0) ? 1 : 0)) | 0;`);
    else if (kind === K_SUB) g.emit(`const r${k} = (${aL} - ${bL}) | 0, r${k}h = (${aH} - ${bH} - ((${aL} >>> 0) < (${bL} >>> 0) ? 1 : 0)) | 0;`);
    else g.emit(`const r${k} = ${aL} ${jsop} ${bL}, r${k}h = ${aH} ${jsop} ${bH};`);
    lo = `r${k}`; hi = `r${k}h`;
  } else if (s === 32) {
    g.emit(`const r${k} = ${kind === K_ADD ? `(${aL} + ${bL}) | 0` : kind === K_SUB ? `(${aL} - ${bL}) | 0` : `${aL} ${jsop} ${bL}`};`);
    lo = `r${k}`;
  } else {
    g.emit(`const r${k} = (${kind === K_ADD ? `${aL} + ${bL}` : kind === K_SUB ? `${aL} - ${bL}` : `${aL} ${jsop} ${bL}`}) & ${MASK[sz]};`);
    lo = `r${k}`;
  }
  if (memDest && !discard) { storeRmw(g, s, `a${k}`, p, lo, hi); }
  // Commit: flags as the interpreter's handler records them, then the destination register.
  g.setF(0, `${(kind << 2) | sz}`);
  g.setF(1, aL);
  if (s === 64) g.setF(2, aH);
  g.setF(3, bL);
  if (s === 64) g.setF(4, bH);
  g.setF(5, lo);
  if (s === 64) g.setF(6, hi);
  if (f.hot ? s >= 32 : (s === 64 && kind !== K_LOGIC)) g.setF(7, '0');
  g.prod = { kind, sz };
  if (!discard && !memDest) writeReg(g, s, f.form === 'aluRRm' ? i.reg : i.rm, lo, hi);
  if (memDest && !discard) g.genCheck();
  return true;
}

/** Explicit flags (the interpreter's setArithFlags): LF_OP = K_NONE, LF_ARITH = the six bits. */
export function setExplicitFlags(g: Gen, bits: string): void {
  g.setF(0, '0');
  g.setF(9, `(${bits}) & 2261`);
  g.prod = { kind: K_NONE, sz: 3 };
}

/** shl/shr/sar of a 64-bit register by a constant 1..63 (shift.ts shift64, same flags). */
function shift64(g: Gen, i: Insn, f: FormInfo): boolean {
  const c = i.imm, k = g.k;
  if (i.mem || i.size !== 64 || c < 1 || c > 63 || f.ops.size !== 1) return false;
  const op = i.op;
  const L = readReg(g, 64, i.rm), H = readHi(g, i.rm);
  const bit = (n: number) => n < 32 ? `((${L} >>> ${n}) & 1)` : `((${H} >>> ${n - 32}) & 1)`;
  let lo: string, hi: string, of: string;
  if (op === 4) { // shl
    if (c < 32) { lo = `${L} << ${c}`; hi = `(${H} << ${c}) | (${L} >>> ${32 - c})`; }
    else if (c === 32) { lo = '0'; hi = L; }
    else { lo = '0'; hi = `${L} << ${c - 32}`; }
    g.emit(`const r${k} = ${lo}, r${k}h = ${hi}, c${k} = ${bit(64 - c)};`);
    of = `((r${k}h >>> 31) ^ c${k})`;
  } else if (op === 5 || op === 7) { // shr, sar
    const sar = op === 7;
    if (c < 32) { lo = `(${L} >>> ${c}) | (${H} << ${32 - c})`; hi = sar ? `${H} >> ${c}` : `(${H} >>> ${c}) | 0`; }
    else if (c === 32) { lo = H; hi = sar ? `${H} >> 31` : '0'; }
    else { lo = sar ? `${H} >> ${c - 32}` : `(${H} >>> ${c - 32}) | 0`; hi = sar ? `${H} >> 31` : '0'; }
    g.emit(`const r${k} = ${lo}, r${k}h = ${hi}, c${k} = ${bit(c - 1)};`);
    of = sar ? '0' : c > 1 ? `(((r${k}h >>> 31) ^ (r${k}h >>> 30)) & 1)` : `(${H} >>> 31)`;
  } else return false;
  const res = `(PARITY[r${k} & 255] << 2) | ((r${k} | r${k}h) === 0 ? 64 : 0) | (r${k}h < 0 ? 128 : 0)`;
  setExplicitFlags(g, `${res} | c${k} | (${of} << 11) | SHIFT_AF`);
  writeReg(g, 64, i.rm, `r${k}`, `r${k}h`);
  return true;
}

/**
 * imul reg, r/m[, imm] (muldiv.ts imulR32 / imulR64). 64-bit products of two sign-extended 32-bit factors
 * (indexing, scaling by constants) are computed here; wider ones call the handler.
 */
function imul(g: Gen, i: Insn, f: FormInfo, A: string): boolean {
  const s = i.size, k = g.k;
  if (s !== 32 && s !== 64) return false;
  if (i.mem && A === '') return false;
  if (i.mem) { g.emit(`const a${k} = ${A};`); load(g, s, `a${k}`, `m${k}`); }
  else g.emit(`const m${k} = ${readReg(g, s, i.rm)}, m${k}h = ${s === 64 ? readHi(g, i.rm) : '0'};`);
  const bL = i.op ? `${i.imm}` : readReg(g, s, i.reg);
  const bH = i.op ? `${i.imm >> 31}` : s === 64 ? readHi(g, i.reg) : '0';
  g.emit(`const b${k} = ${bL}, b${k}h = ${bH};`);
  if (s === 32) {
    g.emit(`const r${k} = Math.imul(m${k}, b${k}), o${k} = m${k} * b${k} !== r${k};`);
    if (g.nextOverwritesExplicit) g.prod = null;
    else setExplicitFlags(g, `${keptFlags(g)} | (o${k} ? 2049 : 0)`);
    writeReg(g, 32, i.reg, `r${k}`, '0');
    return true;
  }
  if (g.nextOverwritesExplicit) {
    // Flags dead: the low 64 bits of the product are the same signed or unsigned and need no overflow test.
    // By an immediate below 2^21 the 32 x 32 partial product is an exact double (< 2^53).
    if (i.op && i.imm >= 0 && i.imm < 0x200000) {
      g.emit(`const r${k} = Math.imul(m${k}, ${i.imm}), r${k}h = ((((m${k} >>> 0) * ${i.imm} * ${TWO_M32}) >>> 0) + Math.imul(m${k}h, ${i.imm})) | 0;`);
    } else g.emit(`const r${k} = Math.imul(m${k}, b${k}), r${k}h = mulLoHi64(m${k}, m${k}h, b${k}, b${k}h);`);
    g.prod = null;
    writeReg(g, 64, i.reg, `r${k}`, `r${k}h`);
    return true;
  }
  g.emit(`let r${k}, r${k}h, o${k} = false;`);
  g.emit(`if (m${k}h === (m${k} >> 31) && b${k}h === (b${k} >> 31)) { r${k} = Math.imul(m${k}, b${k}); r${k}h = mulHiS32(m${k}, b${k}); }`);
  g.emit(`else { r${k} = mulS64(m${k}, m${k}h, b${k}, b${k}h); r${k}h = MUL.hi; o${k} = MUL.of; }`);
  setExplicitFlags(g, `${keptFlags(g)} | (o${k} ? 2049 : 0)`);
  writeReg(g, 64, i.reg, `r${k}`, `r${k}h`);
  return true;
}

/** SF ZF AF PF of the current flags (what imul keeps, undef.ts mulFlags) as an expression. */
export function keptFlags(g: Gen): string {
  const p = g.prod;
  if (p === null) { g.flushFlags(); return '(mulFlags(arithFlags(lf), 0))'; }
  if (p.kind === K_NONE) return '(F9 & 212)';
  const af = p.kind === K_LOGIC ? '0' : '(((F1 ^ F3 ^ F5) >> 4) & 1)';
  return `((PARITY[F5 & 255] << 2) | (${af} << 4) | (${zfExpr(p.sz)} ? 64 : 0) | (${sfExpr(p.sz)} ? 128 : 0))`;
}

function incdec(g: Gen, i: Insn, A: string): boolean {
  const s = i.size, k = g.k, sz = SZI[s];
  const dec = i.op === 1;
  if (i.op !== 0 && i.op !== 1) return false;
  const cf = cfNum(g);
  g.emit(`const c${k} = ${cf};`);
  let p = '';
  if (i.mem) { g.emit(`const a${k} = ${A};`); p = `p${k}`; loadRmw(g, s, `a${k}`, `m${k}`, p); }
  else g.emit(`const m${k} = ${readReg(g, s, i.rm)}, m${k}h = ${s === 64 ? readHi(g, i.rm) : '0'};`);
  if (s === 64) {
    g.emit(dec ? `const r${k} = (m${k} - 1) | 0, r${k}h = m${k} === 0 ? (m${k}h - 1) | 0 : m${k}h;`
      : `const r${k} = (m${k} + 1) | 0, r${k}h = m${k} === -1 ? (m${k}h + 1) | 0 : m${k}h;`);
  } else {
    const e = dec ? `m${k} - 1` : `m${k} + 1`;
    g.emit(`const r${k} = ${s === 8 ? `(${e}) & 255` : s === 16 ? `(${e}) & 65535` : `(${e}) | 0`}, r${k}h = 0;`);
  }
  if (i.mem) storeRmw(g, s, `a${k}`, p, `r${k}`, `r${k}h`);
  g.setF(0, `${((dec ? K_DEC : K_INC) << 2) | sz}`);
  g.setF(1, `m${k}`); g.setF(2, s === 64 ? `m${k}h` : '0');
  g.setF(3, '1'); g.setF(4, '0');
  g.setF(5, `r${k}`); g.setF(6, `r${k}h`);
  g.setF(7, `c${k}`);
  g.prod = { kind: dec ? K_DEC : K_INC, sz };
  if (i.mem) g.genCheck();
  else writeReg(g, s, i.rm, `r${k}`, `r${k}h`);
  return true;
}

/** Registers a handler call may read or write, or null for "any". */
function effects(i: Insn, f: FormInfo | undefined): Set<number> | null {
  if (f === undefined || i.mode !== 64) return null;
  if (f.form === 'shiftImm') return new Set([i.rm]);
  if (f.form === 'imul') {
    const r = new Set([i.reg]);
    if (i.mem) { if (i.eaKind !== EA_64 && i.eaKind !== EA_RIP) return null; if (i.base >= 0) r.add(i.base); if (i.index >= 0) r.add(i.index); }
    else r.add(i.rm);
    return r;
  }
  return null;
}

export interface Emitted { generic: boolean; eff: Set<number> | null; end: boolean }

/**
 * Emits instruction k: specialised code, or a call of its handler with the state it needs made current.
 * `last`: k ends its trace (a region passes its traces' ends; only a trace's last instruction transfers control).
 */
export function emitInsn(g: Gen, ins: Insn[], k: number, table: Map<Handler, FormInfo>, last = k === ins.length - 1): Emitted {
  const i = ins[k];
  g.k = k;
  const f = table.get(i.h);
  const nx = last ? undefined : ins[k + 1];
  const nf = nx === undefined ? undefined : table.get(nx.h);
  g.nextOverwritesExplicit = nx !== undefined && nf !== undefined && nf.form === 'shiftImm' && !nx.mem && nx.mode === 64 &&
    nx.size === 64 && nx.imm >= 1 && nx.imm <= 63 && nf.ops.size === 1 && (nx.op === 4 || nx.op === 5 || nx.op === 7);
  g.snap(false);
  const kAt = g.out.length;
  g.emit(`k = ${k};`);
  let done: boolean | 'end' = false;
  if (f !== undefined && i.mode === 64 && f.sizes.has(i.size)) {
    const mark = g.out.length;
    const saved = { reg: g.reg.slice(), fl: g.fl.slice(), prod: g.prod, used: new Set(g.usedRegs), usedF: new Set(g.usedFlags), lazy: g.lazyState() };
    done = specialise(g, i, f, last);
    if (done === false) {
      // Undo partial emission (a form rejected after it loaded operands).
      g.out.length = mark;
      g.reg.set(saved.reg); g.fl.set(saved.fl); g.prod = saved.prod;
      g.usedRegs.clear(); for (const r of saved.used) g.usedRegs.add(r);
      g.usedFlags.clear(); for (const x of saved.usedF) g.usedFlags.add(x);
      g.setLazyState(saved.lazy);
    }
  }
  if (done !== false) {
    // The catch block reads k only when something can throw; register-only code needs no store to it.
    if (!g.out.slice(kAt + 1).some((l) => MAY_THROW.test(l))) g.out[kAt] = '';
    return { generic: false, eff: null, end: done === 'end' };
  }
  // Handler call: the register file and cpu.lf must be current for what it touches.
  const eff = effects(i, f);
  g.flushRegs(eff);
  g.flushFlags();
  // The catch block sees the state the handler started from (what it left, if it threw, is its own).
  g.snap(true);
  g.emit(`${g.loop ? 'cpu.icount = ic; ' : ''}cpu.rip = rip0 + ${g.endOff[k]}; h${k}(cpu, i${k});`);
  for (let r = 0; r < 16; r++) if (eff === null || eff.has(r)) g.reg[r] = ABSENT;
  for (const x of FIELDS) g.fl[x] = ABSENT;
  g.prod = null;
  if (last) { g.emit('rip = cpu.rip;'); return { generic: true, eff, end: true }; }
  g.genCheck();
  return { generic: true, eff, end: false };
}

export interface CompileResult { fn: BlockFn; source: string; specialised: number }

/** Compiles a trace; `rip0` of the generated code is cpu.rip at entry (code may be mapped more than once). */
export function compileTrace(t: Trace, warmExits = WARM_EXITS, slowCalls = 0): CompileResult {
  const table = formTable();
  const g = new Gen();
  const ins = t.insns, n = t.n;
  for (let k = 0; k < n; k++) g.endOff[k] = ins[k].end;
  const body: string[] = [];
  const genericAt: boolean[] = [];
  let ended = false;
  let specialisedCount = 0;
  let pure = true;
  // First pass decides whether the trace can loop on itself inside the function (no handler calls).
  const bodyStart = g.out.length;
  for (let k = 0; k < n; k++) {
    const r = emitInsn(g, ins, k, table);
    if (r.end) ended = true;
    genericAt[k] = r.generic;
    if (!r.generic) specialisedCount++;
    // Handler calls whose register effects are known (imul, shifts) do not stop the trace looping in place.
    else if (r.eff === null) pure = false;
  }
  if (!ended) g.emit(`rip = rip0 + ${g.endOff[n - 1]};`);
  body.push(...g.out.splice(bodyStart));
  // A trace that ends by jumping to its own start loops here while the run loop would run it again.
  // Only a branch back to the start can loop: any other block pays for the loop's form (every flag field loaded
  // and stored, the iteration count, the warm-up counter, the back-edge test) at every call and never loops.
  const last = ins[n - 1], lf = table.get(last.h)?.form;
  const loops = pure && last.ends && !genericAt[n - 1] && (lf === 'jcc' || lf === 'jmp') && g.endOff[n - 1] + last.imm === 0;
  const regs = [...g.usedRegs].sort((a, b) => a - b);
  const flags = FIELDS.filter((x) => g.usedFlags.has(x));
  if (loops) return compileLoop(t, regs, flags, warmExits, slowCalls);
  const src = prelude(genericAt, g.endOff, false, null, slowCalls);
  if (regs.length) src.push(`let ${regs.map((r) => `L${r} = 0, H${r} = 0`).join(', ')};`);
  if (flags.length) src.push(`let ${flags.map((x) => `F${x} = 0`).join(', ')};`);
  const endWb = g.writeback();
  src.push('try {');
  src.push(...body);
  src.push(`${endWb}cpu.rip = rip; cpu.icount += ${n};`);
  src.push('} catch (e) {');
  src.push(catchBlock(g, genericAt, n));
  src.push('}');
  src.push('};');
  return finish(src.join('\n'), ins, specialisedCount);
}

/** The factory's constants and the block function's opening: the state it works on, the handlers it calls. */
export function prelude(genericAt: boolean[], endOff: number[], loop = false, kin: number[] | null = null, slowCalls = 0): string[] {
  const src = ['"use strict";', loop ? 'let warm = 0;' : '', `let slowLeft = ${slowCalls};`,
    `const END = [${endOff.join(', ')}], GENERIC = [${genericAt.map((x) => (x ? 1 : 0)).join(', ')}];`,
    `const KIN = ${kin === null ? 'null' : `[${kin.join(', ')}]`};`,
    'const { exactEa64, GEN_EXIT, cond, getCF, PARITY, gpFault, ssFault, arithFlags, mulFlags, mulHiS32, SHIFT_AF, mulS64, MUL, mulLoHi64 } = RT;',
    `const { ${Object.keys(MORE_RT).join(', ')} } = RT.X;`,
    'const HK = H, IK = I;'];
  genericAt.forEach((generic, k) => { if (generic) src.push(`const h${k} = H[${k}], i${k} = I[${k}];`); });
  src.push('return function block(cpu, env, end) {',
    'const r32 = cpu.r32, lf = cpu.lf, xw = cpu.xmm, xf = cpu.xmmF64, xs = cpu.xmmF32, mmu = cpu.mmu, dv = mmu.dv, rT = mmu.rTag, rO = mmu.rOff, wT = mmu.wTag, wO = mmu.wOff, sb = cpu.segBase;',
    'const cache = env.cache, G = cache.gen, rip0 = cpu.rip;',
    // FAST: memory accesses may take their inline TLB hit path (SLOW_CALLS).
    'const FAST = slowLeft === 0 || (slowLeft--, false);',
    // The stack page (stackHit): its write-TLB slot and tag, and its linear page as RSP halves; SL = 1 matches none.
    'let SX = 0, ST = NaN, SL = 1, SH = 0;',
    'let k = 0, rip = rip0;');
  return src;
}

export function catchBlock(g: Gen, genericAt: boolean[], n: number, region = false): string {
  // Cases differ mostly in RIP only: the writebacks are grouped, RIP comes from the END table (a specialised
  // instruction that faults has not moved RIP; a handler that threw left cpu.rip as it wants it).
  const groups = new Map<string, number[]>();
  for (let k = 0; k < n; k++) {
    const s = g.snaps[k];
    let code = '';
    for (const r of s.regs) code += `r32[${2 * r}] = L${r}; r32[${2 * r + 1}] = H${r}; `;
    for (const f of s.flags) code += `lf[${f}] = F${f}; `;
    if (code === '') continue;
    const list = groups.get(code);
    if (list) list.push(k); else groups.set(code, [k]);
  }
  let out = groups.size ? 'switch (k) {' : '';
  for (const [code, ks] of groups) out += ` ${ks.map((k) => `case ${k}:`).join(' ')} ${code}break;`;
  if (groups.size) out += ' }\n';
  out += genericAt.some((x) => x) ? 'if (!GENERIC[k]) cpu.rip = rip0 + END[k];' : 'cpu.rip = rip0 + END[k];';
  out += region ? '\nenv.jitK = KIN[k]; env.jitI = IK[k];\nthrow e;' : '\nenv.jitK = k; env.jitI = IK[k];\nthrow e;';
  // Leaving after instruction k (its write dropped decoded code): the state after it, RIP past it.
  const after = new Map<string, number[]>();
  for (let k = 0; k < n; k++) {
    const s = g.afterSnaps[k];
    if (s === undefined) continue;
    let code = '';
    for (const r of s.regs) code += `r32[${2 * r}] = L${r}; r32[${2 * r + 1}] = H${r}; `;
    for (const f of s.flags) code += `lf[${f}] = F${f}; `;
    const list = after.get(code);
    if (list) list.push(k); else after.set(code, [k]);
  }
  if (after.size === 0) return out;
  let gen = 'if (e === GEN_EXIT) { switch (k) {';
  for (const [code, ks] of after) gen += ` ${ks.map((k) => `case ${k}:`).join(' ')} ${code}break;`;
  return gen + ` } cpu.rip = rip0 + END[k]; cpu.icount += ${region ? 'KIN[k]' : 'k'} + 1; return; }\n` + out;
}

/** Builds the block function; `x` is what a region's entry check needs (X in the source). */
/** What a compiled source evaluates to: given the runtime, the handlers and instructions (and X), the block. */
export type BlockFactory = (rt: typeof RT, h: Handler[], i: Insn[], x: unknown) => BlockFn;

/** OSVEMU_JIT_DUMP=DIR: each generated source is named jitN.js (//# sourceURL) and written to DIR/jitN.js. */
const DUMP_DIR = process.env.OSVEMU_JIT_DUMP ?? '';
let dumpN = 0;

/**
 * The factory of a generated source (which V8 parses and, once it is hot, optimises once per factory). With
 * OSVEMU_JIT_DUMP a CPU profile names each block by its file, and its positionTicks' lines are the file's lines
 * (the file starts with the two lines new Function puts before the source).
 */
export function makeFactory(source: string): BlockFactory {
  const dump = DUMP_DIR;
  if (dump) {
    const name = `jit${dumpN++}.js`;
    source += `\n//# sourceURL=${name}`;
    writeFileSync(`${dump}/${name}`, `function anonymous(RT,H,I,X\n) {\n${source}\n}`);
  }
  try {
    return new Function('RT', 'H', 'I', 'X', source) as BlockFactory;
  } catch (e) {
    if (process.env.OSVEMU_JIT_DEBUG) console.error(source);
    throw e;
  }
}

export function finish(source: string, ins: Insn[], specialised: number, x: unknown = null,
  factory: BlockFactory = makeFactory(source)): CompileResult {
  return { fn: factory(RT, ins.map((i) => i.h), ins, x), source, specialised };
}

/**
 * The looping code's test that the run loop would not stop between two traces (no pending event, stop request or
 * dropped code): those change only inside a call (a slow memory access, a handler), which sets `slowed`; the
 * warm-up count changes only between calls.
 */
export const LOOP_ON = 'hot && (slowed === 0 || (slowed = 0, !env.eventPending && env.stopReason === 0 && cache.gen === G))';

/** A self-looping pure trace: registers and flags stay in locals across iterations. */
function compileLoop(t: Trace, regs: number[], flags: number[], warmExits: number, slowCalls: number): CompileResult {
  const table = formTable();
  const g = new Gen();
  const ins = t.insns, n = t.n;
  for (let k = 0; k < n; k++) g.endOff[k] = ins[k].end;
  // Loop head: every local loaded; the ones the body writes are dirty (their values may have changed in an
  // earlier iteration).
  for (const r of regs) g.reg[r] = CLEAN;
  for (const x of flags) g.fl[x] = CLEAN;
  const probe = new Gen();
  probe.endOff = g.endOff;
  g.loop = probe.loop = true;
  // Find what the body writes by compiling it once on a scratch generator.
  for (const r of regs) probe.reg[r] = CLEAN;
  for (const x of flags) probe.fl[x] = CLEAN;
  for (let k = 0; k < n; k++) emitInsn(probe, ins, k, table);
  for (let r = 0; r < 16; r++) if (probe.reg[r] === DIRTY) g.reg[r] = DIRTY;
  for (const x of FIELDS) if (probe.fl[x] === DIRTY) g.fl[x] = DIRTY;
  const genericAt: boolean[] = [];
  let specialisedCount = 0;
  for (let k = 0; k < n; k++) {
    const r = emitInsn(g, ins, k, table);
    genericAt[k] = r.generic;
    if (!r.generic) specialisedCount++;
  }
  g.flushPending();
  // Back to the loop-head state: whatever a handler call left in the register file is loaded again.
  const reload: string[] = [];
  for (const r of regs) if (g.reg[r] === ABSENT) reload.push(`L${r} = r32[${2 * r}]; H${r} = r32[${2 * r + 1}];`);
  for (const x of flags) if (g.fl[x] === ABSENT) reload.push(`F${x} = lf[${x}];`);
  const allRegs = [...new Set([...regs, ...g.usedRegs])].sort((a, b) => a - b);
  const allFlags = FIELDS.filter((x) => flags.includes(x) || g.usedFlags.has(x));
  const src = prelude(genericAt, g.endOff, true, null, slowCalls);
  if (allRegs.length) src.push(`let ${allRegs.map((r) => `L${r} = r32[${2 * r}], H${r} = r32[${2 * r + 1}]`).join(', ')};`);
  if (allFlags.length) src.push(`let ${allFlags.map((x) => `F${x} = lf[${x}]`).join(', ')};`);
  src.push(`let ic = cpu.icount, slowed = 1; const hot = warm >= ${warmExits};`);
  // Nothing in the body can throw (registers only): no try, whose catch would keep every local alive in V8's
  // view at every operation.
  const tries = g.out.some((l) => MAY_THROW.test(l)) || genericAt.some((x) => x);
  if (tries) src.push('try {');
  src.push('for (;;) {');
  src.push(...g.out);
  src.push(`ic += ${n};`);
  src.push(...reload);
  // The first WARM_EXITS calls leave after one iteration: the exit path then runs in V8's interpreter with a
  // feedback vector (V8 allocates it lazily, after some tens of calls here), which gives it type feedback;
  // otherwise the optimised (OSR) loop deoptimises at every exit, each time costing milliseconds.
  src.push(`if (rip === rip0 && ic < end && ${LOOP_ON}) continue;`);
  src.push(`${g.writeback()}cpu.rip = rip; cpu.icount = ic; if (warm < ${warmExits}) warm++; return;`);
  src.push('}');
  if (tries) {
    src.push('} catch (e) {');
    src.push('cpu.icount = ic;');
    src.push(catchBlock(g, genericAt, n));
    src.push('}');
  }
  src.push('};');
  return finish(src.join('\n'), ins, specialisedCount);
}
