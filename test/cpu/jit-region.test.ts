// Multi-trace regions (src/cpu/jit/region.ts) against the interpreter: loops whose body spans several traces
// (calls and rets, branches either way, a ret to somewhere else than the call's successor), self-modifying
// code in a trace of a running region and on another page, a fault inside a region, budgets cut anywhere,
// and random loops built from the specialised forms and handler calls.
import { describe, expect, it } from 'vitest';
import { Jit } from '../../src/cpu/jit/jit.js';
import { STOP_BUDGET } from '../../src/cpu/exec.js';
import { Rng } from '../isa/rng.js';
import { CODE, DATA, FAR, FIRST, idle, jitOf, machine, rel32, slices, state } from './jit-guest.js';

describe('multi-trace regions vs interpreter', () => {
  it('a loop through a call and ret is one region: same states at every budget', () => {
    const { code, far } = idle(300);
    for (const slice of [1, 3, 7, 10, 11, 64, 1e6]) {
      const jit = jitOf(2, slice === 1e6);
      const b = slices(code, far, jit, slice);
      expect(b).toEqual(slices(code, far, null, slice));
      expect(jit.regions, `slice ${slice}`).toBeGreaterThan(0);
      expect(b[b.length - 1]!.halted).toBe(true);
    }
  });

  it('a loop whose region V8 would not optimise stays blocks; a shorter one of the same code is a region', () => {
    // mov ecx,40; L: addsd xmm0,xmm1 x n; sub ecx,1; jne L; hlt. Traces end every 32 instructions: n / 32 + 1 of them.
    const loop = (n: number) => {
      const code = [0xB9, 40, 0, 0, 0];
      for (let k = 0; k < n; k++) code.push(0xF2, 0x0F, 0x58, 0xC1);
      code.push(0x83, 0xE9, 0x01, 0x0F, 0x85, ...rel32(code.length + 3, 6, 5), 0xF4);
      return code;
    };
    const setup = (f: ReturnType<typeof machine>) => { f.cpu.xmmF64[0] = 1; f.cpu.xmmF64[2] = 0.5; };
    for (const [n, big] of [[40, false], [150, true]] as const) {
      const jit = jitOf(2);
      const b = slices(loop(n), [], jit, 1e6, 5000, setup);
      expect(b).toEqual(slices(loop(n), [], null, 1e6, 5000, setup));
      expect(b[b.length - 1]!.halted).toBe(true);
      expect(jit.regions, `${n} addsd`).toBe(big ? 0 : 1);
      // Each trace of the big loop found it (each heads a region once) and left it.
      if (big) expect(jit.regionsTooBig, `${n} addsd`).toBeGreaterThan(0);
    }
  });

  it('a block becomes a region only after regionFactor x threshold runs: a short loop stays blocks', () => {
    const run = (n: number, factor: number) => {
      const jit = jitOf(2);
      jit.regionFactor = factor;
      const { code, far } = idle(n);
      expect(slices(code, far, jit, 1e6)).toEqual(slices(code, far, null, 1e6));
      return jit.regions;
    };
    expect(run(6, 1)).toBeGreaterThan(0);
    expect(run(6, 5)).toBe(0);
    expect(run(300, 5)).toBeGreaterThan(0);
  });

  it('a branch going the other way and a ret to elsewhere leave the region exactly', () => {
    // mov ecx,400; L: mov rdi,rsi; call f; cmp qword [rsi+16],0; jne out; sub ecx,1; cmp ecx,200; jne +8;
    // mov qword [rsi+8],1; test ecx,ecx; jne L; out: hlt.  From iteration 200 the callee's branch goes the
    // other way; every 8th call it returns 7 bytes past its call (over the cmp; jne pair).
    const code = [0xB9, 0x90, 0x01, 0x00, 0x00, 0x48, 0x89, 0xF7, 0xE8, ...rel32(CODE + 8, 5, FAR),
      0x48, 0x83, 0x7E, 0x10, 0x00, 0x75, 0x17, 0x83, 0xE9, 0x01, 0x81, 0xF9, 0xC8, 0x00, 0x00, 0x00, 0x75, 0x08,
      0x48, 0xC7, 0x46, 0x08, 0x01, 0x00, 0x00, 0x00, 0x85, 0xC9, 0x75, 0xDA, 0xF4];
    expect(code[code.length - 2]).toBe((5 - (code.length - 1)) & 0xff);
    // f: push rbp; mov rbp,rsp; push rbx; mov rax,[rdi+8]; test rax,rax; jne +5; add qword [rdi+24],3; pop rbx;
    // pop rbp; test cl,7; jne +5; add qword [rsp],7; ret
    const far = [0x55, 0x48, 0x89, 0xE5, 0x53, 0x48, 0x8B, 0x47, 0x08, 0x48, 0x85, 0xC0, 0x75, 0x05,
      0x48, 0x83, 0x47, 0x18, 0x03, 0x5B, 0x5D, 0xF6, 0xC1, 0x07, 0x75, 0x05, 0x48, 0x83, 0x04, 0x24, 0x07, 0xC3];
    for (const slice of [1, 5, 29, 1e6]) {
      const jit = jitOf(2);
      const b = slices(code, far, jit, slice);
      expect(b).toEqual(slices(code, far, null, slice));
      expect(jit.regions).toBeGreaterThan(0);
      const last = b[b.length - 1]!;
      expect(last.halted).toBe(true);
      expect(last.r[2]).toBe(0); // ecx ran down: the loop went all the way
    }
  });

  it('code written in a running region (its own page and the callee page) is run as written', () => {
    // In the loop: mov [FAR + 18], cl: rewrites the imm8 of the callee's add qword [rdi+24], imm8 (another
    // page); and every iteration mov byte [rip+X], cl rewrites the imm8 of an add in the loop's own trace.
    const { code, far } = idle(150);
    const L = 5;
    const out = code.slice(0, L);
    out.push(0x83, 0xC0, 0x01); const immAt = out.length - 1; // add eax, imm8
    out.push(0x88, 0x0D, ...rel32(0, 0, 0)); const movAt = out.length - 6; // mov [rip+d], cl
    out.push(0x88, 0x0C, 0x25, ...[(FAR + 18) & 0xff, ((FAR + 18) >> 8) & 0xff, ((FAR + 18) >> 16) & 0xff, 0]); // mov [FAR+18], cl
    out.push(0x48, 0x89, 0xF7);
    out.push(0xE8, ...rel32(CODE + out.length, 5, FAR));
    out.push(0x48, 0x01, 0xC3); // add rbx, rax
    out.push(0x83, 0xE9, 0x01, 0x75, 0x00);
    out[out.length - 1] = (L - out.length) & 0xff;
    out.push(0xF4);
    const d = (CODE + immAt) - (CODE + movAt + 6);
    out.splice(movAt + 2, 4, d & 0xff, (d >> 8) & 0xff, (d >> 16) & 0xff, (d >>> 24) & 0xff);
    for (const threshold of [0, 2]) {
      for (const slice of [1, 13, 1e6]) {
        const jit = jitOf(threshold);
        const b = slices(out, far, jit, slice);
        expect(b).toEqual(slices(out, far, null, slice));
        expect(b[b.length - 1]!.halted).toBe(true);
      }
    }
  });

  it('a region entered after its callee page was rewritten runs the new code', () => {
    // The loop runs hot (its region is built), then falls through to: cmp rbp,1; je out; mov byte [FAR+18],7
    // (the callee's add imm8); or rbp,1; jmp start: the same loop again, whose region must notice the dropped
    // callee trace on entry. The callee keeps rbp (push rbp ... pop rbp).
    const { code, far } = idle(100);
    const phase = code.slice(0, code.length - 1); // without the hlt: the loop's exits land on the cmp below
    const rewrite = [0xC6, 0x04, 0x25, (FAR + 18) & 0xff, ((FAR + 18) >> 8) & 0xff, ((FAR + 18) >> 16) & 0xff, 0, 0x07,
      0x48, 0x83, 0xCD, 0x01, 0xE9, 0, 0, 0, 0];
    const prog = [...phase, 0x48, 0x83, 0xFD, 0x01, 0x74, rewrite.length, ...rewrite, 0xF4];
    const jmpAt = phase.length + 6 + 12;
    prog.splice(jmpAt + 1, 4, ...rel32(CODE + jmpAt, 5, CODE));
    for (const slice of [7, 1e6]) {
      const jit = jitOf(2);
      const b = slices(prog, far, jit, slice);
      expect(b).toEqual(slices(prog, far, null, slice));
      expect(jit.regions).toBeGreaterThan(0);
      expect(b[b.length - 1]!.halted).toBe(true);
      expect(b[b.length - 1]!.r[2 * 5]).toBe(1); // both passes ran
    }
  });

  it('a region entered at another linear address runs the plain block, and is compiled afresh after many', () => {
    // The first 2 MiB are mapped again at 8 MiB. The loop runs hot at CODE, then the program jumps to its own
    // alias and runs again: the head trace (one physical decode) is entered at another linear address.
    // ...loop...; out: cmp rbp,1; je end; or rbp,1; jmp CODE+8MiB; end: hlt
    const { code, far } = idle(700);
    const tail = [0x48, 0x83, 0xFD, 0x01, 0x74, 0x09, 0x48, 0x83, 0xCD, 0x01, 0xE9, 0, 0, 0, 0, 0xF4];
    const prog = code.slice(0, code.length - 1).concat(tail);
    const jmpAt = code.length - 1 + 10;
    prog.splice(jmpAt + 1, 4, ...rel32(CODE + jmpAt, 5, CODE + 0x800000));
    const alias = (f: ReturnType<typeof machine>) => f.mem.dv.setInt32(0x3000 + 8 * 4, 0x83, true);
    for (const slice of [7, 1e6]) {
      const jit = jitOf(2);
      const b = slices(prog, far, jit, slice, 5000, alias);
      expect(b).toEqual(slices(prog, far, null, slice, 5000, alias));
      const last = b[b.length - 1]!;
      expect(last.halted).toBe(true);
      expect(last.rip).toBe(CODE + 0x800000 + prog.length);
      expect(jit.regions).toBeGreaterThan(0);
      if (slice === 1e6) {
        expect(jit.regionsDropped).toBeGreaterThan(0);
        expect(jit.regions).toBeGreaterThan(1);
      }
    }
  });

  it('a TLB flush before entries does not get the region dropped (its pages are fetched again)', () => {
    // OSv reloads CR3 for every TLB shootdown (tst-huge: 12,000 in 150 M instructions): each empties the
    // instruction TLB, and the next entry misses the region's check of its code pages until the run loop has
    // fetched them again. Counted as misses, the region was given up after 256, its block thrown away, and
    // both compiled again 100,000 runs later, again and again.
    const { code, far } = idle(1000);
    const run = (jit: Jit | null) => {
      const f = machine(code, far, jit);
      const out = [];
      for (let n = 0; n < 100_000 && !f.cpu.halted; n++) {
        const why = f.exec.run(n === 0 ? FIRST : 1);
        if (why !== STOP_BUDGET) break;
        // Stopped in front of the region's head (the callee): its caller's page leaves the TLB.
        if (f.cpu.rip === FAR) { f.cpu.mmu.flush(); out.push(state(f)); }
      }
      out.push(state(f));
      return out;
    };
    const jit = jitOf(2);
    const b = run(jit);
    expect(b).toEqual(run(null));
    expect(b[b.length - 1]!.halted).toBe(true);
    expect(b.length).toBeGreaterThan(300);
    expect(jit.regions).toBe(1);
    expect(jit.regionsDropped).toBe(0);
  });

  it('a fault inside a region leaves the interpreter state', () => {
    // The callee loads [rdi+8]; the loop walks rsi (and so rdi) up by 64 KiB until it leaves memory.
    const { code, far } = idle(5000);
    const L = 5;
    const walk = code.slice(0, L).concat([0x48, 0x81, 0xC6, 0x00, 0x00, 0x01, 0x00]); // add rsi, 0x10000
    const rest = code.slice(L);
    const prog = walk.concat(rest);
    // fix the call rel32 (moved by 7) and the loop's back jump and the jne
    const callAt = L + 7 + 3;
    prog.splice(callAt + 1, 4, ...rel32(CODE + callAt, 5, FAR));
    prog[prog.length - 2] = (L - (prog.length - 1)) & 0xff;
    for (const slice of [1, 9, 1e6]) {
      const jit = jitOf(2);
      const b = slices(prog, far, jit, slice, 100000);
      const a = slices(prog, far, null, slice, 100000);
      expect(b).toEqual(a);
      expect(a[a.length - 1]!.fault).toBe(true);
      expect(jit.regions).toBeGreaterThan(0);
    }
  });
});

// ---- random loops --------------------------------------------------------------------------------------------
// Registers the random instructions may write: rax rbx rdx rdi r8 r9 r10 r11 (rcx counts, rsi points at the
// data, rsp is the stack).
const REGS = [0, 3, 2, 7, 8, 9, 10, 11];

function rex(w: boolean, reg: number, rm: number): number[] {
  const b = (w ? 8 : 0) | ((reg >> 3) << 2) | (rm >> 3);
  return b ? [0x40 | b] : [];
}
const modrm = (mod: number, reg: number, rm: number) => (mod << 6) | ((reg & 7) << 3) | (rm & 7);

/** One random instruction (no control transfer). */
function randomInsn(rng: Rng): number[] {
  const d = REGS[rng.int(REGS.length)]!, s = REGS[rng.int(REGS.length)]!;
  const w = rng.int(4) !== 0;
  const disp = rng.int(24) * 8;
  switch (rng.int(16)) {
    case 0: case 1: { const op = [0x01, 0x29, 0x31, 0x21, 0x09, 0x39, 0x85][rng.int(7)]!; return [...rex(w, s, d), op, modrm(3, s, d)]; }
    case 2: { const op = rng.int(8); return [...rex(w, 0, d), 0x83, modrm(3, op, d), rng.int(256)]; }
    case 3: return [...rex(w, 0, d), 0xFF, modrm(3, rng.int(2), d)]; // inc / dec
    case 4: return [...rex(true, d, 6), 0x8B, modrm(1, d, 6), disp]; // mov r, [rsi+disp]
    case 5: return [...rex(true, s, 6), 0x89, modrm(1, s, 6), disp]; // mov [rsi+disp], r
    case 6: return [...rex(w, s, 6), [0x01, 0x29, 0x31][rng.int(3)]!, modrm(1, s, 6), disp]; // alu [rsi+disp], r
    case 7: return [...rex(true, d, s), 0x69, modrm(3, d, s), rng.int(256), rng.int(256), rng.int(4), 0]; // imul r, r, imm32
    case 8: return [...rex(true, 0, d), 0xC1, modrm(3, [4, 5, 7][rng.int(3)]!, d), 1 + rng.int(63)]; // shl/shr/sar
    case 9: return [...rex(true, d, s), 0x8D, modrm(1, d, s), rng.int(128)]; // lea r, [s+disp8]
    case 10: return [...rex(false, 0, d), 0x0F, 0x90 + rng.int(16), modrm(3, 0, d)]; // setcc r8 (bh for rdi)
    case 11: return [...rex(w, d, s), 0x0F, 0x40 + rng.int(16), modrm(3, d, s)]; // cmov
    case 12: return [...rex(false, 0, d), 0x50 + (d & 7), ...rex(false, 0, s), 0x58 + (s & 7)]; // push d; pop s
    case 13: return [...rex(true, s, d), 0x87, modrm(3, s, d)]; // xchg r, r (a handler call)
    case 14: return [...rex(true, 0, d), 0xF7, modrm(3, 3, d)]; // neg
    default: return [...rex(w, s, d), 0x11, modrm(3, s, d)]; // adc (a handler call, reads CF)
  }
}

/**
 * A loop of `parts` pieces of random instructions joined by trace-ending transfers: jmp +0, a jcc over the
 * next instruction (either way), a call to a random function on the far page; mov ecx,N before and
 * dec ecx; jnz back at the end.
 */
function randomLoop(rng: Rng, iters: number): { code: number[]; far: number[] } {
  const code = [0xB9, iters & 0xff, (iters >> 8) & 0xff, 0, 0];
  const L = code.length;
  const far: number[] = [];
  const fns: number[] = [];
  for (let f = 0; f < 3; f++) {
    fns.push(FAR + far.length);
    for (let n = rng.int(4); n > 0; n--) far.push(...randomInsn(rng));
    far.push(0xC3);
  }
  const parts = 2 + rng.int(5);
  for (let p = 0; p < parts; p++) {
    for (let n = 1 + rng.int(5); n > 0; n--) code.push(...randomInsn(rng));
    switch (rng.int(3)) {
      case 0: code.push(0xEB, 0x00); break;
      case 1: {
        // Mostly a branch on a bit of the counter (it goes both ways as the loop runs), else on random flags.
        const skip = randomInsn(rng);
        if (rng.int(4) !== 0) code.push(0xF6, 0xC1, 1 << rng.int(4), 0x74 + rng.int(2), skip.length, ...skip);
        else code.push(0x70 + rng.int(16), skip.length, ...skip);
        break;
      }
      default: code.push(0xE8, ...rel32(CODE + code.length, 5, fns[rng.int(fns.length)]!)); break;
    }
  }
  code.push(0xFF, 0xC9, 0x0F, 0x85, ...rel32(CODE + code.length + 2, 6, CODE + L));
  code.push(0xF4);
  return { code, far };
}

describe('random multi-trace loops: compiled regions vs interpreter', () => {
  it('same states at every budget', () => {
    const rng = new Rng(0x5e9105);
    let regions = 0;
    for (let n = 0; n < 60; n++) {
      const { code, far } = randomLoop(rng, 40 + rng.int(40));
      const slice = [1, 3, 17, 1e6][n % 4]!;
      const jit = jitOf(2);
      const b = slices(code, far, jit, slice);
      const a = slices(code, far, null, slice);
      if (JSON.stringify(a) !== JSON.stringify(b)) {
        expect({ n, code: code.map((x) => x.toString(16)).join(' '), far: far.map((x) => x.toString(16)).join(' '), b }).toEqual({ n, code: code.map((x) => x.toString(16)).join(' '), far: far.map((x) => x.toString(16)).join(' '), b: a });
      }
      regions += jit.regions;
    }
    expect(regions).toBeGreaterThan(20);
  });
});
