// Compiled pushes and pops go through the block's stack page (compiler.ts stackHit): the write-TLB slot and page
// of the last stack access that went through the TLB. These runs make that shortcut wrong in each way it could
// be, against the interpreter: an 8-byte push straddling two pages mapped far apart, RSP moving to the next page,
// and another page taking the stack page's TLB slot between two stack accesses.
import { describe, expect, it } from 'vitest';
import { Jit } from '../../src/cpu/jit/jit.js';
import { RAX, RBX, RCX, RDX, RSP, TestMachine } from './machine.js';

const PD = 0x3000, PT9 = 0x6000; // TestMachine's page directory; a free page for the table of 18..20 MiB
const STACK = 0x201000;          // identity-mapped; the page below it is remapped far away
const BELOW_PHYS = 0x380000;
const ALIAS = 0x1201000;         // same TLB slot as STACK (bits 12-23), 16 MiB higher
const ALIAS_PHYS = 0x390000;

// mov ecx, N; L: push rax; mov [rdx], rax; pop rbx; add rsp, 4; inc rax; dec ecx; jnz L -- RSP climbs 4 bytes an
// iteration, so the stack page is the page below when the push straddles and when RSP has crossed.
const loop = (n: number) => [0xb9, n, 0, 0, 0,
  0x50, 0x48, 0x89, 0x02, 0x5b, 0x48, 0x83, 0xc4, 0x04, 0x48, 0xff, 0xc0, 0xff, 0xc9, 0x75, 0xf0];

function run(compiled: boolean, aliasStore: boolean, n: number) {
  const m = new TestMachine();
  const dv = m.mem.dv;
  m.map(STACK - 0x1000, BELOW_PHYS);
  dv.setInt32(PD + 8 * 9, PT9 | 3, true);
  dv.setInt32(PT9 + 8 * ((ALIAS >>> 12) & 511), ALIAS_PHYS | 3, true);
  m.cpu.mmu.flush();
  const jit = compiled ? new Jit(0) : null;
  if (jit) jit.warmExits = 0;
  m.exec.jit = jit;
  m.setReg(RAX, 0x1111222233334444n);
  // Pushes at RSP - 8 + 4n: the 17th straddles the page boundary (0x200ffc), the 18th on are above it.
  m.setReg(RSP, STACK - 0x3c);
  m.setReg(RDX, aliasStore ? ALIAS : STACK + 0x800);
  expect(m.run(loop(n))).toBe(3);
  const mem = (phys: number) => [...m.mem.u8.subarray(phys, phys + 4096)];
  return {
    regs: [RAX, RBX, RCX, RSP].map((r) => m.reg(r)), below: mem(BELOW_PHYS), stack: mem(STACK), alias: mem(ALIAS_PHYS),
    compiled: jit?.compiled ?? 0,
  };
}

describe('compiled stack accesses through the stack page', () => {
  it('the last push straddles two pages mapped apart', () => {
    const a = run(false, false, 17), b = run(true, false, 17);
    expect(b.compiled).toBeGreaterThan(0);
    expect({ ...b, compiled: 0 }).toEqual({ ...a, compiled: 0 });
    expect(a.stack.slice(0, 4)).toEqual([0x22, 0x22, 0x11, 0x11]); // the high half of RAX, 0x11112222
  });
  for (const aliasStore of [false, true]) {
    it(aliasStore ? 'another page takes the stack page\'s TLB slot between pushes' : 'RSP crosses into a page mapped elsewhere', () => {
      const a = run(false, aliasStore, 40), b = run(true, aliasStore, 40);
      expect(b.compiled).toBeGreaterThan(0);
      expect({ ...b, compiled: 0 }).toEqual({ ...a, compiled: 0 });
      // The straddling push wrote its two halves to the two physical pages.
      expect(a.below.slice(4092)).not.toEqual([0, 0, 0, 0]);
      expect(a.stack.slice(0, 4)).not.toEqual([0, 0, 0, 0]);
    });
  }
});
