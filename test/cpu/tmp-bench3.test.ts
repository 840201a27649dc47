import { it } from 'vitest';
import { DATA, TestMachine } from './machine.js';
function le(v: number) { return [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff]; }
it('bench3', () => {
  const m = new TestMachine();
  const mk = (ins: number[]) => { const b = [0x48, 0xc7, 0xc6, ...le(DATA), 0x48, 0xc7, 0xc7, ...le(DATA + 0x2000), 0xb9, 0, 2, 0, 0, ...ins, 0x49, 0xff, 0xc8, 0x75]; return [...b, (-(b.length + 1)) & 0xff]; };
  for (let rep = 0; rep < 2; rep++)
  for (const [name, ins] of [['nop', [0x90, 0x90, 0x90]], ['rep stosq 4K', [0xf3, 0x48, 0xab]], ['rep movsq 4K', [0xf3, 0x48, 0xa5]], ['rep movsb 512', [0x90, 0xf3, 0xa4]]] as const) {
    m.setReg(8, 100000);
    const t0 = performance.now(); m.run(mk(ins as unknown as number[]), 1e9); const dt = performance.now() - t0;
    console.log(name, (dt / 100000 * 1e3).toFixed(3), 'us per iteration');
  }
  const u8 = m.mem.u8;
  let t0 = performance.now();
  for (let k = 0; k < 100000; k++) u8.fill(k & 0xff, DATA, DATA + 4096);
  console.log('raw fill 4K', ((performance.now() - t0) / 100000 * 1e3).toFixed(3));
  t0 = performance.now();
  for (let k = 0; k < 100000; k++) u8.copyWithin(DATA + 0x2000, DATA, DATA + 4096);
  console.log('raw copyWithin 4K', ((performance.now() - t0) / 100000 * 1e3).toFixed(3));
});
