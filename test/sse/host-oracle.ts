// Runs single SSE instructions on the host CPU: a C program (generated from HOST_OPS, built by gcc at test
// time) reads fixed-size records {op, mxcsr, a[16], b[16]} from stdin, executes
//   ldmxcsr mxcsr; xmm0 = a; xmm1 = b; rax = b[0..7]; rflags = CF|PF|AF|ZF|SF|OF; <insn>
// and writes {xmm0[16], rax[8], mxcsr[4], rflags[4]} per record. When an unmasked exception raises #XM the
// record holds xmm0 and MXCSR as saved at the fault, rax = 0 and rflags = 0x80000000 (FAULTED).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Instruction text per op; operands: xmm0 = first/destination, xmm1 = second, rax/eax = integer source/dest. */
export const HOST_OPS: Record<string, string> = {
  addsd: 'addsd %xmm1, %xmm0', subsd: 'subsd %xmm1, %xmm0', mulsd: 'mulsd %xmm1, %xmm0', divsd: 'divsd %xmm1, %xmm0',
  addss: 'addss %xmm1, %xmm0', subss: 'subss %xmm1, %xmm0', mulss: 'mulss %xmm1, %xmm0', divss: 'divss %xmm1, %xmm0',
  sqrtsd: 'sqrtsd %xmm1, %xmm0', sqrtss: 'sqrtss %xmm1, %xmm0',
  minsd: 'minsd %xmm1, %xmm0', maxsd: 'maxsd %xmm1, %xmm0', minss: 'minss %xmm1, %xmm0', maxss: 'maxss %xmm1, %xmm0',
  comisd: 'comisd %xmm1, %xmm0', ucomisd: 'ucomisd %xmm1, %xmm0', comiss: 'comiss %xmm1, %xmm0', ucomiss: 'ucomiss %xmm1, %xmm0',
  cvtss2sd: 'cvtss2sd %xmm1, %xmm0', cvtsd2ss: 'cvtsd2ss %xmm1, %xmm0',
  cvtsi2sdl: 'cvtsi2sdl %eax, %xmm0', cvtsi2sdq: 'cvtsi2sdq %rax, %xmm0',
  cvtsi2ssl: 'cvtsi2ssl %eax, %xmm0', cvtsi2ssq: 'cvtsi2ssq %rax, %xmm0',
  cvtsd2si: 'cvtsd2si %xmm1, %eax', cvtsd2siq: 'cvtsd2si %xmm1, %rax',
  cvttsd2si: 'cvttsd2si %xmm1, %eax', cvttsd2siq: 'cvttsd2si %xmm1, %rax',
  cvtss2si: 'cvtss2si %xmm1, %eax', cvtss2siq: 'cvtss2si %xmm1, %rax',
  cvttss2si: 'cvttss2si %xmm1, %eax', cvttss2siq: 'cvttss2si %xmm1, %rax',
  addps: 'addps %xmm1, %xmm0', addpd: 'addpd %xmm1, %xmm0', subps: 'subps %xmm1, %xmm0', subpd: 'subpd %xmm1, %xmm0',
  mulps: 'mulps %xmm1, %xmm0', mulpd: 'mulpd %xmm1, %xmm0', divps: 'divps %xmm1, %xmm0', divpd: 'divpd %xmm1, %xmm0',
  sqrtps: 'sqrtps %xmm1, %xmm0', sqrtpd: 'sqrtpd %xmm1, %xmm0',
  minps: 'minps %xmm1, %xmm0', maxps: 'maxps %xmm1, %xmm0', minpd: 'minpd %xmm1, %xmm0', maxpd: 'maxpd %xmm1, %xmm0',
  cvtps2pd: 'cvtps2pd %xmm1, %xmm0', cvtpd2ps: 'cvtpd2ps %xmm1, %xmm0',
  cvtdq2pd: 'cvtdq2pd %xmm1, %xmm0', cvtdq2ps: 'cvtdq2ps %xmm1, %xmm0',
  cvtps2dq: 'cvtps2dq %xmm1, %xmm0', cvttps2dq: 'cvttps2dq %xmm1, %xmm0',
  cvtpd2dq: 'cvtpd2dq %xmm1, %xmm0', cvttpd2dq: 'cvttpd2dq %xmm1, %xmm0',
};
for (let p = 0; p < 8; p++) {
  HOST_OPS[`cmpsd${p}`] = `cmpsd $${p}, %xmm1, %xmm0`;
  HOST_OPS[`cmpss${p}`] = `cmpss $${p}, %xmm1, %xmm0`;
  HOST_OPS[`cmppd${p}`] = `cmppd $${p}, %xmm1, %xmm0`;
  HOST_OPS[`cmpps${p}`] = `cmpps $${p}, %xmm1, %xmm0`;
}
export const OP_NAMES = Object.keys(HOST_OPS);

export const IN_REC = 40;
export const FAULTED = 0x80000000;
export const OUT_REC = 32;

function cSource(): string {
  const cases = OP_NAMES.map((name, i) => `    case ${i}: RUN("${HOST_OPS[name].replace(/%/g, '%%')}"); break;`).join('\n');
  return `#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <setjmp.h>
#include <signal.h>
#include <ucontext.h>
typedef struct { uint32_t op, mxcsr; uint8_t a[16], b[16]; } in_t;
typedef struct { uint8_t x[16]; uint64_t rax; uint32_t mxcsr, rflags; } out_t;
#define RUN(INSN) __asm__ volatile( \\
  "ldmxcsr %[mx]\\n\\tmovdqu %[a], %%xmm0\\n\\tmovdqu %[b], %%xmm1\\n\\tmovq %[b], %%rax\\n\\t" \\
  "pushq $0x8d5\\n\\tpopfq\\n\\t" INSN "\\n\\tpushfq\\n\\tpopq %[fl]\\n\\t" \\
  "movdqu %%xmm0, %[x]\\n\\tmovq %%rax, %[r]\\n\\tstmxcsr %[mx]\\n\\tldmxcsr %[def]" \\
  : [x] "=m"(o.x), [r] "=m"(o.rax), [mx] "+m"(mx), [fl] "=r"(fl) \\
  : [a] "m"(in.a), [b] "m"(in.b), [def] "m"(def) : "rax", "xmm0", "xmm1", "cc", "memory")
static in_t ibuf[4096];
static sigjmp_buf jb;
static out_t fault;
/* An unmasked exception raised #XM (SIGFPE): report the register state at the fault and flag it. */
static void on_fpe(int sig, siginfo_t *si, void *ctx) {
  (void)sig; (void)si;
  ucontext_t *uc = (ucontext_t *)ctx;
  memcpy(fault.x, &uc->uc_mcontext.fpregs->_xmm[0], 16);
  fault.mxcsr = uc->uc_mcontext.fpregs->mxcsr;
  siglongjmp(jb, 1);
}
static out_t obuf[4096];
int main(void) {
  uint32_t def = 0x1f80;
  struct sigaction sa; memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fpe; sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigaction(SIGFPE, &sa, 0);
  for (;;) {
    size_t n = fread(ibuf, sizeof(in_t), 4096, stdin);
    if (n == 0) break;
    for (size_t j = 0; j < n; j++) {
      in_t in = ibuf[j]; out_t o; uint32_t mx = in.mxcsr; uint64_t fl = 0;
      memset(&o, 0, sizeof o);
      if (sigsetjmp(jb, 1)) {
        __asm__ volatile("ldmxcsr %0" : : "m"(def));
        o = fault; o.rflags = 0x80000000u; obuf[j] = o; continue;
      }
      switch (in.op) {
${cases}
      default: return 2;
      }
      o.mxcsr = mx; o.rflags = (uint32_t)fl & 0x8d5;
      obuf[j] = o;
    }
    fwrite(obuf, sizeof(out_t), n, stdout);
  }
  return 0;
}
`;
}

/** Why the host oracle cannot run here, or null. */
export function hostUnavailableReason(): string | null {
  if (process.platform !== 'linux' || process.arch !== 'x64') return `host is ${process.platform}/${process.arch}, needs linux/x64`;
  const gcc = spawnSync('gcc', ['--version']);
  if (gcc.error || gcc.status !== 0) return 'gcc not found';
  return null;
}

const here = dirname(fileURLToPath(import.meta.url));
const BUILD_DIR = resolve(here, '..', '..', 'build', 'sse');
let exePath: string | undefined;

function build(): string {
  if (exePath) return exePath;
  const src = cSource();
  const tag = createHash('sha256').update(src).digest('hex').slice(0, 16);
  const exe = join(BUILD_DIR, `sse-oracle-${tag}`);
  if (!existsSync(exe)) {
    mkdirSync(BUILD_DIR, { recursive: true });
    const cfile = `${exe}.${process.pid}.c`, tmp = `${exe}.${process.pid}.tmp`;
    writeFileSync(cfile, src);
    const r = spawnSync('gcc', ['-O1', '-mno-red-zone', '-o', tmp, cfile], { encoding: 'utf8' });
    if (r.error || r.status !== 0) throw new Error(`gcc failed building the SSE oracle: ${r.error?.message ?? r.stderr}`);
    renameSync(tmp, exe);
  }
  exePath = exe;
  return exe;
}

/** A batch of cases: fill `input` (IN_REC bytes per case) and run it on the host. */
export class OracleBatch {
  readonly input: Buffer;
  count = 0;
  constructor(readonly capacity: number) { this.input = Buffer.alloc(capacity * IN_REC); }

  /** Appends a case; a and b are 16-byte little-endian operand images given as four 32-bit words. */
  push(op: string, mxcsr: number, a: ArrayLike<number>, b: ArrayLike<number>): number {
    const id = OP_NAMES.indexOf(op);
    if (id < 0) throw new Error(`unknown oracle op ${op}`);
    const o = this.count * IN_REC;
    this.input.writeUInt32LE(id, o);
    this.input.writeUInt32LE(mxcsr >>> 0, o + 4);
    for (let i = 0; i < 4; i++) {
      this.input.writeUInt32LE(a[i] >>> 0, o + 8 + 4 * i);
      this.input.writeUInt32LE(b[i] >>> 0, o + 24 + 4 * i);
    }
    return this.count++;
  }

  run(): Buffer {
    const r = spawnSync(build(), [], { input: this.input.subarray(0, this.count * IN_REC), maxBuffer: this.count * OUT_REC + 1024 });
    if (r.error || r.status !== 0) throw new Error(`SSE oracle failed: ${r.error?.message ?? `exit ${r.status}`}`);
    if (r.stdout.length !== this.count * OUT_REC) throw new Error(`SSE oracle returned ${r.stdout.length} bytes for ${this.count} cases`);
    return r.stdout;
  }
}
