// Wasm blocks (src/cpu/jit/wasm) against the interpreter on what the ISA suites (test/isa/jit.test.ts runs them
// with wasm blocks too) cannot show: code written inside a block, budgets cut anywhere, a fault in the middle of a
// looping trace, blocks that leave after a store dropped decoded code with everything that instruction commits, the
// machine state of a whole guest, and batches of blocks compiling in one module.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { flatMachine } from '../../bench/flat.js';
import { buildGuest } from '../../src/cli/guest.js';
import { Trace } from '../../src/cpu/codecache.js';
import { Decoder } from '../../src/cpu/decoder.js';
import { STOP_BUDGET } from '../../src/cpu/exec.js';
import { decodeSample } from '../../src/cpu/jit/forms.js';
import { wasmOnlySamples } from '../../src/cpu/jit/forms-more-samples.js';
import { planWasm } from '../../src/cpu/jit/wasm/compile.js';
import { Jit } from '../../src/cpu/jit/jit.js';
import { WasmBlocks } from '../../src/cpu/jit/wasm/block.js';
import { Machine } from '../../src/machine/machine.js';
import { stateHash } from '../../src/machine/snapshot-state.js';
import { toolchainAvailable } from '../images/build.js';

const CODE = 0x100000;

/** A flat machine running `code`; with `threshold`, wasm blocks (batches of `batch`) compile traces at that many runs. */
function machine(code: number[], threshold: number | null, batch = 1, regs: Record<number, number> = {}) {
  const f = flatMachine(8, true, true);
  f.mem.writeBytes(CODE, Uint8Array.from(code));
  f.cpu.rip = CODE;
  f.cpu.setReg64(4, 0x300000);
  f.cpu.setReg64(6, 0x200000);
  for (const [r, v] of Object.entries(regs)) f.cpu.setReg64(Number(r), v);
  let jit: Jit | null = null;
  if (threshold !== null) {
    jit = new Jit(threshold);
    jit.wasm = new WasmBlocks(f.mem.arena!, f.cpu, f.exec.cache, batch);
  }
  f.exec.jit = jit;
  return { ...f, jit };
}

function state(f: ReturnType<typeof machine>) {
  const c = f.cpu;
  return { r: [...c.r32], flags: c.getFlags(), rip: c.rip, icount: c.icount, lf: [...c.lf], halted: c.halted, exc: c.excVector,
    xmm: [...c.xmm], mxcsr: c.mxcsr };
}

function slices(code: number[], threshold: number | null, slice: number, regs: Record<number, number> = {}, batch = 1,
  setup: (f: ReturnType<typeof machine>) => void = () => {}) {
  const f = machine(code, threshold, batch, regs);
  setup(f);
  const out = [];
  for (let n = 0; n < 5000 && !f.cpu.halted; n++) {
    const why = f.exec.run(slice);
    out.push({ why, ...state(f) });
    if (why !== STOP_BUDGET) break;
  }
  return { out, f };
}

// mov ecx,200; L: add eax,1; mov byte [rip-7], cl (patches the add's imm8); add rbx,rax; dec ecx; jnz L; hlt
const smc = [0xB9, 200, 0, 0, 0, 0x83, 0xC0, 0x01, 0x88, 0x0D, 0xF9, 0xFF, 0xFF, 0xFF, 0x48, 0x01, 0xC3, 0xFF, 0xC9, 0x75, 0xF0, 0xF4];

// mov ecx,3000; L: inc edx; and edx,1023; mov rax,[rsi+rdx*8]; imul rbx,rax,0x12345; shl rbx,3; add rbx,rdx;
// mov [rsi+rdx*8+8],rbx; lea rdi,[rbx+rax*2]; cmp edx,700; cmovz rsi,rdi; dec ecx; jnz L; hlt
// (after 700 iterations rsi points outside memory: the load faults).
const mixed = [0xB9, 0xB8, 0x0B, 0, 0, 0xFF, 0xC2, 0x81, 0xE2, 0xFF, 0x03, 0x00, 0x00, 0x48, 0x8B, 0x04, 0xD6,
  0x48, 0x69, 0xD8, 0x45, 0x23, 0x01, 0x00, 0x48, 0xC1, 0xE3, 0x03, 0x48, 0x01, 0xD3, 0x48, 0x89, 0x5C, 0xD6, 0x08,
  0x48, 0x8D, 0x3C, 0x43, 0x81, 0xFA, 0xBC, 0x02, 0x00, 0x00, 0x48, 0x0F, 0x44, 0xF7, 0xFF, 0xC9, 0x75, 0xCF, 0xF4];

// A loop of plain instructions only, which loops inside its wasm function: rdi points outside memory, and after 700
// iterations cmovz moves it into rsi, so the next pass's load faults (#PF) in the middle of a pass.
// mov ecx,3000; L: inc edx; and edx,1023; mov rax,[rsi+rdx*8]; add rbx,rax; mov [rsi+rdx*8+8],rbx;
// cmp edx,700; cmovz rsi,rdi; dec ecx; jnz L; hlt
const pureLoop = [0xB9, 0xB8, 0x0B, 0, 0, 0xFF, 0xC2, 0x81, 0xE2, 0xFF, 0x03, 0x00, 0x00, 0x48, 0x8B, 0x04, 0xD6,
  0x48, 0x01, 0xC3, 0x48, 0x89, 0x5C, 0xD6, 0x08, 0x81, 0xFA, 0xBC, 0x02, 0x00, 0x00, 0x48, 0x0F, 0x44, 0xF7,
  0xFF, 0xC9, 0x75, 0xDC, 0xF4];

// A loop of calls and returns, pushes, pops, byte and word forms, setcc and a memory inc:
// mov ecx,500; L: call F; dec ecx; jnz L; hlt
// F: push rbx; mov bl,cl; add bl,0x90; setc dl; movzx eax,dl; add [rsi],eax; inc word [rsi+8]; mov bh,bl;
//    movsx r8,bx; add r9,r8; cmp cl,7; sbb r10d,r10d; pop rbx; ret
const calls = [0xB9, 0xF4, 0x01, 0, 0, 0xE8, 0x06, 0, 0, 0, 0xFF, 0xC9, 0x75, 0xF7, 0xF4, 0xCC,
  0x53, 0x88, 0xCB, 0x80, 0xC3, 0x90, 0x0F, 0x92, 0xC2, 0x0F, 0xB6, 0xC2, 0x01, 0x06, 0x66, 0xFF, 0x46, 0x08,
  0x88, 0xDF, 0x4C, 0x0F, 0xBF, 0xC3, 0x4D, 0x01, 0xC1, 0x80, 0xF9, 0x07, 0x45, 0x19, 0xD2, 0x5B, 0xC3];

describe('wasm blocks vs interpreter', () => {
  it('self-modifying code: same states at every threshold', () => {
    for (const threshold of [0, 1, 3, 50]) {
      const a = slices(smc, null, 1e6), b = slices(smc, threshold, 1e6);
      expect(b.out).toEqual(a.out);
      if (threshold <= 1) expect(b.f.jit!.wasm!.compiled).toBeGreaterThan(0);
    }
  });

  it('budgets of every size stop at the same instruction, in the same state', () => {
    for (const code of [mixed, calls]) {
      for (let slice = 1; slice <= 40; slice += 3) {
        const a = slices(code, null, slice), b = slices(code, 2, slice);
        expect(b.out, `slice ${slice}`).toEqual(a.out);
      }
    }
  });

  it('a looping block: every budget, and a fault after 700 passes, as the interpreter', () => {
    const regs = { 7: 0x7f000000 };
    for (const slice of [1, 2, 5, 9, 10, 11, 97, 1000, 1e6]) {
      const a = slices(pureLoop, null, slice, regs), b = slices(pureLoop, 2, slice, regs);
      expect(b.out, `slice ${slice}`).toEqual(a.out);
    }
    const a = slices(pureLoop, null, 1e6, regs), b = slices(pureLoop, 2, 1e6, regs);
    expect(a.out[a.out.length - 1]!.exc).toBe(14);
    expect(a.out[a.out.length - 1]!.icount).toBeGreaterThan(700 * 9);
    expect(b.f.jit!.wasm!.specialised).toBe(b.f.jit!.wasm!.instructions);
  });

  it('a fault in the middle of a block leaves the interpreter state', () => {
    const a = slices(mixed, null, 1e6), b = slices(mixed, 2, 1e6);
    expect([13, 14]).toContain(a.out[a.out.length - 1]!.exc);
    expect(b.out).toEqual(a.out);
    expect(b.f.jit!.wasm!.specialised).toBeGreaterThan(5);
  });

  it('calls, returns, byte and word forms, setcc, memory read-modify-write: same results, compiled', () => {
    const a = slices(calls, null, 1e6), b = slices(calls, 2, 1e6);
    expect(b.out).toEqual(a.out);
    expect(a.out[a.out.length - 1]!.halted).toBe(true);
    const w = b.f.jit!.wasm!;
    expect(w.specialised).toBe(w.instructions);
  });

  it('flags read from the instruction before: imul keeps SF ZF AF PF, inc keeps CF, conditions of shifts', () => {
    const progs: [number[], Record<number, number>][] = [
      // add eax,ebx (AF from bit 4, not 3); imul ecx,edx; setp al; hlt
      [[0x01, 0xD8, 0x0F, 0xAF, 0xCA, 0x0F, 0x9A, 0xC0, 0xF4], { 0: 8, 3: 8, 1: 3, 2: 5 }],
      // imul rcx, rdx with a 64-bit overflow; seto al; hlt
      [[0x48, 0x0F, 0xAF, 0xCA, 0x0F, 0x90, 0xC0, 0xF4], { 1: 0x7fffffff0000, 2: 0x10000000 }],
      // sub eax,ebx (borrow); inc ecx; setc dl; shl rax,3; setc bl; seto bh; setp cl; sar rdi,1; sets dh; hlt
      [[0x29, 0xD8, 0xFF, 0xC1, 0x0F, 0x92, 0xC2, 0x48, 0xC1, 0xE0, 0x03, 0x0F, 0x92, 0xC3, 0x0F, 0x90, 0xC7, 0x0F, 0x9A, 0xC1,
        0x48, 0xD1, 0xFF, 0x0F, 0x98, 0xC6, 0xF4], { 0: 1, 3: 2, 7: -5 }],
      // lock cmpxchg [rsi],ecx (equal, then unequal); xadd [rsi+8],edx; xchg [rsi+16],rbx; neg rdi; not r8d; setz al; hlt
      [[0xF0, 0x0F, 0xB1, 0x0E, 0xF0, 0x0F, 0xB1, 0x0E, 0xF0, 0x0F, 0xC1, 0x56, 0x08, 0x48, 0x87, 0x5E, 0x10, 0x48, 0xF7, 0xDF,
        0x41, 0xF7, 0xD0, 0x0F, 0x94, 0xC0, 0xF4], { 0: 0, 1: 77, 2: 5, 3: -1, 7: 9, 8: 0x1234 }],
    ];
    for (const [code, regs] of progs) {
      const a = slices(code, null, 1e6, regs), b = slices(code, 0, 1e6, regs);
      expect(b.out).toEqual(a.out);
      expect(b.f.jit!.wasm!.specialised).toBeGreaterThanOrEqual(b.f.jit!.wasm!.instructions - 1);
    }
  });

  it('a store that drops decoded code ends the block after its instruction, with all it committed', () => {
    // mov rsp, CODE+0x810; mov rsi, CODE+0x800; mov byte [rsi], 0xff; (a new trace:) inc byte [rsi] (writes this
    // page: ZF set by it); push rax (writes this page: RSP moved); setz bl; mov rdx, rsp; add eax, 1; hlt
    const code = [0x48, 0xC7, 0xC4, 0x10, 0x08, 0x10, 0x00, 0x48, 0xC7, 0xC6, 0x00, 0x08, 0x10, 0x00,
      0xC6, 0x06, 0xFF, 0xEB, 0x00,
      0xFE, 0x06, 0x50, 0x0F, 0x94, 0xC3, 0x48, 0x89, 0xE2, 0x83, 0xC0, 0x01, 0xF4];
    for (let n = 0; n < 3; n++) {
      const a = slices(code, null, 1e6), b = slices(code, 0, 1e6);
      expect(b.out).toEqual(a.out);
      expect(b.out[0]!.r[4]).toBe(CODE + 0x808); // push moved RSP before the block left
      expect(b.out[0]!.r[6]! & 0xff).toBe(1); // setz after inc of 0xff
    }
  });

  it('SSE: the fast paths, the handler where they do not hold (inexact before PE is set), #NM and #UD as the interpreter', () => {
    // mov ecx,300; L: cvtsi2ss xmm0,ecx; mulss xmm0,xmm1; addss xmm2,xmm0; comiss xmm2,xmm3; seta al; cvtss2sd xmm4,xmm2;
    // minsd xmm5,xmm4; cvttsd2si rdx,xmm4; movss [rsi],xmm2; movd xmm6,edx; pxor xmm6,xmm0; movq rdi,xmm6; dec ecx;
    // jnz L; hlt
    const code = [0xB9, 0x2C, 0x01, 0, 0, 0xF3, 0x0F, 0x2A, 0xC1, 0xF3, 0x0F, 0x59, 0xC1, 0xF3, 0x0F, 0x58, 0xD0, 0x0F, 0x2F, 0xD3,
      0x0F, 0x97, 0xC0, 0xF3, 0x0F, 0x5A, 0xE2, 0xF2, 0x0F, 0x5D, 0xEC, 0xF2, 0x48, 0x0F, 0x2C, 0xD4, 0xF3, 0x0F, 0x11, 0x16,
      0x66, 0x0F, 0x6E, 0xF2, 0x66, 0x0F, 0xEF, 0xF0, 0x66, 0x48, 0x0F, 0x7E, 0xF7, 0xFF, 0xC9, 0x75, 0xCC, 0xF4];
    const cases: [string, (f: ReturnType<typeof machine>) => void, number][] = [
      ['MXCSR at reset', () => {}, -1],
      ['PE already set', (f) => { f.cpu.mxcsr |= 0x20; }, -1],
      ['rounding down', (f) => { f.cpu.mxcsr |= 0x2020; }, -1],
      ['CR0.TS', (f) => { f.cpu.cr0 |= 8; }, 7],
      ['no CR4.OSFXSR', (f) => { f.cpu.cr4 &= ~(1 << 9); }, 6],
    ];
    for (const [name, set, exc] of cases) {
      const setup = (f: ReturnType<typeof machine>) => {
        set(f);
        f.cpu.xmmF32[4] = 0.1; f.cpu.xmmF32[12] = 1000; f.cpu.xmmF64[10] = 1e9;
      };
      const a = slices(code, null, 1e6, {}, 1, setup), b = slices(code, 0, 1e6, {}, 1, setup);
      expect(b.out, name).toEqual(a.out);
      const last = a.out[a.out.length - 1]!;
      if (exc < 0) expect(last.halted, name).toBe(true); else expect(last.exc, name).toBe(exc);
      const w = b.f.jit!.wasm!;
      expect(w.specialised, name).toBe(w.instructions);
    }
  });

  it('an event a handler call raises (the board pause hook here) is taken after its block, not further down the chain', () => {
    // mov ecx,500; L: add eax,1; pause; add ebx,eax; jmp M; M: add edx,ebx; dec ecx; jnz L; hlt
    const code = [0xB9, 0xF4, 0x01, 0, 0, 0x83, 0xC0, 0x01, 0xF3, 0x90, 0x01, 0xC3, 0xEB, 0x00, 0x01, 0xDA, 0xFF, 0xC9, 0x75, 0xF1, 0xF4];
    const events = (threshold: number | null) => {
      const at: number[] = [];
      const r = slices(code, threshold, 1e6, {}, 1, (f) => {
        // Every 7th: the chain's links are made at the others.
        let n = 0;
        f.cpu.hooks.pause = () => { if (++n % 7 === 0) f.exec.eventPending = true; };
        f.exec.onEvent = (cpu) => { at.push(cpu.icount); f.exec.eventPending = false; };
      });
      return { at, r };
    };
    const a = events(null), b = events(0);
    expect(b.r.out).toEqual(a.r.out);
    expect(a.at.length).toBe(71);
    expect(b.at).toEqual(a.at);
    expect(b.r.f.jit!.wasm!.compiled).toBeGreaterThanOrEqual(2);
  });

  it('the forms only wasm compiles (pushf, cli, tzcnt) are planned as specialised code, and run as the interpreter', () => {
    const d = new Decoder();
    for (const [hex, form] of wasmOnlySamples()) {
      const plan = planWasm(new Trace([decodeSample(d, hex)!]));
      expect(plan?.specialised, `${hex} (${form})`).toBe(1);
    }
    // pushfq; pop rax; cli; pushfq; pop rbx; bsr rcx,rax; bsf rdx,rbx; tzcnt r8,rsi; tzcnt r9d,edi; bsr r10,rdi; hlt
    // (rdi 0: bsr leaves r10, tzcnt counts 32; flags from an add before: kept where the forms keep them)
    const code = [0x48, 0x01, 0xDB, 0x9C, 0x58, 0xFA, 0x9C, 0x5B, 0x48, 0x0F, 0xBD, 0xC8, 0x48, 0x0F, 0xBC, 0xD3,
      0xF3, 0x4C, 0x0F, 0xBC, 0xC6, 0xF3, 0x44, 0x0F, 0xBC, 0xCF, 0x4C, 0x0F, 0xBD, 0xD7, 0xF4];
    for (const regs of [{ 3: 0x8000000000000, 6: 0x40, 7: 0, 10: 77 }, { 3: -1, 6: 0, 7: 0x10, 10: 5 }]) {
      const setup = (f: ReturnType<typeof machine>) => f.cpu.setFlags(0x202);
      const a = slices(code, null, 1e6, regs, 1, setup), b = slices(code, 0, 1e6, regs, 1, setup);
      expect(b.out).toEqual(a.out);
      expect(a.out[a.out.length - 1]!.halted).toBe(true);
      const w = b.f.jit!.wasm!;
      expect(w.specialised).toBe(w.instructions - 1); // all but hlt
    }
    // cli above IOPL: the handler's #GP. (add eax,1; cli; hlt at CPL 3)
    const cpl3 = (f: ReturnType<typeof machine>) => { f.cpu.cpl = 3; };
    const a = slices([0x83, 0xC0, 0x01, 0xFA, 0xF4], null, 1e6, {}, 1, cpl3), b = slices([0x83, 0xC0, 0x01, 0xFA, 0xF4], 0, 1e6, {}, 1, cpl3);
    expect(a.out[a.out.length - 1]!.exc).toBe(13);
    expect(b.out).toEqual(a.out);
  });

  it('batches: blocks queued until a module holds several compile together, with the same results', () => {
    const a = slices(calls, null, 1e6), b = slices(calls, 2, 1e6, {}, 3);
    expect(b.out).toEqual(a.out);
    expect(b.f.jit!.wasm!.modules).toBeLessThan(b.f.jit!.wasm!.compiled);
  });
});

describe.skipIf(!toolchainAvailable())('wasm blocks in a whole machine', () => {
  const osvlike = readFileSync(buildGuest('osvlike'));
  const run = (insns: number, wasm: boolean) => {
    const m = new Machine({ kernel: osvlike, cpus: 2, memMiB: 64, wasm });
    if (wasm) { m.jit!.threshold = 2; m.jit!.wasm!.startAt = 0; m.jit!.wasm!.batch = 1; }
    const r = m.run({ maxInsns: insns });
    return { m, r, hash: stateHash(m), console: m.console };
  };

  it('the OSv-shaped guest: same instructions, output and state hash with and without wasm blocks', () => {
    for (const insns of [700_001, 3_000_001, 1e9]) {
      const off = run(insns, false), on = run(insns, true);
      expect(on.r.instructions).toBe(off.r.instructions);
      expect(on.r.cause).toBe(off.r.cause);
      expect(on.console).toBe(off.console);
      expect(on.hash, `${insns} instructions`).toBe(off.hash);
      expect(on.m.jit!.wasm!.compiled).toBeGreaterThan(10);
    }
  });
});
