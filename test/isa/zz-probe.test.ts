import { it } from 'vitest';
import { Blob, CODE_ADDR, DATA_ADDR } from './blob.js';
import { runNative } from './native.js';
import { runEmulated } from './emu.js';

const NC = 0x8000000000000000n;
const cases: [string, number[], Record<string, bigint>][] = [
  ['push nc rsp', [0x50], { rsp: NC }],
  ['push rsp->nc', [0x50], { rsp: 0x0000800000000004n }],
  ['pop nc rsp', [0x58], { rsp: NC }],
  ['pop rsp 7ffffffffffc', [0x58], { rsp: 0x00007ffffffffffcn }],
  ['ret nc rsp', [0xc3], { rsp: NC }],
  ['call nc rsp', [0xe8, 0, 0, 0, 0], { rsp: NC }],
  ['pushq (%rsi) nc rsi', [0xff, 0x36], { rsi: NC, rsp: DATA_ADDR + 0x800n }],
  ['mov (%rbp),%eax nc', [0x8b, 0x45, 0x00], { rbp: NC }],
  ['mov (%rsp),%eax nc', [0x8b, 0x04, 0x24], { rsp: NC }],
  ['mov (%rbx,%rbp),%eax nc', [0x8b, 0x04, 0x2b], { rbx: NC, rbp: 0n }],
  ['rdpmc', [0x0f, 0x33], { rcx: 0n }],
  ['sysenter', [0x0f, 0x34], {}],
  ['sysexit', [0x0f, 0x35], {}],
  ['rsm', [0x0f, 0xaa], {}],
  ['sldt eax', [0x0f, 0x00, 0xc0], {}],
  ['lar', [0x0f, 0x02, 0xc1], { rcx: 0x2bn }],
  ['lsl', [0x0f, 0x03, 0xc1], { rcx: 0x2bn }],
  ['verr', [0x0f, 0x00, 0xe1], { rcx: 0x2bn }],
  ['enter nc rbp lvl2', [0xc8, 8, 0, 2], { rsp: DATA_ADDR + 0x800n, rbp: NC }],
  ['enter rsp->nc', [0xc8, 0x20, 0, 0], { rsp: 0x0000800000000010n }],
  ['push rsp canon-edge', [0x50], { rsp: 0xffff800000000004n }],
];
it('probe', () => {
  const inputs = cases.map(([, code, regs]) => {
    const b = new Blob();
    b.rip = CODE_ADDR; b.rflags = 0x202; b.fcw = 0x37f; b.mxcsr = 0x1f80;
    b.setGpr('rsp', DATA_ADDR + 0x800n);
    for (const [r, v] of Object.entries(regs)) b.setGpr(r as 'rax', v);
    return { code: new Uint8Array(code), input: b.bytes };
  });
  const out = runNative(inputs);
  cases.forEach(([name], k) => {
    const n = new Blob(out[k]!);
    let e: Blob; try { e = new Blob(runEmulated(inputs[k]!.input.slice(), inputs[k]!.code)); } catch (x) { console.log(name, 'EMU threw', String(x)); e = new Blob(); }
    const s = (b: Blob) => `v=${b.vector} err=${b.errorCode.toString(16)} cr2=${b.faultAddr.toString(16)} rip=${b.rip.toString(16)} rsp=${b.gpr('rsp').toString(16)} rbp=${b.gpr('rbp').toString(16)} rax=${b.gpr('rax').toString(16)}`;
    console.log(`${name.padEnd(26)} NATIVE ${s(n)}\n${''.padEnd(26)} EMU    ${s(e)}`);
  });
});
