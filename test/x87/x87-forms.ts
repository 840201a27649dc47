// Extra x87 forms for the handler differential test (beyond test/isa/forms.ts): every compare,
// integer-operand arithmetic, stores from the whole 80-bit space, stack management,
// FNSAVE/FRSTOR, and #MF on the next waiting instruction.
import { type CaseCtx, type Form, type FormOpts, FSW_C023, form, mv, writeMem, writeMemU } from '../isa/formkit.js';
import type { Blob } from '../isa/blob.js';
import { f80Value } from '../isa/rng.js';

const C023 = { fsw: FSW_C023 };
export const X87_FORMS: Form[] = [];
const forms = X87_FORMS;
const add = (asm: string, depth: [number, number], o: FormOpts = {}) => forms.push(form(asm, { x87: depth, x87wild: true, ...o }));
const arith = (asm: string, depth: [number, number], o: FormOpts = {}) => add(asm, depth, { undef: () => C023, ...o });

/** Sometimes start with an unmasked exception pending (ES/B set), so waiting instructions raise #MF. */
const pending = (c: CaseCtx) => {
  if (!c.rng.chance(0.3)) return;
  const cw = c.b.fcw;
  const unmasked = ~cw & 0x3f;
  if (unmasked) c.b.fsw = c.b.fsw | (unmasked & -unmasked) | 0x8080;
};

// compares (C0-C3 all defined)
for (const a of ['fcom %st(2)', 'fcomp %st(2)', 'fcompp', 'fucom %st(2)', 'fucomp %st(2)', 'fucompp', 'ftst', 'fxam',
  'fcomi %st(3),%st', 'fucomip %st(2),%st', 'fcom %st(0)']) add(a, [0, 4]);
for (const [a, v, n] of [['fcoms', mv.f32, 4], ['fcompl', mv.f64, 8], ['ficoms', mv.int(2), 2], ['ficompl', mv.int(4), 4]] as const) {
  add(`${a} (%rsi)`, [0, 3], { msize: n, memval: v });
}
// arithmetic over the whole 80-bit space, reversed/popping register forms, integer memory operands
for (const a of ['fadd %st(2),%st', 'fsubrp %st,%st(3)', 'fdivp %st,%st(1)', 'fdivrp %st,%st(1)', 'fsubp %st,%st(2)',
  'fmul %st(0),%st', 'fsub %st,%st(1)', 'fdivr %st,%st(2)', 'fsqrt', 'frndint', 'fscale', 'fchs', 'fabs', 'fxtract']) arith(a, [0, 4]);
// C0-C3 are defined for FPREM/FPREM1 (quotient bits / incomplete)
for (const a of ['fprem', 'fprem1']) add(a, [0, 4]);
add('fxtract', [6, 8], { undef: () => C023, tag: 'full stack' });
for (const [a, n] of [['fiadds', 2], ['fiaddl', 4], ['fisubl', 4], ['fisubrs', 2], ['fimull', 4], ['fidivl', 4], ['fidivrs', 2]] as const) {
  arith(`${a} (%rsi)`, [0, 3], { msize: n, memval: mv.int(n) });
}
arith('fdivrs (%rsi)', [0, 3], { msize: 4, memval: mv.f32, tag: 'wild st' });
arith('fmull (%rsi)', [0, 3], { msize: 8, memval: mv.f64, tag: 'wild st' });
// stores from the whole 80-bit space
for (const [a, n] of [['fistps', 2], ['fistl', 4], ['fisttps', 2], ['fisttpl', 4], ['fisttpll', 8], ['fsts', 4], ['fstpl', 8], ['fstpt', 10]] as const) {
  arith(`${a} (%rsi)`, [0, 3], { msize: n, tag: 'wild' });
}
arith('fldt (%rsi)', [0, 8], { msize: 10, memval: mv.f80(true), tag: 'wild' });
arith('fildll (%rsi)', [6, 8], { msize: 8, memval: mv.int(8), tag: 'full stack' });
// stack management
for (const a of ['ffree %st(2)', 'fincstp', 'fdecstp', 'fld %st(1)', 'fxch %st(1)', 'fstp %st(3)', 'fnop', 'fld1']) arith(a, [0, 8]);
// undocumented aliases: ffreep, fstp1 (D9 D8+i), fxch7 (DF C8+i), fstp8 (DF D0+i), fcom2 (DC D0+i), fcomp5 (DE D0+i), feni,
// and fxch4 (DD C8+i), fstp9 (DF D8+i), fcomp3 (DC D8+i)
for (const a of ['ffreep %st(1)', '.byte 0xd9,0xd9', '.byte 0xdf,0xc9', '.byte 0xdf,0xd2', '.byte 0xdb,0xe0', '.byte 0xdd,0xca',
  '.byte 0xdf,0xdb']) arith(a, [0, 8]);
for (const a of ['.byte 0xdc,0xd1', '.byte 0xde,0xd1', '.byte 0xdc,0xda']) add(a, [0, 4]);
// packed BCD: fbld over valid and invalid digits and both signs; fbstp from the whole 80-bit space, from
// integers and from fractions around the 10^18 limit (rounded per the varied RC)
const bcdValue = (c: CaseCtx, off: number) => {
  const r = c.rng;
  const b = new Uint8Array(10);
  const digits = r.pick([0, 1, 2, 9, 17, 18, r.int(19)]);
  for (let d = 0; d < digits; d++) {
    const v = r.chance(0.05) ? 10 + r.int(6) : r.int(10);
    b[d >> 1]! |= v << ((d & 1) * 4);
  }
  b[9] = (r.chance(0.5) ? 0x80 : 0) | (r.chance(0.1) ? r.int(128) : 0);
  writeMem(c.b, off, b);
};
const nearLimit = (c: CaseCtx, off: number) => {
  const r = c.rng;
  const E18 = 10n ** 18n;
  let m = r.pick([E18 - 1n, E18, E18 + 1n, 2n * E18 - 1n, 2n * E18 + 1n, 5n, 1n, 0n, r.u64() >> BigInt(r.int(64)), (r.u64() % E18)]);
  const k = r.pick([0, 0, 1, 2, 3, r.int(70)]);
  const bytes = new Uint8Array(10);
  if (m !== 0n) {
    let e = 16383 + 63 - k;
    while (!(m >> 63n)) { m <<= 1n; e--; }
    for (let i = 0; i < 8; i++) bytes[i] = Number((m >> BigInt(8 * i)) & 0xffn);
    bytes[8] = e & 0xff;
    bytes[9] = (e >> 8) & 0x7f;
  }
  if (r.chance(0.5)) bytes[9]! |= 0x80;
  writeMem(c.b, off, bytes);
};
arith('fbld (%rsi)', [0, 8], { msize: 10, memval: bcdValue });
arith('fbstp (%rsi)', [0, 3], { msize: 10, tag: 'wild' });
arith('fldt (%rsi); fbstp (%rsi)', [0, 3], { msize: 10, memval: nearLimit, tag: 'near 10^18' });
arith('fildll (%rsi); fbstp (%rsi)', [0, 3], { msize: 10, memval: mv.int(8) });
// (f64 denormals are flushed to zero here: with DE unmasked FLD m64 of a denormal pushes it on the AMD host but not
// in osvemu, a FLD question, not an FBSTP one)
const f64NoDenormal = (c: CaseCtx, off: number) => {
  mv.f64(c, off);
  const m = c.b.mem;
  if (off >= 0 && off + 8 <= m.length && (m[off + 7]! & 0x7f) === 0 && (m[off + 6]! & 0xf0) === 0) m.fill(0, off, off + 7);
};
arith('fldl (%rsi); fbstp (%rsi)', [0, 3], { msize: 10, memval: f64NoDenormal });
arith('fbld (%rsi); fbstp (%rsi)', [0, 3], { msize: 10, memval: bcdValue, tag: 'round trip' });
// environment
add('fnsave (%rsi)', [0, 8], { msize: 108, undef: (inp) => ({ mem: [[Number(inp.gpr('rsi') - 0x1_0000_0000n) + 12, 16]] }) });
add('frstor (%rsi)', [0, 8], {
  msize: 108,
  memval: (c, off) => {
    const r = c.rng;
    writeMemU(c.b, off, BigInt(0x037f & ~(r.chance(0.2) ? r.int(64) : 0) | (r.int(16) << 8)), 4);
    writeMemU(c.b, off + 4, BigInt((r.u32() & 0x7f00) | (r.chance(0.2) ? r.int(64) : 0)), 4);
    writeMemU(c.b, off + 8, BigInt(r.u32() & 0xffff), 4);
    writeMem(c.b, off + 12, new Uint8Array(16));
    for (let i = 0; i < 8; i++) writeMem(c.b, off + 28 + 10 * i, f80Value(r, true));
  },
});
// do FLDENV / FRSTOR / FNSTENV / FNSAVE / FXSAVE wait for a pending exception?
for (const [a, n] of [['fldenv', 28], ['frstor', 108], ['fnstenv', 28], ['fnsave', 108]] as const) {
  add(`${a} (%rsi)`, [1, 4], { msize: n, setup: pending, tag: 'pending', undef: (inp) => ({ mem: [[Number(inp.gpr('rsi') - 0x1_0000_0000n) + 12, 16]] }) });
}
add('fxsave64 (%rsi)', [1, 4], { msize: 512, align: 16, edge: 0, setup: pending, tag: 'pending', undef: (inp) => {
  const off = Number(inp.gpr('rsi') - 0x1_0000_0000n);
  const mem: [number, number][] = [[off + 6, 18], [off + 28, 4], [off + 416, 96]];
  for (let i = 0; i < 8; i++) mem.push([off + 32 + 16 * i + 10, 6]);
  return { mem };
} });
// environment images straddling the end of the data page: which byte the fault reports (CR2)
for (const [a, n] of [['fldenv', 28], ['fnstenv', 28], ['frstor', 108], ['fnsave', 108]] as const) {
  add(`${a} (%rsi)`, [1, 4], {
    msize: n, tag: 'page edge',
    setup: (c) => c.b.setGpr('rsi', 0x1_0000_0000n + BigInt(0x1000 - n - 4 + c.rng.int(n + 8))),
    undef: (inp) => ({ mem: [[Number(inp.gpr('rsi') - 0x1_0000_0000n) + 12, 16]] }),
  });
}
// the 16-bit (66) images: 14-byte environment, FNSAVE registers at 14; FIP at 6 and FDP at 10 are never compared
const ptr16 = (inp: Blob) => {
  const off = Number(inp.gpr('rsi') - 0x1_0000_0000n);
  return { mem: [[off + 6, 2], [off + 10, 2]] as [number, number][] };
};
for (const [a, n] of [['fldenvs', 14], ['fnstenvs', 14], ['frstors', 94], ['fnsaves', 94]] as const) {
  add(`${a} (%rsi)`, [1, 4], { msize: n, setup: pending, tag: 'pending', undef: ptr16 });
  add(`${a} (%rsi)`, [1, 4], {
    msize: n, tag: 'page edge', undef: ptr16,
    setup: (c) => c.b.setGpr('rsi', 0x1_0000_0000n + BigInt(0x1000 - n - 4 + c.rng.int(n + 8))),
  });
}
add('frstors (%rsi)', [0, 8], {
  msize: 94, undef: ptr16,
  memval: (c, off) => {
    const r = c.rng;
    writeMemU(c.b, off, BigInt(0x037f & ~(r.chance(0.2) ? r.int(64) : 0) | (r.int(16) << 8)), 2);
    writeMemU(c.b, off + 2, BigInt((r.u32() & 0x7f00) | (r.chance(0.2) ? r.int(64) : 0)), 2);
    writeMemU(c.b, off + 4, BigInt(r.u32() & 0xffff), 2);
    writeMem(c.b, off + 6, new Uint8Array(8));
    for (let i = 0; i < 8; i++) writeMem(c.b, off + 14 + 10 * i, f80Value(r, true));
  },
});
// #MF: an unmasked exception makes the next waiting instruction fault (and FN* ones not)
for (const a of ['fwait', 'fadd %st(1),%st', 'fnstsw %ax', 'fnclex', 'fninit', 'fdiv %st(1),%st; fwait',
  'fsqrt; fwait', 'fldcw (%rsi); fwait']) {
  arith(a, [2, 4], { setup: pending, msize: 2, memval: (c, off) => writeMemU(c.b, off, BigInt(0x0340 | c.rng.int(64) | (c.rng.int(4) << 10)), 2) });
}

