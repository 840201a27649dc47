// Hot-loop benchmark: guest instructions per second on a synthetic integer loop and a memory-heavy loop,
// with paging on (the configuration OSv runs in) and off. Prints figures; asserts nothing.
import { Bench } from 'tinybench';
import { flatMachine } from './flat.js';
import { Jit } from '../src/cpu/jit/jit.js';

const CODE = 0x100000;
const DATA = 0x200000;

// mov ecx, N; L: add rax,rbx; xor rdx,rax; sub rbx,1; inc rsi; cmp rsi,rdi; dec ecx; jnz L; hlt
function integerLoop(n: number): number[] {
  return [0xB9, n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >> 24) & 0xff,
    0x48, 0x01, 0xD8, 0x48, 0x31, 0xC2, 0x48, 0x83, 0xEB, 0x01, 0x48, 0xFF, 0xC6, 0x48, 0x39, 0xFE,
    0xFF, 0xC9, 0x75, 0xEF, 0xF4];
}

// mov ecx,N; mov esi,DATA; L: mov rax,[rsi+rdx*8]; add [rsi+rdx*8+8],rax; push rax; pop rbx;
// mov [rsi+rdx*8+16],rbx; inc edx; and edx,1023; call f; dec ecx; jnz L; hlt; f: ret
function memoryLoop(n: number): number[] {
  const body = [
    0x48, 0x8B, 0x04, 0xD6,
    0x48, 0x01, 0x44, 0xD6, 0x08,
    0x50, 0x5B,
    0x48, 0x89, 0x5C, 0xD6, 0x10,
    0xFF, 0xC2,
    0x81, 0xE2, 0xFF, 0x03, 0x00, 0x00,
    0xE8, 0x05, 0x00, 0x00, 0x00,
    0xFF, 0xC9,
  ];
  const jnz = [0x75, (-(body.length + 2)) & 0xff];
  return [0xB9, n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >> 24) & 0xff,
    0xBE, DATA & 0xff, (DATA >> 8) & 0xff, (DATA >> 16) & 0xff, 0,
    ...body, ...jnz, 0xF4, 0xC3];
}

// The shape of a real kernel loop (../shared/reference/osv-boot-profile.txt: loads, stores, a multiply, shifts
// and lea dominate besides add/cmp/jcc): mov ecx,N; mov esi,DATA;
// L: mov rax,[rsi+rdx*8]; imul rbx,rax,0x12345; shl rbx,3; add rbx,rdx; mov [rsi+rdx*8+8],rbx;
//    lea rdi,[rbx+rax*2]; inc edx; and edx,1023; dec ecx; jnz L; hlt
function mixedLoop(n: number): number[] {
  const body = [
    0x48, 0x8B, 0x04, 0xD6,
    0x48, 0x69, 0xD8, 0x45, 0x23, 0x01, 0x00,
    0x48, 0xC1, 0xE3, 0x03,
    0x48, 0x01, 0xD3,
    0x48, 0x89, 0x5C, 0xD6, 0x08,
    0x48, 0x8D, 0x3C, 0x43,
    0xFF, 0xC2,
    0x81, 0xE2, 0xFF, 0x03, 0x00, 0x00,
    0xFF, 0xC9,
  ];
  const jnz = [0x75, (-(body.length + 2)) & 0xff];
  return [0xB9, n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >> 24) & 0xff,
    0xBE, DATA & 0xff, (DATA >> 8) & 0xff, (DATA >> 16) & 0xff, 0,
    ...body, ...jnz, 0xF4];
}

/**
 * Runs one loop to its hlt. Time is this process's CPU time (user + system), which stays meaningful when
 * other work shares the machine; wall time is reported beside it.
 */
function runOnce(code: number[], paging: boolean, jit: boolean): { insns: number; seconds: number; wall: number } {
  const { mem, cpu, exec } = flatMachine(8, paging);
  if (jit) exec.jit = new Jit();
  mem.writeBytes(CODE, Uint8Array.from(code));
  cpu.rip = CODE;
  cpu.setReg64(4, 0x300000); // rsp
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  exec.run(1e12);
  const t1 = process.hrtime.bigint();
  const c1 = process.cpuUsage(c0);
  if (!cpu.halted) throw new Error(`benchmark loop did not reach hlt (rip=0x${cpu.rip.toString(16)})`);
  return { insns: cpu.icount, seconds: (c1.user + c1.system) / 1e6, wall: Number(t1 - t0) / 1e9 };
}

async function main(): Promise<void> {
  const N = Number(process.env.BENCH_ITERS ?? 3_000_000);
  const base: [string, number[], boolean][] = [
    ['integer loop, paging on', integerLoop(N), true],
    ['integer loop, paging off', integerLoop(N), false],
    ['memory loop, paging on', memoryLoop(N / 2), true],
    ['memory loop, paging off', memoryLoop(N / 2), false],
    ['mixed loop, paging on', mixedLoop(N / 2), true],
  ];
  // Each loop interpreted and compiled (BENCH_JIT=0 or 1 picks one); compiled loops run 10x longer.
  const modes = process.env.BENCH_JIT === '0' ? [false] : process.env.BENCH_JIT === '1' ? [true] : [false, true];
  const cases: [string, number[], boolean, boolean][] = [];
  for (const jit of modes) {
    for (const [name, code, paging] of base) {
      const iters = jit ? N * 10 : N;
      const prog = name.startsWith('integer') ? integerLoop(iters) : name.startsWith('memory') ? memoryLoop(iters / 2) : mixedLoop(iters / 2);
      void code;
      cases.push([`${name}${jit ? ', jit' : ''}`, prog, paging, jit]);
    }
  }
  const bench = new Bench({ iterations: 5, warmupIterations: 1, time: 0 });
  const mips = new Map<string, number[]>();
  const wallMips = new Map<string, number[]>();
  for (const [name, code, paging, jit] of cases) {
    bench.add(name, () => {
      const r = runOnce(code, paging, jit);
      (mips.get(name) ?? mips.set(name, []).get(name)!).push(r.insns / r.seconds / 1e6);
      (wallMips.get(name) ?? wallMips.set(name, []).get(name)!).push(r.insns / r.wall / 1e6);
    });
  }
  await bench.run();
  const median = (l: number[]) => [...l].sort((a, b) => a - b)[Math.floor(l.length / 2)];
  console.log('guest MIPS per CPU-second of this process (median, best) and per wall-second (median)');
  for (const [name] of cases) {
    const list = mips.get(name) ?? [];
    console.log(`${name.padEnd(33)} ${median(list).toFixed(1).padStart(7)} MIPS cpu (best ${Math.max(...list).toFixed(1)}), ` +
      `${median(wallMips.get(name) ?? []).toFixed(1)} MIPS wall`);
  }
}

main().catch((e) => { console.error(String(e?.message ?? e)); process.exit(1); });
