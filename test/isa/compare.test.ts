// Unit tests of the comparison masks, the mismatch report, the undefined-flag rules and the mnemonic keys.
import { describe, expect, it } from 'vitest';
import { Blob, FLAG, OFF_FX, OFF_MEM, OFF_RFLAGS, newInput } from './blob.js';
import { caseMask, firstDiff, formatMismatch } from './compare.js';
import { form, shiftUndef, shldUndef } from './formkit.js';
import { mnemonicKey } from './mnemonics.js';

function out(vector: number): Blob {
  const b = newInput();
  b.dv.setUint32(144, vector, true);
  return b;
}

describe('compare masks', () => {
  const f = form('shl %cl,%rax', { undef: shiftUndef('shl', 64, (inp) => Number(inp.gpr('rcx') & 0xffn)) });

  it('ignores FOP/FIP/FDP and MXCSR_MASK but nothing else by default (RF included)', () => {
    const a = out(3); const b = out(3);
    b.bytes[OFF_FX + 8] = 0x55; // FIP
    b.bytes[OFF_FX + 29] = 0xff; // MXCSR_MASK
    const inp = newInput(); inp.setGpr('rcx', 0n);
    expect(firstDiff(a.bytes, b.bytes, caseMask(f, inp, a))).toBe(-1);
    b.bytes[OFF_MEM + 4095] ^= 1;
    expect(firstDiff(a.bytes, b.bytes, caseMask(f, inp, a))).toBe(OFF_MEM + 4095);
    b.bytes[OFF_MEM + 4095] ^= 1;
    b.rflags = a.rflags | FLAG.RF; // both vendors set RF in a fault frame: compared
    expect(firstDiff(a.bytes, b.bytes, caseMask(f, inp, a))).toBe(OFF_RFLAGS + 2);
  });

  it('masks undefined flags only when the case ended normally', () => {
    const inp = newInput(); inp.setGpr('rcx', 5n);
    const a = out(3); const b = out(3); b.rflags = a.rflags | FLAG.OF | FLAG.AF;
    expect(firstDiff(a.bytes, b.bytes, caseMask(f, inp, a))).toBe(-1);
    const fa = out(14); const fb = out(14); fb.rflags = fa.rflags | FLAG.OF;
    expect(firstDiff(fa.bytes, fb.bytes, caseMask(f, inp, fa))).toBe(OFF_RFLAGS + 1);
  });

  it('reports form, seed, case, fields and memory rows', () => {
    const inp = newInput(); inp.setGpr('rcx', 1n);
    const a = out(3); const b = out(3);
    b.setGpr('rdx', 0x1234n); b.st(0)[9] = 0x40; b.bytes[OFF_MEM + 0x20] = 7; b.rflags = a.rflags | FLAG.CF;
    const text = formatMismatch({ form: f, seed: 42, index: 3, code: new Uint8Array([0x48, 0xd3, 0xe0]), input: inp, native: a, emulated: b, mask: caseMask(f, inp, a) });
    for (const s of ['FORM  shl %cl,%rax', 'seed=42 case=3', '48 d3 e0', 'rdx', 'st0', '4000:0000000000000000', 'mem[0x020]', 'rflags', 'differing compared bits: 0x1']) {
      expect(text).toContain(s);
    }
  });
});

describe('undefined-state rules', () => {
  const cnt = (n: number) => () => n;
  const inp = newInput();
  it('shifts: nothing for count 0, AF for count 1, OF too above 1, CF when an 8/16-bit shl/shr count reaches the width', () => {
    expect(shiftUndef('shl', 32, cnt(0))(inp)).toEqual({});
    expect(shiftUndef('shl', 32, cnt(32))(inp)).toEqual({}); // masked to 0
    expect(shiftUndef('shl', 32, cnt(1))(inp).flags).toBe(FLAG.AF);
    expect(shiftUndef('sar', 64, cnt(3))(inp).flags).toBe(FLAG.AF | FLAG.OF);
    expect(shiftUndef('shr', 8, cnt(8))(inp).flags).toBe(FLAG.AF | FLAG.OF | FLAG.CF);
    expect(shiftUndef('rol', 8, cnt(9))(inp).flags).toBe(FLAG.OF);
    expect(shiftUndef('rcl', 16, cnt(1))(inp).flags ?? 0).toBe(0);
  });
  it('shld 16-bit with a count above 16 makes the destination and all flags undefined', () => {
    expect(shldUndef(16, cnt(20), 'rax', () => 0)(inp).gprs).toEqual(['rax']);
    expect(shldUndef(16, cnt(16), 'rax', () => 0)(inp).gprs).toBeUndefined();
  });
});

describe('mnemonic keys', () => {
  it('folds AT&T suffixes and keeps prefixes', () => {
    const cases: [string, string][] = [['movzbl', 'movzx'], ['movslq', 'movsxd'], ['cmpq', 'cmp'], ['lock addl', 'lock add'],
      ['rep movsq', 'rep movs'], ['rep stos', 'rep stos'], ['fldt', 'fld'], ['fldl2e', 'fldl2e'], ['fistpll', 'fistp'], ['movq', 'movq'],
      ['movsd', 'movsd'], ['movsb', 'movs'], ['cmpnlesd', 'cmpnlesd'], ['cvtsi2sdl', 'cvtsi2sd'], ['nopw', 'nop'], ['shll', 'shl'],
      ['shl', 'shl'], ['cltq', 'cdqe'], ['fsubrs', 'fsubr'], ['fsubrp', 'fsubrp'], ['cs nopw 0x0(%rax,%rax,1)', 'nop'],
      ['repz cmpsb %es:(%rdi),%ds:(%rsi)', 'repe cmps'], ['(bad)', '(bad)'], ['call', 'call'], ['incl', 'inc']];
    for (const [m, k] of cases) expect(mnemonicKey(m), m).toBe(k);
  });
});
