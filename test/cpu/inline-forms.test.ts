// The run loop's inline forms (src/cpu/hot-forms.ts) keep RIP in a local: a fault in one, after other inline
// forms of the same trace, must still leave RIP on the faulting instruction, the instructions before it retired
// and the registers as they were (a #PF on an unmapped page, each memory and stack form in turn).
import { describe, expect, it } from 'vitest';
import { Form } from '../../src/cpu/hot-forms.js';
import { decodeOne } from '../../src/cpu/decoder.js';
import { CODE, DATA, RAX, RBX, RSP, TestMachine } from './machine.js';

const UNMAPPED = DATA + 0x5000;
// mov eax, 7; add rax, rbx: two inline forms before the one that faults.
const PRELUDE = [0xB8, 7, 0, 0, 0, 0x48, 0x01, 0xD8];

const CASES: [string, number[], Form, boolean][] = [
  // name, bytes, form, whether RSP points at the unmapped page (else RSI does)
  ['push rbx', [0x53], Form.PUSH64, true],
  ['pop rcx', [0x59], Form.POP64, true],
  ['call rel32', [0xE8, 0, 0, 0, 0], Form.CALL64, true],
  ['ret', [0xC3], Form.RET64, true],
  ['mov rcx, [rsi]', [0x48, 0x8B, 0x0E], Form.LOAD64, false],
  ['mov [rsi], rcx', [0x48, 0x89, 0x0E], Form.STORE64, false],
  ['mov ecx, [rsi]', [0x8B, 0x0E], Form.LOAD32, false],
  ['mov [rsi], ecx', [0x89, 0x0E], Form.STORE32, false],
  ['mov [rsi], cl', [0x88, 0x0E], Form.STORE8, false],
  ['movzx ecx, byte [rsi]', [0x0F, 0xB6, 0x0E], Form.LOAD8ZX, false],
  ['movsx ecx, byte [rsi]', [0x0F, 0xBE, 0x0E], Form.LOAD8SX32, false],
  ['mov qword [rsi], 5', [0x48, 0xC7, 0x06, 5, 0, 0, 0], Form.STORE_I64, false],
  ['mov dword [rsi], 5', [0xC7, 0x06, 5, 0, 0, 0], Form.STORE_I32, false],
  ['cmp dword [rsi], 5', [0x83, 0x3E, 5], Form.CMP32_MI, false],
];

describe('inline forms in the run loop', () => {
  for (const [name, bytes, form, stack] of CASES) {
    it(`${name}: a #PF leaves RIP on it, the two before it retired`, () => {
      const pad = new Uint8Array(16);
      pad.set(bytes);
      expect(decodeOne(pad, 0, 64).insn.f).toBe(form);
      const m = new TestMachine();
      m.unmap(UNMAPPED);
      m.setReg(RBX, 0x100000000);
      m.setReg(RSP, stack ? UNMAPPED + 0x800 : DATA + 0x800);
      m.setReg(6, stack ? DATA : UNMAPPED + 0x10);
      m.setReg(1, 0x1234);
      const vec = m.run([...PRELUDE, ...bytes]);
      expect(vec).toBe(14);
      expect(m.cpu.rip).toBe(CODE + PRELUDE.length);
      expect(m.cpu.icount).toBe(2);
      expect(m.reg(RAX)).toBe(0x100000007n);
      expect(m.reg(RSP)).toBe(BigInt(stack ? UNMAPPED + 0x800 : DATA + 0x800));
      expect(m.reg(1)).toBe(0x1234n);
    });
  }
});
