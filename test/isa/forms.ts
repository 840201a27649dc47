// The instruction FORM table of the differential test: every user-level (CPL 3) instruction form the OSv
// kernel uses, written as AT&T text, with its operand generators and its SDM-undefined state.
// Machinery (case generation, placement, undefined helpers): ./formkit.ts.
import { Blob, CODE_ADDR, DATA_ADDR, FLAG, type GprName } from './blob.js';
import {
  F, FSW_C0123, FSW_C023, type Form, type FormOpts, U_BITSCAN, U_BT, U_CNT, U_DIV, U_LOGIC, U_MUL, type Undef,
  dataOff, form, mv, regLow, shiftUndef, shldUndef, stackOffset, writeMem, writeMemU,
} from './formkit.js';
import { type Rng, intValue } from './rng.js';

const U = (u: Undef) => () => u;
const rcxCount = (inp: Blob) => regLow(inp, 'rcx');
/** A register that is zero in 30% of the cases (bit scans, divisors). */
const oftenZero = (rng: Rng) => (rng.chance(0.3) ? 0n : intValue(rng));
const inPage = (lo: number, hi: number) => (rng: Rng) => DATA_ADDR + BigInt(rng.range(lo, hi));
const codeTarget = (rng: Rng) => (rng.chance(0.08) ? intValue(rng) : CODE_ADDR + BigInt(rng.range(16, 4000)));

const forms: Form[] = [];
const add = (asm: string, o: FormOpts = {}) => { forms.push(form(asm, o)); };

// ---------------- integer ALU ----------------
const ALU = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];
for (const op of ALU) {
  const u = op === 'and' || op === 'or' || op === 'xor' ? U(U_LOGIC) : undefined;
  const o: FormOpts = { undef: u };
  for (const ops of ['%rbx,%rax', '%r9,%r10', '%ebx,%eax', '%r11d,%ecx', '%bx,%ax', '%r8w,%dx', '%bl,%al', '%ah,%ch', '%sil,%r9b']) {
    add(`${op} ${ops}`, o);
  }
  for (const ops of ['$0x7f,%al', '$-1,%ecx', '$0x12345678,%rdx', '$-0x80000000,%rax', '$0x1234,%si', '$0x81,%bl', '$-3,%r12']) {
    add(`${op} ${ops}`, o);
  }
  for (const ops of [`${op} %rax,(%rsi)`, `${op} (%rsi),%ecx`, `${op} %dl,8(%rsi)`, `${op} (%rsi,%rcx,2),%bx`, `${op}b $0x55,(%rsi)`,
    `${op}w $-2,(%rsi)`, `${op}l $0x1234567,(%rsi,%rcx,4)`, `${op}q $-0x80,-8(%rdi)`]) {
    add(ops, o);
  }
  if (op !== 'cmp') {
    for (const ops of [`lock ${op} %rax,(%rsi)`, `lock ${op}l $0x11,(%rsi)`, `lock ${op}w %cx,(%rsi)`, `lock ${op}q $-1,(%rsi)`]) add(ops, o);
  }
}
for (const ops of ['test %rbx,%rax', 'test %ecx,%ecx', 'test %dx,%si', 'test %al,%bl', 'test $0x80,%al', 'test $0x1234,%di',
  'test $-0x10,%r8', 'testb $0x10,(%rsi)', 'testw $0x8001,(%rsi)', 'testl $0xf0f0f0f0,(%rsi)', 'test %rax,(%rsi)']) {
  add(ops, { undef: U(U_LOGIC) });
}
// The memory compares and tests ops/hot-mem.ts gives handlers of their own (imm8, imm32 and register operands).
for (const ops of ['cmpl $-3,8(%rsi)', 'cmpq $0x7f,(%rsi)', 'cmpb $0x80,(%rsi)', 'cmp 8(%rsi),%rax', 'cmp (%rsi),%r9d',
  'cmp %ecx,8(%rsi)', 'testb $0x81,-1(%rsi,%rcx,1)', 'testl $1,8(%rsi)']) {
  add(ops, ops.startsWith('test') ? { undef: U(U_LOGIC) } : {});
}
for (const op of ['inc', 'dec', 'neg', 'not']) {
  for (const ops of [`${op} %rax`, `${op} %ecx`, `${op} %dx`, `${op} %bl`, `${op} %ah`, `${op} %r13`, `${op}l (%rsi)`, `${op}q 8(%rsi)`, `${op}b (%rsi)`, `${op}w (%rsi)`]) {
    add(ops);
  }
  if (op !== 'not') add(`lock ${op}l (%rsi)`);
}

// ---------------- shifts and rotates ----------------
const REGBITS: [string, number][] = [['%rax', 64], ['%edx', 32], ['%bx', 16], ['%al', 8]];
for (const op of ['shl', 'shr', 'sar', 'rol', 'ror', 'rcl', 'rcr']) {
  for (const [r, bits] of REGBITS) add(`${op} %cl,${r}`, { undef: shiftUndef(op, bits, rcxCount), regs: { rcx: countValueGen } });
  add(`${op} %rsi`, { undef: shiftUndef(op, 64, () => 1) });
  add(`${op} %r9b`, { undef: shiftUndef(op, 8, () => 1) });
  for (const [r, bits, n] of [['%ecx', 32, 5], ['%rdx', 64, 33], ['%bl', 8, 9], ['%si', 16, 17], ['%r10d', 32, 31], ['%r11', 64, 63]] as const) {
    add(`${op} $${n},${r}`, { undef: shiftUndef(op, bits, () => n) });
  }
  add(`${op}b %cl,(%rsi)`, { undef: shiftUndef(op, 8, rcxCount), regs: { rcx: countValueGen } });
  add(`${op}q $3,(%rsi)`, { undef: shiftUndef(op, 64, () => 3) });
  add(`${op}w (%rsi)`, { undef: shiftUndef(op, 16, () => 1) });
  add(`${op}l %cl,(%rsi)`, { undef: shiftUndef(op, 32, rcxCount), regs: { rcx: countValueGen } });
}
function countValueGen(rng: Rng): bigint {
  if (rng.chance(0.25)) return intValue(rng);
  return BigInt(rng.pick([0, 1, 2, 7, 8, 9, 15, 16, 17, 18, 31, 32, 33, 63, 64, 65, 0xff, rng.int(64), rng.int(64), rng.int(256)]));
}
for (const op of ['shld', 'shrd']) {
  const memOff = (inp: Blob) => dataOff(inp, 'rsi');
  add(`${op} %cl,%rbx,%rax`, { undef: shldUndef(64, rcxCount, 'rax', memOff), regs: { rcx: countValueGen } });
  add(`${op} %cl,%ebx,%eax`, { undef: shldUndef(32, rcxCount, 'rax', memOff), regs: { rcx: countValueGen } });
  add(`${op} %cl,%bx,%ax`, { undef: shldUndef(16, rcxCount, 'rax', memOff), regs: { rcx: countValueGen } });
  add(`${op} $5,%r9,%r8`, { undef: shldUndef(64, () => 5, 'r8', memOff) });
  add(`${op} $1,%edx,%ecx`, { undef: shldUndef(32, () => 1, 'rcx', memOff) });
  add(`${op} $12,%dx,%cx`, { undef: shldUndef(16, () => 12, 'rcx', memOff) });
  add(`${op} %cl,%rax,(%rsi)`, { undef: shldUndef(64, rcxCount, null, memOff), regs: { rcx: countValueGen } });
  add(`${op} $7,%ax,(%rsi)`, { undef: shldUndef(16, () => 7, null, memOff) });
}

// ---------------- multiply / divide ----------------
for (const op of ['mul', 'imul']) {
  for (const ops of [`${op} %rbx`, `${op} %ecx`, `${op} %si`, `${op} %bl`, `${op} %ah`, `${op}q (%rsi)`, `${op}l (%rsi)`, `${op}w (%rsi)`, `${op}b (%rsi)`]) {
    add(ops, { undef: U(U_MUL) });
  }
}
for (const ops of ['imul %rbx,%rax', 'imul %ecx,%edx', 'imul %si,%di', 'imul (%rsi),%rax', 'imul (%rsi),%r8d', 'imul $7,%rbx,%rax',
  'imul $0x12345,%ecx,%edx', 'imul $-3,%si,%ax', 'imul $-100000,(%rsi),%rax', 'imul $0x7f,%r9,%r9']) {
  add(ops, { undef: U(U_MUL) });
}
// Factors that are sign-extended 32-bit values take the emulator's no-overflow fast path; edges included.
const sx32 = (rng: Rng) => BigInt.asUintN(64, BigInt(rng.pick([0, 1, -1, 0x7fffffff, -0x80000000, rng.int(65536), -rng.int(65536),
  (rng.int(65536) * 65536 + rng.int(65536)) | 0])));
for (const ops of ['imul %rbx,%rax', 'imul $-100000,%rbx,%rax', 'imul $0x7f,%rbx,%rax']) {
  add(ops, { undef: U(U_MUL), regs: { rax: sx32, rbx: sx32 }, tag: 'sx32' });
}
/** Divide cases: mostly a quotient that fits, sometimes overflow or a zero divisor (#DE). */
function divSetup(bits: number, signed: boolean, divisor: GprName | null) {
  return (c: { rng: Rng; b: Blob; ea: number[] }) => {
    const { rng, b } = c;
    const m = (1n << BigInt(bits)) - 1n;
    let d: bigint;
    if (divisor) d = b.gpr(divisor) & m;
    else { d = 0n; const off = c.ea[0]!; for (let i = bits / 8 - 1; i >= 0; i--) d = (d << 8n) | BigInt(off + i >= 0 && off + i < 4096 ? b.mem[off + i]! : 0); }
    if (rng.chance(0.1)) return; // random dividend: often overflows
    const lo = rng.u64() & m;
    let hi: bigint;
    if (signed) hi = rng.chance(0.5) ? 0n : m; // sign extension of a positive/negative low part, mostly fits
    else hi = d === 0n ? 0n : (rng.u64() & m) % d;
    if (signed) {
      const l = hi ? lo | (1n << BigInt(bits - 1)) : lo & (m >> 1n);
      setDividend(b, bits, l, hi);
    } else setDividend(b, bits, lo, hi);
  };
}
function setDividend(b: Blob, bits: number, lo: bigint, hi: bigint): void {
  const keep = (r: GprName, v: bigint, n: number) => {
    const m = (1n << BigInt(n)) - 1n; b.setGpr(r, (b.gpr(r) & ~m) | (v & m));
  };
  if (bits === 8) keep('rax', (hi << 8n) | lo, 16);
  else { keep('rax', lo, bits); keep('rdx', hi, bits); }
}
for (const op of ['div', 'idiv']) {
  const s = op === 'idiv';
  const divisorGen = (rng: Rng) => (rng.chance(0.1) ? 0n : rng.chance(0.3) ? BigInt(rng.range(1, 20)) : intValue(rng));
  add(`${op} %rbx`, { undef: U(U_DIV), regs: { rbx: divisorGen }, setup: divSetup(64, s, 'rbx') });
  add(`${op} %ecx`, { undef: U(U_DIV), regs: { rcx: divisorGen }, setup: divSetup(32, s, 'rcx') });
  add(`${op} %si`, { undef: U(U_DIV), regs: { rsi: divisorGen }, setup: divSetup(16, s, 'rsi') });
  add(`${op} %bl`, { undef: U(U_DIV), regs: { rbx: divisorGen }, setup: divSetup(8, s, 'rbx') });
  add(`${op} %r10`, { undef: U(U_DIV), regs: { r10: divisorGen }, setup: divSetup(64, s, 'r10') });
  add(`${op}q (%rsi)`, { undef: U(U_DIV), setup: divSetup(64, s, null) });
  add(`${op}l (%rsi)`, { undef: U(U_DIV), setup: divSetup(32, s, null) });
  add(`${op}w (%rsi)`, { undef: U(U_DIV), setup: divSetup(16, s, null) });
  add(`${op}b (%rsi)`, { undef: U(U_DIV), setup: divSetup(8, s, null) });
}

// ---------------- bit test / scan / count ----------------
/** Bit offsets that reach far outside the addressed operand (memory forms), base in the middle of the page. */
const btMemSetup = (c: { rng: Rng; b: Blob }) => {
  c.b.setGpr('rsi', DATA_ADDR + 2048n + BigInt(c.rng.range(-8, 8)));
  c.b.setGpr('rcx', BigInt(c.rng.chance(0.3) ? c.rng.range(-64, 64) : c.rng.range(-16000, 16000)));
};
for (const op of ['bt', 'bts', 'btr', 'btc']) {
  for (const ops of [`${op} %rcx,%rax`, `${op} %ecx,%eax`, `${op} %cx,%ax`, `${op} $37,%rax`, `${op} $70,%rdx`, `${op} $5,%bx`]) {
    add(ops, { undef: U(U_BT), regs: { rcx: countValueGen } });
  }
  add(`${op} %rcx,(%rsi)`, { undef: U(U_BT), setup: btMemSetup });
  add(`${op} %ecx,(%rsi)`, { undef: U(U_BT), setup: btMemSetup });
  add(`${op} %cx,(%rsi)`, { undef: U(U_BT), setup: btMemSetup });
  add(`${op}l $35,(%rsi)`, { undef: U(U_BT) });
  add(`${op}q $63,(%rsi)`, { undef: U(U_BT) });
  if (op !== 'bt') add(`lock ${op} %rcx,(%rsi)`, { undef: U(U_BT), setup: btMemSetup });
}
// bsf/bsr with a zero source: the SDM says the destination is undefined; AMD documents (and Intel does) "unchanged".
// The host's behaviour is the reference (not masked), see docs/isa-coverage.md.
for (const op of ['bsf', 'bsr', 'tzcnt', 'lzcnt', 'popcnt']) {
  const u = op === 'bsf' || op === 'bsr' ? U(U_BITSCAN) : op === 'popcnt' ? undefined : U(U_CNT);
  for (const ops of ['%rbx,%rax', '%ebx,%eax', '%bx,%ax', '(%rsi),%rcx', '(%rsi),%edx', '%r9,%r10']) {
    add(`${op} ${ops}`, { undef: u, regs: { rbx: oftenZero, r9: oftenZero }, memval: (c, off) => writeMemU(c.b, off, oftenZero(c.rng), 8) });
  }
}

// ---------------- conditions ----------------
const CC = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];
for (const cc of CC) {
  add(`set${cc} %al`);
  add(`cmov${cc} %rbx,%rax`);
  add(`cmov${cc} %ecx,%edx`);
  add(`j${cc} .+0x20`);
}
for (const cc of ['e', 'ne', 'b', 'l']) {
  add(`set${cc} (%rsi)`);
  add(`set${cc} %sil`);
  add(`cmov${cc} (%rsi),%rax`, { edge: 0.1 });
  add(`cmov${cc} %si,%di`);
  add(`j${cc} .+0x400`);
  add(`j${cc} .-0x10`);
}

// ---------------- stack, calls, jumps ----------------
const stk: FormOpts = { stack: true };
for (const ops of ['push %rax', 'push %r12', 'push $0x7f', 'push $-0x12345678', 'pushq (%rsi)', 'pushw %ax', 'pushw $0x1234',
  'pop %rbx', 'pop %r13', 'popq (%rsi)', 'popw %dx', 'push %rsp', 'pop %rsp', 'pushq 8(%rsp)']) {
  add(ops, stk);
}
/** Puts a return target inside the CODE page at [rsp] (when rsp is inside the data page). */
const retTarget = (c: { rng: Rng; b: Blob }) => writeMemU(c.b, dataOff(c.b, 'rsp'), codeTarget(c.rng), 8);
add('call .+0x40', stk);
add('call .+0x400', stk);
add('call *%rax', { ...stk, regs: { rax: codeTarget } });
add('call *%r11', { ...stk, regs: { r11: codeTarget } });
add('call *(%rsi)', { ...stk, memval: (c, off) => writeMemU(c.b, off, codeTarget(c.rng), 8) });
add('ret', { ...stk, setup: retTarget });
add('ret $16', { ...stk, setup: retTarget });
add('jmp .+0x30');
add('jmp .+0x300');
add('jmp .-0x8');
add('jmp *%rax', { regs: { rax: codeTarget } });
add('jmp *(%rsi)', { memval: (c, off) => writeMemU(c.b, off, codeTarget(c.rng), 8) });
add('jmp *8(%rsi,%rcx,8)', { memval: (c, off) => writeMemU(c.b, off, codeTarget(c.rng), 8) });
const rbpInPage = { rbp: inPage(512, 3584) };
add('enter $0x20,$0', { ...stk, regs: rbpInPage });
add('enter $0x8,$1', { ...stk, regs: rbpInPage });
add('enter $0x10,$3', { ...stk, regs: rbpInPage });
add('leave', { regs: { rbp: (rng) => (rng.chance(0.9) ? inPage(0, 4088)(rng) : intValue(rng)) } });
add('pushfq', stk);
// Stack accesses are SS accesses: a non-canonical stack address (also one straddling the canonical boundary) is
// #SS(0), not #GP(0), and is checked before paging; the instruction leaves RSP alone.
const STACK_EDGES = [0x00007ffffffffffcn, 0x0000800000000004n, 0xffff800000000004n, 0x8000000000000000n, 0x00007ffffffffff8n, 0n];
const edgeAddr = (rng: Rng) => (rng.chance(0.5) ? rng.pick(STACK_EDGES) : intValue(rng));
const rspEdge = (rng: Rng) => (rng.chance(0.6) ? DATA_ADDR + BigInt(stackOffset(rng)) : edgeAddr(rng));
const rspE: FormOpts = { regs: { rsp: rspEdge }, tag: 'rsp edge' };
for (const ops of ['push %rbx', 'pop %rbx', 'pushw %ax', 'push $0x12', 'call .+0x40', 'pushfq', 'enter $0x10,$0']) add(ops, rspE);
add('enter $0x8,$2', { ...rspE, regs: { ...rspE.regs, ...rbpInPage } });
add('ret', { ...rspE, setup: retTarget });
add('pushq (%rsi)', { ...rspE, setup: (c) => { c.b.setGpr('rsp', rspEdge(c.rng)); } });
// rsp/rbp-based operands are SS accesses too (the memory-operand placement points the base into the page first).
const ssBase = (r: GprName) => (c: { rng: Rng; b: Blob }) => { if (c.rng.chance(0.4)) c.b.setGpr(r, edgeAddr(c.rng)); };
add('mov 8(%rbp),%eax', { setup: ssBase('rbp'), tag: 'SS base' });
add('add %rcx,-8(%rbp)', { setup: ssBase('rbp'), tag: 'SS base' });
add('mov (%rsp),%rax', { setup: ssBase('rsp'), tag: 'SS base' });
add('mov %ecx,0x10(%rsp,%rdx,8)', { setup: ssBase('rsp'), tag: 'SS base' });
add('mov (%rbx,%rbp,1),%eax', { setup: ssBase('rbx'), tag: 'SS base: rbp as index is a DS access' });
add('popfq', { ...stk, setup: (c) => writeMemU(c.b, dataOff(c.b, 'rsp'), c.rng.u64() & ~BigInt(FLAG.TF), 8) });
for (const ops of ['lahf', 'sahf', 'stc', 'clc', 'cmc', 'cld', 'std']) add(ops);

// Loops and rcx tests (not used by OSv's compiled code, cheap to keep honest), 16-bit frame ops, popf of 16 bits.
const smallCount = (rng: Rng) => (rng.chance(0.7) ? BigInt(rng.pick([0, 1, 2, 0x10000, 0x100000000])) : intValue(rng));
for (const ops of ['loop .+0x20', 'loope .+0x20', 'loopne .-0x10', 'jrcxz .+0x20', 'jecxz .+0x20', 'addr32 loop .+0x20']) {
  add(ops, { regs: { rcx: smallCount } });
}
add('leavew', { regs: { rbp: (rng) => (rng.chance(0.9) ? inPage(0, 4088)(rng) : intValue(rng)) } });
add('enter $0x8,$0x21', { ...stk, regs: rbpInPage, tag: 'level is mod 32' });
add('enterw $0x8,$2', { ...stk, regs: rbpInPage });
add('enterw $0x6,$0', { ...stk, regs: rbpInPage });
add('pushfw', stk);
add('popfw', { ...stk, setup: (c) => writeMemU(c.b, dataOff(c.b, 'rsp'), c.rng.u64() & ~BigInt(FLAG.TF), 8) });
add('ret $0xfff8', { ...stk, setup: retTarget });
// Encodings that are #UD: LOCK on a register or non-lockable destination, opcodes invalid in 64-bit mode.
for (const [bytes, what] of [
  ['0xf0,0x48,0x01,0xd8', 'lock add %rbx,%rax'], ['0xf0,0x89,0x06', 'lock mov %eax,(%rsi)'], ['0xf0,0x3b,0x06', 'lock cmp (%rsi),%eax'],
  ['0xf0,0x39,0x06', 'lock cmp %eax,(%rsi)'], ['0xf0,0x85,0x06', 'lock test %eax,(%rsi)'], ['0xf0,0xf7,0x06,1,0,0,0', 'lock testl $1,(%rsi)'],
  ['0xf0,0xfe,0xc0', 'lock inc %al'], ['0xf0,0x90', 'lock nop'],
  ['0x06', 'push %es'], ['0x27', 'daa'], ['0x37', 'aaa'], ['0x60', 'pusha'], ['0xce', 'into'], ['0xd4,0x0a', 'aam'], ['0xd6', 'salc'],
  ['0x9a,0,0,0,0,0x10,0', 'lcall $0x10,$0'], ['0x82,0xc0,0x01', 'add $1,%al via 82'], ['0x8d,0xc0', 'lea with a register'],
  ['0xc6,0xc8,0x01', 'c6 /1'], ['0x8f,0xc8', '8f /1'], ['0xff,0xf8', 'ff /7'], ['0xfe,0xd0', 'fe /2'],
] as const) add(`.byte ${bytes}`, { tag: `#UD: ${what}` });
// REX.B turns 90 into xchg; with F3 too (it is no longer pause).
for (const [bytes, what] of [['0x41,0x90', 'xchg %eax,%r8d'], ['0x49,0x90', 'xchg %rax,%r8'], ['0xf3,0x41,0x90', 'f3 + xchg %eax,%r8d'],
  ['0x66,0x41,0x90', 'xchg %ax,%r8w']] as const) add(`.byte ${bytes}`, { tag: what });

// ---------------- exchange / atomics ----------------
const sameAsRax = (n: number) => (c: { rng: Rng; b: Blob; ea: number[] }) => {
  if (c.rng.chance(0.5)) {
    const off = c.ea[0]!;
    let v = 0n; for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(off + i >= 0 && off + i < 4096 ? c.b.mem[off + i]! : 0);
    c.b.setGpr('rax', v | (c.b.gpr('rax') & ~((1n << BigInt(8 * n)) - 1n)));
  }
};
for (const ops of ['xchg %rbx,%rax', 'xchg %ecx,%edx', 'xchg %al,%bl', 'xchg %ax,%si', 'xchg %rax,(%rsi)', 'xchg %cl,(%rsi)',
  'xchg %eax,%r8d', 'xadd %rbx,%rax', 'xadd %ecx,(%rsi)', 'lock xadd %rax,(%rsi)', 'lock xadd %ecx,(%rsi)', 'xadd %bl,%al', 'xadd %dx,(%rsi)']) {
  add(ops);
}
add('.byte 0x87,0xc0', { tag: 'xchg %eax,%eax (87 c0, zero-extends)' });
add('cmpxchg %rbx,(%rsi)', { setup: sameAsRax(8) });
add('lock cmpxchg %rcx,(%rsi)', { setup: sameAsRax(8) });
add('lock cmpxchg %ecx,(%rsi)', { setup: sameAsRax(4) });
add('cmpxchg %ax,(%rsi)', { setup: sameAsRax(2) });
add('cmpxchg %bl,(%rsi)', { setup: sameAsRax(1) });
add('cmpxchg %ecx,%edx', { setup: (c) => { if (c.rng.chance(0.5)) c.b.setGpr('rax', c.b.gpr('rdx')); } });
const cx8 = (n: number) => (c: { rng: Rng; b: Blob; ea: number[] }) => {
  if (!c.rng.chance(0.5)) return;
  const off = c.ea[0]!; const h = n / 2;
  const rd = (o: number) => { let v = 0n; for (let i = h - 1; i >= 0; i--) v = (v << 8n) | BigInt(o + i >= 0 && o + i < 4096 ? c.b.mem[o + i]! : 0); return v; };
  const keep = (r: GprName, v: bigint) => c.b.setGpr(r, h === 4 ? (c.b.gpr(r) & ~0xffffffffn) | v : v);
  keep('rax', rd(off)); keep('rdx', rd(off + h));
};
add('cmpxchg8b (%rsi)', { setup: cx8(8) });
add('lock cmpxchg8b (%rsi)', { setup: cx8(8) });
add('cmpxchg16b (%rsi)', { msize: 16, align: 16, edge: 0.15, setup: cx8(16) });
add('lock cmpxchg16b (%rsi)', { msize: 16, align: 16, edge: 0.15, setup: cx8(16) });

// ---------------- moves, extensions, lea ----------------
for (const ops of ['bswap %eax', 'bswap %rax', 'bswap %r9', 'bswap %r10d', 'cbtw', 'cwtl', 'cltq', 'cwtd', 'cltd', 'cqto',
  'movzbl %bl,%eax', 'movzbw %ah,%cx', 'movzbq (%rsi),%rax', 'movzwl %bx,%eax', 'movzwq (%rsi),%r9', 'movzbl (%rsi),%r10d',
  'movsbl %bl,%eax', 'movsbw %cl,%dx', 'movsbq (%rsi),%rax', 'movswl %bx,%eax', 'movswq %si,%r8', 'movslq %ebx,%rax', 'movslq (%rsi),%rcx',
  'mov %rbx,%rax', 'mov %ebx,%eax', 'movzbl %ah,%edx', 'movzbq %sil,%r8', 'mov %bx,%ax', 'mov %bl,%ah', 'mov %sil,%dil', 'mov $0x12345678,%eax', 'mov $-1,%rax',
  'movabs $0x123456789abcdef0,%r15', 'mov (%rsi),%rax', 'mov %ecx,(%rsi)', 'movb $0x12,(%rsi)', 'movw $0x1234,(%rsi)',
  'movl $0x80000000,(%rsi)', 'movq $-5,(%rsi)', 'mov 8(%rsi,%rcx,8),%rdx', 'mov %dx,-2(%rsi)', 'mov (%rsi),%r12b',
  'movabs 0x100000800,%rax', 'movabs %eax,0x100000ffe', 'movabs %rax,0x100000100', 'movabs 0x100000010,%al', 'mov 0x10,%ecx']) {
  add(ops);
}
for (const ops of ['lea 8(%rsi),%rax', 'lea (%rsi,%rcx,4),%rax', 'lea -0x80(%rbp,%rdi,8),%ecx', 'lea 0x12345678(,%rcx,2),%rdx',
  'lea 0x10(%rip),%rax', 'lea -0x20(%rip),%ecx', 'lea (%esi,%ecx,4),%eax', 'lea 0x7fffffff(%esi),%rax', 'lea (%rsi),%ax', 'lea (%r12,%r13,1),%r14',
  'lea (%r13),%rax', 'lea -1(%rsp,%rbp,2),%r8', 'lea 0x1(%rax,%rax,8),%eax', 'lea (%rbp),%rax', 'lea (%r12),%rax',
  'lea 0x12345678(%rax),%rcx', 'lea -1(%eax,%eax,2),%ecx', 'lea 0x10(%eip),%eax', 'lea (%r8d,%r9d,8),%r10', 'lea -0x80000000(%rsi),%rsi',
  'lea 0x7f(%rsp),%rsp', 'lea (%rax,%rsi,1),%si']) {
  add(ops, { regs: { rsi: intValue, rcx: intValue, rbp: intValue, rdi: intValue, r12: intValue, r13: intValue, rax: intValue }, tag: 'lea', addressOnly: true });
}
add('addr32 mov (%esi),%eax', { tag: '32-bit address: #PF below 4G' });

// ---------------- string instructions ----------------
function strSetup(kind: 'movs' | 'stos' | 'lods' | 'cmps' | 'scas', rep: boolean) {
  return (c: { rng: Rng; b: Blob }) => {
    const { rng, b } = c;
    const near = rng.chance(0.08);
    const si = near ? rng.pick([0, 8, 4090, 4095]) : rng.range(1024, 3072);
    const di = near ? rng.pick([4, 4088, 4094, 0]) : rng.chance(0.2) ? si + rng.range(-16, 16) : rng.range(1024, 3072);
    b.setGpr('rsi', DATA_ADDR + BigInt(si));
    b.setGpr('rdi', DATA_ADDR + BigInt(di));
    if (rep) b.setGpr('rcx', rng.chance(0.05) ? intValue(rng) & 0xffffffff00000000n : BigInt(rng.pick([0, 1, 2, 3, rng.range(0, 40), rng.range(0, 40)])));
    if (rng.chance(0.5)) b.rflags |= FLAG.DF; else b.rflags &= ~FLAG.DF;
    if (kind === 'cmps' || kind === 'scas') {
      // A small alphabet makes equal / unequal runs likely, so repe/repne stop at interesting places.
      for (let i = 0; i < 4096; i++) { const x = b.mem[i]!; b.mem[i] = x < 205 ? 0 : x % 3; } // mem is random bytes already
      if (rng.chance(0.5)) b.setGpr('rax', 0n);
    }
  };
}
for (const kind of ['movs', 'stos', 'lods', 'cmps', 'scas'] as const) {
  for (const sz of ['b', 'w', 'l', 'q']) {
    add(`${kind}${sz}`, { setup: strSetup(kind, false) });
    if (kind === 'cmps' || kind === 'scas') {
      add(`repe ${kind}${sz}`, { setup: strSetup(kind, true) });
      add(`repne ${kind}${sz}`, { setup: strSetup(kind, true) });
    } else {
      add(`rep ${kind}${sz}`, { setup: strSetup(kind, true) });
    }
  }
}

function strSetupAc(c: { rng: Rng; b: Blob }): void {
  strSetup('movs', false)(c);
  if (c.rng.chance(0.5)) c.b.setGpr('rsi', c.b.gpr('rsi') + BigInt(c.rng.range(1, 7)));
}

// ---------------- misc ----------------
for (const ops of ['endbr64', 'rdsspq %rax', 'incsspq %rax', 'nop', 'nopl 0x0(%rax)', 'nopw 0x0(%rax,%rax,1)', 'nopl 0x0(%rax,%rax,1)',
  'xchg %ax,%ax', '.byte 0x66,0x2e,0x0f,0x1f,0x84,0,0,0,0,0', 'pause', 'lfence', 'mfence', 'sfence', 'ud2', 'int3']) {
  add(ops);
}
add('clflush (%rsi)');
// Alignment checking: with RFLAGS.AC=1 at CPL 3 (Linux runs with CR0.AM=1) a misaligned data access raises #AC(0).
for (const ops of ['mov (%rsi),%eax', 'add %rax,(%rsi)', 'movw $0x1234,(%rsi)', 'push %rax', 'fldl (%rsi)', 'movsq', 'lock xadd %ecx,(%rsi)']) {
  add(ops, { tag: 'AC', ac: true, stack: ops.startsWith('push'), edge: 0.5, setup: ops === 'movsq' ? strSetupAc : undefined });
}
add('lock addw $0x1,(%rsi)');
// Privileged instructions: at CPL 3 they must raise #GP(0) before touching anything (their CPL 0 semantics are
// tested with bare-metal guests, see test/isa/not-covered.ts).
for (const ops of ['cli', 'sti', 'hlt', 'wrmsr', 'rdmsr', 'lgdt (%rsi)', 'lidt (%rsi)', 'ltr %ax', 'xsetbv', 'in $0x80,%al',
  'out %al,$0x80', 'in (%dx),%eax', 'out %eax,(%dx)', 'rep insl (%dx),%es:(%rdi)', 'rep outsl %ds:(%rsi),(%dx)']) {
  add(ops, { tag: 'CPL 3: #GP' });
}
add('emms', { x87: [0, 8] });

// ---------------- SSE / SSE2 / SSSE3 ----------------
const sse = (asm: string, kind: 'int' | 'ps' | 'pd' | 'bytes', extra: FormOpts = {}) => {
  const memSize = /ss|si2ss|\bmovd\b/.test(asm) && !/ps|pd/.test(asm) ? 4 : 16;
  add(asm, { sse: kind, msize: memSize, memval: mv.xmm(kind), ...extra });
};
const aligned: FormOpts = { align: 16, edge: 0.15 };
sse('movdqa (%rsi),%xmm0', 'bytes', aligned);
sse('movdqa %xmm1,(%rsi)', 'bytes', aligned);
sse('movdqa %xmm2,%xmm3', 'bytes');
sse('movdqa %xmm9,%xmm14', 'bytes');
sse('movdqu (%rsi),%xmm4', 'bytes', { edge: 0.1 });
sse('movdqu %xmm5,(%rsi)', 'bytes', { edge: 0.1 });
sse('movups (%rsi),%xmm0', 'ps', { edge: 0.1 });
sse('movups %xmm1,(%rsi)', 'ps', { edge: 0.1 });
sse('movaps (%rsi),%xmm2', 'ps', aligned);
sse('movaps %xmm3,(%rsi)', 'ps', aligned);
sse('movaps %xmm8,%xmm15', 'ps');
sse('movapd (%rsi),%xmm1', 'pd', aligned);
sse('movapd %xmm2,%xmm3', 'pd');
for (const a of ['movd %eax,%xmm0', 'movd %xmm1,%ecx', 'movd (%rsi),%xmm2', 'movd %xmm3,(%rsi)', 'movq %rax,%xmm0', 'movq %xmm1,%rcx',
  'movq (%rsi),%xmm2', 'movq %xmm3,(%rsi)', 'movq %xmm4,%xmm5', 'movd %r9d,%xmm10']) sse(a, 'int');
for (const a of ['movss (%rsi),%xmm0', 'movss %xmm1,%xmm2', 'movss %xmm3,(%rsi)']) sse(a, 'ps');
for (const a of ['movsd (%rsi),%xmm0', 'movsd %xmm1,%xmm2', 'movsd %xmm3,(%rsi)', 'movhps (%rsi),%xmm0', 'movhps %xmm1,(%rsi)',
  'movlps (%rsi),%xmm2', 'movlps %xmm3,(%rsi)', 'movhlps %xmm1,%xmm0', 'movlhps %xmm1,%xmm0']) sse(a, 'pd');
for (const op of ['pxor', 'por', 'pand', 'pandn', 'paddb', 'paddw', 'paddd', 'paddq', 'psubb', 'psubw', 'psubd', 'psubq',
  'pcmpeqb', 'pcmpeqw', 'pcmpeqd', 'pcmpgtb', 'pcmpgtw', 'pcmpgtd', 'punpcklbw', 'punpcklwd', 'punpckldq', 'punpcklqdq',
  'punpckhbw', 'punpckhwd', 'punpckhdq', 'punpckhqdq', 'packuswb', 'packsswb', 'packssdw', 'pmullw', 'pminub', 'pmaxub']) {
  sse(`${op} %xmm1,%xmm0`, 'bytes');
  if (['pxor', 'por', 'pand', 'paddq', 'pcmpeqd', 'punpcklqdq', 'packuswb'].includes(op)) sse(`${op} (%rsi),%xmm2`, 'bytes', aligned);
}
sse('pxor %xmm0,%xmm0', 'bytes');
sse('pcmpeqd %xmm3,%xmm3', 'bytes');
sse('pmovmskb %xmm1,%eax', 'bytes');
sse('movmskpd %xmm1,%eax', 'pd');
sse('movmskps %xmm2,%ecx', 'ps');
for (const imm of ['0x1b', '0xe4', '0x00', '0x4e']) sse(`pshufd $${imm},%xmm1,%xmm0`, 'int');
sse('pshufd $0x39,(%rsi),%xmm0', 'int', aligned);
sse('pshuflw $0x1b,%xmm1,%xmm0', 'int');
sse('pshufhw $0x1b,%xmm1,%xmm0', 'int');
sse('shufps $0x44,%xmm1,%xmm0', 'ps');
sse('shufps $0xb1,%xmm2,%xmm2', 'ps');
sse('shufpd $1,%xmm1,%xmm0', 'pd');
sse('shufpd $2,(%rsi),%xmm0', 'pd', aligned);
for (const imm of [0, 3, 8, 15, 16, 17]) sse(`palignr $${imm},%xmm1,%xmm0`, 'bytes');
sse('palignr $5,(%rsi),%xmm0', 'bytes', aligned);
for (const [op, imm] of [['psrldq', 3], ['pslldq', 5], ['psrldq', 16], ['psrlw', 3], ['psrld', 31], ['psrlq', 1], ['psllw', 15],
  ['pslld', 32], ['psllq', 63], ['psraw', 4], ['psrad', 40], ['psrlq', 64]] as const) {
  sse(`${op} $${imm},%xmm0`, 'bytes');
}
/** Shift counts in an xmm register: mostly small, sometimes above the element width. */
const xmmCount = (c: { rng: Rng; b: Blob }) => {
  const x = c.b.xmm(1); x.fill(0);
  const n = c.rng.chance(0.2) ? intValue(c.rng) : BigInt(c.rng.range(0, 70));
  for (let i = 0; i < 8; i++) x[i] = Number((n >> BigInt(8 * i)) & 0xffn);
};
for (const op of ['psrlw', 'psrld', 'psrlq', 'psllw', 'pslld', 'psllq', 'psraw', 'psrad']) sse(`${op} %xmm1,%xmm0`, 'bytes', { setup: xmmCount });
sse('pextrw $3,%xmm1,%eax', 'int');
sse('pextrw $7,%xmm2,%r9d', 'int');
sse('pinsrw $5,%ecx,%xmm0', 'int');
sse('pinsrw $2,(%rsi),%xmm0', 'int');
for (const op of ['add', 'sub', 'mul', 'div', 'min', 'max', 'sqrt']) {
  for (const t of ['ss', 'sd', 'ps', 'pd']) {
    const kind = t.endsWith('s') ? 'ps' : 'pd';
    sse(`${op}${t} %xmm1,%xmm0`, kind);
    if (t === 'ss' || t === 'sd') sse(`${op}${t} (%rsi),%xmm2`, kind, { msize: t === 'ss' ? 4 : 8 });
  }
}
sse('addpd (%rsi),%xmm3', 'pd', aligned);
sse('mulps (%rsi),%xmm3', 'ps', aligned);
const PRED = ['eq', 'lt', 'le', 'unord', 'neq', 'nlt', 'nle', 'ord'];
for (const p of PRED) {
  sse(`cmp${p}sd %xmm1,%xmm0`, 'pd');
  sse(`cmp${p}ss %xmm1,%xmm0`, 'ps');
}
sse('cmpltpd %xmm1,%xmm0', 'pd');
sse('cmpunordps %xmm1,%xmm0', 'ps');
sse('cmpnlesd (%rsi),%xmm0', 'pd', { msize: 8 });
for (const op of ['and', 'andn', 'or', 'xor']) {
  sse(`${op}ps %xmm1,%xmm0`, 'ps');
  sse(`${op}pd %xmm1,%xmm0`, 'pd');
}
sse('xorps (%rsi),%xmm1', 'ps', aligned);
sse('andpd (%rsi),%xmm1', 'pd', aligned);
/** Integers that convert interestingly: near the float precision limits and sign boundaries. */
const cvtInt = (rng: Rng) => (rng.chance(0.3) ? BigInt.asUintN(64, BigInt(rng.range(-5, 5)) + (1n << BigInt(rng.pick([24, 31, 32, 53, 54, 63])))) : intValue(rng));
for (const a of ['cvtsi2sd %eax,%xmm0', 'cvtsi2sd %rax,%xmm0', 'cvtsi2sdl (%rsi),%xmm1', 'cvtsi2sdq (%rsi),%xmm1', 'cvtsi2ss %eax,%xmm0',
  'cvtsi2ss %rax,%xmm0', 'cvtsi2ssl (%rsi),%xmm2']) sse(a, 'pd', { regs: { rax: cvtInt }, memval: (c, off) => writeMemU(c.b, off, cvtInt(c.rng), 8) });
for (const a of ['cvtss2sd %xmm1,%xmm0', 'cvtss2sd (%rsi),%xmm0', 'cvttss2si %xmm1,%eax', 'cvttss2si %xmm1,%rax', 'cvtss2si %xmm1,%eax',
  'cvtss2si %xmm1,%rax', 'ucomiss %xmm1,%xmm0', 'comiss %xmm1,%xmm0', 'ucomiss (%rsi),%xmm0', 'comiss (%rsi),%xmm2',
  'unpcklps %xmm1,%xmm0', 'unpckhps %xmm1,%xmm0', 'cvtps2pd %xmm1,%xmm0']) sse(a, 'ps', { msize: 4 });
for (const a of ['cvtsd2ss %xmm1,%xmm0', 'cvtsd2ss (%rsi),%xmm0', 'cvttsd2si %xmm1,%eax', 'cvttsd2si %xmm1,%rax', 'cvtsd2si %xmm1,%eax',
  'cvtsd2si %xmm1,%rax', 'cvttpd2dq %xmm1,%xmm0', 'cvtpd2ps %xmm1,%xmm0', 'cvtdq2pd %xmm1,%xmm0', 'ucomisd %xmm1,%xmm0', 'comisd %xmm1,%xmm0',
  'ucomisd (%rsi),%xmm0', 'comisd (%rsi),%xmm3', 'unpcklpd %xmm1,%xmm0', 'unpckhpd %xmm1,%xmm0']) sse(a, 'pd', { msize: 8 });
sse('cvtdq2ps %xmm1,%xmm0', 'int');
/**
 * MXCSR with PE already set and masked (what a program that has computed one inexact value runs with): the
 * block compiler's scalar-double fast paths (src/cpu/jit/forms-sse.ts) apply only then, so these variants
 * test them against the host; a few also set RC, FTZ or DAZ, which must send them to the slow path or not matter.
 */
const peSticky = (c: { rng: Rng; b: Blob }) => {
  let mx = 0x1fa0 | (c.rng.chance(0.3) ? c.rng.int(64) : 0);
  if (c.rng.chance(0.1)) mx |= c.rng.pick([0x40, 0x8000, 0x8040]);
  if (c.rng.chance(0.1)) mx = (mx & ~0x6000) | (c.rng.int(4) << 13);
  c.b.mxcsr = mx;
};
for (const op of ['add', 'sub', 'mul', 'div', 'min', 'max', 'sqrt']) {
  sse(`${op}sd %xmm1,%xmm0`, 'pd', { tag: 'PE', setup: peSticky });
  sse(`${op}sd (%rsi),%xmm2`, 'pd', { msize: 8, tag: 'PE', setup: peSticky });
  sse(`${op}ss %xmm1,%xmm0`, 'ps', { tag: 'PE', setup: peSticky });
  sse(`${op}ss (%rsi),%xmm2`, 'ps', { msize: 4, tag: 'PE', setup: peSticky });
}
for (const a of ['cvttsd2si %xmm1,%eax', 'cvttsd2si %xmm1,%rax', 'cvttsd2si (%rsi),%ecx', 'cvttsd2si (%rsi),%r9', 'cvtsi2sd %rax,%xmm0',
  'cvtsi2sdq (%rsi),%xmm1', 'cvtsi2ss %eax,%xmm0', 'cvtsi2ss %rax,%xmm0', 'cvtsi2ssq (%rsi),%xmm1', 'cvtsd2ss %xmm1,%xmm0',
  'cvtsd2ss (%rsi),%xmm2']) {
  sse(a, 'pd', { msize: 8, tag: 'PE', setup: peSticky, ...(a.startsWith('cvtsi') ? { regs: { rax: cvtInt }, memval: (c, off) => writeMemU(c.b, off, cvtInt(c.rng), 8) } : {}) });
}
sse('cvttps2dq %xmm1,%xmm0', 'ps');
/** An MXCSR value with a reserved bit set (#GP on load). Never bit 17: AMD's MM (misaligned SSE) is valid here. */
function reservedMxcsr(r: Rng): number {
  return ((r.u32() & ~0x20000) | (1 << r.pick([16, 18, 20, 24, 31]))) >>> 0;
}
/** ldmxcsr: valid values with every field varied, sometimes reserved bits set (#GP). */
sse('ldmxcsr (%rsi)', 'ps', {
  msize: 4,
  memval: (c, off) => writeMemU(c.b, off, BigInt(c.rng.chance(0.1) ? reservedMxcsr(c.rng) : c.rng.u32() & 0xffbf | (c.rng.chance(0.5) ? 0x1f80 : 0)), 4),
});
sse('stmxcsr (%rsi)', 'ps', { msize: 4 });

// ---------------- x87 ----------------
const C023 = U({ fsw: FSW_C023 });
const x87 = (asm: string, depth: [number, number], extra: FormOpts = {}) => add(asm, { x87: depth, undef: C023, ...extra });
x87('flds (%rsi)', [0, 8], { msize: 4, memval: mv.f32 });
x87('fldl (%rsi)', [0, 8], { msize: 8, memval: mv.f64 });
x87('fldt (%rsi)', [0, 8], { msize: 10, memval: mv.f80(true) });
x87('fld %st(3)', [0, 8]);
x87('fld %st(0)', [0, 8]);
x87('fsts (%rsi)', [0, 3], { msize: 4 });
x87('fstl (%rsi)', [0, 3], { msize: 8 });
x87('fstps (%rsi)', [0, 3], { msize: 4 });
x87('fstpl (%rsi)', [0, 3], { msize: 8 });
x87('fstpt (%rsi)', [0, 3], { msize: 10, x87wild: true });
x87('fst %st(2)', [0, 4]);
x87('fstp %st(1)', [0, 4]);
x87('fstp %st(0)', [0, 4]);
x87('fldt (%rsi); fstpt 16(%rsi)', [0, 7], { msize: 10, memval: mv.f80(true), tag: 'fldt/fstpt round trip' });
x87('filds (%rsi)', [0, 8], { msize: 2, memval: mv.int(2) });
x87('fildl (%rsi)', [0, 8], { msize: 4, memval: mv.int(4) });
x87('fildll (%rsi)', [0, 8], { msize: 8, memval: mv.int(8) });
for (const a of ['fists', 'fistl', 'fistps', 'fistpl', 'fistpll']) x87(`${a} (%rsi)`, [0, 3], { msize: 8 });
for (const op of ['fadd', 'fsub', 'fsubr', 'fmul', 'fdiv', 'fdivr']) {
  x87(`${op} %st(2),%st`, [0, 4]);
  x87(`${op} %st,%st(2)`, [0, 4]);
  x87(`${op}p %st,%st(1)`, [0, 4]);
  x87(`${op}s (%rsi)`, [0, 3], { msize: 4, memval: mv.f32 });
  x87(`${op}l (%rsi)`, [0, 3], { msize: 8, memval: mv.f64 });
}
x87('faddp', [1, 3]);
x87('fmulp', [1, 3]);
for (const a of ['fchs', 'fabs', 'fsqrt', 'frndint', 'fxch', 'fxch %st(3)', 'fld1', 'fldz', 'fldpi', 'fldl2e', 'fldl2t', 'fldln2', 'fldlg2']) {
  x87(a, [0, 8], a.startsWith('fld') ? {} : { x87wild: a === 'fchs' || a === 'fabs' });
}
for (const a of ['fcomi %st(1),%st', 'fcomip %st(1),%st', 'fucomi %st(1),%st', 'fucomip %st(1),%st', 'fucomi %st(0),%st']) {
  add(a, { x87: [0, 3], undef: U({}) });
}
for (const cc of ['e', 'ne', 'b', 'be', 'nb', 'nbe', 'u', 'nu']) x87(`fcmov${cc} %st(2),%st`, [0, 4]);
add('fxam', { x87: [0, 2], x87wild: true });
const cwVal = (c: { rng: Rng; b: Blob }, off: number) => writeMemU(c.b, off, BigInt(c.rng.chance(0.7) ? 0x1000 * c.rng.int(2) | (c.rng.int(16) << 8) | 0x7f | 0x40 : c.rng.u32() & 0xffff), 2);
add('fldcw (%rsi)', { x87: [0, 3], msize: 2, memval: cwVal, undef: U({ fsw: FSW_C0123 }) });
add('fnstcw (%rsi)', { x87: [0, 3], msize: 2, undef: U({ fsw: FSW_C0123 }) });
add('fstcw (%rsi)', { x87: [0, 3], msize: 2, undef: U({ fsw: FSW_C0123 }) });
add('fnstsw (%rsi)', { x87: [0, 3], msize: 2, undef: U({ fsw: FSW_C0123 }) });
add('fnstsw %ax', { x87: [0, 3], undef: U({ fsw: FSW_C0123 }) });
// fnstenv stores FIP/FCS/FOP/FDP/FDS (bytes 12..27): host code addresses, not guest state.
// The upper halves of the FCW/FSW/FTW dwords are reserved (this AMD host writes 0xffff/0xffff/0x0000).
add('fnstenv (%rsi)', {
  x87: [0, 8], msize: 28,
  undef: (inp) => { const o = dataOff(inp, 'rsi'); return { fsw: FSW_C0123, mem: [[o + 2, 2], [o + 6, 2], [o + 10, 2], [o + 12, 16]] }; },
});
add('fldenv (%rsi)', {
  x87: [0, 8], msize: 28,
  memval: (c, off) => {
    const r = c.rng;
    writeMemU(c.b, off, BigInt(0x037f & ~(r.chance(0.2) ? r.int(64) : 0)), 4);
    writeMemU(c.b, off + 4, BigInt((r.u32() & 0x7f00 & ~0x80) | (r.chance(0.2) ? r.int(64) : 0)), 4);
    writeMemU(c.b, off + 8, BigInt(r.u32() & 0xffff), 4);
    writeMem(c.b, off + 12, new Uint8Array(16));
  },
});
add('fninit', { x87: [0, 8] });
add('fnclex', { x87: [0, 8], undef: U({ fsw: FSW_C0123 }) });
add('fwait', { x87: [0, 8] });
/** A pending unmasked x87 exception (ES set in FSW, the exception unmasked in FCW): the next waiting x87 insn raises #MF. */
const pendingMf = (c: { rng: Rng; b: Blob }) => {
  if (!c.rng.chance(0.7)) return;
  const e = 1 << c.rng.int(6);
  c.b.fcw &= ~e;
  c.b.fsw |= e | 0x80 | 0x8000; // flag, ES, B
};
add('fwait', { x87: [0, 8], setup: pendingMf, tag: 'pending #MF' });
add('fldz', { x87: [0, 7], setup: pendingMf, undef: C023, tag: 'pending #MF' });
add('fnclex', { x87: [0, 8], setup: pendingMf, undef: U({ fsw: FSW_C0123 }), tag: 'pending #MF' });
add('fnstsw %ax', { x87: [0, 8], setup: pendingMf, undef: U({ fsw: FSW_C0123 }), tag: 'pending #MF' });
// fxsave64/fxrstor64 (OSv's context switch): image bytes that are not guest state are masked like in the blob.
const fxUndef = (inp: Blob): Undef => {
  const off = dataOff(inp, 'rsi');
  const mem: [number, number][] = [[off + 6, 18], [off + 28, 4], [off + 416, 96]];
  for (let i = 0; i < 8; i++) mem.push([off + 32 + 16 * i + 10, 6]);
  return { mem };
};
add('fxsave64 (%rsi)', { x87: [0, 8], sse: 'pd', msize: 512, align: 16, edge: 0.1, undef: fxUndef });
add('fxrstor64 (%rsi)', {
  x87: [0, 8], sse: 'bytes', msize: 512, align: 16, edge: 0.1,
  memval: (c, off) => {
    const r = c.rng;
    const img = new Uint8Array(512);
    r.bytes(img);
    const dv = new DataView(img.buffer);
    dv.setUint16(0, 0x037f & ~(r.chance(0.2) ? r.int(64) : 0) | (r.int(16) << 8), true);
    dv.setUint16(2, r.u32() & 0x7f00, true);
    dv.setUint32(24, r.chance(0.1) ? reservedMxcsr(r) : (r.u32() & 0xffbf) | 0x1f80, true); // reserved MXCSR bits -> #GP
    img.fill(0, 5, 24);
    writeMem(c.b, off, img);
  },
});

export const FORMS: readonly Form[] = forms;

/** Cases per form: 200 for CI, OSVEMU_ISA_FULL=1 -> 2000, OSVEMU_ISA_CASES=N overrides. */
/** Cases per form in CI and in the full run (`OSVEMU_ISA_FULL=1`). */
export const CI_CASES = 200, FULL_CASES = 2000;

export function casesPerForm(): number {
  const n = Number(process.env.OSVEMU_ISA_CASES);
  if (Number.isFinite(n) && n > 0) return Math.floor(n);
  return process.env.OSVEMU_ISA_FULL === '1' ? FULL_CASES : CI_CASES;
}
void F;
