// OSVEMU_JIT_STATS=blocks: per compiled block, how it is entered, how it leaves, what it retires and what it
// calls out of line (slow memory paths, page walks, handlers), with its host time per call; printed at exit,
// hottest first. A diagnostic: the wrapper and its clock reads cost far more than a short block itself.
import type { Trace } from '../codecache.js';
import type { Cpu } from '../cpu.js';
import { Mmu } from '../mmu.js';
import { CodeCache } from '../codecache.js';
import { LF_REST } from '../flags.js';
import { CS, TF } from '../regs.js';
import type { BlockEnv, BlockFn } from './compiler.js';
import { successorAt, type ChainEnv } from './chain.js';

const EXITS = ['chain', 'nolink', 'toInterp', 'miss', 'stale', 'event', 'budget', 'stop', 'other', 'throw'] as const;

interface Row {
  t: Trace; n: number; handlers: number; looping: boolean; calls: number; retired: number; chainedIn: number;
  exits: number[]; slow: number; walks: number; ns: number;
}

const rows: Row[] = [];
const counts = { slow: 0, walks: 0 };
let chainedNext = false;
const seenCpus: Cpu[] = [], seenEnvs: BlockEnv[] = [];
const drops = { n: 0, pages: new Map<number, number>() };
/** node --allow-natives-syntax: V8's tier of each block at each call (16 optimised, 128 interpreted, 32768 baseline). */
let tierOf: ((f: BlockFn) => number) | null = null;
try { tierOf = new Function('f', 'return %GetOptimizationStatus(f)') as (f: BlockFn) => number; } catch { tierOf = null; }
const tiers = { opt: [0, 0, 0], base: [0, 0, 0], interp: [0, 0, 0] };
let hooked = false;

function hookMmu(): void {
  const p = Mmu.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const m of ['readOther', 'read64Other', 'writeOther', 'write64Other', 'rmwOther']) {
    const f = p[m]!;
    p[m] = function (this: unknown, ...a: unknown[]) { counts.slow++; return f.apply(this, a); };
  }
  const cc = CodeCache.prototype as unknown as { dropPage: (ppn: number) => void; gen: number };
  const dp = cc.dropPage;
  cc.dropPage = function (this: { gen: number }, ppn: number) {
    const g = this.gen;
    dp.call(this, ppn);
    if (this.gen !== g) { drops.n++; drops.pages.set(ppn, (drops.pages.get(ppn) ?? 0) + 1); }
  };
  const w = p.walk!;
  p.walk = function (this: unknown, ...a: unknown[]) { counts.walks++; return w.apply(this, a); };
}

/** Why chainFrom would stop after t (the same tests, in its order). */
function exitOf(t: Trace, cpu: Cpu, env: BlockEnv, end: number): number {
  if (t.next === null) return 1;
  if (env.eventPending) return 5;
  if (cpu.icount >= end) return 6;
  if (env.stopReason !== 0) return 7;
  if (cpu.intShadow || cpu.halted || (cpu.lf[LF_REST] & TF) !== 0) return 8;
  if (t.nextMode !== cpu.mode) return 4;
  const lin = cpu.segBase[CS] + cpu.rip;
  const nx = successorAt(env as ChainEnv, t, lin);
  if (nx === null) return t.nextLin === lin || t.altLin === lin ? 4 : 3;
  return nx.fn === null ? 2 : 0;
}

/** Wraps block fn of trace t with the counters. */
export function statBlock(t: Trace, fn: BlockFn, source: string): BlockFn {
  if (!hooked) { hooked = true; hookMmu(); process.on('exit', report); }
  const r: Row = {
    t, n: t.n, handlers: (source.match(/\bh\d+\(\(?(?:slowed = 1, )?cpu/g) ?? []).length, looping: /for \(;;\)/.test(source),
    calls: 0, retired: 0, chainedIn: 0, exits: EXITS.map(() => 0), slow: 0, walks: 0, ns: 0,
  };
  rows.push(r);
  return (cpu: Cpu, env: BlockEnv, end: number) => {
    r.calls++;
    if (!seenCpus.includes(cpu)) { seenCpus.push(cpu); seenEnvs.push(env); }
    if (chainedNext) r.chainedIn++;
    const ic0 = cpu.icount, s0 = counts.slow, w0 = counts.walks;
    const tier = tierOf === null ? null : (tierOf(fn) & 16) !== 0 ? tiers.opt : (tierOf(fn) & 32768) !== 0 ? tiers.base : tiers.interp;
    const t0 = performance.now();
    let ex = 9;
    try {
      fn(cpu, env, end);
      ex = -1;
    } finally {
      const dt = (performance.now() - t0) * 1e6;
      r.ns += dt;
      if (tier !== null) { tier[0]++; tier[1] += cpu.icount - ic0; tier[2] += dt; }
      r.retired += cpu.icount - ic0;
      r.slow += counts.slow - s0;
      r.walks += counts.walks - w0;
      if (ex < 0) ex = exitOf(t, cpu, env, end);
      r.exits[ex]!++;
      chainedNext = ex === 0;
    }
  };
}

function report(): void {
  // The clock reads' own cost per call, to subtract.
  let o = 0;
  for (let k = 0; k < 1e5; k++) { const a = performance.now(); o += performance.now() - a; }
  const over = (o / 1e5) * 1e6;
  const tot = { calls: 0, retired: 0, chainedIn: 0, slow: 0, walks: 0, ns: 0, exits: EXITS.map(() => 0), hcalls: 0 };
  const byLen = new Map<string, { calls: number; retired: number; ns: number; blocks: number }>();
  for (const r of rows) {
    tot.calls += r.calls; tot.retired += r.retired; tot.chainedIn += r.chainedIn; tot.slow += r.slow; tot.walks += r.walks;
    tot.ns += r.ns - over * r.calls; tot.hcalls += r.handlers * (r.retired / r.n);
    r.exits.forEach((x, k) => { tot.exits[k]! += x; });
    const key = r.looping ? 'loop' : r.n < 4 ? '1-3' : r.n < 8 ? '4-7' : r.n < 16 ? '8-15' : '16+';
    const b = byLen.get(key) ?? { calls: 0, retired: 0, ns: 0, blocks: 0 };
    b.calls += r.calls; b.retired += r.retired; b.ns += r.ns - over * r.calls; b.blocks++;
    byLen.set(key, b);
  }
  const f = (x: number) => Math.round(x).toLocaleString('en');
  const out = [`block stats: ${rows.length} blocks, ${f(tot.calls)} calls, ${f(tot.retired)} instructions, ` +
    `${(tot.ns / Math.max(1, tot.retired)).toFixed(1)} ns/insn (clock overhead ${over.toFixed(0)} ns/call subtracted); ` +
    `chained in ${f(tot.chainedIn)}; slow mem ${f(tot.slow)}, walks ${f(tot.walks)}, handler calls ~${f(tot.hcalls)}`,
  `  exits: ${EXITS.map((e, k) => `${e} ${f(tot.exits[k]!)}`).join(', ')}`];
  if (tierOf !== null) {
    for (const [k, v] of Object.entries(tiers)) out.push(`  tier ${k}: ${f(v[0])} calls, ${f(v[1])} insns, ${((v[2] - over * v[0]) / Math.max(1, v[1])).toFixed(1)} ns/insn`);
  }
  for (const [k, b] of [...byLen].sort()) {
    out.push(`  len ${k.padEnd(5)} ${String(b.blocks).padStart(5)} blocks ${f(b.calls).padStart(12)} calls ${f(b.retired).padStart(13)} insns ` +
      `${(b.ns / Math.max(1, b.retired)).toFixed(1).padStart(6)} ns/insn ${(b.ns / Math.max(1, b.calls)).toFixed(0).padStart(6)} ns/call`);
  }
  try {
    const same = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: unknown, b: unknown) => boolean;
    const c0 = seenCpus[0]!;
    for (let k = 1; k < seenCpus.length; k++) {
      const c = seenCpus[k]!;
      out.push(`  vcpu ${k} vs 0 same map: cpu ${same(c, c0)} mmu ${same(c.mmu, c0.mmu)} env ${same(seenEnvs[k], seenEnvs[0])} lf ${same(c.lf, c0.lf)} cache ${same(seenEnvs[k]!.cache, seenEnvs[0]!.cache)}`);
    }
  } catch { /* no natives */ }
  out.push(`  code drops (cache.gen bumps by a write): ${f(drops.n)} on ${drops.pages.size} pages; top: ${[...drops.pages].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([p, n]) => `0x${(p * 4096).toString(16)}:${n}`).join(' ')}`);
  out.push('  top blocks by time: rip0?  n  handlers calls insns ns/call chainedIn% slow/call walks/call exits');
  for (const r of [...rows].sort((a, b) => b.ns - a.ns).slice(0, Number(process.env.OSVEMU_JIT_STATS_TOP ?? 30))) {
    const ns = r.ns - over * r.calls;
    const h = r.t.insns.map((i) => i.h.name).join(' ');
    out.push(`  ${(ns / 1e6).toFixed(0).padStart(6)} ms n=${r.n} h=${r.handlers}${r.looping ? ' loop' : ''} calls=${f(r.calls)} ` +
      `ns/call=${(ns / Math.max(1, r.calls)).toFixed(0)} in-chained=${(100 * r.chainedIn / Math.max(1, r.calls)).toFixed(0)}% ` +
      `slow/call=${(r.slow / Math.max(1, r.calls)).toFixed(2)} walks/call=${(r.walks / Math.max(1, r.calls)).toFixed(2)} ` +
      `exits=${EXITS.map((e, k) => (r.exits[k] ? `${e}:${r.exits[k]}` : '')).filter((x) => x).join(',')} [${h}]`);
  }
  process.stderr.write(out.join('\n') + '\n');
}
