// What a compiled block costs per call on kernel code (short traces ending in jumps, calls and rets): the
// loop form only where the block branches back to its own start, the address range test inline, and no
// wrapper function around a block while its runs are counted towards a region. Each is checked on the
// generated code or the trace, and the run against the interpreter.
import { describe, expect, it } from 'vitest';
import { flatMachine } from '../../bench/flat.js';
import { Jit } from '../../src/cpu/jit/jit.js';
import { compileTrace } from '../../src/cpu/jit/compiler.js';

const CODE = 0x100000;
const FAR = 0x100100;

const rel32 = (at: number, len: number, to: number) => {
  const d = (to - (at + len)) | 0;
  return [d & 0xff, (d >> 8) & 0xff, (d >> 16) & 0xff, (d >>> 24) & 0xff];
};

// mov ecx,50; L: mov rax,[rsp+8]; add rax,rbx; mov [rsp+16],rax; inc rbx; jmp FAR
// FAR: dec ecx; jnz L; mov rax,[rbx+rdx+0x200000]; hlt   (rbx = rdx = 2^63: the address sum wraps modulo 2^64)
const code = [0xB9, 50, 0, 0, 0,
  0x48, 0x8B, 0x44, 0x24, 0x08, 0x48, 0x01, 0xD8, 0x48, 0x89, 0x44, 0x24, 0x10, 0x48, 0xFF, 0xC3,
  0xE9, ...rel32(CODE + 21, 5, FAR)];
const far = [0xFF, 0xC9, 0x0F, 0x85, ...rel32(FAR + 2, 6, CODE + 5),
  0x48, 0x8B, 0x84, 0x13, 0x00, 0x00, 0x20, 0x00, 0xF4];
// mov ecx,50; L: add rax,3; dec ecx; jnz L; hlt
const selfLoop = [0xB9, 50, 0, 0, 0, 0x48, 0x83, 0xC0, 0x03, 0xFF, 0xC9, 0x75, 0xF8, 0xF4];

function machine(bytes: number[], farBytes: number[], jit: Jit | null) {
  const f = flatMachine(8, true);
  f.mem.writeBytes(CODE, Uint8Array.from(bytes));
  f.mem.writeBytes(FAR, Uint8Array.from(farBytes));
  f.mem.writeBytes(0x200000, Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]));
  f.cpu.rip = CODE;
  f.cpu.setReg64(4, 0x300000);
  f.exec.jit = jit;
  return f;
}

function source(bytes: number[], at: number): string {
  const f = machine(bytes, far, null);
  f.cpu.rip = at;
  return compileTrace(f.exec.peekTrace()!).source;
}

describe('compiled block cost on kernel-shaped code', () => {
  it('only a block that branches back to its own start is compiled as a loop', () => {
    expect(source(code, CODE + 5)).not.toMatch(/for \(;;\)/);
    expect(source(selfLoop, CODE + 5)).toMatch(/for \(;;\)/);
  });

  it('a base+disp address is range-tested inline; exactEa64 is called only past 2^52', () => {
    const s = source(code, CODE + 5);
    const calls = s.match(/exactEa64\(/g)!.length;
    expect(calls).toBe(2);
    expect(s.match(/< 4503599627370496 && /g)!.length).toBe(calls);
  });

  it('runs as the interpreter, including an address that wraps modulo 2^64', () => {
    const run = (jit: Jit | null) => {
      const f = machine(code, far, jit);
      // rdx = 2^63, rbx = 2^63 - 50 (the loop's 50 inc make it 2^63)
      f.cpu.r32[4] = 0; f.cpu.r32[5] = -0x80000000;
      f.cpu.r32[6] = -50; f.cpu.r32[7] = 0x7fffffff;
      let n = 0;
      while (!f.cpu.halted && n++ < 1000) f.exec.run(7);
      return { r: [...f.cpu.r32], lf: [...f.cpu.lf], rip: f.cpu.rip, icount: f.cpu.icount, mem: [...f.mem.u8.subarray(0x300000, 0x300020)] };
    };
    const jit = new Jit(2);
    const compiled = run(jit);
    expect(jit.compiled).toBeGreaterThan(0);
    expect(compiled).toEqual(run(null));
    // rax: the 8 bytes at 0x200000, read through rbx + rdx + 0x200000 with rbx = rdx = 2^63.
    expect([compiled.r[0], compiled.r[1]]).toEqual([0x04030201, 0x08070605]);
  });

  it('a compiled block runs unwrapped while its runs count towards a region', () => {
    const jit = new Jit(2);
    jit.regionFactor = 1000;
    const f = machine(code, far, jit);
    f.exec.run(60);
    f.cpu.rip = CODE + 5;
    const t = f.exec.peekTrace()!;
    expect(t.fn).not.toBeNull();
    expect(t.fn!.name).toBe('block');
    expect(t.regionAt).toBe(2 * 1000);
    expect(t.hits).toBeGreaterThan(2);
  });
});
