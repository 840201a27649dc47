// Runs one oracle case through the software f80 unit and renders it the way oracle.c reports it.
import * as F from '../../src/cpu/x87/f80.js';
import type { Case, HostResult } from './oracle.js';

export const OP = {
  add: 1, sub: 2, subr: 3, mul: 4, div: 5, divr: 6, sqrt: 7, rndint: 8, scale: 9,
  com: 10, ucom: 11, comi: 12, ucomi: 13, tst: 14, xam: 15, xamEmpty: 16, prem: 17, prem1: 18, xtract: 19,
  ld32: 20, ld64: 21, ild16: 22, ild32: 23, ild64: 24,
  st32: 30, st64: 31, ist16: 32, ist32: 33, ist64: 34, istt16: 35, istt32: 36, istt64: 37,
  constBase: 40,
  /** st0 op m32 (add sub subr mul div divr com), then the same with m64 at memBase + 7. */
  memBase: 50,
} as const;

const MEM_HI = 0xcafef00d;
const MEM_LO = 0xdeadbeef;
/** FSW bits compared: exceptions, SF, ES, C0-C3, B (TOP is not modelled at this level). */
export const FSW_MASK = 0xc7ff;

export interface Expect extends HostResult {
  checkSt0: boolean;
  checkMem: boolean;
  checkEflags: boolean;
  checkSt1: boolean;
}

function fsw(flags: number, cw: number): number {
  let s = flags & 0x473f;
  if (s & ~cw & 0x3f) s |= 0x8080;
  return s;
}

export function model(c: Case): Expect {
  const { op, cw } = c;
  const [ase, ahi, alo] = c.a;
  const [bse, bhi, blo] = c.b;
  const r: Expect = {
    fsw: 0, st0: [ase, ahi, alo], mem: [MEM_HI, MEM_LO], eflags: 0, st1: [bse, bhi, blo],
    checkSt0: true, checkMem: false, checkEflags: false, checkSt1: false,
  };
  let f = 0;
  const setSt0 = () => {
    if (!(f & F.FL_NORESULT)) r.st0 = [F.OUT[0], F.OUT[1], F.OUT[2]];
  };
  switch (op) {
    case OP.add: f = F.f80Add(ase, ahi, alo, bse, bhi, blo, cw, 0); setSt0(); break;
    case OP.sub: f = F.f80Add(ase, ahi, alo, bse, bhi, blo, cw, 1); setSt0(); break;
    case OP.subr: f = F.f80Add(bse, bhi, blo, ase, ahi, alo, cw, 1); setSt0(); break;
    case OP.mul: f = F.f80Mul(ase, ahi, alo, bse, bhi, blo, cw); setSt0(); break;
    case OP.div: f = F.f80Div(ase, ahi, alo, bse, bhi, blo, cw); setSt0(); break;
    case OP.divr: f = F.f80Div(bse, bhi, blo, ase, ahi, alo, cw); setSt0(); break;
    case OP.sqrt: f = F.f80Sqrt(ase, ahi, alo, cw); setSt0(); break;
    case OP.rndint: f = F.f80RoundInt(ase, ahi, alo, cw); setSt0(); break;
    case OP.scale: f = F.f80Scale(ase, ahi, alo, bse, bhi, blo, cw); setSt0(); break;
    case OP.com: case OP.ucom: case OP.tst:
      f = op === OP.tst ? F.f80Compare(ase, ahi, alo, 0, 0, 0, cw, false)
        : F.f80Compare(ase, ahi, alo, bse, bhi, blo, cw, op === OP.ucom);
      break;
    case OP.comi: case OP.ucomi: {
      f = F.f80Compare(ase, ahi, alo, bse, bhi, blo, cw, op === OP.ucomi);
      if (!(f & F.FL_NORESULT)) {
        r.eflags = (f & F.FL_C3 ? 0x40 : 0) | (f & F.FL_C2 ? 4 : 0) | (f & F.FL_C0 ? 1 : 0);
      }
      f &= 0x3f;
      r.checkEflags = true;
      break;
    }
    case OP.xam: f = F.f80Examine(ase, ahi, alo); break;
    case OP.prem: case OP.prem1: f = F.f80Prem(ase, ahi, alo, bse, bhi, blo, cw, op === OP.prem1); setSt0(); break;
    case OP.xtract:
      // ST1 := exponent (replacing a), ST0 := significand (pushed); the oracle had b below a
      f = F.f80Extract(ase, ahi, alo, cw);
      r.checkSt1 = true;
      if (!(f & F.FL_NORESULT)) { r.st0 = [F.OUT[0], F.OUT[1], F.OUT[2]]; r.st1 = [F.XT[0], F.XT[1], F.XT[2]]; }
      else r.st1 = [bse, bhi, blo];
      break;
    case OP.xamEmpty: f = F.FXAM_EMPTY; r.checkSt0 = false; break;
    case OP.ld32: f = F.f80FromF32(alo, cw); setSt0(); r.checkSt0 = !(f & F.FL_NORESULT); r.mem = [ahi, alo]; r.checkMem = true; break;
    case OP.ld64: f = F.f80FromF64(ahi, alo, cw); setSt0(); r.checkSt0 = !(f & F.FL_NORESULT); r.mem = [ahi, alo]; r.checkMem = true; break;
    case OP.ild16: F.f80FromI32((alo << 16) >> 16); setSt0(); r.mem = [ahi, alo]; break;
    case OP.ild32: F.f80FromI32(alo | 0); setSt0(); r.mem = [ahi, alo]; break;
    case OP.ild64: F.f80FromI64(ahi, alo); setSt0(); r.mem = [ahi, alo]; break;
    case OP.st32: case OP.st64: {
      f = op === OP.st32 ? F.f80ToF32(ase, ahi, alo, cw) : F.f80ToF64(ase, ahi, alo, cw);
      r.checkMem = true;
      if (!(f & F.FL_NORESULT)) r.mem = op === OP.st32 ? [MEM_HI, F.OUT[2]] : [F.OUT[1], F.OUT[2]];
      break;
    }
    case OP.ist16: case OP.ist32: case OP.ist64: case OP.istt16: case OP.istt32: case OP.istt64: {
      const k = op >= OP.istt16 ? op - OP.istt16 : op - OP.ist16;
      const bits = [16, 32, 64][k];
      f = F.f80ToInt(ase, ahi, alo, cw, bits, op >= OP.istt16);
      r.checkMem = true;
      r.checkSt0 = false;
      if (!(f & F.FL_NORESULT)) {
        if (bits === 16) r.mem = [MEM_HI, ((MEM_LO & 0xffff0000) | (F.OUT[2] & 0xffff)) >>> 0];
        else if (bits === 32) r.mem = [MEM_HI, F.OUT[2]];
        else r.mem = [F.OUT[1], F.OUT[2]];
      }
      break;
    }
    default:
      if (op >= OP.memBase && op < OP.memBase + 14) {
        const k = (op - OP.memBase) % 7;
        const den = op < OP.memBase + 7 ? F.f80WidenF32(blo) : F.f80WidenF64(bhi, blo);
        const [mse, mhi, mlo] = [F.OUT[0], F.OUT[1], F.OUT[2]];
        r.mem = [bhi, blo];
        if (op < OP.memBase + 7) r.mem[0] = MEM_HI;
        // operand order: st0 first except for the reversed forms
        const rev = k === 2 || k === 5;
        F.markDenormal(den ? (rev ? 1 : 2) : 0);
        const [xs, xh, xl, ys, yh, yl] = rev ? [mse, mhi, mlo, ase, ahi, alo] : [ase, ahi, alo, mse, mhi, mlo];
        switch (k) {
          case 0: f = F.f80Add(xs, xh, xl, ys, yh, yl, cw, 0); break;
          case 1: case 2: f = F.f80Add(xs, xh, xl, ys, yh, yl, cw, 1); break;
          case 3: f = F.f80Mul(xs, xh, xl, ys, yh, yl, cw); break;
          case 4: case 5: f = F.f80Div(xs, xh, xl, ys, yh, yl, cw); break;
          default: f = F.f80Compare(xs, xh, xl, ys, yh, yl, cw, false); break;
        }
        if (k !== 6) setSt0();
        break;
      }
      if (op >= OP.constBase && op <= OP.constBase + 6) {
        f = F.f80Const([F.CONST_ONE, F.CONST_L2T, F.CONST_L2E, F.CONST_PI, F.CONST_LG2, F.CONST_LN2, F.CONST_ZERO][op - OP.constBase], cw);
        setSt0();
        break;
      }
      throw new Error(`model: unknown op ${op}`);
  }
  r.fsw = fsw(f, cw);
  return r;
}
