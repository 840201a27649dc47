// Multi-trace regions: a hot loop whose body spans several traces (a call and its ret, several branches) is
// compiled into one JavaScript loop, guest registers and lazy flags in locals across the whole body.
//
// A region is found by following the run loop's trace links (Trace.next: the successor seen last) from a
// trace that just became hot until they lead back to it. The traces are concatenated; between two of them
// the region checks that control went where it went when the region was found (a conditional branch the
// same way, a ret to the address its call pushed) and that the run loop would not have stopped there
// (budget, pending event, stop request, code-cache generation; after a handler call also the interrupt
// shadow, halt, TF, mode and address space). Anything else leaves the region at that trace boundary with the
// state the interpreter has there, so the same traces run in the same order, with the same icount, as
// without the compiler. Faults inside report the instruction and its index within its own trace.
//
// A hot trace whose links lead on without coming back (a call, its callee and the code after it, as musl's sin
// runs) is compiled the same way as a path: the traces once each, every boundary checked as above, and the
// region returns after the last one. The traces then cost one function call between them instead of a
// block call and the run loop's checks per trace (path regions: jit.ts counts them apart).
//
// The region is tied to its linear layout: it runs only when entered at the linear address it was found at, in
// 64-bit mode, with none of its traces dropped by a write, and with the vCPU's instruction TLB mapping each of
// its code pages to the physical page it was found on (what the run loop's fetch would find: any vCPU whose
// page tables agree runs it); else the head trace's own compiled block runs.
import type { Cpu } from '../cpu.js';
import type { Trace } from '../codecache.js';
import type { Insn } from '../insn.js';
import { CS, TF } from '../regs.js';
import { LF_REST } from '../flags.js';
import { TLB_SIZE } from '../mmu.js';
import {
  ABSENT, CLEAN, DIRTY, FIELDS, Gen, LOOP_ON, catchBlock, emitInsn, finish, makeFactory, prelude, type BlockEnv, type BlockFactory,
  type BlockFn, type CompileResult,
} from './compiler.js';
import { formTable } from './forms.js';

/** Most traces / instructions in one region (bigger loops gain little and cost V8 compile time). */
export const MAX_REGION_TRACES = 16;
export const MAX_REGION_INSNS = 256;
/**
 * Longest generated source of a region. V8 never optimises a function of more than 60 KB of bytecode
 * (--max-optimized-bytecode-size), and a region it leaves in its baseline tier runs far slower than the blocks
 * it replaces: a loop of 120 addsd (68 KB of source) ran at 3.9 MIPS as a region and 203 MIPS as blocks, one of
 * 100 (57 KB) at 188 and 203 (npm run bench:sse-region). 256 instructions of SSE arithmetic or memory forms
 * exceed it; integer code stays far below. Raising V8's limit is no way out: its compiler's cost and its tier-up
 * delay (more profiler ticks per bytecode size) grow with the function.
 */
export const MAX_REGION_SOURCE = 50_000;

/** Most traces / instructions in a path region (a path is left as soon as a branch goes the other way). */
export const MAX_PATH_TRACES = 8;
export const MAX_PATH_INSNS = 96;

/** A trace whose successor changed in more than 1/UNSTABLE of its runs ends a path. */
const UNSTABLE = 16;

/** Traces and their linear addresses; `loops`: the last one leads back to the first (else a path: it returns). */
export interface Region { traces: Trace[]; lins: number[]; loops: boolean }

const HOLE = 32;

/** The path of r's first k traces. */
export function pathPrefix(r: Region, k: number): Region {
  return { traces: r.traces.slice(0, k), lins: r.lins.slice(0, k), loops: false };
}

/**
 * The loop through `t0` that the trace links describe, entered at linear address `lin0`; failing that, with
 * `paths`, the path they describe from t0 (at least two traces, within the path limits); or null (a link is
 * missing or stale at t0, or t0 is a single self-looping trace).
 */
export function findRegion(t0: Trace, cpu: Cpu, gen: number, lin0: number, paths = false): Region | null {
  const mmu = cpu.mmu, mode = cpu.mode;
  // A page-crossing instruction (phys2) is left out: the region's entry check covers only the pages traces start on.
  if (mode !== 64 || !t0.cached || t0.phys2 >= 0) return null;
  const traces = [t0], lins = [lin0];
  let insns = t0.n;
  const path = (): Region | null => {
    if (!paths) return null;
    // The longest prefix within the path limits, ending where the links stop or after a trace whose successor
    // often changes (its branch goes either way: past it the path would mostly be left there).
    let k = 0, sum = 0;
    while (k < traces.length && k < MAX_PATH_TRACES && sum + traces[k].n <= MAX_PATH_INSNS) {
      const t = traces[k++];
      sum += t.n;
      if (t.relinks * UNSTABLE > t.hits) break;
    }
    return k > 1 ? pathPrefix({ traces, lins, loops: false }, k) : null;
  };
  for (let t = t0; ;) {
    const nx = t.next;
    if (nx === null || t.nextGen !== gen || t.nextEpoch !== mmu.epoch || t.nextSpace !== mmu.space || t.nextMode !== mode) return path();
    if (nx === t0) return t.nextLin === lin0 && traces.length > 1 ? { traces, lins, loops: true } : path();
    if (traces.includes(nx) || !nx.cached || nx.phys2 >= 0 || traces.length >= MAX_REGION_TRACES) return path();
    insns += nx.n;
    if (insns > MAX_REGION_INSNS) return path();
    traces.push(nx);
    lins.push(t.nextLin);
    t = nx;
  }
}

/** What the region's entry check reads (X in the generated source). */
interface RegionX {
  plain: BlockFn;
  lin0: number;
  /** Per code page: its linear page, TLB slot and physical page. */
  pages: { lin: number; slot: number; phys: number }[];
  /** Code-cache generation at which the traces were last seen alive. */
  gen: number;
  check(gen: number): boolean;
  misses: number;
  miss(cpu: Cpu, env: BlockEnv, end: number): void;
  /** Whether the entry missed only because some code page is not in the instruction TLB now. */
  tlbOnly(cpu: Cpu, env: BlockEnv): boolean;
}

/** Entries that miss the region before it is given up (see RegionX.miss). */
const MAX_MISSES = 256;

/**
 * Compiles a region; `plain` is the head trace's own block, run when the region does not apply. Null when its
 * source is longer than V8 optimises (MAX_REGION_SOURCE): the traces keep running as blocks.
 */
export function compileRegion(r: Region, cpu: Cpu, gen: number, plain: BlockFn, warmExits: number, stale: () => void, slowCalls = 0): CompileResult | null {
  const table = formTable();
  const ins: Insn[] = [];
  const endOff: number[] = [];
  const kin: number[] = [];
  const lastAt: boolean[] = [];
  const lin0 = r.lins[0];
  r.traces.forEach((t, j) => {
    let off = r.lins[j] - lin0;
    t.insns.forEach((i, k) => {
      off += i.len;
      // Instruction k's temporaries are named after k (r${k}...): a 33rd would declare `r32`, the register
      // file's name, in the loop's scope. That index stays empty.
      if (ins.length === HOLE) { ins.push(i); endOff.push(off); kin.push(0); lastAt.push(false); }
      ins.push(i);
      endOff.push(off);
      kin.push(k);
      lastAt.push(k === t.n - 1);
    });
  });
  const n = ins.length;
  const emitAll = (g: Gen, boundary: (j: number, ended: boolean, generic: boolean) => void) => {
    let k = 0;
    const generic: boolean[] = [];
    r.traces.forEach((t, j) => {
      let ended = false, anyGeneric = false;
      for (let e = 0; e < t.n; e++, k++) {
        if (k === HOLE) { generic[k++] = false; g.snaps[HOLE] = { regs: [], flags: [], rip: false }; }
        const res = emitInsn(g, ins, k, table, lastAt[k]);
        generic[k] = res.generic;
        if (res.generic) anyGeneric = true;
        if (res.end) ended = true;
      }
      boundary(j, ended, anyGeneric);
    });
    return generic;
  };
  // Pass 1: registers and flag fields used anywhere; pass 2: those the body writes (dirty at the loop head).
  const first = new Gen();
  first.endOff = endOff;
  first.loop = true;
  emitAll(first, () => {});
  const regs = [...first.usedRegs].sort((a, b) => a - b);
  const flags = FIELDS.filter((x) => first.usedFlags.has(x));
  const probe = new Gen();
  probe.endOff = endOff;
  probe.loop = true;
  for (const x of regs) probe.reg[x] = CLEAN;
  for (const x of flags) probe.fl[x] = CLEAN;
  const headReg = new Uint8Array(16), headFl = new Uint8Array(10);
  emitAll(probe, () => {
    for (let x = 0; x < 16; x++) if (probe.reg[x] === DIRTY) headReg[x] = DIRTY;
    for (const x of FIELDS) if (probe.fl[x] === DIRTY) headFl[x] = DIRTY;
    // Back to a loaded state for the next trace (what the real pass does at each boundary).
    for (const x of regs) if (probe.reg[x] === ABSENT) probe.reg[x] = CLEAN;
    for (const x of flags) if (probe.fl[x] === ABSENT) probe.fl[x] = CLEAN;
  });
  for (const x of regs) if (headReg[x] !== DIRTY) headReg[x] = CLEAN;
  for (const x of flags) if (headFl[x] !== DIRTY) headFl[x] = CLEAN;

  const g = new Gen();
  g.endOff = endOff;
  g.loop = true;
  g.reg.set(headReg);
  g.fl.set(headFl);
  let exitWb = '';
  const genericAt = emitAll(g, (j, ended, generic) => {
    const t = r.traces[j];
    const lastK = g.k;
    if (!ended) g.emit(`rip = rip0 + ${endOff[lastK]};`);
    g.emit(`ic += ${t.n};`);
    // Every boundary restores the loop-head state: what a handler call left in the register file is loaded
    // again, so that all exits share one writeback.
    for (const x of regs) {
      if (g.reg[x] === ABSENT) g.emit(`L${x} = r32[${2 * x}]; H${x} = r32[${2 * x + 1}];`);
      g.reg[x] = headReg[x];
    }
    for (const x of flags) {
      if (g.fl[x] === ABSENT) g.emit(`F${x} = lf[${x}];`);
      g.fl[x] = headFl[x];
    }
    // Flags still in locals keep their producer across the boundary; reloaded ones have none.
    if (generic) g.prod = null;
    const next = j + 1 < r.traces.length ? r.lins[j + 1] - lin0 : 0;
    // After a handler call the run loop's other between-trace conditions may have changed too.
    const extra = generic
      ? ` || cpu.intShadow || cpu.halted || (lf[${LF_REST}] & ${TF}) !== 0 || cpu.mode !== 64 || mmu.epoch !== E0 || sb[${CS}] + rip0 !== X.lin0`
      : '';
    // The loop's back edge: the next iteration starts with the flag locals current.
    if (j === r.traces.length - 1) g.flushPending();
    // A path ends after its last trace, wherever that went.
    if (!r.loops && j === r.traces.length - 1) g.emit('break;');
    else g.emit(`if (rip !== rip0 + ${next} || ic >= end || !(${LOOP_ON})${extra}) break;`);
    exitWb = g.writeback();
  });
  const specialised = genericAt.filter((x) => !x).length;
  const src = prelude(genericAt, endOff, true, kin, slowCalls);
  const body = g.out;
  // The code pages' translations: from the instruction TLB, which every fetch of these pages has filled.
  const pages: RegionX['pages'] = [];
  for (const lin of r.lins) {
    const page = lin - (lin & 0xfff);
    if (pages.some((p) => p.lin === page)) continue;
    const slot = (page >>> 12) & (TLB_SIZE - 1);
    if (cpu.mmu.xTag[slot] !== page) throw new Error('region: a code page is not in the instruction TLB');
    pages.push({ lin: page, slot, phys: cpu.mmu.xOff[slot] });
  }
  const tlb = pages.map((p, n) => `xT[${p.slot}] !== ${p.lin} || xO[${p.slot}] !== X.pages[${n}].phys`).join(' || ');
  src.splice(src.indexOf('return function block(cpu, env, end) {') + 1, 0,
    `const xT = cpu.mmu.xTag, xO = cpu.mmu.xOff;`,
    `if (cpu.segBase[${CS}] + cpu.rip !== X.lin0 || cpu.mode !== 64 || ${tlb} ||`,
    '    (env.cache.gen !== X.gen && !X.check(env.cache.gen))) return X.miss(cpu, env, end);',
    'const E0 = cpu.mmu.epoch;');
  const allRegs = [...new Set([...regs, ...g.usedRegs])].sort((a, b) => a - b);
  const allFlags = FIELDS.filter((x) => flags.includes(x) || g.usedFlags.has(x));
  if (allRegs.length) src.push(`let ${allRegs.map((x) => `L${x} = r32[${2 * x}], H${x} = r32[${2 * x + 1}]`).join(', ')};`);
  if (allFlags.length) src.push(`let ${allFlags.map((x) => `F${x} = lf[${x}]`).join(', ')};`);
  src.push(`let ic = cpu.icount, slowed = 1; const hot = warm >= ${warmExits};`);
  src.push('try {');
  src.push('for (;;) {');
  src.push(...body);
  src.push('}');
  src.push(`${exitWb}cpu.rip = rip; cpu.icount = ic; if (warm < ${warmExits}) warm++; return;`);
  src.push('} catch (e) {');
  src.push('cpu.icount = ic;');
  src.push(catchBlock(g, genericAt, n, true));
  src.push('}');
  src.push('};');
  const source = src.join('\n');
  if (source.length > MAX_REGION_SOURCE) return null;
  const traces = r.traces;
  const x: RegionX = {
    plain, lin0, pages, gen, misses: 0,
    check(now: number): boolean {
      if (traces.some((t) => t.dropped)) return false;
      this.gen = now;
      return true;
    },
    miss(c: Cpu, env: BlockEnv, end: number): void {
      // Entered at another linear address, with a code page differently mapped, or a trace dropped: the head runs
      // its own block, and after many such entries it is interpreted and compiled afresh (with the links seen then).
      // A code page merely absent from the instruction TLB (a flush: OSv reloads CR3 for every TLB shootdown)
      // is fetched again by the run loop after this entry: no reason to give the region up.
      if (!this.tlbOnly(c, env) && ++this.misses === MAX_MISSES) stale();
      this.plain(c, env, end);
    },
    tlbOnly(c: Cpu, env: BlockEnv): boolean {
      if (c.segBase[CS] + c.rip !== this.lin0 || c.mode !== 64) return false;
      if (env.cache.gen !== this.gen && !this.check(env.cache.gen)) return false;
      const xT = c.mmu.xTag, xO = c.mmu.xOff;
      return this.pages.every((p) => xT[p.slot] !== p.lin || xO[p.slot] === p.phys);
    },
  };
  return finishShared(source, ins, specialised, x);
}

/**
 * Region factories by source, shared by the machines of the process. A region's source depends on its code,
 * its linear layout and TLB slots, never on the machine (that is X): the next machine booting the same kernel
 * makes the same source and gets a new closure of the same function, which V8 has already optimised.
 */
const factories = new Map<string, BlockFactory>();
const MAX_FACTORIES = 20_000;
/** Regions that reused another machine's factory (statistics). */
export let factoryHits = 0;

function finishShared(source: string, ins: Insn[], specialised: number, x: unknown): CompileResult {
  let f = factories.get(source);
  if (f !== undefined) factoryHits++;
  else {
    f = makeFactory(source);
    if (factories.size < MAX_FACTORIES) factories.set(source, f);
  }
  return finish(source, ins, specialised, x, f);
}
