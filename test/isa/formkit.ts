// The machinery behind the form table: what a form is, how a case input is generated for it
// (random registers, addresses placed inside the data page, x87/SSE state), and the "undefined" masks.
import { Blob, CODE_ADDR, DATA_ADDR, FLAG, GPR_NAMES, PAGE_SIZE, STATUS_FLAGS, type GprName, gprIndex } from './blob.js';
import { Rng, f32Value, f64Value, f80Value, fillXmm, intValue } from './rng.js';

/** State the Intel SDM leaves undefined after one case (only applied when the case ended normally, vector 3). */
export interface Undef {
  flags?: number;            // RFLAGS bits
  gprs?: GprName[];          // whole registers
  mem?: [number, number][];  // [offset in data page, length]
  fsw?: number;              // x87 status word bits
  xmm?: number[];            // whole xmm registers
}

export interface CaseCtx {
  rng: Rng;
  b: Blob;
  /** Data-page offsets of the memory operands, in the order they appear in the asm text (may be outside 0..4095). */
  ea: number[];
}

export interface Form {
  /** Unique id: the asm text plus an optional variant tag. */
  name: string;
  asm: string;
  /** A fresh input state; `into` (4768 bytes, zeroed) avoids one allocation per case. */
  gen(rng: Rng, into?: Uint8Array): Blob;
  undef?(inp: Blob): Undef;
}

export type Kind = 'int' | 'ps' | 'pd' | 'bytes';

export interface FormOpts {
  tag?: string;
  /** The memory operand is only an address computation (lea): keep the random register values, place nothing. */
  addressOnly?: boolean;
  /** Values for specific registers (after the random defaults). */
  regs?: Partial<Record<GprName, (rng: Rng) => bigint>>;
  /** Memory operand access size in bytes (for placement near the page end) and alignment. */
  msize?: number;
  align?: number;
  /** Probability that a memory operand is placed across/over the page end or misaligned (fault edge cases). */
  edge?: number;
  /** rsp must point into the data page with room on both sides. */
  stack?: boolean;
  /** Lane kind for xmm registers and memory operands; enables MXCSR variation. */
  sse?: Kind;
  /** x87 stack depth range [min, max] (ST values and tags preloaded), enables FCW variation. */
  x87?: [number, number];
  /** Generate x87 values from the full 80-bit space (unnormals, pseudo-denormals ...). */
  x87wild?: boolean;
  /** Value written at each memory operand after placement. */
  memval?: (c: CaseCtx, off: number) => void;
  /** Allow AC=1 in some cases (misaligned accesses then raise #AC). */
  ac?: boolean;
  setup?: (c: CaseCtx) => void;
  undef?: (inp: Blob) => Undef;
}

const MEM_RE = /(-?(?:0x[0-9a-fA-F]+|\d+))?\((%[a-z0-9]+)?(?:,(%[a-z0-9]+)(?:,([1248]))?)?\)/g;

const REG32: Record<string, GprName> = {};
const REG64 = new Set<string>(GPR_NAMES);
['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'].forEach((r, i) => { REG32[r] = GPR_NAMES[i]!; });
for (let i = 8; i < 16; i++) REG32[`r${i}d`] = GPR_NAMES[i]!;

export interface MemOp { disp: number; base?: string; index?: string; scale: number; addr32: boolean }

function parseDisp(t: string): number {
  const neg = t.startsWith('-');
  const v = Number(neg ? t.slice(1) : t);
  return neg ? -v : v;
}

export function parseMemOps(asm: string): MemOp[] {
  const ops: MemOp[] = [];
  for (const m of asm.matchAll(MEM_RE)) {
    const base = m[2]?.slice(1); const index = m[3]?.slice(1);
    if (base === 'rip') continue;
    const addr32 = (base !== undefined && base in REG32) || (index !== undefined && index in REG32);
    ops.push({ disp: m[1] ? parseDisp(m[1]) : 0, base, index, scale: m[4] ? Number(m[4]) : 1, addr32 });
  }
  return ops;
}

function setU(b: Blob, off: number, v: bigint, n: number): void {
  for (let i = 0; i < n; i++) { const o = off + i; if (o >= 0 && o < PAGE_SIZE) b.mem[o] = Number((v >> BigInt(8 * i)) & 0xffn); }
}
export function writeMem(b: Blob, off: number, bytes: Uint8Array): void {
  for (let i = 0; i < bytes.length; i++) { const o = off + i; if (o >= 0 && o < PAGE_SIZE) b.mem[o] = bytes[i]!; }
}
export { setU as writeMemU };

/** Picks a data-page offset for an access of `size` bytes; sometimes straddling or beyond the page end. */
export function placeOffset(rng: Rng, size: number, align: number, edge: number): number {
  if (rng.chance(edge)) {
    switch (rng.int(4)) {
      case 0: return PAGE_SIZE - rng.range(1, Math.max(1, size - 1)); // straddles the end
      case 1: return PAGE_SIZE + rng.int(64);                          // just above
      case 2: return -rng.range(1, 64);                                // just below
      default: return (rng.range(64, PAGE_SIZE - 128) & ~(align - 1)) + rng.range(1, Math.max(1, align - 1)); // misaligned
    }
  }
  return rng.range(64, PAGE_SIZE - 64 - size) & ~(align - 1);
}

function randomFlags(rng: Rng): number {
  let f = 0x202 | (rng.u32() & STATUS_FLAGS);
  if (rng.chance(0.15)) f |= FLAG.DF;
  return f;
}

function setupSse(c: CaseCtx, kind: Kind): void {
  const { rng, b } = c;
  for (let i = 0; i < 16; i++) fillXmm(rng, b.xmm(i), kind);
  let mx = 0x1f80;
  if (rng.chance(0.3)) mx = (mx & ~0x6000) | (rng.int(4) << 13);
  if (rng.chance(0.15)) mx |= 0x8000; // FTZ
  if (rng.chance(0.15)) mx |= 0x40;   // DAZ
  if (rng.chance(0.12)) mx &= ~(rng.int(64) << 7); // unmask some exceptions -> #XM
  if (rng.chance(0.2)) mx |= rng.int(64); // sticky flags already set
  b.mxcsr = mx;
}

/** Preloads an x87 stack of `depth` valid registers below a random TOP, and varies the control word. */
export function setupX87(c: CaseCtx, depth: number, wild: boolean): void {
  const { rng, b } = c;
  const top = rng.int(8);
  let tags = 0;
  for (let i = 0; i < 8; i++) {
    f80Value(rng, wild, b.st(i));
    if (i < depth) tags |= 1 << ((top + i) & 7);
  }
  b.ftw = tags;
  let cw = 0x037f;
  const pc = rng.pick([3, 3, 3, 2, 2, 0]);
  cw = (cw & ~0x300) | (pc << 8);
  if (rng.chance(0.4)) cw = (cw & ~0xc00) | (rng.int(4) << 10);
  if (rng.chance(0.12)) cw &= ~rng.int(64); // unmasked exceptions: ES set, no #MF until the next x87 insn
  b.fcw = cw | 0x40; // bit 6 reads as 1 on real CPUs
  let sw = top << 11;
  if (rng.chance(0.5)) sw |= rng.u32() & 0x4700; // condition codes to see which are preserved
  if (rng.chance(0.15)) sw |= rng.u32() & cw & 0x3f; // sticky flags that are masked (no ES)
  b.fsw = sw;
}

/** Builds a form from AT&T text and options. */
export function form(asm: string, o: FormOpts = {}): Form {
  const memOps = parseMemOps(asm);
  const name = o.tag ? `${asm}  [${o.tag}]` : asm;
  return {
    name,
    asm,
    undef: o.undef,
    gen(rng: Rng, into?: Uint8Array): Blob {
      const b = new Blob(into);
      b.rip = CODE_ADDR;
      b.fcw = 0x37f;
      b.mxcsr = 0x1f80;
      for (let i = 0; i < 16; i++) b.setGpr(i, intValue(rng));
      b.rflags = randomFlags(rng);
      rng.bytes(b.mem);
      const c: CaseCtx = { rng, b, ea: [] };
      // Even non-SSE/x87 forms get random xmm/x87 contents: the emulator must leave them alone.
      if (o.sse) setupSse(c, o.sse); else for (let i = 0; i < 16; i++) fillXmm(rng, b.xmm(i), 'bytes');
      if (o.x87) setupX87(c, rng.range(o.x87[0], o.x87[1]), !!o.x87wild);
      else for (let i = 0; i < 8; i++) f80Value(rng, true, b.st(i));
      if (o.regs) for (const [r, g] of Object.entries(o.regs)) b.setGpr(r as GprName, g!(rng));
      if (o.stack) b.setGpr('rsp', DATA_ADDR + BigInt(stackOffset(rng)));
      const size = o.msize ?? 8;
      const align = o.align ?? 1;
      for (const m of o.addressOnly ? [] : memOps) {
        if (m.addr32) continue; // 32-bit addresses cannot reach the data page: they fault (or are lea)
        const off = placeOffset(rng, size, Math.max(align, 1), o.edge ?? 0.04);
        c.ea.push(off);
        let idx = 0n;
        if (m.index) {
          idx = BigInt(rng.range(-64, 64));
          b.setGpr(m.index as GprName, idx);
        }
        if (m.base && REG64.has(m.base)) {
          b.setGpr(m.base as GprName, DATA_ADDR + BigInt(off) - BigInt(m.disp) - idx * BigInt(m.scale));
        }
        if (o.memval) o.memval(c, off);
      }
      if (o.ac && rng.chance(0.7)) b.rflags |= FLAG.AC;
      o.setup?.(c);
      return b;
    },
  };
}

/** rsp inside the data page: mostly in the middle, sometimes at the very edges or misaligned. */
export function stackOffset(rng: Rng): number {
  if (rng.chance(0.1)) return rng.pick([0, 8, 16, 4088, 4096, 4092, 2]);
  const off = rng.range(512, 3584) & ~7;
  return rng.chance(0.1) ? off + rng.range(1, 7) : off;
}

// ---------- memory value writers ----------
export const mv = {
  f32: (c: CaseCtx, off: number) => setU(c.b, off, BigInt(f32Value(c.rng)), 4),
  f64: (c: CaseCtx, off: number) => setU(c.b, off, f64Value(c.rng), 8),
  f80: (wild: boolean) => (c: CaseCtx, off: number) => writeMem(c.b, off, f80Value(c.rng, wild)),
  int: (n: number) => (c: CaseCtx, off: number) => setU(c.b, off, intValue(c.rng), n),
  xmm: (kind: Kind) => (c: CaseCtx, off: number) => { const x = new Uint8Array(16); fillXmm(c.rng, x, kind); writeMem(c.b, off, x); },
};

// ---------- undefined-state helpers ----------
export const F = FLAG;
export const U_LOGIC: Undef = { flags: FLAG.AF };
export const U_MUL: Undef = { flags: FLAG.SF | FLAG.ZF | FLAG.AF | FLAG.PF };
export const U_DIV: Undef = { flags: STATUS_FLAGS };
export const U_BITSCAN: Undef = { flags: FLAG.CF | FLAG.OF | FLAG.SF | FLAG.AF | FLAG.PF };
export const U_BT: Undef = { flags: FLAG.OF | FLAG.SF | FLAG.AF | FLAG.PF };
export const U_CNT: Undef = { flags: FLAG.OF | FLAG.SF | FLAG.AF | FLAG.PF };
/** x87: C0, C2, C3 undefined (most arithmetic/load/store instructions). */
export const FSW_C023 = 0x4500;
export const FSW_C0123 = 0x4700;

export function countMask(bits: number): number { return bits === 64 ? 63 : 31; }

export function shiftUndef(op: string, bits: number, count: (inp: Blob) => number) {
  return (inp: Blob): Undef => {
    const raw = count(inp) & countMask(bits);
    if (raw === 0) return {};
    let flags = 0;
    if (raw !== 1) flags |= FLAG.OF;
    if (op === 'shl' || op === 'sal' || op === 'shr' || op === 'sar') {
      flags |= FLAG.AF;
      if ((op === 'shl' || op === 'shr' || op === 'sal') && raw >= bits) flags |= FLAG.CF;
    }
    return { flags };
  };
}

export function shldUndef(bits: number, count: (inp: Blob) => number, dest: GprName | null, memOff: (inp: Blob) => number) {
  return (inp: Blob): Undef => {
    const c = count(inp) & countMask(bits);
    if (c === 0) return {};
    if (bits === 16 && c > 16) {
      return dest ? { flags: STATUS_FLAGS, gprs: [dest] } : { flags: STATUS_FLAGS, mem: [[memOff(inp), 2]] };
    }
    return { flags: FLAG.AF | (c !== 1 ? FLAG.OF : 0) };
  };
}

export function regLow(inp: Blob, r: GprName, bits = 8): number {
  return Number(inp.gpr(gprIndex(r)) & ((1n << BigInt(bits)) - 1n));
}
export function dataOff(inp: Blob, r: GprName): number { return Number(inp.gpr(r) - DATA_ADDR); }
