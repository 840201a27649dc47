// The run loop's jump cache (Exec.jumpTrace): the traces a trace's single link misses (returns to several call
// sites, both arms of a branch, indirect jumps) are found by linear address, and only while the address space,
// the decoded code and the code mode are those they were found in.
import { beforeEach, describe, expect, it } from 'vitest';
import { CODE, RAX, RBX, RCX, RSP, TestMachine } from './machine.js';

const TARGET = 0x40000, P1 = 0x50000, P2 = 0x60000;
// mov rax, TARGET; jmp rax
const JUMP = [0x48, 0xc7, 0xc0, TARGET & 0xff, (TARGET >> 8) & 0xff, TARGET >> 16, 0x00, 0xff, 0xe0];
// mov ebx, v; int3
const setRbx = (v: number): Uint8Array => Uint8Array.from([0xbb, v, 0, 0, 0, 0xcc]);

describe('jump cache', () => {
  let m: TestMachine;
  beforeEach(() => { m = new TestMachine(); });

  const runFromCode = (): number => { m.cpu.rip = CODE; return m.resume(); };

  it('a remapped target page (TLB flush) is fetched again, not taken from the cache', () => {
    m.mem.writeBytes(CODE, Uint8Array.from(JUMP));
    m.mem.writeBytes(P1, setRbx(1));
    m.mem.writeBytes(P2, setRbx(2));
    m.map(TARGET, P1);
    for (let k = 0; k < 3; k++) {
      expect(runFromCode()).toBe(3);
      expect(m.reg(RBX)).toBe(1n);
    }
    m.map(TARGET, P2);
    expect(runFromCode()).toBe(3);
    expect(m.reg(RBX)).toBe(2n);
  });

  it('a remapped target page is fetched again after the cache went through all its tag offsets', () => {
    // Exec.jumpTrace invalidates by changing an offset added to the tags, and clears them when the offsets run out
    // (32 of them): a tag made 32 invalidations ago must not match again.
    const INT3 = CODE + 0x100;
    m.mem.writeBytes(CODE, Uint8Array.from(JUMP));
    m.mem.write8(INT3, 0xcc);
    m.mem.writeBytes(P1, setRbx(1));
    m.mem.writeBytes(P2, setRbx(2));
    m.map(TARGET, P1);
    expect(runFromCode()).toBe(3);
    expect(m.reg(RBX)).toBe(1n);
    for (let k = 0; k < 31; k++) {
      m.cpu.mmu.flush();
      m.cpu.rip = INT3;
      expect(m.resume()).toBe(3);
    }
    m.map(TARGET, P2);
    expect(runFromCode()).toBe(3);
    expect(m.reg(RBX)).toBe(2n);
  });

  it('an address outside the canonical range never takes a cached trace', () => {
    // A tag is the address plus a multiple of 2^48: an address 2^48 below a cached one, probed one invalidation
    // later, would make the same tag. Such an address (code running off the end of the canonical range) is looked up.
    const exec = m.exec as unknown as { jumpTrace(lin: number, gen: number): { phys: number } | null };
    const INT3 = CODE + 0x100;
    m.mem.writeBytes(CODE, Uint8Array.from(JUMP));
    m.mem.write8(INT3, 0xcc);
    m.cpu.rip = CODE;
    expect(exec.jumpTrace(CODE, m.cache.gen)?.phys).toBe(CODE);
    m.cpu.mmu.flush();
    m.cpu.rip = INT3;
    expect(exec.jumpTrace(INT3, m.cache.gen)?.phys).toBe(INT3);
    expect(exec.jumpTrace(CODE - 2 ** 48, m.cache.gen)?.phys).toBe(INT3);
  });

  it('rewritten code at a cached target runs in its new form', () => {
    m.mem.writeBytes(CODE, Uint8Array.from(JUMP));
    m.mem.writeBytes(TARGET, setRbx(1));
    for (let k = 0; k < 3; k++) {
      expect(runFromCode()).toBe(3);
      expect(m.reg(RBX)).toBe(1n);
    }
    m.mem.writeBytes(TARGET, setRbx(7));
    expect(runFromCode()).toBe(3);
    expect(m.reg(RBX)).toBe(7n);
  });

  it('a function returning to alternating call sites and a branch taken both ways count every instruction', () => {
    // mov ecx, 1000; xor eax, eax; xor ebx, ebx
    // L: call f; add rbx, 1; test cl, 1; jz S; call f; add rbx, 2; S: dec ecx; jnz L; int3
    // f: add rax, 3; ret
    const body = [
      0xe8, 0, 0, 0, 0, // call f (patched)
      0x48, 0x83, 0xc3, 0x01,
      0xf6, 0xc1, 0x01,
      0x74, 0x09, // jz S
      0xe8, 0, 0, 0, 0, // call f (patched)
      0x48, 0x83, 0xc3, 0x02,
      0xff, 0xc9, // S: dec ecx
    ];
    const head = [0xb9, 0xe8, 0x03, 0, 0, 0x31, 0xc0, 0x31, 0xdb];
    const code = [...head, ...body, 0x75, (-(body.length + 2)) & 0xff, 0xcc];
    const f = code.length;
    code.push(0x48, 0x83, 0xc0, 0x03, 0xc3);
    const patch = (at: number) => {
      const rel = f - (at + 5);
      for (let b = 0; b < 4; b++) code[at + 1 + b] = (rel >> (8 * b)) & 0xff;
    };
    patch(head.length);
    patch(head.length + 14);
    m.mem.writeBytes(CODE, Uint8Array.from(code));
    m.setReg(RSP, 0x200000);
    expect(runFromCode()).toBe(3);
    expect(m.reg(RAX)).toBe(3n * 1500n);
    expect(m.reg(RBX)).toBe(1000n + 2n * 500n);
    expect(m.reg(RCX)).toBe(0n);
    // 3 + 1000 loops of (call, add, ret, add, test, jz, dec, jnz) + 500 of (call, add, ret, add) + int3
    expect(m.cpu.icount).toBe(3 + 1000 * 8 + 500 * 4 + 1);
  });
});
