// The 4768-byte "state blob" shared by the native harness and the emulator (see test/isa/README.md).
// This module only knows the layout: offsets, typed accessors, and a decoder into named fields for diffs.

export const BLOB_SIZE = 4768;
export const OFF_GPR = 0;
export const OFF_RFLAGS = 128;
export const OFF_RIP = 136;
export const OFF_VECTOR = 144;
export const OFF_ERR = 148;
export const OFF_FAULT = 152;
export const OFF_FX = 160;
export const OFF_MEM = 672;
export const CODE_MAX = 15;

export const DATA_ADDR = 0x1_0000_0000n;
export const CODE_ADDR = 0x2_0000_0000n;
export const PAGE_SIZE = 4096;

// Offsets inside the FXSAVE image.
export const FX_FCW = 0;
export const FX_FSW = 2;
export const FX_FTW = 4;
export const FX_MXCSR = 24;
export const FX_MXCSR_MASK = 28;
export const FX_ST0 = 32;
export const FX_XMM0 = 160;

export const GPR_NAMES = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi',
  'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'] as const;
export type GprName = (typeof GPR_NAMES)[number];

export const VECTOR_NAMES: Record<number, string> = {
  0: '#DE', 1: '#DB', 3: '#BP (int3: normal end)', 6: '#UD', 7: '#NM', 12: '#SS', 13: '#GP', 14: '#PF',
  16: '#MF', 17: '#AC', 19: '#XM', 0xffffffff: 'timeout (case never ended)',
};

export const FLAG = {
  CF: 1 << 0, PF: 1 << 2, AF: 1 << 4, ZF: 1 << 6, SF: 1 << 7, TF: 1 << 8, IF: 1 << 9,
  DF: 1 << 10, OF: 1 << 11, RF: 1 << 16, AC: 1 << 18, ID: 1 << 21,
} as const;
export const STATUS_FLAGS = FLAG.CF | FLAG.PF | FLAG.AF | FLAG.ZF | FLAG.SF | FLAG.OF;

export function gprIndex(name: string): number {
  const i = (GPR_NAMES as readonly string[]).indexOf(name);
  if (i < 0) throw new Error(`unknown register ${name}`);
  return i;
}

/** Typed view on one blob; all 64-bit values as bigint (test code only). */
export class Blob {
  readonly bytes: Uint8Array;
  readonly dv: DataView;
  /** The data page image (4096 bytes). */
  readonly mem: Uint8Array;
  constructor(bytes?: Uint8Array) {
    this.bytes = bytes ?? new Uint8Array(BLOB_SIZE);
    if (this.bytes.length !== BLOB_SIZE) throw new Error(`state blob must be ${BLOB_SIZE} bytes, got ${this.bytes.length}`);
    this.dv = new DataView(this.bytes.buffer, this.bytes.byteOffset, BLOB_SIZE);
    this.mem = this.bytes.subarray(OFF_MEM, OFF_MEM + PAGE_SIZE);
  }
  gpr(i: number | GprName): bigint { return this.dv.getBigUint64(OFF_GPR + 8 * (typeof i === 'number' ? i : gprIndex(i)), true); }
  setGpr(i: number | GprName, v: bigint): void {
    this.dv.setBigUint64(OFF_GPR + 8 * (typeof i === 'number' ? i : gprIndex(i)), BigInt.asUintN(64, v), true);
  }
  get rflags(): number { return Number(this.dv.getBigUint64(OFF_RFLAGS, true)); }
  set rflags(v: number) { this.dv.setBigUint64(OFF_RFLAGS, BigInt(v >>> 0), true); }
  get rip(): bigint { return this.dv.getBigUint64(OFF_RIP, true); }
  set rip(v: bigint) { this.dv.setBigUint64(OFF_RIP, v, true); }
  get vector(): number { return this.dv.getUint32(OFF_VECTOR, true); }
  get errorCode(): number { return this.dv.getUint32(OFF_ERR, true); }
  get faultAddr(): bigint { return this.dv.getBigUint64(OFF_FAULT, true); }
  get fcw(): number { return this.dv.getUint16(OFF_FX + FX_FCW, true); }
  set fcw(v: number) { this.dv.setUint16(OFF_FX + FX_FCW, v, true); }
  get fsw(): number { return this.dv.getUint16(OFF_FX + FX_FSW, true); }
  set fsw(v: number) { this.dv.setUint16(OFF_FX + FX_FSW, v, true); }
  /** Abridged tag word: bit i = 1 when physical register i is valid. */
  get ftw(): number { return this.bytes[OFF_FX + FX_FTW]!; }
  set ftw(v: number) { this.bytes[OFF_FX + FX_FTW] = v; }
  get mxcsr(): number { return this.dv.getUint32(OFF_FX + FX_MXCSR, true); }
  set mxcsr(v: number) { this.dv.setUint32(OFF_FX + FX_MXCSR, v >>> 0, true); }
  /** ST(i) slot in FXSAVE order (ST0 = top of stack), 10 bytes. */
  st(i: number): Uint8Array { return this.bytes.subarray(OFF_FX + FX_ST0 + 16 * i, OFF_FX + FX_ST0 + 16 * i + 10); }
  xmm(i: number): Uint8Array { return this.bytes.subarray(OFF_FX + FX_XMM0 + 16 * i, OFF_FX + FX_XMM0 + 16 * i + 16); }
}

// ---------- formatting for diagnostics ----------

export function hex(bytes: Uint8Array, sep = ''): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(sep);
}
/** Little-endian bytes shown as one big hex number (most significant first). */
export function hexLE(bytes: Uint8Array): string {
  return Array.from(bytes).reverse().map((b) => b.toString(16).padStart(2, '0')).join('');
}
export function h64(v: bigint): string { return '0x' + v.toString(16).padStart(16, '0'); }

export function flagsString(f: number): string {
  const names: [string, number][] = [['OF', FLAG.OF], ['DF', FLAG.DF], ['IF', FLAG.IF], ['TF', FLAG.TF], ['SF', FLAG.SF],
    ['ZF', FLAG.ZF], ['AF', FLAG.AF], ['PF', FLAG.PF], ['CF', FLAG.CF], ['RF', FLAG.RF], ['AC', FLAG.AC], ['ID', FLAG.ID]];
  return names.filter(([, m]) => f & m).map(([n]) => n).join(' ') || '-';
}

/** One named field of the blob: [start, end) byte range plus a formatter. */
export interface Field { name: string; start: number; end: number; show: (b: Uint8Array) => string }

function le(b: Uint8Array): string { return '0x' + hexLE(b); }

export const FIELDS: Field[] = (() => {
  const f: Field[] = [];
  GPR_NAMES.forEach((n, i) => f.push({ name: n, start: OFF_GPR + 8 * i, end: OFF_GPR + 8 * i + 8, show: le }));
  f.push({
    name: 'rflags', start: OFF_RFLAGS, end: OFF_RFLAGS + 8,
    show: (b) => `${le(b)} [${flagsString(Number(new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true)))}]`,
  });
  f.push({ name: 'rip', start: OFF_RIP, end: OFF_RIP + 8, show: le });
  f.push({
    name: 'vector', start: OFF_VECTOR, end: OFF_VECTOR + 4,
    show: (b) => { const v = new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true); return `${v} ${VECTOR_NAMES[v] ?? ''}`; },
  });
  f.push({ name: 'errorCode', start: OFF_ERR, end: OFF_ERR + 4, show: le });
  f.push({ name: 'faultAddr', start: OFF_FAULT, end: OFF_FAULT + 8, show: le });
  const fx = OFF_FX;
  f.push({ name: 'fcw', start: fx, end: fx + 2, show: (b) => `${le(b)} ${fcwString(b[0]! | (b[1]! << 8))}` });
  f.push({ name: 'fsw', start: fx + 2, end: fx + 4, show: (b) => `${le(b)} ${fswString(b[0]! | (b[1]! << 8))}` });
  f.push({ name: 'ftw(abridged)', start: fx + 4, end: fx + 5, show: (b) => '0b' + b[0]!.toString(2).padStart(8, '0') });
  f.push({ name: 'fx[5]', start: fx + 5, end: fx + 6, show: le });
  f.push({ name: 'fop', start: fx + 6, end: fx + 8, show: le });
  f.push({ name: 'fip', start: fx + 8, end: fx + 16, show: le });
  f.push({ name: 'fdp', start: fx + 16, end: fx + 24, show: le });
  f.push({ name: 'mxcsr', start: fx + 24, end: fx + 28, show: (b) => `${le(b)} ${mxcsrString(b[0]! | (b[1]! << 8))}` });
  f.push({ name: 'mxcsr_mask', start: fx + 28, end: fx + 32, show: le });
  for (let i = 0; i < 8; i++) {
    const s = fx + FX_ST0 + 16 * i;
    f.push({ name: `st${i}`, start: s, end: s + 10, show: (b) => `${hexLE(b).replace(/^(.{4})/, '$1:')} (${f80ToString(b)})` });
    f.push({ name: `st${i}.pad`, start: s + 10, end: s + 16, show: le });
  }
  for (let i = 0; i < 16; i++) {
    const s = fx + FX_XMM0 + 16 * i;
    f.push({ name: `xmm${i}`, start: s, end: s + 16, show: (b) => `0x${hexLE(b.subarray(8))}_${hexLE(b.subarray(0, 8))}` });
  }
  f.push({ name: 'fx.reserved', start: fx + 416, end: fx + 512, show: (b) => hex(b) });
  return f;
})();

export function fieldAt(off: number): string {
  if (off >= OFF_MEM) return `mem[0x${(off - OFF_MEM).toString(16)}]`;
  return FIELDS.find((x) => off >= x.start && off < x.end)?.name ?? `byte ${off}`;
}

export function fcwString(v: number): string {
  const pc = ['single', 'reserved', 'double', 'extended'][(v >> 8) & 3];
  const rc = ['nearest', 'down', 'up', 'zero'][(v >> 10) & 3];
  return `[PC=${pc} RC=${rc} masks=${(v & 0x3f).toString(2).padStart(6, '0')}]`;
}
export function fswString(v: number): string {
  const bits = ['IE', 'DE', 'ZE', 'OE', 'UE', 'PE', 'SF', 'ES'].filter((_, i) => v & (1 << i));
  return `[TOP=${(v >> 11) & 7} C3=${(v >> 14) & 1} C2=${(v >> 10) & 1} C1=${(v >> 9) & 1} C0=${(v >> 8) & 1}${v & 0x8000 ? ' B' : ''} ${bits.join(' ')}]`;
}
export function mxcsrString(v: number): string {
  const flags = ['IE', 'DE', 'ZE', 'OE', 'UE', 'PE'].filter((_, i) => v & (1 << i));
  const rc = ['nearest', 'down', 'up', 'zero'][(v >> 13) & 3];
  return `[RC=${rc}${v & 0x8000 ? ' FTZ' : ''}${v & 0x40 ? ' DAZ' : ''} masks=${((v >> 7) & 0x3f).toString(2).padStart(6, '0')} flags=${flags.join(',') || '-'}]`;
}

/** Human-readable value of an 80-bit extended float (approximate, for diagnostics only). */
export function f80ToString(b: Uint8Array): string {
  let mant = 0n;
  for (let i = 7; i >= 0; i--) mant = (mant << 8n) | BigInt(b[i]!);
  const se = b[8]! | (b[9]! << 8);
  const sign = se & 0x8000 ? '-' : '+';
  const exp = se & 0x7fff;
  const j = mant >> 63n;
  const frac = mant & ((1n << 63n) - 1n);
  if (exp === 0x7fff) {
    if (frac === 0n) return j ? `${sign}inf` : `${sign}pseudo-inf`;
    if (!j) return `${sign}pseudo-nan`;
    return frac >> 62n ? `${sign}qnan` : `${sign}snan`;
  }
  if (exp === 0 && mant === 0n) return `${sign}0`;
  if (exp !== 0 && !j) return `${sign}unnormal`;
  const e = (exp === 0 ? 1 : exp) - 16383 - 63;
  // mant * 2^e as a double (loses precision past 53 bits, fine for a hint)
  const v = Number(mant) * Math.pow(2, e);
  return `${sign}${v.toPrecision(17)}${exp === 0 ? ' denormal' : ''}`;
}

/** A neutral input state: zero registers, rip at CODE, IF set, FPU/MXCSR in their power-on defaults. */
export function newInput(): Blob {
  const b = new Blob();
  b.rip = CODE_ADDR;
  b.rflags = 0x202;
  b.fcw = 0x37f;
  b.mxcsr = 0x1f80;
  return b;
}
