// Differential test of the scalar/packed SSE floating-point unit against the host CPU.
import { describe, expect, it } from 'vitest';
import { OracleBatch, OUT_REC, hostUnavailableReason } from './host-oracle.js';
import { emuRun } from './emu-run.js';
import { Rng, mxcsrVariants, rand32, rand64, related32, related64 } from './gen.js';

const skip = hostUnavailableReason();
const FULL = process.env.OSVEMU_ISA_FULL === '1';
const PER_OP = FULL ? 4000 : 400; // operand pairs per op and MXCSR variant

const OPS64 = ['addsd', 'subsd', 'mulsd', 'divsd', 'sqrtsd', 'minsd', 'maxsd', 'comisd', 'ucomisd', 'cvtsd2ss',
  'cvtsd2si', 'cvtsd2siq', 'cvttsd2si', 'cvttsd2siq', ...[0, 1, 2, 3, 4, 5, 6, 7].map((p) => `cmpsd${p}`)];
const OPS32 = ['addss', 'subss', 'mulss', 'divss', 'sqrtss', 'minss', 'maxss', 'comiss', 'ucomiss', 'cvtss2sd',
  'cvtss2si', 'cvtss2siq', 'cvttss2si', 'cvttss2siq', ...[0, 1, 2, 3, 4, 5, 6, 7].map((p) => `cmpss${p}`)];
const OPSINT = ['cvtsi2sdl', 'cvtsi2sdq', 'cvtsi2ssl', 'cvtsi2ssq'];
const OPSPD = ['addpd', 'subpd', 'mulpd', 'divpd', 'sqrtpd', 'minpd', 'maxpd', ...[0, 1, 2, 3, 4, 5, 6, 7].map((p) => `cmppd${p}`)];
const OPSPS = ['addps', 'subps', 'mulps', 'divps', 'sqrtps', 'minps', 'maxps', ...[0, 1, 2, 3, 4, 5, 6, 7].map((p) => `cmpps${p}`)];

/** MXCSR values with some exceptions unmasked (each mask bit cleared with probability 1/3). */
function unmaskedVariants(r: Rng): number[] {
  const out: number[] = [];
  for (let i = 0; i < 16; i++) {
    let mx = ((r.int(4) << 13) | (r.int(2) ? 0x8000 : 0) | (r.int(2) ? 0x40 : 0)) >>> 0;
    for (let bit = 7; bit <= 12; bit++) if (r.int(3) !== 0) mx |= 1 << bit;
    out.push(mx);
  }
  return out;
}

const hex = (v: number) => (v >>> 0).toString(16).padStart(8, '0');

function check(ops: string[], operands: (r: Rng, op: string) => [number[], number[]], seed: number,
  variants = mxcsrVariants()) {
  const batch = new OracleBatch(ops.length * variants.length * PER_OP);
  const cases: { op: string; mx: number; a: number[]; b: number[] }[] = [];
  const r = new Rng(seed);
  for (const op of ops) for (const mx of variants) for (let i = 0; i < PER_OP; i++) {
    const [a, b] = operands(r, op);
    batch.push(op, mx, a, b);
    cases.push({ op, mx, a, b });
  }
  const host = batch.run();
  const failures: string[] = [];
  const perOp = new Map<string, number>();
  cases.forEach((c, i) => {
    const got = emuRun(c.op, c.mx, c.a, c.b);
    for (let w = 0; w < 8; w++) {
      if (got[w] !== host.readUInt32LE(i * OUT_REC + 4 * w)) {
        const n = (perOp.get(c.op) ?? 0) + 1;
        perOp.set(c.op, n);
        if (n <= 3) {
          const want = [0, 1, 2, 3, 4, 5, 6, 7].map((k) => hex(host.readUInt32LE(i * OUT_REC + 4 * k)));
          failures.push(`${c.op} mx=${hex(c.mx)} a=${c.a.map(hex).join(':')} b=${c.b.map(hex).join(':')}\n` +
            `   host ${want.join(' ')}\n   emu  ${[...got].map(hex).join(' ')}`);
        }
        break;
      }
    }
  });
  const summary = [...perOp].map(([op, n]) => `${op}:${n}`).join(' ');
  expect(failures.join('\n') + (summary ? `\nmismatches per op: ${summary}` : '')).toBe('');
}

function pair64(r: Rng): [number[], number[]] {
  const a = rand64(r);
  const b = r.int(2) ? related64(r, a) : rand64(r);
  return [[a[0], a[1], r.u32(), r.u32()], [b[0], b[1], r.u32(), r.u32()]];
}

function pair32(r: Rng): [number[], number[]] {
  const a = rand32(r);
  const b = r.int(2) ? related32(r, a) : rand32(r);
  return [[a, r.u32(), r.u32(), r.u32()], [b, r.u32(), r.u32(), r.u32()]];
}

function intPair(r: Rng): [number[], number[]] {
  const lo = r.int(3) === 0 ? r.u32() & ~((1 << r.int(32)) - 1) : r.u32();
  const hiKinds = [0, 0xffffffff, r.u32(), r.u32() >>> r.int(32), 0x80000000, 0x7fffffff];
  return [[r.u32(), r.u32(), r.u32(), r.u32()], [lo >>> 0, r.pick(hiKinds) >>> 0, r.u32(), r.u32()]];
}

function packed64(r: Rng): [number[], number[]] {
  const [a0, b0] = pair64(r), [a1, b1] = pair64(r);
  return [[a0[0], a0[1], a1[0], a1[1]], [b0[0], b0[1], b1[0], b1[1]]];
}

function packed32(r: Rng): [number[], number[]] {
  const a: number[] = [], b: number[] = [];
  for (let i = 0; i < 4; i++) { const [x, y] = pair32(r); a.push(x[0]); b.push(y[0]); }
  return [a, b];
}

describe.skipIf(skip !== null)('SSE scalar FP vs host CPU', () => {
  it('binary64 scalar ops', () => check(OPS64, (r) => pair64(r), 1));
  it('binary32 scalar ops', () => check(OPS32, (r) => pair32(r), 2));
  it('integer to float conversions', () => check(OPSINT, (r) => intPair(r), 3));
  it('packed binary64 lanes', () => check(OPSPD, (r) => packed64(r), 4));
  it('packed binary32 lanes', () => check(OPSPS, (r) => packed32(r), 5));
  it('unmasked exceptions: #XM, recorded flags, destination untouched', () => {
    const r = new Rng(6);
    const v = unmaskedVariants(r);
    check([...OPS64, ...OPSINT, 'addpd', 'mulpd', 'divpd'], (rr, op) => (op.endsWith('pd') ? packed64(rr) : op.startsWith('cvtsi') ? intPair(rr) : pair64(rr)), 7, v);
    check([...OPS32, 'addps', 'mulps', 'divps', 'sqrtps', 'cmpps1'], (rr, op) => (op.endsWith('ps') || op.startsWith('cmpps') ? packed32(rr) : pair32(rr)), 8, v);
  });
});
