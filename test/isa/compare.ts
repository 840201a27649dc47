// Compares a native and an emulated output blob under the masks (what is not architectural or is
// undefined for this case), and renders a mismatch so it can be diagnosed from the log alone.
import {
  BLOB_SIZE, Blob, FIELDS, GPR_NAMES, OFF_FX, OFF_GPR, OFF_MEM, OFF_RFLAGS, FX_FSW, FX_MXCSR_MASK, FX_XMM0, PAGE_SIZE,
  DATA_ADDR, VECTOR_NAMES, fieldAt, hex,
} from './blob.js';
import { disassembly } from './assemble.js';
import { type Form, type Undef, parseMemOps } from './formkit.js';

/** Bytes never compared: FOP/FIP/FDP (host code addresses), MXCSR_MASK (a CPU-model constant), ST padding, reserved area.
 * RFLAGS.RF is compared: both vendors set it in the frame of a fault (osvemu: interrupts.ts isFaultVector). */
const BASE_MASK: Uint8Array = (() => {
  const m = new Uint8Array(BLOB_SIZE).fill(0xff);
  m.fill(0, OFF_FX + 6, OFF_FX + 24);
  m.fill(0, OFF_FX + FX_MXCSR_MASK, OFF_FX + FX_MXCSR_MASK + 4);
  for (let i = 0; i < 8; i++) m.fill(0, OFF_FX + 32 + 16 * i + 10, OFF_FX + 32 + 16 * i + 16);
  m.fill(0, OFF_FX + 416, OFF_FX + 512);
  return m;
})();

/** The compare mask for one case: bit set = compared. */
export function caseMask(form: Form, input: Blob, native: Blob): Uint8Array {
  return undefMask(native.vector === 3 && form.undef ? form.undef(input) : null);
}

/** The compare mask given the case's undefined state (null: the case did not end normally, or nothing is undefined). */
export function undefMask(u: Undef | null): Uint8Array {
  const m = BASE_MASK.slice();
  if (u) applyUndef(m, u);
  return m;
}

function applyUndef(m: Uint8Array, u: Undef): void {
  if (u.flags) for (let i = 0; i < 4; i++) m[OFF_RFLAGS + i]! &= ~((u.flags >>> (8 * i)) & 0xff);
  for (const r of u.gprs ?? []) m.fill(0, OFF_GPR + 8 * GPR_NAMES.indexOf(r), OFF_GPR + 8 * GPR_NAMES.indexOf(r) + 8);
  for (const [off, len] of u.mem ?? []) {
    const a = Math.max(0, off); const b = Math.min(PAGE_SIZE, off + len);
    if (b > a) m.fill(0, OFF_MEM + a, OFF_MEM + b);
  }
  if (u.fsw) { m[OFF_FX + FX_FSW]! &= ~(u.fsw & 0xff); m[OFF_FX + FX_FSW + 1]! &= ~(u.fsw >> 8); }
  for (const x of u.xmm ?? []) m.fill(0, OFF_FX + FX_XMM0 + 16 * x, OFF_FX + FX_XMM0 + 16 * x + 16);
}

// Aligned scratch copies so the comparison runs on 32-bit words (blobs from the harness pipe are unaligned views).
const sa = new Uint32Array(BLOB_SIZE / 4); const sb = new Uint32Array(BLOB_SIZE / 4); const sm = new Uint32Array(BLOB_SIZE / 4);
const sa8 = new Uint8Array(sa.buffer); const sb8 = new Uint8Array(sb.buffer); const sm8 = new Uint8Array(sm.buffer);

/** Index of the first differing compared byte, or -1. */
export function firstDiff(a: Uint8Array, b: Uint8Array, mask: Uint8Array): number {
  sa8.set(a); sb8.set(b); sm8.set(mask);
  for (let w = 0; w < sa.length; w++) {
    if ((sa[w]! ^ sb[w]!) & sm[w]!) {
      for (let i = 4 * w; i < 4 * w + 4; i++) if ((a[i]! ^ b[i]!) & mask[i]!) return i;
    }
  }
  return -1;
}

function maskedFieldDiffers(a: Uint8Array, b: Uint8Array, mask: Uint8Array, s: number, e: number): boolean {
  for (let i = s; i < e; i++) if ((a[i]! ^ b[i]!) & mask[i]!) return true;
  return false;
}

export interface Mismatch {
  form: Form; seed: number; index: number; code: Uint8Array; input: Blob; native: Blob; emulated: Blob; mask: Uint8Array;
}

/** Multi-line report: form, seed, case, code bytes, input registers, and every differing field side by side. */
export function formatMismatch(x: Mismatch): string {
  const { input, native: n, emulated: e, mask } = x;
  const L: string[] = [];
  L.push(`FORM  ${x.form.name}`);
  L.push(`      seed=${x.seed} case=${x.index} code=${hex(x.code, ' ')}  (rerun: OSVEMU_ISA_SEED=${x.seed} OSVEMU_ISA_FORM='${x.form.name}')`);
  L.push(`      code: ${safeDisasm(x.form.asm)}`);
  L.push(`      native ended: ${endString(n)}   emulated ended: ${endString(e)}`);
  L.push('  input:');
  const regs = GPR_NAMES.map((r, i) => `${r.padStart(3)}=${input.gpr(i).toString(16).padStart(16, '0')}`);
  for (let i = 0; i < 16; i += 4) L.push('    ' + regs.slice(i, i + 4).join(' '));
  for (const f of FIELDS) {
    if (['rflags', 'fcw', 'fsw', 'ftw(abridged)', 'mxcsr'].includes(f.name)) L.push(`    ${f.name.padEnd(14)} ${f.show(input.bytes.subarray(f.start, f.end))}`);
  }
  for (const m of parseMemOps(x.form.asm)) {
    if (m.addr32) continue;
    const reg = (r?: string) => (r ? input.gpr(GPR_NAMES.indexOf(r as (typeof GPR_NAMES)[number])) : 0n);
    const ea = BigInt.asUintN(64, reg(m.base) + reg(m.index) * BigInt(m.scale) + BigInt(m.disp));
    const off = Number(ea - DATA_ADDR);
    const bytes = off >= 0 && off < PAGE_SIZE ? hex(input.mem.subarray(off, Math.min(PAGE_SIZE, off + 16)), ' ') : '(outside the data page)';
    L.push(`    mem operand    0x${ea.toString(16)} (page+0x${off.toString(16)}): ${bytes}`);
  }
  for (const m of new Set(x.form.asm.match(/%xmm\d+/g) ?? [])) {
    const i = Number(m.slice(4));
    L.push(`    ${`xmm${i}`.padEnd(14)} ${FIELDS.find((f) => f.name === `xmm${i}`)!.show(input.xmm(i))}`);
  }
  const touchedX87 = input.ftw !== 0 || n.ftw !== 0 || /^\s*f/.test(x.form.asm);
  if (touchedX87) for (let i = 0; i < 8; i++) L.push(`    st${i}            ${FIELDS.find((f) => f.name === `st${i}`)!.show(input.st(i))}`);
  L.push('  differences (field: native | emulated):');
  for (const f of FIELDS) {
    if (!maskedFieldDiffers(n.bytes, e.bytes, mask, f.start, f.end)) continue;
    const a = n.bytes.subarray(f.start, f.end); const b = e.bytes.subarray(f.start, f.end);
    let note = '';
    if (f.name === 'rflags') {
      const diff = (Number(new DataView(a.buffer, a.byteOffset, 8).getBigUint64(0, true)) ^ Number(new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true)));
      note = `  differing compared bits: 0x${(diff & (mask[OFF_RFLAGS]! | (mask[OFF_RFLAGS + 1]! << 8) | (mask[OFF_RFLAGS + 2]! << 16))).toString(16)}`;
    }
    L.push(`    ${f.name.padEnd(14)} ${f.show(a)}`);
    L.push(`    ${''.padEnd(14)} ${f.show(b)}${note}`);
  }
  // Memory: show 16-byte rows around each differing run (at most 8 rows).
  let rows = 0;
  for (let row = 0; row < PAGE_SIZE && rows < 8; row += 16) {
    if (!maskedFieldDiffers(n.bytes, e.bytes, mask, OFF_MEM + row, OFF_MEM + row + 16)) continue;
    rows++;
    const s = OFF_MEM + row;
    L.push(`    mem[0x${row.toString(16).padStart(3, '0')}] in  ${hex(input.bytes.subarray(s, s + 16), ' ')}`);
    L.push(`                  nat ${hex(n.bytes.subarray(s, s + 16), ' ')}`);
    L.push(`                  emu ${hex(e.bytes.subarray(s, s + 16), ' ')}`);
  }
  return L.join('\n');
}

/** Triage key of a mismatch: how each side ended and which fields differ (memory folded into "mem"). */
export function triageKey(native: Blob, emulated: Blob, mask: Uint8Array): string {
  const fields: string[] = [];
  for (const f of FIELDS) if (maskedFieldDiffers(native.bytes, emulated.bytes, mask, f.start, f.end)) fields.push(f.name);
  if (maskedFieldDiffers(native.bytes, emulated.bytes, mask, OFF_MEM, OFF_MEM + PAGE_SIZE)) fields.push('mem');
  const v = (b: Blob) => `${b.vector === 0xffffffff ? 'timeout' : b.vector}${VECTOR_NAMES[b.vector] ? ` ${VECTOR_NAMES[b.vector]!.split(' ')[0]}` : ''}`;
  return `native ${v(native)} / emulated ${v(emulated)} / differ: ${fields.join(',')}`;
}

function endString(b: Blob): string {
  return `vector ${b.vector}${VECTOR_NAMES[b.vector] ? ` ${VECTOR_NAMES[b.vector]}` : ''} rip=0x${b.rip.toString(16)}` +
    (b.vector === 14 ? ` cr2=0x${b.faultAddr.toString(16)} err=0x${b.errorCode.toString(16)}` : b.vector === 13 ? ` err=0x${b.errorCode.toString(16)}` : '');
}

function safeDisasm(asm: string): string {
  try { return disassembly(asm).join(' ; '); } catch { return asm; }
}

export { fieldAt };
