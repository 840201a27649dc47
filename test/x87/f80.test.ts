// Bit-exact differential test of the software f80 unit against the host CPU's x87.
import { describe, expect, it } from 'vitest';
import { Rng, anyValue, controlWord, f32Bits, f64Bits, intBits, normal, partner, special, type V80 } from './gen.js';
import { FSW_MASK, OP, model } from './model.js';
import { oracleAvailable, runOracle, type Case } from './oracle.js';

const FULL = process.env.OSVEMU_ISA_FULL === '1';
const N = FULL ? 100_000 : 3000;
const hx = (v: number) => (v >>> 0).toString(16);
const v80 = (v: readonly number[]) => `${hx(v[0])}:${hx(v[1])}:${hx(v[2])}`;

function diff(cases: Case[]): string[] {
  const host = runOracle(cases);
  const bad: string[] = [];
  for (let i = 0; i < cases.length; i++) {
    const c = cases[i];
    const h = host[i];
    const m = model(c);
    const probs: string[] = [];
    if ((h.fsw & FSW_MASK) !== m.fsw) probs.push(`fsw host ${hx(h.fsw & FSW_MASK)} model ${hx(m.fsw)}`);
    if (m.checkSt0 && (h.st0[0] !== m.st0[0] || h.st0[1] !== m.st0[1] || h.st0[2] !== m.st0[2]))
      probs.push(`st0 host ${v80(h.st0)} model ${v80(m.st0)}`);
    if (m.checkMem && (h.mem[0] !== m.mem[0] || h.mem[1] !== m.mem[1]))
      probs.push(`mem host ${hx(h.mem[0])}:${hx(h.mem[1])} model ${hx(m.mem[0])}:${hx(m.mem[1])}`);
    if (m.checkSt1 && (h.st1[0] !== m.st1[0] || h.st1[1] !== m.st1[1] || h.st1[2] !== m.st1[2]))
      probs.push(`st1 host ${v80(h.st1)} model ${v80(m.st1)}`);
    if (m.checkEflags && (h.eflags & 0x45) !== m.eflags) probs.push(`eflags host ${hx(h.eflags & 0x45)} model ${hx(m.eflags)}`);
    if (probs.length) bad.push(`op ${c.op} cw ${hx(c.cw)} a ${v80(c.a)} b ${v80(c.b)}: ${probs.join('; ')}`);
  }
  return bad;
}

function gen(op: number, seed: number, mk: (r: Rng) => { a: V80; b: V80 }): Case[] {
  const r = new Rng(seed);
  const out: Case[] = [];
  for (let i = 0; i < N; i++) {
    const { a, b } = mk(r);
    out.push({ op, cw: controlWord(r), a, b });
  }
  return out;
}

const pair = (r: Rng) => {
  const a = anyValue(r);
  return { a, b: partner(r, a) };
};
const premPair = (r: Rng) => {
  if (r.int(5) === 0) return pair(r);
  const a = normal(r, 200);
  const [h, l] = normal(r, 0).slice(1);
  const e = Math.max(1, (a[0] & 0x7fff) - (r.int(3) === 0 ? r.int(300) : r.int(70)) + 2);
  return { a, b: [(r.int(2) << 15) | e, h, l] as V80 };
};
const one = (r: Rng) => ({ a: anyValue(r), b: [0, 0, 0] as V80 });
const avail = oracleAvailable();

describe.skipIf(!avail)('f80 vs host x87', () => {
  const ops: [string, number, (r: Rng) => { a: V80; b: V80 }][] = [
    ['fadd', OP.add, pair], ['fsub', OP.sub, pair], ['fsubr', OP.subr, pair],
    ['fmul', OP.mul, pair], ['fdiv', OP.div, pair], ['fdivr', OP.divr, pair],
    ['fsqrt', OP.sqrt, one], ['frndint', OP.rndint, one],
    ['fscale', OP.scale, (r) => ({ a: anyValue(r), b: r.int(3) ? [(r.int(2) << 15) | (0x3fff + r.int(16)), r.u32() | 0x80000000, 0] : special(r) })],
    ['fprem', OP.prem, premPair], ['fprem1', OP.prem1, premPair], ['fxtract', OP.xtract, one],
    ['fcom', OP.com, pair], ['fucom', OP.ucom, pair], ['fcomi', OP.comi, pair], ['fucomi', OP.ucomi, pair],
    ['ftst', OP.tst, one], ['fxam', OP.xam, one],
    ['fld m32', OP.ld32, (r) => ({ a: [0, 0, f32Bits(r)], b: [0, 0, 0] })],
    ['fld m64', OP.ld64, (r) => { const [h, l] = f64Bits(r); return { a: [0, h, l], b: [0, 0, 0] }; }],
    ['fild m16', OP.ild16, (r) => ({ a: [0, 0, intBits(r)[1]], b: [0, 0, 0] })],
    ['fild m32', OP.ild32, (r) => ({ a: [0, 0, intBits(r)[1]], b: [0, 0, 0] })],
    ['fild m64', OP.ild64, (r) => { const [h, l] = intBits(r); return { a: [0, h, l], b: [0, 0, 0] }; }],
    ['fst m32', OP.st32, one], ['fst m64', OP.st64, one],
    ['fistp m16', OP.ist16, one], ['fistp m32', OP.ist32, one], ['fistp m64', OP.ist64, one],
    ['fisttp m16', OP.istt16, one], ['fisttp m32', OP.istt32, one], ['fisttp m64', OP.istt64, one],
  ];
  const memNames = ['fadd', 'fsub', 'fsubr', 'fmul', 'fdiv', 'fdivr', 'fcom'];
  for (let k = 0; k < 14; k++) {
    const m64 = k >= 7;
    ops.push([`${memNames[k % 7]} ${m64 ? 'm64' : 'm32'}`, OP.memBase + k, (r) => {
      const b: V80 = m64 ? [0, ...f64Bits(r)] : [0, 0, f32Bits(r)];
      const a = r.int(4) === 0 ? anyValue(r) : m64 ? normal(r, 1100) : normal(r, 140);
      return { a, b };
    }]);
  }
  for (const [name, op, mk] of ops) {
    it(`${name} matches bit for bit`, () => {
      const bad = diff(gen(op, 0x9e3779b9 ^ (op * 7919), mk));
      expect(bad.slice(0, 12), `${bad.length} mismatches`).toEqual([]);
    });
  }
  it('constants and empty fxam match under every RC', () => {
    const cases: Case[] = [];
    for (let k = 0; k < 7; k++)
      for (let rc = 0; rc < 4; rc++) cases.push({ op: OP.constBase + k, cw: 0x37f | (rc << 10), a: [0, 0, 0], b: [0, 0, 0] });
    cases.push({ op: OP.xamEmpty, cw: 0x37f, a: [0, 0, 0], b: [0, 0, 0] });
    expect(diff(cases)).toEqual([]);
  });
});
