// The OSVT trace dump (osv-machine.md §7): written byte for byte as OSv's trace::create_trace_dump()
// (core/trace.cc) writes it, so scripts/trace.py reads osvemu's files as it reads /trace/buffers,
// and parsed back as trace.py's TraceDumpReader / TraceDumpSymbols do. Also reads the older
// format that loader.py's `osv trace save` writes (trace.py's `read`, format version 3).

import {
  alignUp, cString, decodeArgs, encodeArgs, TraceFormatError,
  type TraceDump, type TraceModule, type TraceSample, type TraceSymbol, type Tracepoint,
} from './trace-model.js';

/** FOURCC tags as OSv computes them: ('O' << 24) | ('S' << 16) | ..., written little-endian. */
const tag = (s: string) => ((s.charCodeAt(0) << 24) | (s.charCodeAt(1) << 16) | (s.charCodeAt(2) << 8) | s.charCodeAt(3)) >>> 0;
const OSVT = tag('OSVT');
const TRCD = tag('TRCD');
const MODS = tag('MODS');
const SYMB = tag('SYMB');
const TRCS = tag('TRCS');
/** tf_version_major 0, tf_version_minor 1. */
const VERSION = (0 << 16) | 1;
/** sizeof(trace_record): tp, thread, thread_name[16], time, cpu, flags (bit 0: backtrace). */
export const RECORD_HEADER = 48;

/** trace_out: an ofstream whose write<T> aligns the file position to alignof(T) first. */
class Out {
  private buf = new Uint8Array(1 << 16);
  private dv = new DataView(this.buf.buffer);
  pos = 0;

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const b = new Uint8Array(size);
    b.set(this.buf.subarray(0, this.pos));
    this.buf = b;
    this.dv = new DataView(b.buffer);
  }

  align(a: number): void {
    const to = alignUp(this.pos, a);
    this.room(to - this.pos);
    this.pos = to; // the buffer is zero-filled: padding is put(0)
  }

  u8(v: number): void {
    this.room(1);
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    this.align(2);
    this.room(2);
    this.dv.setUint16(this.pos, v, true);
    this.pos += 2;
  }

  u32(v: number): void {
    this.align(4);
    this.room(4);
    this.dv.setUint32(this.pos, v >>> 0, true);
    this.pos += 4;
  }

  u64(v: bigint | number): void {
    this.align(8);
    this.room(8);
    this.dv.setBigUint64(this.pos, BigInt.asUintN(64, BigInt(v)), true);
    this.pos += 8;
  }

  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** swrite: u16 length + bytes, no terminator. */
  str(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u16(b.length);
    this.bytes(b);
  }

  /** RIFF-like chunk: aligned tag, aligned u64 size of what follows it, patched when `body` is done. */
  chunk(t: number, body: () => void): void {
    this.align(8);
    this.u32(t);
    this.align(8);
    const at = this.pos;
    this.u64(0);
    body();
    this.dv.setBigUint64(at, BigInt(this.pos - at - 8), true);
  }

  done(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

/** One sample as a TRCS record: the trace_record, the backtrace when flagged, the arguments. */
function writeRecord(out: Out, s: TraceSample, backtraceLen: number): void {
  out.align(8);
  out.u64(s.tp.key);
  out.u64(s.thread);
  const name = new Uint8Array(16);
  name.set(Buffer.from(s.threadName, 'utf8').subarray(0, 16));
  out.bytes(name);
  out.u64(s.time);
  out.u32(s.cpu);
  out.u32(s.backtrace !== null ? 1 : 0);
  if (s.backtrace !== null) for (let i = 0; i < backtraceLen; i++) out.u64(s.backtrace[i] ?? 0n);
  // Payload offsets are relative to an 8-aligned start, so the file's absolute alignment matches.
  out.bytes(encodeArgs(s.tp.sig, s.args));
}

/** The OSVT file for `dump`, as trace::create_trace_dump() lays it out. */
export function writeOsvt(dump: TraceDump): Uint8Array {
  const out = new Out();
  out.chunk(OSVT, () => {
    out.u32(1); // endianness check
    out.u32(VERSION);
    out.chunk(TRCD, () => {
      out.u32(dump.backtraceLen);
      out.u32(dump.tracepoints.length);
      for (const tp of dump.tracepoints) {
        out.u64(tp.key);
        out.str(tp.name); // id
        out.str(tp.name); // name
        out.str('OSv'); // provider
        out.str(tp.format);
        out.u32(tp.sig.length);
        [...tp.sig].forEach((c, n) => {
          out.str(String(n)); // OSv has no argument names
          out.u8(c.charCodeAt(0));
        });
      }
    });
    out.chunk(MODS, () => {
      out.u32(dump.modules.length);
      for (const m of dump.modules) {
        out.str(m.path);
        out.u64(m.base);
        out.u64(m.size);
        out.u32(0); // no sections (OSv writes none for the kernel either)
      }
    });
    if (dump.symbols.length > 0) {
      out.chunk(SYMB, () => {
        out.u32(dump.symbols.length);
        for (const s of dump.symbols) {
          out.str(s.name);
          out.u64(s.addr);
          out.u64(s.size);
          out.str(''); // file name
          out.u32(0); // line locations
        }
      });
    }
    for (const samples of dump.cpus) {
      out.chunk(TRCS, () => {
        out.align(8);
        for (const s of samples) writeRecord(out, s, dump.backtraceLen);
      });
    }
  });
  return out.done();
}

// ---- reading ---------------------------------------------------------------------------------------

/** trace.py's reader: every read aligns the file position to the size of what it reads. */
class In {
  pos = 0;
  readonly dv: DataView;

  constructor(readonly b: Uint8Array, readonly what: string) {
    this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }

  private need(n: number): void {
    if (this.pos + n > this.b.length) throw new TraceFormatError(`${this.what}: truncated OSVT dump (${this.b.length} bytes)`);
  }

  private aligned(n: number): number {
    this.pos = alignUp(this.pos, n);
    this.need(n);
    const p = this.pos;
    this.pos += n;
    return p;
  }

  u16(): number {
    return this.dv.getUint16(this.aligned(2), true);
  }

  u32(): number {
    return this.dv.getUint32(this.aligned(4), true);
  }

  u64(): bigint {
    return this.dv.getBigUint64(this.aligned(8), true);
  }

  raw(n: number): Uint8Array {
    this.need(n);
    const r = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return r;
  }

  str(): string {
    const n = this.u16();
    return Buffer.from(this.raw(n)).toString('utf8');
  }
}

/** The magic at the start of an OSVT dump ('OSVT' written little-endian). */
export function isOsvt(b: Uint8Array): boolean {
  return b.length >= 4 && Buffer.from(b.subarray(0, 4)).toString('latin1') === 'TVSO';
}

/** Decodes the records of one TRCS chunk (trace.py's oneTrace: stops at a tp of 0 or -1). */
function readRecords(data: Uint8Array, tps: Map<bigint, Tracepoint>, backtraceLen: number, what: string): TraceSample[] {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out: TraceSample[] = [];
  let p = 0;
  while (p < data.length) {
    if (p + RECORD_HEADER > data.length) throw new TraceFormatError(`${what}: a trace record is cut short`);
    const key = dv.getBigUint64(p, true);
    if (key === 0n || key === 0xffffffffffffffffn) break;
    const tp = tps.get(key);
    if (tp === undefined) throw new TraceFormatError(`${what}: a record names unknown tracepoint 0x${key.toString(16)}`);
    const flags = dv.getUint32(p + 44, true);
    let q = p + RECORD_HEADER;
    let backtrace: bigint[] | null = null;
    if (flags & 1) {
      if (q + 8 * backtraceLen > data.length) throw new TraceFormatError(`${what}: a trace record's backtrace is cut short`);
      backtrace = [];
      for (let i = 0; i < backtraceLen; i++) backtrace.push(dv.getBigUint64(q + 8 * i, true));
      q += 8 * backtraceLen;
    }
    const { args, end } = decodeArgs(data, q, tp.sig);
    out.push({
      tp,
      thread: dv.getBigUint64(p + 8, true),
      threadName: cString(data.subarray(p + 16, p + 32)),
      time: Number(dv.getBigUint64(p + 32, true)),
      cpu: dv.getUint32(p + 40, true),
      backtrace,
      args,
    });
    p = alignUp(end, 8);
  }
  return out;
}

/** Parses an OSVT dump; `what` names the file in errors. Throws TraceFormatError on anything else. */
export function parseOsvt(b: Uint8Array, what = 'trace file'): TraceDump {
  if (!isOsvt(b)) {
    if (b.length >= 4 && Buffer.from(b.subarray(0, 4)).toString('latin1') === 'OSVT') throw new TraceFormatError(`${what}: a big-endian OSVT dump, not supported`);
    throw new TraceFormatError(`${what}: not an OSv trace dump (no OSVT header)`);
  }
  const r = new In(b, what);
  r.pos = 4;
  r.u64(); // the whole dump's size: trace.py ignores it too
  if (r.u32() !== 1) throw new TraceFormatError(`${what}: bad endianness word in the OSVT header`);
  r.u32(); // version
  const dump: TraceDump = { backtraceLen: 0, tracepoints: [], modules: [], symbols: [], cpus: [] };
  const tps = new Map<bigint, Tracepoint>();
  const buffers: Uint8Array[] = [];
  while (true) {
    r.pos = alignUp(r.pos, 8);
    if (r.pos + 4 > b.length) break;
    const t = r.u32();
    const size = Number(r.u64());
    const start = r.pos;
    if (start + size > b.length) throw new TraceFormatError(`${what}: truncated OSVT dump (a chunk of ${size} bytes at offset ${start - 16} runs past the end)`);
    if (t === TRCD) {
      dump.backtraceLen = r.u32();
      const n = r.u32();
      for (let i = 0; i < n; i++) {
        const key = r.u64();
        r.str(); // id
        const name = r.str();
        r.str(); // provider
        const format = r.str();
        const nargs = r.u32();
        let sig = '';
        for (let j = 0; j < nargs; j++) {
          r.str(); // argument name
          sig += String.fromCharCode(r.raw(1)[0]!);
        }
        const tp: Tracepoint = { key, name, format, sig };
        tps.set(key, tp);
        dump.tracepoints.push(tp);
      }
    } else if (t === MODS) {
      const n = r.u32();
      for (let i = 0; i < n; i++) {
        const m: TraceModule = { path: r.str(), base: r.u64(), size: r.u64() };
        const nsec = r.u32();
        for (let j = 0; j < nsec; j++) {
          r.str();
          r.u32(); r.u32(); r.u64(); r.u64(); r.u64(); r.u64();
        }
        dump.modules.push(m);
      }
    } else if (t === SYMB) {
      const n = r.u32();
      for (let i = 0; i < n; i++) {
        const s: TraceSymbol = { name: r.str(), addr: r.u64(), size: r.u64() };
        r.str();
        const nloc = r.u32();
        for (let j = 0; j < nloc; j++) {
          r.u32(); r.u32();
        }
        dump.symbols.push(s);
      }
    } else if (t === TRCS) {
      buffers.push(b.subarray(start, start + size));
    }
    r.pos = start + size;
  }
  dump.cpus = buffers.map((d, i) => readRecords(d, tps, dump.backtraceLen, `${what}: CPU ${i}`));
  return dump;
}

/**
 * loader.py's `osv trace save` file (trace.py's `write`, format version 3): a tracepoint table, then
 * records with a zero-terminated backtrace. Every sample lands in one list, in file order.
 */
export function parseLegacyTrace(b: Uint8Array, what = 'trace file'): TraceDump {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const bad = () => new TraceFormatError(`${what}: truncated trace file`);
  if (b.length < 12 || dv.getInt32(0, true) !== 3) throw new TraceFormatError(`${what}: not an OSv trace file (neither an OSVT dump nor loader.py's format 3)`);
  // WritingPacker aligns only within one pack() call, relative to where that call starts.
  let p = 4;
  const q = () => {
    if (p + 8 > b.length) throw bad();
    const v = dv.getBigUint64(p, true);
    p += 8;
    return v;
  };
  const str = () => {
    if (p + 2 > b.length) throw bad();
    const n = dv.getUint16(p, true);
    if (p + 2 + n > b.length) throw bad();
    const s = Buffer.from(b.subarray(p + 2, p + 2 + n)).toString('utf8');
    p += 2 + n;
    return s;
  };
  const ntp = Number(q());
  const tps = new Map<bigint, Tracepoint>();
  const dump: TraceDump = { backtraceLen: 0, tracepoints: [], modules: [], symbols: [], cpus: [[]] };
  for (let i = 0; i < ntp; i++) {
    const key = q();
    const name = str();
    const sig = str().replace(/50p/g, 'p');
    const format = str();
    const tp = { key, name, sig, format };
    tps.set(key, tp);
    dump.tracepoints.push(tp);
  }
  while (p < b.length) {
    const s0 = p;
    if (p + 44 > b.length) throw bad();
    const key = dv.getBigUint64(p, true);
    const tp = tps.get(key);
    if (tp === undefined) throw new TraceFormatError(`${what}: a record names unknown tracepoint 0x${key.toString(16)}`);
    const sample: TraceSample = {
      tp,
      thread: dv.getBigUint64(p + 8, true),
      threadName: cString(b.subarray(p + 16, p + 32)),
      time: Number(dv.getBigUint64(p + 32, true)),
      cpu: dv.getUint32(p + 40, true),
      backtrace: null,
      args: [],
    };
    p = s0 + 44;
    const frames: bigint[] = [];
    for (let f = q(); f !== 0n; f = q()) frames.push(f);
    if (frames.length > 0) sample.backtrace = frames;
    // The arguments are packed relative to their own start, which need not be 8-aligned.
    const view = b.subarray(p);
    const { args, end } = decodeArgs(view, 0, tp.sig);
    sample.args = args;
    p += end;
    dump.cpus[0]!.push(sample);
  }
  return dump;
}
