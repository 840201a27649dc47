// OSVEMU_JIT_STATS=1: what compiled code actually executes, weighted by how often it runs. The static
// figure (Jit.specialised / Jit.instructions) counts each compiled instruction once; a rarely taken block
// weighs as much as a hot loop there. This wraps every compiled block with a counter of its retired
// instructions and prints, at exit, the dynamic share of specialised instructions and the handlers that
// compiled blocks call most (the next forms worth specialising). Off by default: the wrapper costs speed.
import type { Trace } from '../codecache.js';
import type { BlockFn, BlockEnv } from './compiler.js';
import type { Cpu } from '../cpu.js';

interface BlockStat { n: number; specialised: number; retired: number; generic: string[] }

const blocks: BlockStat[] = [];
let hooked = false;

export const statsEnabled = !!process.env.OSVEMU_JIT_STATS;

/** Handler names of the instructions a compiled block calls (the `hK(cpu, iK)` calls in its source). */
function genericNames(t: Trace, source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(/\bh(\d+)\(cpu, i\1\)/g)) {
    const i = t.insns[Number(m[1])];
    out.push(`${i.h.name || '?'}/${i.size}${i.mem ? 'm' : ''}`);
  }
  return out;
}

/** Wraps a freshly compiled block so that its retired instructions are counted. */
export function countBlock(t: Trace, fn: BlockFn, source: string, specialised: number): BlockFn {
  if (!hooked) { hooked = true; process.on('exit', report); }
  const s: BlockStat = { n: t.n, specialised, retired: 0, generic: genericNames(t, source) };
  blocks.push(s);
  return (cpu: Cpu, env: BlockEnv, end: number) => {
    const ic0 = cpu.icount;
    try {
      fn(cpu, env, end);
    } finally {
      s.retired += cpu.icount - ic0;
    }
  };
}

function report(): void {
  let all = 0, spec = 0, sAll = 0, sSpec = 0;
  const calls = new Map<string, number>();
  for (const b of blocks) {
    // Full passes through the block (a fault or an early exit retires part of one: counted as a fraction).
    const passes = b.retired / b.n;
    all += b.retired;
    spec += passes * b.specialised;
    sAll += b.n; sSpec += b.specialised;
    for (const g of b.generic) calls.set(g, (calls.get(g) ?? 0) + passes);
  }
  const pct = (a: number, b: number) => (b > 0 ? (100 * a / b).toFixed(1) : '-');
  const lines = [`jit stats: ${blocks.length} blocks; static ${sSpec}/${sAll} specialised (${pct(sSpec, sAll)}%);` +
    ` executed ${Math.round(all)} compiled instructions, ${pct(spec, all)}% specialised`];
  const top = [...calls].sort((a, b) => b[1] - a[1]).slice(0, 40);
  for (const [name, c] of top) lines.push(`  ${pct(c, all).padStart(5)}%  ${Math.round(c).toString().padStart(12)}  ${name}`);
  process.stderr.write(lines.join('\n') + '\n');
}
