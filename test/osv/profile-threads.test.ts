// Per-OSv-thread profile tracks (src/osv/profile-threads.ts + GuestProfiler.threadOf): every sample is also
// attributed to the thread whose _tcb is the vCPU's FS_BASE; speedscope gets a profile per thread, pprof
// thread/thread_id labels. Checked on the OSv-shaped guest, whose worker threads spin on the clock.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { buildGuest } from '../../src/cli/guest.js';
import { Machine } from '../../src/machine/machine.js';
import { kernelDebugInfo } from '../../src/osv/dwarf-threads.js';
import { osvProfileThreads } from '../../src/osv/profile-threads.js';
import { KernelSymbols } from '../../src/osv/symbols.js';

const kernel = readFileSync(buildGuest('osvlike'));
const syms = KernelSymbols.fromElf(kernel);
const symbolize = (a: number) => syms.resolve(a);

function boot(threads: boolean) {
  const m = new Machine({ kernel, cpus: 2, memMiB: 64, profileInterval: 997 });
  if (threads) m.profiler!.threadOf = osvProfileThreads(m, kernelDebugInfo(m)!);
  const r = m.run({ maxInsns: 200_000_000 });
  expect(r.cause, m.console).toBe('poweroff');
  return m;
}

interface Profile { name: string; samples: number[][]; weights: number[]; endValue: number }

/** pprof labels of each sample: key -> string or number value. */
function pprofLabels(gz: Uint8Array): Map<string, string | number>[] {
  const fields = (b: Uint8Array) => {
    const out = new Map<number, (number | Uint8Array)[]>();
    let i = 0;
    const varint = () => { let v = 0, mul = 1, x: number; do { x = b[i++]!; v += (x & 127) * mul; mul *= 128; } while (x & 128); return v; };
    while (i < b.length) {
      const key = varint(), f = Math.floor(key / 8);
      let v: number | Uint8Array;
      if (key % 8 === 0) v = varint();
      else { const n = varint(); v = b.subarray(i, i + n); i += n; }
      (out.get(f) ?? out.set(f, []).get(f)!).push(v);
    }
    return out;
  };
  const prof = fields(gunzipSync(gz));
  const strings = (prof.get(6) ?? []).map((s) => Buffer.from(s as Uint8Array).toString('utf8'));
  return (prof.get(2) ?? []).map((s) => {
    const labels = new Map<string, string | number>();
    for (const l of fields(s as Uint8Array).get(3) ?? []) {
      const lf = fields(l as Uint8Array);
      const key = strings[lf.get(1)![0] as number]!;
      labels.set(key, lf.has(2) ? strings[lf.get(2)![0] as number]! : lf.get(3)![0] as number);
    }
    return labels;
  });
}

describe('profile tracks per OSv thread (osvlike)', () => {
  const m = boot(true);
  const doc = JSON.parse(m.profiler!.toSpeedscope(symbolize)) as { shared: { frames: { name: string }[] }; profiles: Profile[] };
  const names = doc.shared.frames.map((f) => f.name);
  const byName = new Map(doc.profiles.map((p) => [p.name, p]));

  it('attributing threads leaves the run unchanged', () => {
    const plain = boot(false);
    expect(m.console).toBe(plain.console);
    expect(m.cpus.map((c) => c.icount)).toEqual(plain.cpus.map((c) => c.icount));
    expect(plain.profiler!.threads()).toEqual([]);
  });

  it('speedscope: the vCPU profiles, then one per thread named by id and name; the samples add up', () => {
    const ids = m.profiler!.threads();
    expect(ids.map((t) => t.name)).toEqual(expect.arrayContaining(['worker0', 'worker1', 'worker2']));
    expect(doc.profiles.slice(0, 2).map((p) => p.name)).toEqual(['vCPU 0', 'vCPU 1']);
    for (const t of ids) expect(byName.has(`thread ${t.id} ${t.name}`)).toBe(true);
    const sum = (ps: Profile[]) => ps.reduce((n, p) => n + p.endValue, 0);
    expect(sum(doc.profiles.slice(2))).toBe(sum(doc.profiles.slice(0, 2)));
  });

  it("a worker's track holds that worker's clock spin, the main thread's does not", () => {
    const inclusive = (p: Profile, fn: RegExp) => p.samples.reduce((n, s, i) => n + (s.some((f) => fn.test(names[f]!)) ? p.weights[i]! : 0), 0);
    const workers = doc.profiles.filter((p) => /^thread \d+ worker\d$/.test(p.name));
    expect(workers).toHaveLength(3);
    for (const w of workers) expect(inclusive(w, /uptime/)).toBeGreaterThan(w.endValue / 2);
    const main = doc.profiles.find((p) => /^thread \d+ main$/.test(p.name));
    if (main) expect(inclusive(main, /uptime/)).toBeLessThan(main.endValue / 2);
  });

  it('pprof: samples carry the vCPU and, inside a thread, thread and thread_id labels', () => {
    const labels = pprofLabels(m.profiler!.toPprof(symbolize));
    const ids = new Set(m.profiler!.threads().map((t) => t.id));
    const seen = new Set<number>();
    for (const l of labels) {
      expect(typeof l.get('vcpu')).toBe('number');
      if (!l.has('thread_id')) continue;
      const id = l.get('thread_id') as number;
      seen.add(id);
      expect(l.get('thread')).toMatch(new RegExp(`^${id} `));
    }
    expect(seen).toEqual(ids);
  });
});
