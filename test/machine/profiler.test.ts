// Guest profiler (src/machine/profiler.ts): stacks sampled every N instructions, symbolized, written as
// speedscope JSON and gzipped pprof; sampling never changes the run and is itself deterministic.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { buildGuest } from '../../src/cli/guest.js';
import { Machine } from '../../src/machine/machine.js';
import { KernelSymbols } from '../../src/osv/symbols.js';

const kernel = readFileSync(buildGuest('osvlike'));
const syms = KernelSymbols.fromElf(kernel);
const symbolize = (a: number) => syms.resolve(a);

function boot(cpus: number, profileInterval?: number) {
  const m = new Machine({ kernel, cpus, memMiB: 64, profileInterval });
  const r = m.run({ maxInsns: 200_000_000 });
  expect(r.cause, m.console).toBe('poweroff');
  return { m, r };
}

/** Fields of one protobuf message: field number -> raw values (numbers for varints, bytes otherwise). */
function pbFields(b: Uint8Array): Map<number, (number | Uint8Array)[]> {
  const out = new Map<number, (number | Uint8Array)[]>();
  let i = 0;
  const varint = () => { let v = 0, mul = 1, x: number; do { x = b[i++]!; v += (x & 127) * mul; mul *= 128; } while (x & 128); return v; };
  while (i < b.length) {
    const key = varint(), field = Math.floor(key / 8), wire = key % 8;
    let v: number | Uint8Array;
    if (wire === 0) v = varint();
    else if (wire === 2) { const n = varint(); v = b.subarray(i, i + n); i += n; }
    else throw new Error(`unexpected wire type ${wire}`);
    (out.get(field) ?? out.set(field, []).get(field)!).push(v);
  }
  return out;
}

const profiled = new Map<number, ReturnType<typeof boot>>();
const profiledRun = (cpus: number) => profiled.get(cpus) ?? profiled.set(cpus, boot(cpus, 997)).get(cpus)!;

describe('guest profiler', () => {
  for (const cpus of [1, 2]) {
    it(`-c ${cpus}: sampling leaves the run unchanged${cpus === 2 ? ' and repeats exactly' : ''}`, () => {
      const plain = boot(cpus), a = profiledRun(cpus);
      expect(a.m.console).toBe(plain.m.console);
      expect(a.m.cpus.map((c) => c.icount)).toEqual(plain.m.cpus.map((c) => c.icount));
      if (cpus === 2) expect(boot(cpus, 997).m.profiler!.toSpeedscope(symbolize)).toBe(a.m.profiler!.toSpeedscope(symbolize));
      const total = a.m.cpus.reduce((n, c, k) => n + a.m.profiler!.samples(k) + a.m.profiler!.idle[k]!, 0);
      // Every crossed interval is one sample, busy or idle.
      expect(total).toBe(a.m.cpus.reduce((n, c) => n + Math.floor(c.icount / 997), 0));
    });
  }

  it('writes speedscope JSON with symbolized, root-first stacks per vCPU', () => {
    const { m } = profiledRun(2);
    const doc = JSON.parse(m.profiler!.toSpeedscope(symbolize));
    expect(doc.$schema).toBe('https://www.speedscope.app/file-format-schema.json');
    expect(doc.profiles.map((p: { name: string }) => p.name)).toEqual(['vCPU 0', 'vCPU 1']);
    const names: string[] = doc.shared.frames.map((f: { name: string }) => f.name);
    // The guest's entry point is at the root of the boot CPU's stacks; its scheduler shows up as a caller.
    const roots = new Set(doc.profiles[0].samples.map((s: number[]) => names[s[0]!]));
    expect([...roots].some((n) => /main|start|boot/i.test(n))).toBe(true);
    expect(names.some((n) => /sched/.test(n))).toBe(true);
    for (const p of doc.profiles) {
      expect(p.samples.length).toBe(p.weights.length);
      expect(p.endValue).toBe(p.weights.reduce((x: number, y: number) => x + y, 0));
    }
  });

  it('writes a gzipped pprof profile whose samples point at named functions', () => {
    const { m } = profiledRun(1);
    const prof = pbFields(gunzipSync(m.profiler!.toPprof(symbolize)));
    const strings = (prof.get(6) ?? []).map((s) => Buffer.from(s as Uint8Array).toString('utf8'));
    expect(strings[0]).toBe('');
    expect(strings).toContain('samples');
    const fns = (prof.get(5) ?? []).map((f) => pbFields(f as Uint8Array));
    const locs = (prof.get(4) ?? []).map((l) => pbFields(l as Uint8Array));
    const samples = (prof.get(2) ?? []).map((s) => pbFields(s as Uint8Array));
    expect(samples.length).toBeGreaterThan(0);
    const locIds = new Set(locs.map((l) => l.get(1)![0]));
    for (const s of samples) {
      for (const id of s.get(1)!) expect(locIds.has(id as number)).toBe(true);
      expect(s.get(2)!.length).toBe(2);
    }
    const fnNames = fns.map((f) => strings[f.get(2)![0] as number]);
    expect(fnNames.some((n) => /sched/.test(n!))).toBe(true);
    expect(prof.get(12)).toEqual([997]);
  });

  it('rejects a non-positive interval', () => {
    expect(() => new Machine({ kernel, profileInterval: 0 })).toThrow(/profile interval/);
  });
});
