// MMX instructions in the loop fast-forward (loop-skip.ts). tst-mmx-fpu spins 500 M times on
// `mov $imm,%rdx; movq %rdx,%mm0; movq %rdx,%mm1; paddsb %mm0,%mm1; sub $1,%rax; jne`: every iteration
// leaves the machine as it found it but for the counter, yet the skipper could not prove it because MMX
// state is not a general register.
//
// Why it stays exact. The register forms accepted here read only general registers (movd/movq to mm, whose
// source must not be the counter's) and x87/MMX state, and write only x87/MMX state (the register, TOP, the
// tags): no flags, no memory, no general register. So an iteration is still a function of the state at its
// start, now counting the x87/MMX state in; the skipper checks that a real iteration leaves that state as it
// found it (with the registers and memory it checks already), and then every later iteration does too. The
// availability checks (CR0.EM/TS, a pending x87 exception) read state the loop cannot change, so an
// iteration that ran without a fault proves the others run without one.
import type { Cpu } from './cpu.js';
import { Decoder } from './decoder.js';
import type { Handler, Insn } from './insn.js';
import { decodeSample } from './jit/forms.js';

/** movd/movq mm, r32/64 (the source is a general register); a packed op or move mm, mm; emms. */
export type MmxForm = 'mmxFromGpr' | 'mmxOp' | 'emms';

// One sample per handler: the decoder tells which handler implements each form (as jit/forms.ts learns its
// forms), so nothing here depends on the names the MMX module gives its handlers.
const SAMPLES: [string, MmxForm][] = [
  ['0f 6e c2', 'mmxFromGpr'], ['48 0f 6e c2', 'mmxFromGpr'],
  ['0f fc c8', 'mmxOp'], ['0f ec c8', 'mmxOp'], // bytes: padd/psub/padds/paddus..., pcmpeqb/gtb, pminub...
  ['0f fd c8', 'mmxOp'], ['0f fe c8', 'mmxOp'], ['0f d4 c8', 'mmxOp'], // words, dwords, qwords
  ['0f ef c8', 'mmxOp'], ['0f 6f c8', 'mmxOp'], // pxor/pand/por/pandn, movq mm, mm
  ['0f 77', 'emms'],
];

let table: Map<Handler, MmxForm> | null = null;

function build(): Map<Handler, MmxForm> {
  const t = new Map<Handler, MmxForm>();
  const d = new Decoder();
  for (const [bytes, form] of SAMPLES) {
    const i = decodeSample(d, bytes);
    if (i !== null && !t.has(i.h)) t.set(i.h, form);
  }
  return t;
}

/** The MMX form of i the skipper can reason about (register operands only), or null. */
export function mmxSkipForm(i: Insn): MmxForm | null {
  if (table === null) table = build();
  const f = table.get(i.h);
  if (f === undefined || i.mem) return null;
  return f;
}

/** Everything x87/MMX state holds, as numbers (compared before and after an iteration, and by a memo). */
export function fpuState(cpu: Cpu): number[] {
  const f = cpu.fpu;
  return [...f.se, ...f.hi, ...f.lo, ...f.empty, f.top, f.cw, f.sw, f.fop, f.fipLo, f.fipHi, f.fcs, f.fdpLo, f.fdpHi, f.fds];
}

export function sameFpuState(a: number[], b: number[]): boolean {
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
}
