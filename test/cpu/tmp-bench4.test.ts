import { it } from 'vitest';
import { decodeOne } from '../../src/cpu/decoder.js';
import { DATA, RCX, RDI, TestMachine } from './machine.js';
it('bench4', () => {
  const m = new TestMachine();
  const { insn } = decodeOne(Uint8Array.from([0xf3, 0x48, 0xab]), 0, 64);
  const cpu = m.cpu;
  for (let rep = 0; rep < 3; rep++) {
    let t0 = performance.now();
    for (let k = 0; k < 200000; k++) {
      cpu.r32[2 * RDI] = DATA; cpu.r32[2 * RDI + 1] = 0; cpu.r32[2 * RCX] = 512; cpu.r32[2 * RCX + 1] = 0;
      insn.h(cpu, insn);
    }
    console.log('stosq 4K handler', ((performance.now() - t0) / 200000 * 1e3).toFixed(3), 'us');
    t0 = performance.now();
    for (let k = 0; k < 200000; k++) {
      cpu.r32[2 * RDI] = DATA; cpu.r32[2 * RDI + 1] = 0; cpu.r32[2 * RCX] = 8; cpu.r32[2 * RCX + 1] = 0;
      insn.h(cpu, insn);
    }
    console.log('stosq 64B handler', ((performance.now() - t0) / 200000 * 1e3).toFixed(3), 'us');
    const u8 = m.mem.u8;
    t0 = performance.now();
    for (let k = 0; k < 200000; k++) u8.fill(0, DATA, DATA + 4096);
    console.log('raw fill 4K', ((performance.now() - t0) / 200000 * 1e3).toFixed(3));
    t0 = performance.now();
    for (let k = 0; k < 200000; k++) m.mem.noteWrite(DATA, 4096);
    console.log('noteWrite', ((performance.now() - t0) / 200000 * 1e3).toFixed(3));
  }
});
