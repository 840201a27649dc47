// Direct chaining between compiled blocks (src/cpu/jit/chain.ts) against the interpreter: a loop of several
// compiled traces (regions off, so every trace boundary is a chained hop) at every budget, and a block that
// rewrites the code of the block it chains to (on another page) every iteration.
import { describe, expect, it } from 'vitest';
import { flatMachine } from '../../bench/flat.js';
import { Jit } from '../../src/cpu/jit/jit.js';
import { STOP_BUDGET } from '../../src/cpu/exec.js';

const CODE = 0x100000;
const FAR = 0x108000;

function machine(code: number[], far: number[], jit: Jit | null) {
  const f = flatMachine(8, true);
  f.mem.writeBytes(CODE, Uint8Array.from(code));
  f.mem.writeBytes(FAR, Uint8Array.from(far));
  f.cpu.rip = CODE;
  f.cpu.setReg64(4, 0x300000);
  f.exec.jit = jit;
  return f;
}

function slices(code: number[], far: number[], jit: Jit | null, slice: number) {
  const f = machine(code, far, jit);
  const out = [];
  for (let n = 0; n < 20000 && !f.cpu.halted; n++) {
    const why = f.exec.run(n === 0 ? 200 : slice);
    const c = f.cpu;
    out.push({ why, r: [...c.r32], flags: c.getFlags(), rip: c.rip, icount: c.icount, far: [...f.mem.u8.subarray(FAR, FAR + 16)] });
    if (why !== STOP_BUDGET) break;
  }
  return out;
}

function chained(threshold: number): Jit {
  const j = new Jit(threshold);
  j.regionsEnabled = false;
  j.warmExits = 0;
  return j;
}

const rel32 = (at: number, len: number, to: number) => {
  const d = (to - (at + len)) | 0;
  return [d & 0xff, (d >> 8) & 0xff, (d >> 16) & 0xff, (d >>> 24) & 0xff];
};

// mov ecx,300; L: add rax,rcx; jmp FAR; (FAR: xor rbx,rax; shl rbx,3; jmp back) back: dec ecx; jnz L; hlt
const loop = [0xB9, 0x2C, 0x01, 0x00, 0x00, 0x48, 0x01, 0xC8, 0xE9, ...rel32(CODE + 8, 5, FAR), 0xFF, 0xC9, 0x75, 0xF4, 0xF4];
const loopFar = [0x48, 0x31, 0xC3, 0x48, 0xC1, 0xE3, 0x03, 0xE9, ...rel32(FAR + 7, 5, CODE + 13)];

// mov ecx,200; L: mov [FAR+1], cl (the imm8 of FAR's add); jmp FAR; (FAR: add al,imm8; add rbx,rax; jmp back)
// back: dec ecx; jnz L; hlt
const smc = [0xB9, 0xC8, 0x00, 0x00, 0x00, 0x88, 0x0C, 0x25, (FAR + 1) & 0xff, ((FAR + 1) >> 8) & 0xff, ((FAR + 1) >> 16) & 0xff, 0x00,
  0xE9, ...rel32(CODE + 12, 5, FAR), 0xFF, 0xC9, 0x75, 0xF0, 0xF4];
const smcFar = [0x04, 0x01, 0x48, 0x01, 0xC3, 0xE9, ...rel32(FAR + 5, 5, CODE + 17)];

describe('chained compiled blocks vs interpreter', () => {
  it('a loop of compiled traces stops at the same instruction at every budget', () => {
    expect(loop[loop.length - 2]).toBe((5 - (loop.length - 1)) & 0xff);
    for (const slice of [1, 2, 3, 5, 8, 1e6]) {
      const jit = chained(2);
      const b = slices(loop, loopFar, jit, slice);
      expect(b).toEqual(slices(loop, loopFar, null, slice));
      expect(jit.compiled).toBeGreaterThanOrEqual(3);
      expect(jit.regions).toBe(0);
    }
  });

  it('a block that rewrites the block it chains to runs the new code every time', () => {
    expect(smc[smc.length - 2]).toBe((5 - (smc.length - 1)) & 0xff);
    for (const threshold of [0, 1, 2]) {
      for (const slice of [1, 4, 1e6]) {
        const jit = chained(threshold);
        const b = slices(smc, smcFar, jit, slice);
        expect(b).toEqual(slices(smc, smcFar, null, slice));
        expect(b[b.length - 1]!.r[6]).not.toBe(0);
      }
    }
  });
});
