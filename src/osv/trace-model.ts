// OSv trace samples as osvemu holds them, and the byte layout of one sample (a trace_record and its
// arguments) shared by the guest's ring buffers and the TRCS chunks of the OSVT dump
// (osv-machine.md §7, include/osv/trace.hh). 64-bit values that can be addresses are bigints: OSv's
// heap lives at 0xffff8000'00000000 and up, beyond a double's exact range.

/** One tracepoint_base: `key` is its address (the record's tp field and the TRCD tag). */
export interface Tracepoint {
  key: bigint;
  name: string;
  format: string;
  /** OSv's signature characters (tracepoint_base::sig): c b B h H i I q Q ? f d P p *. */
  sig: string;
}

export type TraceArg = number | bigint | boolean | string | Uint8Array;

export interface TraceSample {
  tp: Tracepoint;
  /** sched::thread* that logged it. */
  thread: bigint;
  threadName: string;
  /** clock::get()->uptime() in ns. */
  time: number;
  cpu: number;
  /** The return addresses when the record carries a backtrace (zeros kept), else null. */
  backtrace: bigint[] | null;
  args: TraceArg[];
}

/** A loaded object as the MODS chunk lists it. */
export interface TraceModule {
  path: string;
  base: bigint;
  size: bigint;
}

/** An ELF symbol as the SYMB chunk lists it. */
export interface TraceSymbol {
  name: string;
  addr: bigint;
  size: bigint;
}

/** What an OSVT file holds: the tracepoint dictionary, modules, symbols and one sample list per CPU. */
export interface TraceDump {
  backtraceLen: number;
  tracepoints: Tracepoint[];
  modules: TraceModule[];
  symbols: TraceSymbol[];
  /** Per CPU, in buffer order (oldest first). */
  cpus: TraceSample[][];
}

export class TraceFormatError extends Error {}

/** Size of one argument of signature character `c` ('*' is variable: u16 length + bytes). */
export function argSize(c: string): number {
  switch (c) {
    case 'c': case 'b': case 'B': case '?': return 1;
    case 'h': case 'H': return 2;
    case 'i': case 'I': case 'f': return 4;
    case 'q': case 'Q': case 'd': case 'P': return 8;
    case 'p': return 50; // object_serializer<const char*>::max_len, a Pascal string
    case '*': return 2;
    default: throw new TraceFormatError(`unknown tracepoint signature character '${c}'`);
  }
}

/** object_serializer's alignment: min(sizeof, 8); Pascal strings 1, blobs their u16 length. */
export function argAlign(c: string): number {
  if (c === 'p') return 1;
  return argSize(c);
}

/** A NUL-terminated (or full) byte array as UTF-8 text. */
export function cString(b: Uint8Array): string {
  const z = b.indexOf(0);
  return Buffer.from(b.subarray(0, z < 0 ? b.length : z)).toString('utf8');
}

export const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

/**
 * Decodes the arguments of signature `sig` starting at `off` (8-aligned, as the record's payload is);
 * returns them and the offset after the last one. Throws TraceFormatError past the end of `b`.
 */
export function decodeArgs(b: Uint8Array, off: number, sig: string): { args: TraceArg[]; end: number } {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const args: TraceArg[] = [];
  let p = off;
  for (const c of sig) {
    p = alignUp(p - off, argAlign(c)) + off;
    let size = argSize(c);
    if (p + size > b.length) throw new TraceFormatError(`a trace record's arguments run past the end of the data`);
    switch (c) {
      case 'c': args.push(String.fromCharCode(b[p]!)); break;
      case 'b': args.push(dv.getInt8(p)); break;
      case 'B': args.push(b[p]!); break;
      case '?': args.push(b[p] !== 0); break;
      case 'h': args.push(dv.getInt16(p, true)); break;
      case 'H': args.push(dv.getUint16(p, true)); break;
      case 'i': args.push(dv.getInt32(p, true)); break;
      case 'I': args.push(dv.getUint32(p, true)); break;
      case 'f': args.push(dv.getFloat32(p, true)); break;
      case 'd': args.push(dv.getFloat64(p, true)); break;
      case 'q': args.push(dv.getBigInt64(p, true)); break;
      case 'Q': case 'P': args.push(dv.getBigUint64(p, true)); break;
      case 'p': {
        const n = Math.min(b[p]!, 49);
        args.push(Buffer.from(b.subarray(p + 1, p + 1 + n)).toString('utf8'));
        break;
      }
      case '*': {
        const n = dv.getUint16(p, true);
        if (p + 2 + n > b.length) throw new TraceFormatError(`a trace record's blob runs past the end of the data`);
        args.push(new Uint8Array(b.subarray(p + 2, p + 2 + n)));
        size = 2 + n;
        break;
      }
    }
    p += size;
  }
  return { args, end: p };
}

/** The payload bytes of `args` by signature `sig`, padding zeroed (the layout decodeArgs reads). */
export function encodeArgs(sig: string, args: readonly TraceArg[]): Uint8Array {
  let len = 0;
  [...sig].forEach((c, i) => {
    len = alignUp(len, argAlign(c)) + (c === '*' ? 2 + (args[i] as Uint8Array).length : argSize(c));
  });
  const b = new Uint8Array(len);
  const dv = new DataView(b.buffer);
  let p = 0;
  [...sig].forEach((c, i) => {
    p = alignUp(p, argAlign(c));
    const v = args[i]!;
    const num = typeof v === 'bigint' ? v : typeof v === 'boolean' ? (v ? 1 : 0) : v;
    switch (c) {
      case 'c': b[p] = String(v).charCodeAt(0) & 0xff; break;
      case 'b': dv.setInt8(p, Number(num)); break;
      case 'B': case '?': b[p] = Number(num) & 0xff; break;
      case 'h': dv.setInt16(p, Number(num), true); break;
      case 'H': dv.setUint16(p, Number(num) & 0xffff, true); break;
      case 'i': dv.setInt32(p, Number(num), true); break;
      case 'I': dv.setUint32(p, Number(num) >>> 0, true); break;
      case 'f': dv.setFloat32(p, Number(num), true); break;
      case 'd': dv.setFloat64(p, Number(num), true); break;
      case 'q': dv.setBigInt64(p, BigInt.asIntN(64, BigInt(num as number | bigint)), true); break;
      case 'Q': case 'P': dv.setBigUint64(p, BigInt.asUintN(64, BigInt(num as number | bigint)), true); break;
      case 'p': {
        const s = Buffer.from(String(v), 'utf8').subarray(0, 49);
        b[p] = s.length;
        b.set(s, p + 1);
        break;
      }
      case '*': {
        const blob = v as Uint8Array;
        dv.setUint16(p, blob.length, true);
        b.set(blob, p + 2);
        p += 2 + blob.length;
        return;
      }
    }
    p += argSize(c);
  });
  return b;
}

/**
 * Samples of several CPUs in time order exactly as trace.py's heapq.merge yields them. Its heap
 * entries compare by time only (Trace.__lt__), so on equal times the order is the heap's: this is
 * CPython's heapify / heapreplace / heappop, step for step, so ties come out as trace.py lists them.
 */
export function mergeByTime(cpus: readonly TraceSample[][]): TraceSample[] {
  interface Entry { s: TraceSample; cpu: number; i: number }
  const lt = (a: Entry, b: Entry) => a.s.time < b.s.time;
  const siftdown = (h: Entry[], start: number, pos: number) => {
    const item = h[pos]!;
    while (pos > start) {
      const parent = (pos - 1) >> 1;
      if (!lt(item, h[parent]!)) break;
      h[pos] = h[parent]!;
      pos = parent;
    }
    h[pos] = item;
  };
  const siftup = (h: Entry[], pos: number) => {
    const start = pos;
    const item = h[pos]!;
    let child = 2 * pos + 1;
    while (child < h.length) {
      const right = child + 1;
      if (right < h.length && !lt(h[child]!, h[right]!)) child = right;
      h[pos] = h[child]!;
      pos = child;
      child = 2 * pos + 1;
    }
    h[pos] = item;
    siftdown(h, start, pos);
  };
  const h: Entry[] = [];
  cpus.forEach((list, cpu) => {
    if (list.length > 0) h.push({ s: list[0]!, cpu, i: 0 });
  });
  for (let i = (h.length >> 1) - 1; i >= 0; i--) siftup(h, i);
  const out: TraceSample[] = [];
  while (h.length > 1) {
    const top = h[0]!;
    out.push(top.s);
    const list = cpus[top.cpu]!;
    if (++top.i < list.length) {
      top.s = list[top.i]!;
      siftup(h, 0);
    } else {
      const last = h.pop()!;
      if (h.length > 0) {
        h[0] = last;
        siftup(h, 0);
      }
    }
  }
  if (h.length === 1) {
    const { cpu, i } = h[0]!;
    out.push(...cpus[cpu]!.slice(i));
  }
  return out;
}
