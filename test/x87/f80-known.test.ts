// Known-answer tests of the f80 unit that need no host x87 (the oracle suite covers the rest).
import { describe, expect, it } from 'vitest';
import * as F from '../../src/cpu/x87/f80.js';

const hx = () => [F.OUT[0], F.OUT[1], F.OUT[2]].map((v) => v.toString(16)).join(':');
const ONE = [0x3fff, 0x80000000, 0] as const;
const THREE = [0x4000, 0xc0000000, 0] as const;
const cwFor = (pc: number, rc: number) => 0x7f | (pc << 8) | (rc << 10);

describe('f80 known answers', () => {
  it('1/3 is rounded to the precision control width', () => {
    expect(F.f80Div(...ONE, ...THREE, cwFor(3, 0)) & F.FL_PE).toBe(F.FL_PE);
    expect(hx()).toBe('3ffd:aaaaaaaa:aaaaaaab');
    F.f80Div(...ONE, ...THREE, cwFor(2, 0));
    expect(hx()).toBe('3ffd:aaaaaaaa:aaaaa800');
    F.f80Div(...ONE, ...THREE, cwFor(0, 0));
    expect(hx()).toBe('3ffd:aaaaab00:0');
    const f = F.f80Div(...ONE, ...THREE, cwFor(3, F.RC_ZERO));
    expect(hx()).toBe('3ffd:aaaaaaaa:aaaaaaaa');
    expect(f & F.FL_C1).toBe(0);
  });

  it('sqrt(2), pi and the x - x zero sign under RC=down', () => {
    F.f80Sqrt(0x4000, 0x80000000, 0, 0x37f);
    expect(hx()).toBe('3fff:b504f333:f9de6484');
    F.f80Const(F.CONST_PI, 0x37f);
    expect(hx()).toBe('4000:c90fdaa2:2168c235');
    F.f80Add(...THREE, ...THREE, cwFor(3, F.RC_DOWN), 1);
    expect(hx()).toBe('8000:0:0');
  });

  it('stores round per RC and report overflow / invalid', () => {
    F.f80Div(...ONE, 0x4002, 0xa0000000, 0, 0x37f); // 0.1
    F.f80ToF64(F.OUT[0], F.OUT[1], F.OUT[2], 0x37f);
    expect([F.OUT[1], F.OUT[2]]).toEqual([0x3fb99999, 0x9999999a]);
    expect(F.f80ToF32(0x7ffe, 0xffffffff, 0xffffffff, 0x37f)).toBe(F.FL_OE | F.FL_PE | F.FL_C1);
    expect(F.OUT[2]).toBe(0x7f800000);
    expect(F.f80ToInt(0x403e, 0x80000000, 0, 0x37f, 64, false)).toBe(F.FL_IE); // 2^63
    expect([F.OUT[1], F.OUT[2]]).toEqual([0x80000000, 0]);
    expect(F.f80ToInt(0xc03e, 0x80000000, 0, 0x37f, 64, false)).toBe(0); // -2^63 fits
  });

  it('NaN rules: SNaN is quieted with IE, QNaN beats SNaN, unsupported gives the indefinite', () => {
    expect(F.f80Add(0x7fff, 0xa0000000, 0, ...ONE, 0x37f, 0)).toBe(F.FL_IE);
    expect(hx()).toBe('7fff:e0000000:0');
    F.f80Mul(0x7fff, 0xa0000000, 5, 0xffff, 0xc0000000, 1, 0x37f);
    expect(hx()).toBe('ffff:c0000000:1');
    expect(F.f80Add(0x3fff, 0x40000000, 0, ...ONE, 0x37f, 0)).toBe(F.FL_IE); // unnormal
    expect(hx()).toBe('ffff:c0000000:0');
  });

  it('masked underflow yields a denormal and UE only when inexact', () => {
    // min normal / 2 is exact
    expect(F.f80Div(0x0001, 0x80000000, 0, 0x4000, 0x80000000, 0, 0x37f)).toBe(0);
    expect(hx()).toBe('0:40000000:0');
    expect(F.f80Div(0x0001, 0x80000000, 1, 0x4000, 0x80000000, 0, 0x37f)).toBe(F.FL_UE | F.FL_PE);
  });
});
