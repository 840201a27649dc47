// The block compiler's forms of src/cpu/jit/forms-*.ts: every sample the compiler learns a form from is compiled
// as specialised code (a handler the decoder starts choosing differently, or a sample that makes two forms share
// a handler, would silently fall back to a handler call), and a loop of them runs as the interpreter runs it,
// through the transitions the ISA suite's single instructions cannot show: MXCSR.PE clear at first (the
// scalar fast paths fall back until an inexact result sets it), then values that become denormal and zero
// (fallback again), with budgets cut anywhere. The instruction semantics themselves are checked against the host
// by test/isa/jit.test.ts.
import { describe, expect, it } from 'vitest';
import { flatMachine } from '../../bench/flat.js';
import { Trace } from '../../src/cpu/codecache.js';
import { Decoder } from '../../src/cpu/decoder.js';
import { STOP_BUDGET } from '../../src/cpu/exec.js';
import { Insn } from '../../src/cpu/insn.js';
import { compileTrace } from '../../src/cpu/jit/compiler.js';
import { moreSamples } from '../../src/cpu/jit/forms-more-samples.js';
import { Jit } from '../../src/cpu/jit/jit.js';
import { opUD } from '../../src/cpu/ops/invalid.js';

const CODE = 0x100000, DATA = 0x200000;

function decode(hex: string): Insn {
  const buf = new Uint8Array(32);
  buf.set(hex.trim().split(/\s+/).map((b) => parseInt(b, 16)));
  const i = new Insn(opUD);
  new Decoder().decode(buf, 0, 64, i);
  return i;
}

// Samples whose operation the form leaves to the handler: cvtsd2si rounds by MXCSR.RC.
const HANDLER_ONLY = new Set(['f2 0f 2d c1', 'f2 0f 2d 06', 'f2 48 0f 2d c1', 'f2 48 0f 2d 06']);

// L: x *= c; x3 = x + d; eax = trunc(x3); rbx += rax; ucomisd d, x; seta dl; rdi += rdx; xmm4 = sqrt(double(ecx));
// xmm5 = double(float xmm4) (cvtss2sd: a handler call) or a nop; xmm5.s *= xmm5.s; [rsi+24] = xmm4;
// xchg rbx, [rsi+32]; lock xadd r8, [rsi+40]; r8 += rcx; rol rbx, cl; dec ecx; jnz L; hlt
function loop(withHandlerCall: boolean): number[] {
  return [
    0xB9, 0xB8, 0x0B, 0x00, 0x00, // mov $3000,%ecx
    0xF2, 0x0F, 0x10, 0x06, // movsd (%rsi),%xmm0
    0xF2, 0x0F, 0x10, 0x4E, 0x08, // movsd 0x8(%rsi),%xmm1
    0xF2, 0x0F, 0x10, 0x56, 0x10, // movsd 0x10(%rsi),%xmm2
    0xF2, 0x0F, 0x59, 0xC1, // L: mulsd %xmm1,%xmm0
    0x66, 0x0F, 0x28, 0xD8, // movapd %xmm0,%xmm3
    0xF2, 0x0F, 0x58, 0xDA, // addsd %xmm2,%xmm3
    0xF2, 0x0F, 0x2C, 0xC3, // cvttsd2si %xmm3,%eax
    0x48, 0x01, 0xC3, // add %rax,%rbx
    0x66, 0x0F, 0x2E, 0xC2, // ucomisd %xmm2,%xmm0
    0x0F, 0x97, 0xC2, // seta %dl
    0x48, 0x01, 0xD7, // add %rdx,%rdi
    0xF2, 0x0F, 0x2A, 0xE1, // cvtsi2sd %ecx,%xmm4
    0xF2, 0x0F, 0x51, 0xE4, // sqrtsd %xmm4,%xmm4
    ...(withHandlerCall ? [0xF3, 0x0F, 0x5A, 0xEC] : [0x0F, 0x1F, 0x40, 0x00]), // cvtss2sd %xmm4,%xmm5 | nopl 0(%rax)
    0xF3, 0x0F, 0x59, 0xED, // mulss %xmm5,%xmm5
    0xF2, 0x0F, 0x11, 0x66, 0x18, // movsd %xmm4,0x18(%rsi)
    0x48, 0x87, 0x5E, 0x20, // xchg %rbx,0x20(%rsi)
    0xF0, 0x4C, 0x0F, 0xC1, 0x46, 0x28, // lock xadd %r8,0x28(%rsi)
    0x49, 0x01, 0xC8, // add %rcx,%r8
    0x48, 0xD3, 0xC3, // rol %cl,%rbx
    0xFF, 0xC9, // dec %ecx
    0x75, 0xBA, // jnz L
    0xF4, // hlt
  ];
}

function machine(code: number[], jit: Jit | null) {
  const f = flatMachine(8, true);
  f.mem.writeBytes(CODE, Uint8Array.from(code));
  const data = new DataView(new ArrayBuffer(48));
  data.setFloat64(0, 1000, true); // x: 1000 * 0.7^n is denormal after ~2000 iterations, then 0
  data.setFloat64(8, 0.7, true);
  data.setFloat64(16, 1e-300, true);
  f.mem.writeBytes(DATA, new Uint8Array(data.buffer));
  f.cpu.rip = CODE;
  f.cpu.setReg64(4, 0x300000);
  f.cpu.setReg64(6, DATA);
  f.exec.jit = jit;
  return f;
}

function state(f: ReturnType<typeof machine>) {
  const c = f.cpu;
  return { r: [...c.r32], flags: c.getFlags(), rip: c.rip, icount: c.icount, xmm: [...c.xmm], mxcsr: c.mxcsr,
    data: [...f.mem.readBytes(DATA, 48)], halted: c.halted };
}

function slices(code: number[], jit: Jit | null, slice: number) {
  const f = machine(code, jit);
  const out = [];
  for (let n = 0; n < 100_000 && !f.cpu.halted; n++) {
    const why = f.exec.run(slice);
    out.push(state(f));
    if (why !== STOP_BUDGET) break;
  }
  return out;
}

describe('block compiler forms (forms-*.ts)', () => {
  it('every sample of the added forms compiles to specialised code', () => {
    const generic: string[] = [];
    let n = 0;
    for (const [hex, form] of moreSamples()) {
      if (HANDLER_ONLY.has(hex)) continue;
      const r = compileTrace(new Trace([decode(hex)]));
      n++;
      if (r.specialised !== 1) generic.push(`${hex} (${form})`);
    }
    expect(n).toBeGreaterThan(150);
    expect(generic).toEqual([]);
  });

  it('a scalar-SSE and atomics loop runs as in the interpreter, across MXCSR and denormal fallbacks', () => {
    for (const withCall of [false, true]) {
      const code = loop(withCall);
      const ref = slices(code, null, 1e7);
      const end = ref[ref.length - 1]!;
      expect(end.halted).toBe(true);
      expect(end.mxcsr & 0x32).toBe(0x32); // PE, then UE and DE once x is tiny and denormal
      for (const threshold of [0, 2]) {
        const jit = new Jit(threshold);
        expect(slices(code, jit, 1e7)).toEqual(ref);
        expect(jit.compiled).toBeGreaterThan(0);
        // Without the cvtss2sd every compiled instruction but a compiled hlt is specialised (and the loop runs
        // inside its function).
        if (!withCall) expect(jit.instructions - jit.specialised).toBeLessThanOrEqual(1);
      }
    }
  });

  it('an ldmxcsr between two addsd of one block: the second rounds by the new MXCSR', () => {
    // The fast paths' MXCSR condition must be read again after a handler call that changes MXCSR, here ldmxcsr:
    // mov ecx,200; [rsi+32] = 0x3fa0 (round down, PE set), [rsi+36] = 0x1fa0 (nearest); xmm0 = 1000; xmm1 = 0.7
    // (whose bits below xmm0's last place are 0.8 of it: nearest rounds up, down rounds down);
    // L: addsd xmm0,xmm1; ldmxcsr [rsi+32]; addsd xmm0,xmm1; ldmxcsr [rsi+36]; dec ecx; jnz L; hlt
    const code = [
      0xB9, 0xC8, 0x00, 0x00, 0x00,
      0xC7, 0x46, 0x20, 0xA0, 0x3F, 0x00, 0x00,
      0xC7, 0x46, 0x24, 0xA0, 0x1F, 0x00, 0x00,
      0xF2, 0x0F, 0x10, 0x06,
      0xF2, 0x0F, 0x10, 0x4E, 0x08,
      0xF2, 0x0F, 0x58, 0xC1,
      0x0F, 0xAE, 0x56, 0x20,
      0xF2, 0x0F, 0x58, 0xC1,
      0x0F, 0xAE, 0x56, 0x24,
      0xFF, 0xC9,
      0x75, 0xEC,
      0xF4,
    ];
    const ref = slices(code, null, 1e7);
    const end = ref[ref.length - 1]!;
    expect(end.halted).toBe(true);
    // Every other addition rounded down: below the 400 additions rounded to nearest (1280.0000000000182).
    expect(new Float64Array(Uint32Array.from(end.xmm.slice(0, 2)).buffer)[0]).toBeLessThan(1280.0000000000182);
    for (const threshold of [0, 2]) expect(slices(code, new Jit(threshold), 1e7)).toEqual(ref);
  });

  it('budgets cut anywhere in the loop stop where the interpreter stops', () => {
    const code = loop(false);
    for (const slice of [1, 3, 17, 1000]) expect(slices(code, new Jit(2), slice)).toEqual(slices(code, null, slice));
  });
});
