// A minimal WebAssembly binary writer: what a block compiler that emits wasm needs (one function type per
// module, an imported memory, exported functions, i32/i64 locals) and nothing more. 64-bit constants are given
// as 32-bit halves, the way the CPU keeps registers, so that encoding needs no BigInt.

/** Value types. */
export const enum WT { I32 = 0x7f, I64 = 0x7e, F32 = 0x7d, F64 = 0x7c }

/** Opcodes used by the writer's callers (the MVP set; names as in the spec's text format). */
export const enum Op {
  block = 0x02, loop = 0x03, if = 0x04, else = 0x05, end = 0x0b, br = 0x0c, br_if = 0x0d, return = 0x0f,
  call = 0x10, drop = 0x1a, select = 0x1b,
  local_get = 0x20, local_set = 0x21, local_tee = 0x22,
  i32_load = 0x28, i64_load = 0x29, f64_load = 0x2b, i32_load8_u = 0x2d, i32_load16_u = 0x2f,
  i32_store = 0x36, i64_store = 0x37, f64_store = 0x39, i32_store8 = 0x3a, i32_store16 = 0x3b,
  i32_const = 0x41, i64_const = 0x42,
  i32_eqz = 0x45, i32_eq = 0x46, i32_ne = 0x47, i32_lt_s = 0x48, i32_lt_u = 0x49, i32_gt_u = 0x4b, i32_le_u = 0x4d, i32_ge_s = 0x4e,
  i64_eqz = 0x50, i64_eq = 0x51, i64_ne = 0x52, i64_lt_s = 0x53, i64_lt_u = 0x54, i64_gt_s = 0x55, i64_gt_u = 0x56,
  i64_le_s = 0x57, i64_le_u = 0x58, i64_ge_s = 0x59, i64_ge_u = 0x5a,
  f64_eq = 0x61, f64_ne = 0x62, f64_ge = 0x66, i32_popcnt = 0x69,
  i32_add = 0x6a, i32_sub = 0x6b, i32_mul = 0x6c, i32_and = 0x71, i32_or = 0x72, i32_xor = 0x73, i32_shl = 0x74,
  i32_shr_s = 0x75, i32_shr_u = 0x76,
  i64_add = 0x7c, i64_sub = 0x7d, i64_mul = 0x7e, i64_and = 0x83, i64_or = 0x84, i64_xor = 0x85, i64_shl = 0x86,
  i64_shr_s = 0x87, i64_shr_u = 0x88,
  i32_wrap_i64 = 0xa7, i64_extend_i32_s = 0xac, i64_extend_i32_u = 0xad, i64_trunc_f64_s = 0xb0,
  f64_convert_i64_s = 0xb9,
  // Floating point (compile-sse.ts).
  f32_load = 0x2a, f32_store = 0x38,
  f32_eq = 0x5b, f32_lt = 0x5d, f32_gt = 0x5e, f32_ge = 0x60, f64_lt = 0x63, f64_gt = 0x64,
  f32_abs = 0x8b, f32_sqrt = 0x91, f32_add = 0x92, f32_sub = 0x93, f32_mul = 0x94, f32_div = 0x95,
  f64_abs = 0x99, f64_trunc = 0x9d, f64_sqrt = 0x9f, f64_add = 0xa0, f64_sub = 0xa1, f64_mul = 0xa2, f64_div = 0xa3,
  i32_trunc_f64_s = 0xaa, f32_convert_i32_s = 0xb2, f32_convert_i64_s = 0xb4, f32_demote_f64 = 0xb6,
  f64_convert_i32_s = 0xb7, f64_promote_f32 = 0xbb, i32_reinterpret_f32 = 0xbc, i64_reinterpret_f64 = 0xbd,
  i32_clz = 0x67, i32_ctz = 0x68, i64_clz = 0x79, i64_ctz = 0x7a, i32_rotl = 0x77, i32_rotr = 0x78, i64_rotl = 0x89, i64_rotr = 0x8a, f32_reinterpret_i32 = 0xbe, f64_reinterpret_i64 = 0xbf, i32_ge_u = 0x4f, f64_le = 0x65,
}

/** Unsigned LEB128 of a non-negative integer below 2^53. */
export function uleb(out: number[], n: number): void {
  for (;;) {
    const b = n % 128;
    n = Math.floor(n / 128);
    if (n === 0) { out.push(b); return; }
    out.push(b | 0x80);
  }
}

/** Signed LEB128 of a 32-bit integer. */
export function sleb32(out: number[], v: number): void {
  v |= 0;
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) { out.push(b); return; }
    out.push(b | 0x80);
  }
}

/** Signed LEB128 of the 64-bit integer with halves (lo, hi), without BigInt: 7 bits at a time from the pair. */
export function sleb64(out: number[], lo: number, hi: number): void {
  lo >>>= 0; hi |= 0;
  for (;;) {
    const b = lo & 0x7f;
    // Arithmetic shift of the pair right by 7.
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>= 7;
    const done = (hi === 0 && lo === 0 && (b & 0x40) === 0) || (hi === -1 && lo === 0xffffffff && (b & 0x40) !== 0);
    if (done) { out.push(b); return; }
    out.push(b | 0x80);
  }
}

const F64 = new Float64Array(1), F64_BYTES = new Uint8Array(F64.buffer);

/** The body of one function: its locals and code, appended to by the emitters. */
export class FnBody {
  readonly code: number[] = [];
  private readonly localTypes: WT[] = [];

  /** @param params the function type's parameters, which are locals 0..n-1. */
  constructor(private readonly params: number) {}

  /** A new local of type t; returns its index. */
  local(t: WT): number {
    this.localTypes.push(t);
    return this.params + this.localTypes.length - 1;
  }

  op(...bytes: number[]): this { for (const b of bytes) this.code.push(b); return this; }
  get(l: number): this { this.code.push(Op.local_get); uleb(this.code, l); return this; }
  set(l: number): this { this.code.push(Op.local_set); uleb(this.code, l); return this; }
  tee(l: number): this { this.code.push(Op.local_tee); uleb(this.code, l); return this; }
  i32(v: number): this { this.code.push(Op.i32_const); sleb32(this.code, v); return this; }
  i64(lo: number, hi: number): this { this.code.push(Op.i64_const); sleb64(this.code, lo, hi); return this; }
  /** f64.const x (its 8 little-endian bytes). */
  f64(x: number): this {
    F64[0] = x;
    this.code.push(0x44);
    for (let j = 0; j < 8; j++) this.code.push(F64_BYTES[j]!);
    return this;
  }
  call(fn: number): this { this.code.push(Op.call); uleb(this.code, fn); return this; }
  /** call_indirect through table 0 with type index `type` (the callee's index is on the stack). */
  callIndirect(type: number): this { this.code.push(0x11); uleb(this.code, type); this.code.push(0x00); return this; }
  /** A load or store with the natural alignment (log2 bytes) and a constant offset. */
  mem(op: Op, align: number, offset: number): this { this.code.push(op, align); uleb(this.code, offset); return this; }

  /** The encoded body (locals grouped in runs of one type, then the code and `end`). */
  encode(): number[] {
    const runs: [number, WT][] = [];
    for (const t of this.localTypes) {
      const last = runs[runs.length - 1];
      if (last !== undefined && last[1] === t) last[0]++;
      else runs.push([1, t]);
    }
    const out: number[] = [];
    uleb(out, runs.length);
    for (const [n, t] of runs) { uleb(out, n); out.push(t); }
    for (const b of this.code) out.push(b);
    out.push(Op.end);
    return out;
  }
}

function section(out: number[], id: number, body: number[]): void {
  out.push(id);
  uleb(out, body.length);
  for (const b of body) out.push(b);
}

function name(out: number[], s: string): void {
  uleb(out, s.length);
  for (let k = 0; k < s.length; k++) out.push(s.charCodeAt(k));
}

export type FnType = [params: WT[], results: WT[]];

export interface ModuleSpec {
  /** Function types by index. */
  types: FnType[];
  /** Imported functions (module "f", field = name) with their type index; function indices 0..n-1. */
  imports?: { name: string; type: number }[];
  /** The memory imported as m.mem, with this minimum page count. */
  memoryPages: number;
  /** Import m.tab, a funcref table (call_indirect's table 0), with this minimum size; absent: no table. */
  tableMin?: number;
  /** Defined functions with their type index and body (or its encoding), exported as f0, f1, ... (indices after the imports). */
  funcs: { type: number; body: FnBody | number[] }[];
}

/** The module's bytes. */
export function encodeModule(spec: ModuleSpec): Uint8Array<ArrayBuffer> {
  const imports = spec.imports ?? [];
  const out: number[] = [0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0];
  const t: number[] = [];
  uleb(t, spec.types.length);
  for (const [p, r] of spec.types) {
    t.push(0x60);
    uleb(t, p.length); for (const x of p) t.push(x);
    uleb(t, r.length); for (const x of r) t.push(x);
  }
  section(out, 1, t);
  const im: number[] = [];
  uleb(im, imports.length + 1 + (spec.tableMin !== undefined ? 1 : 0));
  for (const f of imports) { name(im, 'f'); name(im, f.name); im.push(0x00); uleb(im, f.type); }
  name(im, 'm'); name(im, 'mem'); im.push(0x02, 0x00); uleb(im, spec.memoryPages);
  if (spec.tableMin !== undefined) { name(im, 'm'); name(im, 'tab'); im.push(0x01, 0x70, 0x00); uleb(im, spec.tableMin); }
  section(out, 2, im);
  const fn: number[] = [];
  uleb(fn, spec.funcs.length);
  for (const f of spec.funcs) uleb(fn, f.type);
  section(out, 3, fn);
  const ex: number[] = [];
  uleb(ex, spec.funcs.length);
  spec.funcs.forEach((_, k) => { name(ex, `f${k}`); ex.push(0x00); uleb(ex, imports.length + k); });
  section(out, 7, ex);
  const code: number[] = [];
  uleb(code, spec.funcs.length);
  for (const f of spec.funcs) {
    const body = Array.isArray(f.body) ? f.body : f.body.encode();
    uleb(code, body.length);
    for (const x of body) code.push(x);
  }
  section(out, 10, code);
  return Uint8Array.from(out) as Uint8Array<ArrayBuffer>;
}
