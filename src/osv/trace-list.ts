// `trace.py list` output: one line per sample, '0x%016x %-15s %2d %19s %-20s %s' of thread, thread
// name, cpu, time in seconds, tracepoint name and the tracepoint's format applied to its arguments
// with Python's % operator (where %p reads as 0x%016x).

import type { TraceArg, TraceSample, TraceSymbol } from './trace-model.js';

const hex16 = (v: bigint) => `0x${BigInt.asUintN(64, v).toString(16).padStart(16, '0')}`;

/** A Python value as str() prints it. */
function pyStr(v: TraceArg): string {
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return Number.isInteger(v) && !Object.is(v, -0) ? String(v) : pyFloatRepr(v);
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'string') return v;
  return `{${[...v].map((b) => b.toString(16).padStart(2, '0')).join(' ')}}`;
}

function pyFloatRepr(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  if (Number.isInteger(v) && Math.abs(v) < 1e16) return `${v.toFixed(1)}`;
  const s = String(v);
  // Python writes 1e-05 and 1e+16 where JavaScript writes 1e-5 and 1e+16.
  return s.replace(/e([+-])(\d)$/, 'e$10$2');
}

class FormatMismatch extends Error {}

function toInt(v: TraceArg): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'boolean') return v ? 1n : 0n;
  if (typeof v === 'number') return BigInt(Math.trunc(v));
  throw new FormatMismatch();
}

function toFloat(v: TraceArg): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  throw new FormatMismatch();
}

/** C/Python %e/%f/%g of `v` with `prec` digits; `alt` is the # flag. */
function formatFloat(v: number, conv: string, prec: number, alt: boolean): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
  const lower = conv.toLowerCase();
  let s: string;
  if (lower === 'f') s = v.toFixed(prec);
  else if (lower === 'e') s = v.toExponential(prec);
  else {
    const p = prec === 0 ? 1 : prec;
    const exp = v === 0 ? 0 : Math.floor(Math.log10(Math.abs(Number(v.toExponential(p - 1)))));
    s = exp < -4 || exp >= p ? v.toExponential(p - 1) : v.toFixed(Math.max(0, p - 1 - exp));
    if (!alt) {
      s = s.replace(/(\.\d*?)0+(e|$)/, '$1$2').replace(/\.(e|$)/, '$1');
    }
  }
  s = s.replace(/e([+-])(\d)$/, 'e$10$2');
  return conv === lower ? s : s.toUpperCase();
}

/** Python's `format % args` for the conversions OSv's tracepoint formats use; throws FormatMismatch. */
export function pyFormat(format: string, args: readonly TraceArg[]): string {
  let i = 0;
  const next = (): TraceArg => {
    if (i >= args.length) throw new FormatMismatch();
    return args[i++]!;
  };
  const out = format.replace(/%([#0\- +]*)(\*|\d+)?(?:\.(\*|\d+))?[hlL]*([diouxXeEfFgGcrsa%])|%/g, (whole, flags: string | undefined, w: string | undefined, pr: string | undefined, conv: string | undefined) => {
    if (conv === undefined) throw new FormatMismatch(); // a bare % Python rejects
    if (conv === '%') return '%';
    const f = flags ?? '';
    const width = w === '*' ? Number(toInt(next())) : w !== undefined ? Number(w) : 0;
    const precision = pr === '*' ? Number(toInt(next())) : pr !== undefined ? Number(pr) : undefined;
    const v = next();
    let body: string;
    let sign = '';
    let numeric = true;
    switch (conv) {
      case 'd': case 'i': case 'u': {
        const n = toInt(v);
        sign = n < 0n ? '-' : f.includes('+') ? '+' : f.includes(' ') ? ' ' : '';
        body = (n < 0n ? -n : n).toString();
        if (precision !== undefined) body = body.padStart(precision, '0');
        break;
      }
      case 'x': case 'X': case 'o': {
        const n = toInt(v);
        sign = n < 0n ? '-' : f.includes('+') ? '+' : f.includes(' ') ? ' ' : '';
        body = (n < 0n ? -n : n).toString(conv === 'o' ? 8 : 16);
        if (precision !== undefined) body = body.padStart(precision, '0');
        if (f.includes('#')) body = (conv === 'o' ? '0o' : '0x') + body;
        if (conv === 'X') body = body.toUpperCase();
        break;
      }
      case 'e': case 'E': case 'f': case 'F': case 'g': case 'G': {
        const x = toFloat(v);
        sign = x < 0 || Object.is(x, -0) ? '-' : f.includes('+') ? '+' : f.includes(' ') ? ' ' : '';
        body = formatFloat(Math.abs(x), conv, precision ?? 6, f.includes('#'));
        break;
      }
      case 'c':
        numeric = false;
        if (typeof v === 'string' && v.length === 1) body = v;
        else if (typeof v === 'number' || typeof v === 'bigint') body = String.fromCodePoint(Number(v));
        else throw new FormatMismatch();
        break;
      default: // s r a
        numeric = false;
        body = pyStr(v);
        if (conv !== 's' && typeof v === 'string') body = `'${v}'`;
        if (precision !== undefined) body = body.slice(0, precision);
    }
    const text = sign + body;
    if (text.length >= width) return text;
    if (f.includes('-')) return text.padEnd(width);
    if (numeric && f.includes('0')) {
      const prefix = sign + (/^0[xXo]/.test(body) ? body.slice(0, 2) : '');
      return prefix + text.slice(prefix.length).padStart(width - prefix.length, '0');
    }
    void whole;
    return text.padStart(width);
  });
  if (i !== args.length) throw new FormatMismatch(); // "not all arguments converted"
  return out;
}

/** Trace.format_data: the tracepoint's format with its arguments; the raw arguments when they do not fit it. */
export function formatSampleData(s: TraceSample): string {
  try {
    // struct's 'c' gives Python a one-byte bytes object, which %s prints as b'x'.
    const args = s.args.map((a, i) => (s.tp.sig[i] === 'c' && typeof a === 'string' ? `b'${a}'` : a));
    return pyFormat(s.tp.format.replace(/%p/g, '0x%016x'), args);
  } catch (e) {
    if (!(e instanceof FormatMismatch)) throw e;
    return s.args.map(pyStr).join(' ');
  }
}

/** One line of `trace.py list` (no backtrace: trace.py prints them only with -b). */
export function formatSample(s: TraceSample): string {
  const time = (s.time / 1e9).toFixed(9).padStart(12).padStart(19);
  return `${hex16(s.thread)} ${s.threadName.padEnd(15)} ${String(s.cpu).padStart(2)} ${time} ${s.tp.name.padEnd(20)} ${formatSampleData(s)}`;
}

/** Resolves addresses with the dump's SYMB chunk, as trace.py's TraceDumpSymbols does: 'name+0xoff'. */
export function symbolResolver(symbols: readonly TraceSymbol[]): (addr: bigint) => string | null {
  const sorted = [...symbols].sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0));
  return (addr) => {
    let lo = 0, hi = sorted.length - 1, at = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid]!.addr <= addr) {
        at = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    const s = at >= 0 ? sorted[at]! : undefined;
    return s && addr < s.addr + (s.size > 0n ? s.size : 1n) ? `${s.name}+0x${(addr - s.addr).toString(16)}` : null;
  };
}

/**
 * The backtrace for `-b` on one line as trace.py prints it ('   [a, b, ...]'), each frame the return
 * address minus one, named from the dump's symbols when `resolve` knows it.
 */
export function formatBacktrace(s: TraceSample, resolve?: (addr: bigint) => string | null): string {
  const frames = (s.backtrace ?? []).filter((f) => f !== 0n).map((f) => resolve?.(f - 1n) ?? `0x${(f - 1n).toString(16)}`);
  return frames.length === 0 ? '' : `   [${frames.join(', ')}]`;
}
