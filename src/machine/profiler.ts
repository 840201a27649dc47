// Guest profiler: samples each vCPU's call stack (RIP plus the frame-pointer chain) every N retired
// instructions and writes what speedscope (JSON) or pprof (gzipped profile.proto) opens. Sampling is driven
// by the instruction count, so a profile is as deterministic as the run, and it never changes the run:
// memory is read without side effects (debug-mem.ts). When the OSv threads are known (threadOf, set by
// src/osv/profile-threads.ts) each sample also names the thread the vCPU ran, and the files get one track per
// thread besides the per-vCPU ones (speedscope: a profile each; pprof: thread and thread_id labels).
import type { Cpu } from '../cpu/cpu.js';
import { readVirtual } from './debug-mem.js';
import { zlib } from '../node-lazy.js';

/** Frames followed through saved RBPs; deeper stacks are cut (speedscope and pprof show the cut). */
const MAX_FRAMES = 64;
const RBP = 5;

export type Symbolizer = (address: number) => string | null;

/** The guest thread a sample was taken in (OSv: sched::thread::_id and its name). */
export interface ProfileThread {
  id: number;
  name: string;
}
export type ThreadOfCpu = (cpu: Cpu) => ProfileThread | null;
/**
 * Names, while the run goes on, the frames of one sample that the kernel's symbols cannot (application objects,
 * which may be unloaded before the profile is written): adds address -> name to `names`.
 */
export type FrameNamer = (frames: readonly number[], names: Map<number, string>) => void;

/** A recorded sample key: `${thread id or ''}|${stack, leaf first}`. */
function splitKey(key: string): { tid: number | null; stack: string } {
  const bar = key.indexOf('|');
  return { tid: bar === 0 ? null : Number(key.slice(0, bar)), stack: key.slice(bar + 1) };
}

export class GuestProfiler {
  /** Per vCPU: thread and stack (splitKey) -> samples. */
  private readonly stacks: Map<string, number>[] = [];
  /** Names the thread each sample runs in; null: per-vCPU tracks only. */
  threadOf: ThreadOfCpu | null = null;
  /** Names frames outside the kernel as they are sampled (src/osv/profile-objects.ts); null: hex. */
  nameFrames: FrameNamer | null = null;
  private readonly frameNames = new Map<number, string>();
  /** Thread id -> the name it had when last sampled. */
  private readonly threadNames = new Map<number, string>();
  private readonly nextAt: number[] = [];
  /** Instructions the halted vCPUs spent idle are not samples: `idle` counts the samples skipped. */
  readonly idle: number[] = [];

  constructor(readonly interval: number, cpus: number) {
    if (!Number.isInteger(interval) || interval < 1) throw new RangeError(`bad profile interval ${interval}: use a positive instruction count`);
    for (let k = 0; k < cpus; k++) {
      this.stacks.push(new Map());
      this.nextAt.push(interval);
      this.idle.push(0);
    }
  }

  /** Called between quanta: takes one sample per interval the vCPU crossed (weighted by the crossings). */
  afterQuantum(k: number, cpu: Cpu): void {
    if (cpu.icount < this.nextAt[k]!) return;
    const crossed = Math.floor((cpu.icount - this.nextAt[k]!) / this.interval) + 1;
    this.nextAt[k]! += crossed * this.interval;
    if (cpu.halted) {
      this.idle[k]! += crossed;
      return;
    }
    const t = this.threadOf?.(cpu) ?? null;
    if (t !== null) this.threadNames.set(t.id, t.name);
    const stack = this.stackOf(cpu);
    this.nameFrames?.(stack, this.frameNames);
    const key = `${t === null ? '' : t.id}|${stack.join(',')}`;
    const m = this.stacks[k]!;
    m.set(key, (m.get(key) ?? 0) + crossed);
  }

  private stackOf(cpu: Cpu): number[] {
    const frames = [cpu.rip];
    let rbp = cpu.reg64(RBP);
    // Follow [rbp] -> saved rbp, [rbp+8] -> return address while the chain goes up the stack.
    while (frames.length < MAX_FRAMES && rbp !== 0 && rbp % 8 === 0) {
      const b = readVirtual(cpu, rbp, 16);
      if (!b || b.length < 16) break;
      const dv = new DataView(b.buffer, b.byteOffset, 16);
      const next = this.num(dv, 0), ret = this.num(dv, 8);
      if (ret === 0) break;
      frames.push(ret - 1); // inside the call instruction, so the caller's symbol and line are the ones shown
      if (!(next > rbp)) break;
      rbp = next;
    }
    return frames;
  }

  private num(dv: DataView, off: number): number {
    return dv.getInt32(off + 4, true) * 4294967296 + dv.getUint32(off, true);
  }

  /** Total samples per vCPU (idle excluded). */
  samples(k: number): number {
    let n = 0;
    for (const c of this.stacks[k]!.values()) n += c;
    return n;
  }

  /** The function name of a frame (symbolize's, else the one given while sampling), or its address in hex. */
  private frameName(addr: number, symbolize: Symbolizer): string {
    return this.functionAt(addr, symbolize) ?? `0x${(addr < 0 ? addr + 2 ** 64 : addr).toString(16)}`;
  }

  functionAt(addr: number, symbolize: Symbolizer): string | null {
    return (symbolize(addr) ?? this.frameNames.get(addr))?.replace(/\+\d+$/, '') ?? null;
  }

  /** Every address in a sampled stack. */
  frameAddresses(): Set<number> {
    const out = new Set<number>();
    for (const m of this.stacks) for (const key of m.keys()) for (const a of splitKey(key).stack.split(',')) out.add(Number(a));
    return out;
  }

  /** Thread ids seen in samples, ascending. */
  threads(): ProfileThread[] {
    return [...this.threadNames].sort((a, b) => a[0] - b[0]).map(([id, name]) => ({ id, name }));
  }

  /** Samples per stack of one track: a vCPU's, or (k null) one thread's over every vCPU. */
  private track(k: number | null, tid: number | null): Map<string, number> {
    const out = new Map<string, number>();
    this.stacks.forEach((m, j) => {
      if (k !== null && j !== k) return;
      for (const [key, count] of m) {
        const s = splitKey(key);
        if (k === null && s.tid !== tid) continue;
        out.set(s.stack, (out.get(s.stack) ?? 0) + count);
      }
    });
    return out;
  }

  /**
   * speedscope's file format: one sampled profile per vCPU, then (threads known) one per OSv thread and one for
   * samples outside any thread (early boot); root-first stacks, weights in instructions.
   */
  toSpeedscope(symbolize: Symbolizer, name = 'osvemu'): string {
    const frames: { name: string }[] = [];
    const index = new Map<string, number>();
    const frameId = (n: string) => {
      let id = index.get(n);
      if (id === undefined) index.set(n, (id = frames.push({ name: n }) - 1));
      return id;
    };
    const profile = (title: string, m: Map<string, number>) => {
      const samples: number[][] = [], weights: number[] = [];
      for (const [key, count] of m) {
        samples.push(key.split(',').map((a) => frameId(this.frameName(Number(a), symbolize))).reverse());
        weights.push(count * this.interval);
      }
      const total = weights.reduce((a, b) => a + b, 0);
      return { type: 'sampled', name: title, unit: 'none', startValue: 0, endValue: total, samples, weights };
    };
    const profiles = this.stacks.map((_m, k) => profile(`vCPU ${k}`, this.track(k, null)));
    if (this.threadNames.size > 0) {
      for (const t of this.threads()) profiles.push(profile(`thread ${t.id} ${t.name}`.trimEnd(), this.track(null, t.id)));
      const none = this.track(null, null);
      if (none.size > 0) profiles.push(profile('no OSv thread', none));
    }
    return JSON.stringify({
      $schema: 'https://www.speedscope.app/file-format-schema.json', name, exporter: 'osvemu', shared: { frames }, profiles,
    });
  }

  /** pprof's profile.proto, gzipped: sample types samples/count and instructions/count, a label per vCPU. */
  toPprof(symbolize: Symbolizer): Uint8Array {
    const strings = [''];
    const strIndex = new Map<string, number>([['', 0]]);
    const str = (s: string) => {
      let i = strIndex.get(s);
      if (i === undefined) strIndex.set(s, (i = strings.push(s) - 1));
      return i;
    };
    const fnIds = new Map<string, number>();
    const locIds = new Map<number, number>();
    const functions: Pb[] = [], locations: Pb[] = [], samples: Pb[] = [];
    const loc = (addr: number) => {
      let id = locIds.get(addr);
      if (id !== undefined) return id;
      const fname = this.frameName(addr, symbolize);
      let fid = fnIds.get(fname);
      if (fid === undefined) {
        fnIds.set(fname, (fid = fnIds.size + 1));
        functions.push(new Pb().uint(1, fid).uint(2, str(fname)).uint(3, str(fname)));
      }
      locIds.set(addr, (id = locIds.size + 1));
      locations.push(new Pb().uint(1, id).uint(3, addr < 0 ? 0 : addr).msg(4, new Pb().uint(1, fid)));
      return id;
    };
    const vcpuKey = str('vcpu'), threadKey = str('thread'), tidKey = str('thread_id');
    this.stacks.forEach((m, k) => {
      for (const [key, count] of m) {
        const { tid, stack } = splitKey(key);
        const s = new Pb();
        for (const a of stack.split(',')) s.uint(1, loc(Number(a)));
        s.uint(2, count).uint(2, count * this.interval);
        s.msg(3, new Pb().uint(1, vcpuKey).uint(3, k));
        if (tid !== null) {
          s.msg(3, new Pb().uint(1, threadKey).uint(2, str(`${tid} ${this.threadNames.get(tid) ?? ''}`.trimEnd())));
          s.msg(3, new Pb().uint(1, tidKey).uint(3, tid));
        }
        samples.push(s);
      }
    });
    const p = new Pb();
    p.msg(1, new Pb().uint(1, str('samples')).uint(2, str('count')));
    p.msg(1, new Pb().uint(1, str('instructions')).uint(2, str('count')));
    for (const s of samples) p.msg(2, s);
    for (const l of locations) p.msg(4, l);
    for (const f of functions) p.msg(5, f);
    const period = new Pb().uint(1, str('instructions')).uint(2, str('count'));
    // string_table must be complete before it is written: every str() call above has run.
    for (const s of strings) p.bytes(6, Buffer.from(s, 'utf8'));
    p.msg(11, period).uint(12, this.interval);
    return zlib().gzipSync(p.finish());
  }
}

/** A minimal protobuf writer: varint and length-delimited fields are all profile.proto needs. */
class Pb {
  private readonly parts: number[] = [];
  private varint(v: number): void {
    // Values stay below 2^53; split into 7-bit groups without 32-bit truncation.
    while (v >= 128) {
      this.parts.push((v % 128) | 128);
      v = Math.floor(v / 128);
    }
    this.parts.push(v);
  }
  uint(field: number, v: number): this {
    this.varint(field * 8);
    this.varint(v);
    return this;
  }
  bytes(field: number, b: Uint8Array): this {
    this.varint(field * 8 + 2);
    this.varint(b.length);
    for (const x of b) this.parts.push(x);
    return this;
  }
  msg(field: number, m: Pb): this {
    return this.bytes(field, m.finish());
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}
