// A trace link keeps the successor it named before (Trace.alt): a branch taken every other time, or a return to two
// call sites, then follows a link both ways instead of going back through the run loop's lookup at each change. The
// second link holds under the same conditions as the first; a TLB flush after its target page was remapped must
// send the next run through the lookup, to the new page.
import { describe, expect, it } from 'vitest';
import { chainJit, countLookups } from './jit-guest.js';
import { CODE, RAX, RBX, RCX, RDX, TestMachine } from './machine.js';

const FAR = 0x20000; // another linear page than CODE
const OTHER = 0x300000; // a physical page FAR is remapped to

/**
 * CODE: L: add rax, 1; test al, 1; jnz FAR; B: add rbx, 1; dec ecx; jnz L; int3.
 * FAR: add rdx, `step`; jmp B. The branch to FAR is taken at every other iteration.
 */
function alternating(m: TestMachine, step: number): void {
  const rel = FAR - (CODE + 12);
  m.mem.writeBytes(CODE, Uint8Array.from([0x48, 0x83, 0xc0, 0x01, 0xa8, 0x01,
    0x0f, 0x85, rel & 0xff, (rel >> 8) & 0xff, (rel >> 16) & 0xff, (rel >> 24) & 0xff,
    0x48, 0x83, 0xc3, 0x01, 0xff, 0xc9, 0x75, 0xec, 0xcc]));
  for (const [at, s] of [[FAR, step], [OTHER, 0x10]]) {
    const back = CODE + 12 - (FAR + 9);
    m.mem.writeBytes(at, Uint8Array.from([0x48, 0x83, 0xc2, s, 0xe9, back & 0xff, (back >> 8) & 0xff, (back >> 16) & 0xff, (back >> 24) & 0xff]));
  }
}

/** The machine, interpreting or with every trace compiled at its second run (chainFrom then follows the links). */
function machine(compiled: boolean): TestMachine {
  const m = new TestMachine();
  if (compiled) m.exec.jit = chainJit();
  return m;
}

describe.each([['interpreted', false], ['compiled', true]])('a trace link to either of two successors (%s)', (_name, compiled) => {
  it('a branch taken every other time follows links both ways', () => {
    const m = machine(compiled);
    alternating(m, 1);
    const lookups = countLookups(m.exec);
    m.setReg(RCX, 200);
    m.cpu.rip = CODE;
    m.cpu.excVector = -1;
    m.exec.run(100_000);
    expect([m.reg(RAX), m.reg(RBX), m.reg(RDX)]).toEqual([200n, 200n, 100n]);
    // Each trace is looked up once, and the int3 after the loop; not once per change of way (~200 of them).
    expect(lookups()).toBeLessThanOrEqual(6);
  });

  it('after its target page is remapped and the TLB flushed, the second link is not followed to the old page', () => {
    const m = machine(compiled);
    alternating(m, 1);
    m.setReg(RCX, 100);
    m.cpu.rip = CODE;
    m.cpu.excVector = -1;
    m.exec.run(100_000);
    // The last iteration did not branch: the link from the branch's trace names B, and FAR as its second link.
    expect(m.reg(RDX)).toBe(50n);
    m.map(FAR, OTHER); // writes the PTE and flushes the TLB, as a guest's shootdown would
    m.setReg(RCX, 100);
    m.cpu.rip = CODE;
    m.cpu.excVector = -1;
    m.exec.run(100_000);
    expect(m.reg(RDX)).toBe(50n + 50n * 0x10n);
  });
});
