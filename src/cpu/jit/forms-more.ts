// The block compiler's forms beyond compiler.ts's own: its `specialise` hands every other form here.
import type { Insn } from '../insn.js';
import type { Gen } from './compiler.js';
import type { FormInfo } from './forms.js';
import { bitScan, mulWide, negnot, shift, shxd } from './forms-alu2.js';
import { cmpxchg, xadd, xchg } from './forms-atomic.js';
import { callInd, jmpInd, leave } from './forms-ctl.js';
import {
  arithSd, arithSs, comiSd, comiSs, cvtsd2ss, cvtsi2sd, cvtsi2ss, cvtss2sd, cvtToInt, movdFrom, movdTo, pxorReg, scalarLoad, scalarStore, sseLoad128, sseLogic,
  sseStore128, sseUnpack,
} from './forms-sse.js';

export function specialiseMore(g: Gen, i: Insn, f: FormInfo, last: boolean, A: string): boolean | 'end' {
  switch (f.form) {
    case 'jmpInd': return jmpInd(g, i, last, A);
    case 'callInd': return callInd(g, i, last, A);
    case 'leave': return leave(g, i);
    case 'xchg': return xchg(g, i, A);
    case 'xadd': return xadd(g, i, A);
    case 'cmpxchg': return cmpxchg(g, i, A);
    case 'shift': return shift(g, i, A);
    case 'negnot': return negnot(g, i, A);
    case 'shxd': return shxd(g, i, A);
    case 'mulWide': return mulWide(g, i, A);
    case 'bsf': return bitScan(g, i, A, false);
    case 'bsr': return bitScan(g, i, A, true);
    // hUnpckps/hUnpckpd keep the element size in the handler (i.imm: 0 low, 2 high); hUnpack has it in i.op.
    case 'unpckps': return sseUnpack(g, i, A, 4, i.imm !== 0);
    case 'unpckpd': return sseUnpack(g, i, A, 8, i.imm !== 0);
    case 'punpck': return sseUnpack(g, i, A, i.op, i.imm !== 0);
    case 'sseLoad128': return sseLoad128(g, i, A);
    case 'sseStore128': return sseStore128(g, i, A);
    case 'movsdLoad': return scalarLoad(g, i, A, 64, false);
    case 'movssLoad': return scalarLoad(g, i, A, 32, false);
    case 'movqLoad': return scalarLoad(g, i, A, 64, true);
    case 'movsdStore': return scalarStore(g, i, A, 64, false);
    case 'movssStore': return scalarStore(g, i, A, 32, false);
    case 'movqStore': return scalarStore(g, i, A, 64, true);
    case 'movdTo': return movdTo(g, i, A);
    case 'movdFrom': return movdFrom(g, i, A);
    case 'pxorReg': return pxorReg(g, i);
    case 'sseLogic': return sseLogic(g, i, A);
    case 'arithSd': return arithSd(g, i, A);
    case 'comiSd': return comiSd(g, i, A);
    case 'arithSs': return arithSs(g, i, A);
    case 'comiSs': return comiSs(g, i, A);
    case 'cvtsi2sd': return cvtsi2sd(g, i, A);
    case 'cvtsi2ss': return cvtsi2ss(g, i, A);
    case 'cvtss2sd': return cvtss2sd(g, i, A);
    case 'cvtsd2ss': return cvtsd2ss(g, i, A);
    case 'cvtToInt': return cvtToInt(g, i, A);
    default: return false;
  }
}
