// Guest code and machine shared by the block compiler's tests: OSv's idle poll in miniature, a loop through a call
// and a ret, on a flat machine (paging on, identity mapped); and a run in slices recording the state after each.
import { flatMachine } from '../../bench/flat.js';
import { STOP_BUDGET } from '../../src/cpu/exec.js';
import { Jit } from '../../src/cpu/jit/jit.js';

export const CODE = 0x100000;
export const FAR = 0x108000; // another page (functions the loops call)
export const DATA = 0x200000;

/** A machine with `code` at CODE, `far` at FAR, RIP at CODE, RSP 0x300000, RSI at DATA, and `jit` as its compiler. */
export function machine(code: number[], far: number[], jit: Jit | null) {
  const f = flatMachine(8, true);
  f.mem.writeBytes(CODE, Uint8Array.from(code));
  if (far.length) f.mem.writeBytes(FAR, Uint8Array.from(far));
  f.cpu.rip = CODE;
  f.cpu.setReg64(4, 0x300000);
  f.cpu.setReg64(6, DATA);
  f.exec.jit = jit;
  return f;
}

/** rel32 of a call/jmp at `at` (its first byte) of length `len` to `to`. */
export function rel32(at: number, len: number, to: number): number[] {
  const d = (to - (at + len)) | 0;
  return [d & 0xff, (d >> 8) & 0xff, (d >> 16) & 0xff, (d >>> 24) & 0xff];
}

/**
 * mov ecx,N; L: mov rdi,rsi; call far f; cmp qword [rsi+16],0; jne out; sub ecx,1; jne L; out: hlt (at CODE).
 * f (at FAR): push rbp; mov rbp,rsp; push rbx; mov rax,[rdi+8]; test rax,rax; jne skip; add qword [rdi+24],3;
 * skip: pop rbx; pop rbp; ret. Every trace of the loop is shorter than 8 instructions.
 */
export function idle(n: number): { code: number[]; far: number[] } {
  const code = [0xB9, n & 0xff, (n >> 8) & 0xff, 0, 0];
  const L = code.length;
  code.push(0x48, 0x89, 0xF7); // mov rdi, rsi
  code.push(0xE8, ...rel32(CODE + code.length, 5, FAR));
  code.push(0x48, 0x83, 0x7E, 0x10, 0x00); // cmp qword [rsi+16], 0
  code.push(0x75, 0x00); const jne = code.length - 1;
  code.push(0x83, 0xE9, 0x01); // sub ecx, 1
  code.push(0x75, (L - (code.length + 2)) & 0xff);
  code[jne] = code.length - (jne + 1);
  code.push(0xF4);
  const far = [0x55, 0x48, 0x89, 0xE5, 0x53, 0x48, 0x8B, 0x47, 0x08, 0x48, 0x85, 0xC0, 0x75, 0x05,
    0x48, 0x83, 0x47, 0x18, 0x03, 0x5B, 0x5D, 0xC3];
  return { code, far };
}

export function state(f: ReturnType<typeof machine>) {
  const c = f.cpu;
  return { r: [...c.r32], flags: c.getFlags(), rip: c.rip, icount: c.icount, lf: [...c.lf], halted: c.halted, exc: c.excVector,
    data: hash(f.mem.u8, DATA), code: hash(f.mem.u8, CODE), far: hash(f.mem.u8, FAR) };
}

/** FNV-1a of 256 bytes (a cheap fingerprint of data and code taken after every slice). */
export function hash(u8: Uint8Array, at: number): number {
  let h = 0x811c9dc5;
  for (let k = at; k < at + 256; k++) h = Math.imul(h ^ u8[k]!, 0x01000193);
  return h >>> 0;
}

/**
 * Runs a first slice of FIRST instructions (trace links, and so regions, form only within one run() call),
 * then slices of `slice` until hlt (or a fault), recording the state after each slice.
 */
export const FIRST = 300;
export function slices(code: number[], far: number[], jit: Jit | null, slice: number, max = 5000,
  setup: (f: ReturnType<typeof machine>) => void = () => {}) {
  const f = machine(code, far, jit);
  setup(f);
  const out = [];
  let fault = false;
  f.exec.onException = (cpu) => { fault = true; cpu.halted = true; };
  for (let n = 0; n < max && !f.cpu.halted; n++) {
    const why = f.exec.run(n === 0 ? FIRST : slice);
    out.push({ why, fault, ...state(f) });
    if (why !== STOP_BUDGET) break;
  }
  return out;
}

/**
 * A compiler that compiles after `threshold` runs and, unless `warm`, loops inside a region from its first
 * call (by default the first calls leave at the first trace boundary, which short test loops never get past).
 */
export function jitOf(threshold: number, warm = false): Jit {
  const j = new Jit(threshold);
  if (!warm) j.warmExits = 0;
  return j;
}

/** A compiler that compiles every trace at its second run, without regions: its blocks chain one by one (chainFrom). */
export function chainJit(): Jit {
  const j = jitOf(2);
  j.regionsEnabled = false;
  return j;
}

/** Counts the run loop's trace lookups from now on (Exec.jumpTrace: the traces no link named). */
export function countLookups(exec: object): () => number {
  let n = 0;
  const e = exec as { jumpTrace: (lin: number, gen: number) => unknown };
  const jumpTrace = e.jumpTrace.bind(exec);
  e.jumpTrace = (lin, gen) => { n++; return jumpTrace(lin, gen); };
  return () => n;
}
