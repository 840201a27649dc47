// The JS side of wasm blocks (compile.ts). One WasmBlocks per machine: it batches planned blocks into modules, puts
// each block into the machine's function table, and wraps it as the BlockFn the run loop and chainFrom call. Every
// call enters through the hub module's entry, which runs the block and then, while nothing asked to stop, follows the
// wasm links chainFrom recorded (link()) to the next block without coming back to JS: the checks chainFrom makes
// between two blocks (budget, pending events, a valid link) made in wasm, and those after a handler call by the
// runtime function that made it. The runtime functions (slow memory paths, faults, handler calls, conditions of flags
// recorded before the block) reach the running vCPU through `ctx`.
import { NEVER_RUNS, type Trace } from '../../codecache.js';
import type { Cpu } from '../../cpu.js';
import { arithFlags, cond, getCF, LF_REST } from '../../flags.js';
import { raise } from '../../exceptions.js';
import type { Insn } from '../../insn.js';
import { CR0_EM, CR0_TS, CR4_OSFXSR, TF, VEC_GP, VEC_SS } from '../../regs.js';
import { MX_MASK_SHIFT, MX_PE, MX_RC } from '../../sse/mxcsr.js';
import type { BlockEnv, BlockFn } from '../compiler.js';
import { type Arena, Jump, JUMP_SLOTS, JUMPS, LINKS, Link, MAX_BLOCKS, St } from './arena.js';
import { blockModule, IMPORT_NAMES, LEAVE, planWasm, TYPE_BLOCK, TYPE_ENTRY, TYPE_RT, TYPES, type WasmPlan } from './compile.js';
import { encodeModule, FnBody, Op, WT } from './encode.js';
import { applyWasmFlags } from './v8-flags.js';

applyWasmFlags();

/** What the runtime functions need of the block running: its vCPU and run loop, the instruction it is at, the code mode. */
interface Ctx {
  cpu: Cpu;
  env: BlockEnv | null;
  k: number;
  mode: number;
}

/**
 * Plans by code key (jit.ts codeKey: mode and bytes), shared by every machine of the process: the test runner's next
 * boots take them instead of planning the same code again (a module of already seen bytes also compiles faster: V8
 * caches native modules by their bytes).
 */
const plans = new Map<string, WasmPlan & { id: number }>();
const MAX_PLANS = 50_000;
let planIds = 0;
/** Compiled modules by their blocks' plan ids, shared by the process's machines (flush). */
const modules = new Map<string, WebAssembly.Module>();
const MAX_MODULES = 10_000;
/** Whether some machine of this process made wasm blocks (started() then holds from a machine's first instruction). */
export function wasmWarm(): boolean { return plans.size > 0; }
/** Whether code of this key was planned as a wasm block by some machine of the process. */
export function hasWasmPlan(key: string): boolean { return plans.has(key); }

/** Blocks per module (OSVEMU_WASM_BATCH), and instructions after which a smaller batch compiles anyway. */
const BATCH = Number(process.env.OSVEMU_WASM_BATCH ?? 64);
const STALE = 1_000_000;
/** WasmBlocks.startAt of a machine (OSVEMU_WASM_START). */
export const WASM_START = Number(process.env.OSVEMU_WASM_START ?? 4_000_000);
/** OSVEMU_WASM_REGIONS=1: the JS compiler's regions stay on beside wasm blocks (machine.ts; for comparisons). */
export const WASM_REGIONS = process.env.OSVEMU_WASM_REGIONS === '1';
/** OSVEMU_WASM_CHAIN=0: the hub runs one block per call (for comparisons). */
const CHAIN = process.env.OSVEMU_WASM_CHAIN !== '0';

/** The hub's entry: runs the block at table index idx, and the blocks its links lead to, up to `budget` instructions. */
type Entry = (idx: number, state: number, rip0: number, budget: number) => number;
type RtFn = (k: number, a: number, v: number, w: number) => number;
/** Cpu.hubWords indices (arena.ts St.WORDS). */
const enum W { CUR = (St.CUR - St.WORDS) / 4, STOP = (St.STOP - St.WORDS) / 4, RETIRED = (St.RETIRED - St.WORDS) / 4, EXTRA = (St.EXTRA - St.WORDS) / 4, HOT = (St.HOT - St.WORDS) / 4, ASSUME = (St.ASSUME - St.WORDS) / 4 }
/** St.ASSUME's word for cpu's control registers, MXCSR and CPL (forms-sse.ts check and PE_OK; cli's #GP). */
function assumptions(cpu: Cpu): number {
  const sse = (cpu.cr0 & (CR0_EM | CR0_TS)) === 0 && (cpu.cr4 & CR4_OSFXSR) !== 0 ? 1 : 0;
  const pe = (cpu.mxcsr & (MX_RC | (MX_PE << MX_MASK_SHIFT) | MX_PE)) === ((MX_PE << MX_MASK_SHIFT) | MX_PE) ? 2 : 0;
  const io = cpu.cpl <= ((cpu.lf[LF_REST]! >> 12) & 3) ? 4 : 0;
  return sse | pe | io;
}

/** The largest budget the hub is given (it counts in int32). */
const MAX_BUDGET = 1 << 30;

/**
 * The hub module: imports the runtime's JS functions (one signature) and defines a thunk for each, which the table
 * holds at the runtime's indices (compile.ts IMPORT_NAMES), and the entry JS calls every block through (one JS-to-wasm
 * wrapper for all blocks; blocks reach the runtime through call_indirect and import no functions).
 */
function hubModule(arena: Arena, chain: boolean): Uint8Array<ArrayBuffer> {
  const funcs: { type: number; body: FnBody }[] = IMPORT_NAMES.map((_, n) => {
    const b = new FnBody(4);
    return { type: TYPE_RT, body: b.get(0).get(1).get(2).get(3).call(n) };
  });
  const IDX = 0, STATE = 1, RIP0 = 2, BUDGET = 3;
  const e = new FnBody(4);
  const v = e.local(WT.F64), rec = e.local(WT.I32), ret = e.local(WT.I32), cnt = e.local(WT.I32), slot = e.local(WT.I32);
  const base = arena.machineStart + LINKS;
  const I32 = (o: number) => e.mem(Op.i32_load, 2, o);
  e.op(Op.loop, 0x40);
  // The block about to run and what ran before it: the JS side settles a fault or an early exit from them.
  e.get(STATE).get(IDX).mem(Op.i32_store, 2, St.CUR);
  e.get(STATE).get(RIP0).mem(Op.f64_store, 3, St.CURRIP);
  e.get(STATE).get(ret).mem(Op.i32_store, 2, St.RETIRED);
  e.get(STATE).i32(0).mem(Op.i32_store, 2, St.EXTRA);
  e.get(STATE).get(RIP0).get(BUDGET).get(ret).op(Op.i32_sub).get(IDX).callIndirect(TYPE_BLOCK).tee(v);
  e.f64(LEAVE).op(Op.f64_ge, Op.if, 0x40).get(v).op(Op.return, Op.end);
  e.get(IDX).i32(Link.SIZE).op(Op.i32_mul).i32(base).op(Op.i32_add).set(rec);
  e.get(ret).get(rec); I32(Link.N); e.op(Op.i32_add).get(STATE); I32(St.EXTRA); e.op(Op.i32_add).set(ret);
  if (chain) {
    // Go on only with no stop request (a runtime call left something for the run loop) and within the budget.
    e.get(STATE); I32(St.STOP);
    e.get(ret).get(BUDGET).op(Op.i32_ge_s, Op.i32_or, Op.i32_eqz, Op.if, 0x40);
    // The block's two links, then the jump table's slot for the address.
    const candidates = [[rec, Link.LIN0, Link.TO0, Link.GEN0, Link.SP0], [rec, Link.LIN1, Link.TO1, Link.GEN1, Link.SP1],
      [slot, Jump.LIN, Jump.TO, Jump.GEN, Jump.SP]] as const;
    for (const [at, lin, to, gen, sp] of candidates) {
      if (at === slot) {
        e.get(v).op(Op.i64_trunc_f64_s, Op.i32_wrap_i64).tee(slot).get(slot).i32(12).op(Op.i32_shr_u, Op.i32_xor);
        e.i32(JUMP_SLOTS - 1).op(Op.i32_and).i32(Jump.SIZE).op(Op.i32_mul).i32(arena.machineStart + JUMPS).op(Op.i32_add).set(slot);
      }
      e.get(at).mem(Op.f64_load, 3, lin).get(v).op(Op.f64_eq);
      e.get(at); I32(gen); e.i32(0); I32(arena.machineStart); e.op(Op.i32_eq, Op.i32_and);
      e.get(at); I32(sp); e.get(STATE); I32(St.SPACE); e.op(Op.i32_eq, Op.i32_and);
      if (at === slot) { e.get(at); I32(to); e.op(Op.i32_eqz, Op.i32_eqz, Op.i32_and); }
      // The successor: its runs counted; at its record's AT it is left to JS, which looks for a region through it
      // (the run loop's and chainFrom's counts, Trace.hits / regionAt, do not see the hub's hops).
      e.op(Op.if, 0x40).get(at); I32(to); e.set(IDX);
      e.get(IDX).i32(Link.SIZE).op(Op.i32_mul).i32(base).op(Op.i32_add).set(rec);
      e.get(rec).get(rec); I32(Link.COUNT); e.i32(1).op(Op.i32_add).tee(cnt).mem(Op.i32_store, 2, Link.COUNT);
      e.get(cnt).get(rec); I32(Link.AT); e.op(Op.i32_ge_s, Op.if, 0x40);
      e.get(rec).i32(0x7fffffff).mem(Op.i32_store, 2, Link.AT);
      e.get(STATE).get(IDX).mem(Op.i32_store, 2, St.HOT);
      e.get(STATE).get(ret).mem(Op.i32_store, 2, St.RETIRED).get(v).op(Op.return, Op.end);
      e.get(v).set(RIP0).op(Op.br, 2, Op.end);
    }
    e.op(Op.end);
  }
  e.get(STATE).get(ret).mem(Op.i32_store, 2, St.RETIRED).get(v).op(Op.return, Op.end, 0x00 /* unreachable */);
  funcs.push({ type: TYPE_ENTRY, body: e });
  return encodeModule({ types: TYPES, imports: IMPORT_NAMES.map((name) => ({ name, type: TYPE_RT })), memoryPages: 1, tableMin: 1, funcs });
}

export class WasmBlocks {
  private readonly ctx: Ctx;
  private readonly imports: WebAssembly.Imports;
  private readonly table: WebAssembly.Table;
  private readonly entry: Entry;
  /** The link records (arena.ts Link) as doubles and int32s. */
  private readonly linkF64: Float64Array;
  private readonly linkI32: Int32Array;
  /** The hub's jump table (arena.ts Jump) as doubles and int32s. */
  private readonly jumpF64: Float64Array;
  private readonly jumpI32: Int32Array;
  /** The next free table index (the runtime's thunks come first). */
  private nextIdx = IMPORT_NAMES.length;
  /** Blocks queued for the next module (queue). */
  private pending: { t: Trace; idx: number; plan: WasmPlan & { id: number }; ready: (fn: BlockFn, plan: WasmPlan) => void }[] = [];
  private pendingSince = 0;
  /** The machine's instruction count at its last quantum (flushStale). */
  private now = 0;
  /** Modules made. */
  modules = 0;
  /** Traces compiled, and instructions of theirs specialised / all (coverage figures). */
  compiled = 0;
  specialised = 0;
  instructions = 0;

  /** Runs in the hub after which a block is handed to the JS compiler's region look (Jit.regionDue); set by the Jit. */
  regionRuns = 0x7fffffff;
  /** By table index: each block's trace, its instructions, which of them call their handler. */
  private readonly traceOf: Trace[] = [];
  private readonly insOf: Insn[][] = [];
  private readonly genericOf: boolean[][] = [];

  /**
   * @param cache the code cache the traces live in (a store that drops decoded code changes its generation)
   * @param batch blocks per module (1: each compiles when queued, as tests want).
   */
  constructor(readonly arena: Arena, firstCpu: Cpu, readonly cache: { gen: number }, public batch = BATCH) {
    const ctx: Ctx = this.ctx = { cpu: firstCpu, env: null, k: 0, mode: 0 };
    const insOf = this.insOf;
    // A runtime call may reach devices (MMIO) or run a handler that reads the time: cpu.icount is made what the
    // interpreter would show there (the chain's earlier blocks' instructions added) while it runs. Whether it dropped
    // decoded code is a change of the generation across it: an earlier change would have ended the block.
    const enter = (k: number): Cpu => {
      ctx.k = k;
      const cpu = ctx.cpu, w = cpu.hubWords;
      cpu.icount += w[W.RETIRED]! + w[W.EXTRA]!;
      return cpu;
    };
    // The hub goes on after this block only if the call left nothing that the run loop (chainFrom) looks at between
    // traces: an event it raised (an MMIO write's interrupt), a stop request (a TSC read's charge), an interrupt
    // shadow, a halt, TF or another code mode. Stopping after every runtime call instead sent a scheduler's chains
    // back to JS at each slow memory access and each block with a handler call (11.5 M returns per 1.5 G instructions
    // of tst-queue-mpsc).
    const leave = (cpu: Cpu): void => {
      const w = cpu.hubWords, env = ctx.env!;
      cpu.icount -= w[W.RETIRED]! + w[W.EXTRA]!;
      if (env.eventPending || env.stopReason !== 0 || cpu.intShadow || cpu.halted || (cpu.lf[LF_REST]! & TF) !== 0 || cpu.mode !== ctx.mode) {
        w[W.STOP] = 1;
      }
    };
    const mem = <T>(k: number, op: (cpu: Cpu) => T): T => {
      const cpu = enter(k);
      try { return op(cpu); } finally { leave(cpu); }
    };
    const store = (k: number, op: (cpu: Cpu) => void): number => {
      const cpu = enter(k), g0 = cache.gen;
      try { op(cpu); } finally { leave(cpu); }
      return cache.gen !== g0 ? 1 : 0;
    };
    const f: Record<string, RtFn> = {
      gen: (k) => store(k, (cpu) => {
        const i = insOf[cpu.hubWords[W.CUR]!]![k]!;
        cpu.rip = cpu.hubRip[0]! + i.end;
        i.h(cpu, i);
        // A handler may change what the block's later instructions assume (MXCSR, CR0, CPL); a memory access cannot.
        cpu.hubWords[W.ASSUME] = assumptions(cpu);
      }),
      rd8: (k, a) => mem(k, (cpu) => cpu.mmu.read8(a)),
      rd16: (k, a) => mem(k, (cpu) => cpu.mmu.read16(a)),
      rd32: (k, a) => mem(k, (cpu) => cpu.mmu.read32(a)),
      rd64: (k, a) => mem(k, (cpu) => cpu.mmu.read64(a)),
      rmw8: (k, a) => mem(k, (cpu) => cpu.mmu.rmw8(a)),
      rmw16: (k, a) => mem(k, (cpu) => cpu.mmu.rmw16(a)),
      rmw32: (k, a) => mem(k, (cpu) => cpu.mmu.rmw32(a)),
      rmw64: (k, a) => mem(k, (cpu) => cpu.mmu.rmw64(a)),
      hi: () => ctx.cpu.mmu.hi,
      wr8: (k, a, v) => store(k, (cpu) => cpu.mmu.write8(a, v)),
      wr16: (k, a, v) => store(k, (cpu) => cpu.mmu.write16(a, v)),
      wr32: (k, a, v) => store(k, (cpu) => cpu.mmu.write32(a, v)),
      wr64: (k, a, lo, hi) => store(k, (cpu) => cpu.mmu.write64(a, lo, hi)),
      ss: (k) => { ctx.k = k; return raise(ctx.cpu, VEC_SS, 0); },
      gp: (k) => { ctx.k = k; return raise(ctx.cpu, VEC_GP, 0); },
      callgp: (k, a) => mem(k, (cpu) => { cpu.mmu.probeWrite(a, 8); return raise(cpu, VEC_GP, 0); }),
      cond: (cc) => (cond(ctx.cpu.lf, cc) ? 1 : 0),
      getcf: () => getCF(ctx.cpu.lf),
      kept: () => arithFlags(ctx.cpu.lf) & 212,
      arith: () => arithFlags(ctx.cpu.lf),
      callindgp: (k, q, lo, hi) => mem(k, (cpu) => {
        if (cpu.vendor.callNonCanonicalWritesReturn) cpu.mmu.write64(q, lo, hi); else cpu.mmu.probeWrite(q, 8);
        return raise(cpu, VEC_GP, 0);
      }),
    };
    for (const name of IMPORT_NAMES) if (!(name in f)) throw new Error(`wasm import ${name} missing`);
    this.table = new WebAssembly.Table({ initial: 4096, element: 'anyfunc' });
    this.imports = { m: { mem: arena.memory, tab: this.table } };
    const hub = new WebAssembly.Instance(new WebAssembly.Module(hubModule(arena, CHAIN)), { f, m: { mem: arena.memory, tab: this.table } });
    IMPORT_NAMES.forEach((_, n) => this.table.set(n, hub.exports[`f${n}`] as RtFn));
    this.entry = hub.exports[`f${IMPORT_NAMES.length}`] as Entry;
    const at = arena.machineStart + LINKS;
    this.linkF64 = new Float64Array(arena.buffer, at, (MAX_BLOCKS * Link.SIZE) / 8);
    this.linkI32 = new Int32Array(arena.buffer, at, (MAX_BLOCKS * Link.SIZE) / 4);
    this.jumpF64 = new Float64Array(arena.buffer, arena.machineStart + JUMPS, (JUMP_SLOTS * Jump.SIZE) / 8);
    this.jumpI32 = new Int32Array(arena.buffer, arena.machineStart + JUMPS, (JUMP_SLOTS * Jump.SIZE) / 4);
  }

  /**
   * Plans t as a wasm block and queues it: `ready` gets its BlockFn when the batch it is in compiles (one module per
   * batch: a module costs ~80 us to compile and instantiate however few blocks it holds, a block in a batch of 16
   * ~13 us). Returns the plan, or null when planWasm declines t (or the table is full). Until then t stays interpreted.
   */
  queue(t: Trace, key: string | null, ready: (fn: BlockFn, plan: WasmPlan) => void): WasmPlan | null {
    const idx = this.nextIdx;
    if (idx >= MAX_BLOCKS) return null;
    let plan = key === null ? undefined : plans.get(key);
    if (plan === undefined) {
      const p = planWasm(t);
      if (p === null) return null;
      plan = { ...p, id: planIds++ };
      if (key !== null && plans.size < MAX_PLANS) plans.set(key, plan);
    }
    this.nextIdx++;
    this.traceOf[idx] = t;
    this.insOf[idx] = t.insns.slice(0, t.n);
    this.genericOf[idx] = plan.generic;
    if (this.pending.length === 0) this.pendingSince = this.now;
    this.pending.push({ t, idx, plan, ready });
    if (this.pending.length >= this.batch) this.flush();
    return plan;
  }

  /**
   * Whether this machine makes wasm blocks yet: a cold process's machine starts after its first startAt instructions
   * (a boot runs most of its first few million once or a few times; planning and compiling them, with the planner
   * itself still cold in V8, cost a cold `osvemu run` of OSv's hello ~0.1 s), a warm one at once.
   */
  started(): boolean {
    if (this.on) return true;
    if (this.now >= this.startAt || wasmWarm()) this.on = true;
    return this.on;
  }
  private on = false;
  /** The machine's instructions before it starts in a cold process (START for machines; 0, at once, by default). */
  startAt = 0;

  /** Compiles the queued blocks when the oldest has waited STALE of the machine's instructions (the board calls this per quantum). */
  flushStale(instructions: number): void {
    this.now = instructions;
    if (this.pending.length !== 0 && instructions - this.pendingSince >= STALE) this.flush();
  }

  /** Compiles every queued block (of traces still in the code cache) in one module. */
  flush(): void {
    const live = this.pending.filter((p) => !p.t.dropped);
    this.pending = [];
    if (live.length === 0) return;
    // A warm machine's batches repeat an earlier machine's (the same code becomes hot, or is adopted, in the same order):
    // their compiled module is taken again, to be instantiated only.
    const key = live.map((p) => p.plan.id).join(',');
    let mod = modules.get(key);
    if (mod === undefined) {
      mod = new WebAssembly.Module(blockModule(live.map((p) => p.plan)));
      if (modules.size < MAX_MODULES) modules.set(key, mod);
    }
    const inst = new WebAssembly.Instance(mod, this.imports);
    this.modules++;
    live.forEach((p, j) => {
      const t = p.t, idx = p.idx;
      this.compiled++;
      this.specialised += p.plan.specialised;
      this.instructions += t.n;
      while (idx >= this.table.length) this.table.grow(this.table.length);
      this.table.set(idx, inst.exports[`f${j}`] as WebAssembly.ExportValue);
      // No links yet; its length.
      const r = (idx * Link.SIZE) / 4;
      this.linkF64[(idx * Link.SIZE + Link.LIN0) / 8] = NaN;
      this.linkF64[(idx * Link.SIZE + Link.LIN1) / 8] = NaN;
      this.linkI32[r + Link.N / 4] = t.n;
      this.linkI32[r + Link.COUNT / 4] = 0;
      this.linkI32[r + Link.AT / 4] = Math.min(this.regionRuns, 0x7fffffff);
      t.wasmIdx = idx;
      p.ready(this.wrap(idx), p.plan);
    });
  }

  /**
   * Records that the block at table index `from` went on to the one at `to` at linear address `lin` (chainFrom found
   * it so, under the JS link's conditions): kept as the record's first link, the one it replaces as the second, both
   * valid in the current link generation and the vCPU's address space; and in the jump table, where the hub finds it from
   * any block that goes to lin.
   */
  link(from: number, lin: number, to: number, cpu: Cpu): void {
    const r = from * Link.SIZE, f = this.linkF64, w = this.linkI32;
    const gen = this.arena.lgen[0]!, sp = cpu.mmu.space;
    let slot = 0;
    if (f[(r + Link.LIN1) / 8] === lin) slot = 1;
    else if (f[(r + Link.LIN0) / 8] !== lin) {
      f[(r + Link.LIN1) / 8] = f[(r + Link.LIN0) / 8]!;
      w[(r + Link.TO1) / 4] = w[(r + Link.TO0) / 4]!;
      w[(r + Link.GEN1) / 4] = w[(r + Link.GEN0) / 4]!;
      w[(r + Link.SP1) / 4] = w[(r + Link.SP0) / 4]!;
    }
    f[(r + (slot ? Link.LIN1 : Link.LIN0)) / 8] = lin;
    w[(r + (slot ? Link.TO1 : Link.TO0)) / 4] = to;
    w[(r + (slot ? Link.GEN1 : Link.GEN0)) / 4] = gen;
    w[(r + (slot ? Link.SP1 : Link.SP0)) / 4] = sp;
    // The jump table's slot for lin (the hub's hash: the low 32 bits of the address folded once).
    const lo = (lin % 4294967296) | 0, j = ((lo ^ (lo >>> 12)) & (JUMP_SLOTS - 1)) * Jump.SIZE;
    this.jumpF64[(j + Jump.LIN) / 8] = lin;
    this.jumpI32[(j + Jump.TO) / 4] = to;
    this.jumpI32[(j + Jump.GEN) / 4] = gen;
    this.jumpI32[(j + Jump.SP) / 4] = sp;
  }

  private wrap(idx: number): BlockFn {
    const ctx = this.ctx, entry = this.entry, traceOf = this.traceOf, insOf = this.insOf, genericOf = this.genericOf;
    return (cpu: Cpu, env: BlockEnv, end: number): Trace | void => {
      const rip0 = cpu.rip, w = cpu.hubWords;
      ctx.cpu = cpu; ctx.env = env; ctx.mode = cpu.mode;
      w[W.ASSUME] = assumptions(cpu);
      w[W.STOP] = 0;
      const left = end - cpu.icount;
      let v: number;
      try {
        v = entry(idx, cpu.stateBase, rip0, left < MAX_BUDGET ? left : MAX_BUDGET);
      } catch (e) {
        // As compiler.ts's catch block, for the block that threw: a specialised instruction has not moved RIP; a
        // handler left it as it wants. The chain's earlier blocks retired.
        const cur = w[W.CUR]!, k = ctx.k, ins = insOf[cur]!;
        cpu.icount += w[W.RETIRED]! + w[W.EXTRA]!;
        if (!genericOf[cur]![k]) cpu.rip = cpu.hubRip[0]! + ins[k]!.end;
        env.jitK = k; env.jitI = ins[k]!;
        throw e;
      }
      const cur = w[W.CUR]!;
      const hot = w[W.HOT]!;
      if (hot >= 0) {
        // chainFrom's next hop (to this block, whose start RIP is now) counts it due for its region look.
        w[W.HOT] = -1;
        const h = traceOf[hot]!;
        if (h.regionAt < NEVER_RUNS && h.hits < h.regionAt - 1) h.hits = h.regionAt - 1;
      }
      if (v < LEAVE) {
        cpu.rip = v;
        cpu.icount += w[W.RETIRED]!;
      } else {
        // The block `cur` left early: after instruction c - 2, or at its end with RIP set by its last handler (c = 1).
        const c = v - LEAVE, ins = insOf[cur]!, before = w[W.RETIRED]! + w[W.EXTRA]!;
        if (c === 1) cpu.icount += before + ins.length;
        else {
          cpu.rip = cpu.hubRip[0]! + ins[c - 2]!.end;
          cpu.icount += before + c - 1;
        }
      }
      if (cur === idx) return;
      (env as BlockEnv & { lastLin: number }).lastLin = cpu.hubRip[0]!;
      return traceOf[cur];
    };
  }
}
