// Runs one oracle op on SseFp with the oracle's conventions (xmm0 = a is the destination, xmm1 = b,
// rax = low 64 bits of b) and returns the same 8-word record the host writes.
import { SseFp } from '../../src/cpu/sse/fp.js';
import { recordedExceptions, unmaskedExceptions } from '../../src/cpu/sse/mxcsr.js';
import { FAULTED } from './host-oracle.js';

const A = 0, B = 4, T = 8;
const fp = new SseFp(new ArrayBuffer(64));
const u = fp.u32;
const out = new Uint32Array(8);

type Lane = (d: number, a: number, b: number) => number;

// Packed: every lane computes into scratch; emuRun discards the scratch copy if the instruction faults.
function binary(lanes: number, width: number, f: Lane): number {
  let flags = 0;
  for (let i = 0; i < lanes; i++) flags |= f(T + i * width, A + i * width, B + i * width);
  for (let i = 0; i < lanes * width; i++) u[A + i] = u[T + i];
  return flags;
}

const ops: Record<string, () => number> = {
  addsd: () => fp.add64(A, A, B), subsd: () => fp.sub64(A, A, B), mulsd: () => fp.mul64(A, A, B), divsd: () => fp.div64(A, A, B),
  addss: () => fp.add32(A, A, B), subss: () => fp.sub32(A, A, B), mulss: () => fp.mul32(A, A, B), divss: () => fp.div32(A, A, B),
  sqrtsd: () => fp.sqrt64(A, B), sqrtss: () => fp.sqrt32(A, B),
  minsd: () => fp.min64(A, A, B), maxsd: () => fp.max64(A, A, B), minss: () => fp.min32(A, A, B), maxss: () => fp.max32(A, A, B),
  comisd: () => fp.comi64(A, B, true), ucomisd: () => fp.comi64(A, B, false),
  comiss: () => fp.comi32(A, B, true), ucomiss: () => fp.comi32(A, B, false),
  cvtss2sd: () => fp.cvt32to64(A, B), cvtsd2ss: () => fp.cvt64to32(A, B),
  cvtsi2sdl: () => fp.cvtI32to64(A, u[B]), cvtsi2sdq: () => fp.cvtI64to64(A, u[B], u[B + 1]),
  cvtsi2ssl: () => fp.cvtI32to32(A, u[B]), cvtsi2ssq: () => fp.cvtI64to32(A, u[B], u[B + 1]),
  addps: () => binary(4, 1, (d, a, b) => fp.add32(d, a, b)), addpd: () => binary(2, 2, (d, a, b) => fp.add64(d, a, b)),
  subps: () => binary(4, 1, (d, a, b) => fp.sub32(d, a, b)), subpd: () => binary(2, 2, (d, a, b) => fp.sub64(d, a, b)),
  mulps: () => binary(4, 1, (d, a, b) => fp.mul32(d, a, b)), mulpd: () => binary(2, 2, (d, a, b) => fp.mul64(d, a, b)),
  divps: () => binary(4, 1, (d, a, b) => fp.div32(d, a, b)), divpd: () => binary(2, 2, (d, a, b) => fp.div64(d, a, b)),
  sqrtps: () => binary(4, 1, (d, _a, b) => fp.sqrt32(d, b)), sqrtpd: () => binary(2, 2, (d, _a, b) => fp.sqrt64(d, b)),
  minps: () => binary(4, 1, (d, a, b) => fp.min32(d, a, b)), maxps: () => binary(4, 1, (d, a, b) => fp.max32(d, a, b)),
  minpd: () => binary(2, 2, (d, a, b) => fp.min64(d, a, b)), maxpd: () => binary(2, 2, (d, a, b) => fp.max64(d, a, b)),
};
for (let p = 0; p < 8; p++) {
  ops[`cmpsd${p}`] = () => fp.cmp64(A, A, B, p);
  ops[`cmpss${p}`] = () => fp.cmp32(A, A, B, p);
  ops[`cmppd${p}`] = () => binary(2, 2, (d, a, b) => fp.cmp64(d, a, b, p));
  ops[`cmpps${p}`] = () => binary(4, 1, (d, a, b) => fp.cmp32(d, a, b, p));
}
const toInt: Record<string, [boolean, boolean, boolean]> = { // [from64, truncate, to64]
  cvtsd2si: [true, false, false], cvtsd2siq: [true, false, true], cvttsd2si: [true, true, false], cvttsd2siq: [true, true, true],
  cvtss2si: [false, false, false], cvtss2siq: [false, false, true], cvttss2si: [false, true, false], cvttss2siq: [false, true, true],
};

export function emuSupports(op: string): boolean { return op in ops || op in toInt; }

/** Returns [x0..x3, raxLo, raxHi, mxcsr, rflags]. */
export function emuRun(op: string, mxcsr: number, a: ArrayLike<number>, b: ArrayLike<number>): Uint32Array {
  for (let i = 0; i < 4; i++) { u[A + i] = a[i]; u[B + i] = b[i]; }
  fp.mxcsr = mxcsr;
  fp.eflags = 0;
  let raxLo = u[B], raxHi = u[B + 1];
  let flags: number;
  const ti = toInt[op];
  if (ti) {
    flags = ti[0] ? fp.cvt64toInt(B, ti[1], ti[2]) : fp.cvt32toInt(B, ti[1], ti[2]);
    raxLo = fp.intLo >>> 0;
    raxHi = ti[2] ? fp.intHi >>> 0 : 0;
  } else {
    flags = ops[op]();
  }
  const rec = recordedExceptions(mxcsr, flags);
  if (unmaskedExceptions(mxcsr, rec) !== 0) { // #XM: nothing written
    for (let i = 0; i < 4; i++) out[i] = a[i];
    out[4] = 0; out[5] = 0; out[6] = (mxcsr | rec) >>> 0; out[7] = FAULTED;
    return out;
  }
  for (let i = 0; i < 4; i++) out[i] = u[A + i];
  out[4] = raxLo; out[5] = raxHi;
  out[6] = (mxcsr | flags) >>> 0;
  out[7] = op.includes('comis') ? fp.eflags : 0x8d5;
  return out;
}
