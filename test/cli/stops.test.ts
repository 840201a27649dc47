// A guest that hits an unimplemented instruction or triple-faults gets a one-line report naming RIP and the
// instruction bytes, and a distinct exit status.
import { describe, expect, it } from 'vitest';
import { osvemu, pvhKernel } from './kernels.js';

describe('osvemu run: the guest stops abnormally', () => {
  it('an unimplemented instruction: status 8, one line with RIP and the bytes', () => {
    const r = osvemu('run', pvhKernel('unimpl', 'nop; .byte 0x66, 0x0f, 0x38, 0xdc, 0xc1; hlt'));
    expect(r.status).toBe(8);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/unimplemented instruction at .*rip=0x200001 .*bytes: 66 0f 38 dc c1/);
  });

  it('a triple fault: status 4, one line with RIP, the vector chain and the bytes', () => {
    // No IDT was loaded: ud2 finds an empty gate, which escalates to a shutdown.
    const r = osvemu('run', pvhKernel('triple', 'lidt idtr; ud2; idtr: .word 0; .long 0'));
    expect(r.status).toBe(4);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/triple fault at rip=0x20000[0-9a-f].*#UD.*bytes: 0f 0b/);
  });
});
