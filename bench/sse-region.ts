// `npm run bench:sse-region`: a loop of n addsd (SSE arithmetic, the longest code the block compiler generates per
// instruction) compiled as a multi-trace region and as chained blocks, guest MIPS per wall second. Regions longer
// than V8 optimises (src/cpu/jit/region.ts MAX_REGION_SOURCE) are left as blocks: with the limit the two columns
// agree for the long loops; without it the region column fell to a few MIPS. Prints figures; asserts nothing.
import { Jit } from '../src/cpu/jit/jit.js';
import { flatMachine } from './flat.js';

const CODE = 0x100000;
const RUNS = Number(process.env.BENCH_RUNS ?? 60);

function mips(n: number, regions: boolean): { mips: number; regions: number; tooBig: number } {
  const code = [0xB9, 0x00, 0x00, 0x00, 0x01]; // mov ecx, 2^24
  for (let k = 0; k < n; k++) code.push(0xF2, 0x0F, 0x58, 0xC1); // addsd xmm0, xmm1
  code.push(0x83, 0xE9, 0x01); // sub ecx, 1
  const back = 5 - (code.length + 6);
  code.push(0x0F, 0x85, back & 0xff, (back >> 8) & 0xff, (back >> 16) & 0xff, (back >>> 24) & 0xff, 0xF4); // jne; hlt
  const f = flatMachine(8, true);
  f.mem.writeBytes(CODE, Uint8Array.from(code));
  f.cpu.rip = CODE;
  f.cpu.setReg64(4, 0x300000);
  f.cpu.xmmF64[0] = 1;
  f.cpu.xmmF64[2] = 1e-300;
  const jit = new Jit();
  jit.regionsEnabled = regions;
  f.exec.jit = jit;
  const t0 = process.hrtime.bigint(), ic0 = f.cpu.icount;
  for (let s = 0; s < RUNS; s++) f.exec.run(5_000_000);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return { mips: (f.cpu.icount - ic0) / s / 1e6, regions: jit.regions, tooBig: jit.regionsTooBig };
}

console.log('sse-region: loop of n addsd + sub + jne, guest MIPS (wall), regions on / off');
for (const n of [40, 100, 120, 200]) {
  const on = mips(n, true), off = mips(n, false);
  console.log(`  n=${String(n).padStart(3)}: regions on ${on.mips.toFixed(1).padStart(6)} MIPS (${on.regions} regions, ${on.tooBig} too big)` +
    `   off ${off.mips.toFixed(1).padStart(6)} MIPS`);
}
