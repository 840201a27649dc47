// OSv's tracepoints and per-CPU trace buffers read from guest memory (osv-machine.md §7), as
// loader.py's all_traces() and core/trace.cc's create_trace_dump() read them: tracepoint_base::tp_list
// for the dictionary, percpu_trace_buffer on every sched::cpu for the rings. Every layout comes from
// the kernel's DWARF. Pointers are read as bigints and handed to `read` as canonical signed numbers
// (0xffff8000'00001000 -> -0x7fffffff000), exact where a u64-as-double is not.

import type { ElfFile } from '../machine/elf.js';
import type { DebugInfo, MemberLayout } from './debug-info.js';
import {
  alignUp, cString, decodeArgs, TraceFormatError,
  type TraceDump, type TraceModule, type TraceSample, type TraceSymbol, type Tracepoint,
} from './trace-model.js';

/** Guest virtual memory at a canonical signed address; null or short when unmapped. */
export type ReadGuest = (addr: number, length: number) => Uint8Array | null;

/** The kernel cannot be traced (no trace symbols, unreadable buffers): one line for the user. */
export class TraceError extends Error {}

const STT_OBJECT = 1;
const STT_FUNC = 2;
const INVALID_TP = 0xffffffffffffffffn;
const MAX_BUFFER = 1 << 28;

/** A u64 address as the signed number readVirtual takes. */
export const canonical = (v: bigint): number => Number(BigInt.asIntN(64, v));

interface RecordLayout {
  size: number;
  tp: number;
  thread: number;
  name: MemberLayout;
  time: number;
  cpu: number;
  bt: MemberLayout;
}

export interface TraceReadResult {
  dump: TraceDump;
  /** Per CPU: buffer size in bytes (0: never allocated, tracing was not enabled). */
  bufferSizes: number[];
  /** Something a user should know (no buffers allocated...), else undefined. */
  note?: string;
}

class GuestTrace {
  constructor(private readonly di: DebugInfo, private readonly read: ReadGuest) {}

  bytes(addr: bigint, n: number, what: string): Uint8Array {
    const b = this.read(canonical(addr), n);
    if (b === null || b.length < n) throw new TraceError(`cannot read ${what} at 0x${BigInt.asUintN(64, addr).toString(16)} (${n} bytes)`);
    return b;
  }

  u64(addr: bigint, what: string): bigint {
    const b = this.bytes(addr, 8, what);
    return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
  }

  cstring(addr: bigint): string {
    if (addr === 0n) return '';
    let out = '';
    for (let at = addr; out.length < 4096; at += 64n) {
      const b = this.read(canonical(at), 64) ?? new Uint8Array(0);
      const z = b.indexOf(0);
      out += Buffer.from(b.subarray(0, z < 0 ? b.length : z)).toString('latin1');
      if (z >= 0 || b.length < 64) break;
    }
    return out;
  }

  member(type: string, ...paths: string[]): MemberLayout {
    for (const p of paths) {
      const m = this.di.member(type, p);
      if (m !== undefined) return m;
    }
    throw new TraceError(`the kernel's debug info has no ${type}::${paths[0]}`);
  }

  address(name: string): bigint {
    const v = this.di.variable(name);
    if (v === undefined || v.location.kind !== 'address') throw new TraceError(`the kernel's debug info has no ${name}: was it built with tracepoints (conf_tracepoints)?`);
    return BigInt(v.location.address);
  }

  constant(name: string, fallback: number): number {
    return this.di.variable(name)?.value ?? fallback;
  }

  // ---- tracepoints -------------------------------------------------------------------------------
  private tpLayout: { name: number; format: number; sig: number } | null = null;

  tracepoint(key: bigint): Tracepoint {
    this.tpLayout ??= {
      name: this.member('tracepoint_base', 'name').offset,
      format: this.member('tracepoint_base', 'format').offset,
      sig: this.member('tracepoint_base', 'sig').offset,
    };
    const L = this.tpLayout;
    return {
      key,
      name: this.cstring(this.u64(key + BigInt(L.name), 'a tracepoint')),
      format: this.cstring(this.u64(key + BigInt(L.format), 'a tracepoint')),
      sig: this.cstring(this.u64(key + BigInt(L.sig), 'a tracepoint')),
    };
  }

  /** tracepoint_base::tp_list (a boost::intrusive::list with a member hook), in list order. */
  tracepoints(): Tracepoint[] {
    const list = this.di.variable('tracepoint_base::tp_list');
    if (list === undefined || list.location.kind !== 'address') {
      throw new TraceError("the kernel's debug info has no tracepoint_base::tp_list: was it built with tracepoints (conf_tracepoints)?");
    }
    // loader.py's intrusive_list: the root is data_.root_plus_size_.m_header (older boost: root_).
    const root = this.member(list.typeName, 'data_.root_plus_size_.m_header', 'data_.root_plus_size_.root_');
    const next = this.member(root.baseTypeName, 'next_').offset;
    const hook = /member_hook<([^,]+), .*&\1::(\w+)>/.exec(list.typeName);
    if (hook === null) throw new TraceError(`unexpected type of tracepoint_base::tp_list: ${list.typeName}`);
    const link = BigInt(this.member(hook[1]!, hook[2]!).offset);
    const head = BigInt(list.location.address + root.offset);
    const out: Tracepoint[] = [];
    for (let node = this.u64(head + BigInt(next), 'tracepoint_base::tp_list'); node !== head && node !== 0n; node = this.u64(node + BigInt(next), 'a tracepoint')) {
      if (out.length > 100_000) throw new TraceError('tracepoint_base::tp_list does not end');
      out.push(this.tracepoint(node - link));
    }
    return out;
  }

  // ---- CPUs and their buffers --------------------------------------------------------------------
  /** sched::cpus: the sched::cpu addresses by index. */
  cpus(): bigint[] {
    const v = this.di.variable('sched::cpus');
    if (v === undefined || v.location.kind !== 'address') throw new TraceError("the kernel's debug info has no sched::cpus");
    return this.vector(BigInt(v.location.address), v.typeName, 'sched::cpus');
  }

  private recordLayout(): RecordLayout {
    const T = 'trace_record';
    const size = this.di.type(T)?.size;
    if (size === undefined) throw new TraceError("the kernel's debug info has no trace_record");
    return {
      size,
      tp: this.member(T, 'tp').offset, thread: this.member(T, 'thread').offset, name: this.member(T, 'thread_name'),
      time: this.member(T, 'time').offset, cpu: this.member(T, 'cpu').offset, bt: this.member(T, 'backtrace'),
    };
  }

  /** Every sample of the rings, as create_trace_dump() walks them. */
  collect(symbols?: ElfFile): TraceReadResult {
    const tracepoints = this.tracepoints();
    const byKey = new Map(tracepoints.map((t) => [t.key, t]));
    const bufferVar = this.address('percpu_trace_buffer');
    const pv = this.di.variable('percpu_trace_buffer')!;
    // PERCPU(type, var) wraps the per-cpu copy in a struct whose _var is it (loader.py: &percpu_trace_buffer._var).
    const inner = this.di.member(pv.typeName, '_var');
    const bufType = inner?.baseTypeName ?? pv.typeName;
    const varAddr = bufferVar + BigInt(inner?.offset ?? 0);
    const baseOff = BigInt(this.member(bufType, '_base._M_t._M_t._M_head_impl', '_base._M_t._M_head_impl', '_base').offset);
    const lastOff = BigInt(this.member(bufType, '_last').offset);
    const sizeOff = BigInt(this.member(bufType, '_size').offset);
    const percpuBase = BigInt(this.member('sched::cpu', 'percpu_base').offset);
    const page = this.constant('trace_page_size', 4096);
    const btLen = this.constant('tracepoint_base::backtrace_len', 10);
    const layout = this.recordLayout();

    const cpus: TraceSample[][] = [];
    const sizes: number[] = [];
    for (const [i, cpu] of this.cpus().entries()) {
      const buf = BigInt.asUintN(64, this.u64(cpu + percpuBase, `sched::cpu ${i}`) + varAddr);
      const base = this.u64(buf + baseOff, `CPU ${i}'s trace buffer`);
      const last = this.u64(buf + lastOff, `CPU ${i}'s trace buffer`);
      const size = Number(this.u64(buf + sizeOff, `CPU ${i}'s trace buffer`));
      if (base === 0n || size === 0) {
        cpus.push([]);
        sizes.push(0);
        continue;
      }
      if (size > MAX_BUFFER || (size & (size - 1)) !== 0 || size % page !== 0) throw new TraceError(`CPU ${i}'s trace buffer has an implausible size ${size}`);
      const ring = this.bytes(base, size, `CPU ${i}'s trace buffer`);
      cpus.push(this.ring(ring, Number(last % BigInt(size)), page, btLen, layout, byKey, tracepoints));
      sizes.push(size);
    }
    const dump: TraceDump = { backtraceLen: btLen, tracepoints, modules: this.modules(), symbols: symbols ? symbolTable(symbols) : [], cpus };
    const result: TraceReadResult = { dump, bufferSizes: sizes };
    if (sizes.every((s) => s === 0)) result.note = 'no trace buffers: no tracepoint was enabled (boot OSv with e.g. --trace=sched\\*)';
    return result;
  }

  /**
   * One ring: [pivot, size) then [0, last), pivot = last rounded up to a page. A record with tp 0 is
   * the padding before a page boundary; tp -1 is a record still being written (ends the region).
   */
  private ring(ring: Uint8Array, last: number, page: number, btLen: number, L: RecordLayout, byKey: Map<bigint, Tracepoint>, all: Tracepoint[]): TraceSample[] {
    const dv = new DataView(ring.buffer, ring.byteOffset, ring.byteLength);
    const pivot = alignUp(last, page);
    const out: TraceSample[] = [];
    const btByte = L.bt.offset;
    const btMask = 1 << (L.bt.bitOffset ?? 0);
    for (const [from, to] of [[pivot, ring.length], [0, last]] as const) {
      let s = from;
      while (s < to) {
        const key = dv.getBigUint64(s + L.tp, true);
        if (key === 0n) {
          s = from + alignUp(s - from + 1, page);
          continue;
        }
        if (key === INVALID_TP || s + L.size > alignUp(s + 1, page)) break;
        let tp = byKey.get(key);
        if (tp === undefined) {
          // Not in tp_list (OSv asserts this cannot be): read it through the pointer as loader.py does.
          try {
            tp = this.tracepoint(key);
            argsFit(tp.sig);
          } catch {
            break;
          }
          byKey.set(key, tp);
          all.push(tp);
        }
        const hasBt = (ring[s + btByte]! & btMask) !== 0;
        let p = s + L.size;
        let backtrace: bigint[] | null = null;
        if (hasBt) {
          backtrace = [];
          for (let i = 0; i < btLen; i++) backtrace.push(dv.getBigUint64(p + 8 * i, true));
          p += 8 * btLen;
        }
        let decoded;
        try {
          decoded = decodeArgs(ring.subarray(0, alignUp(s + 1, page)), p, tp.sig);
        } catch {
          break; // a record cannot cross a page: this one is garbage
        }
        out.push({
          tp,
          thread: dv.getBigUint64(s + L.thread, true),
          threadName: cString(ring.subarray(s + L.name.offset, s + L.name.offset + L.name.size)),
          time: Number(dv.getBigUint64(s + L.time, true)),
          cpu: dv.getUint32(s + L.cpu, true),
          backtrace,
          args: decoded.args,
        });
        s = alignUp(decoded.end, 8);
      }
    }
    return out;
  }

  /** elf::program::s_objs as MODS lists them; empty when the list cannot be read. */
  private modules(): TraceModule[] {
    try {
      const v = this.di.variable('elf::program::s_objs');
      if (v === undefined || v.location.kind !== 'address') return [];
      const objs = this.vector(BigInt(v.location.address), v.typeName, 'elf::program::s_objs');
      const O = 'elf::object';
      const base = BigInt(this.member(O, '_base').offset);
      const end = BigInt(this.member(O, '_end').offset);
      const path = this.member(O, '_pathname');
      const text = BigInt(path.offset + this.member(path.baseTypeName, '_M_dataplus._M_p').offset);
      return objs.filter((o) => o !== 0n).map((o) => {
        const b = this.u64(o + base, 'an elf::object');
        return { path: this.cstring(this.u64(o + text, 'an elf::object')), base: b, size: BigInt.asUintN(64, this.u64(o + end, 'an elf::object') - b) };
      });
    } catch {
      return [];
    }
  }

  /** The elements of a std::vector<T*>. */
  vector(at: bigint, type: string, what: string): bigint[] {
    const start = this.u64(at + BigInt(this.member(type, '_M_impl._M_start').offset), what);
    const finish = this.u64(at + BigInt(this.member(type, '_M_impl._M_finish').offset), what);
    const n = Number(finish - start) / 8;
    if (!Number.isInteger(n) || n < 0 || n > 65536) throw new TraceError(`${what} is not readable (yet)`);
    const b = n > 0 ? this.bytes(start, 8 * n, what) : new Uint8Array(0);
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    return Array.from({ length: n }, (_, i) => dv.getBigUint64(8 * i, true));
  }
}

function argsFit(sig: string): void {
  decodeArgs(new Uint8Array(4096), 0, sig);
}

/** Function and object symbols with a name, as trace.cc's SYMB chunk holds them. */
function symbolTable(elf: ElfFile): TraceSymbol[] {
  let list;
  try {
    list = elf.symbols('.symtab');
    if (list.length === 0) list = elf.symbols('.dynsym');
  } catch {
    return [];
  }
  return list
    .filter((s) => (s.type === STT_FUNC || s.type === STT_OBJECT) && s.name !== '' && s.exact && s.value !== 0)
    .map((s) => ({ name: s.name, addr: BigInt(s.value), size: BigInt(s.size) }));
}

/**
 * Reads OSv's tracepoints and every CPU's trace buffer. Throws TraceError (one line) when the kernel
 * has no trace symbols or the buffers cannot be read. `symbols`: the ELF whose symbol table goes
 * into the dump's SYMB chunk (loader.elf).
 */
export function readGuestTrace(di: DebugInfo, read: ReadGuest, symbols?: ElfFile): TraceReadResult {
  try {
    return new GuestTrace(di, read).collect(symbols);
  } catch (e) {
    if (e instanceof TraceFormatError) throw new TraceError(e.message);
    throw e;
  }
}
