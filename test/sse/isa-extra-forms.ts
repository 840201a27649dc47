// The SSE/MMX forms of the differential test beyond test/isa/forms.ts (isa-extra.test.ts runs them against
// the host; the recorded ISA corpora (test/isa/corpus) hold cases of them too).
import { DATA_ADDR } from '../isa/blob.js';
import { type Form, type FormOpts, form, mv } from '../isa/formkit.js';

export const SSE_EXTRA_FORMS: Form[] = [];
const FORMS = SSE_EXTRA_FORMS;
const aligned: FormOpts = { align: 16, edge: 0.15 };
function sse(asm: string, kind: 'int' | 'ps' | 'pd' | 'bytes', extra: FormOpts = {}): void {
  FORMS.push(form(asm, { sse: kind, msize: 16, memval: mv.xmm(kind), edge: 0, ...extra }));
}

for (const op of ['pshufb', 'pabsb', 'pabsw', 'pabsd', 'pmuludq', 'pmuldq', 'pmaddwd', 'psadbw', 'pavgb', 'pavgw', 'pmulhw',
  'pmulhuw', 'pminsw', 'pmaxsw', 'pminsb', 'pminsd', 'pminuw', 'pminud', 'pmaxsb', 'pmaxsd', 'pmaxuw', 'pmaxud', 'pmulld',
  'pcmpeqq', 'pcmpgtq', 'packusdw', 'paddsb', 'paddsw', 'paddusb', 'paddusw', 'psubsb', 'psubsw', 'psubusb', 'psubusw']) {
  sse(`${op} %xmm1,%xmm0`, 'bytes');
}
for (const op of ['phaddw', 'phaddd', 'phaddsw', 'phsubw', 'phsubd', 'phsubsw', 'pmaddubsw', 'pmulhrsw', 'psignb', 'psignw',
  'psignd', 'phminposuw']) sse(`${op} %xmm1,%xmm0`, 'bytes');
sse('phaddw %xmm0,%xmm0', 'bytes');
for (const a of ['pblendvb %xmm0,%xmm1,%xmm2', 'blendvps %xmm0,%xmm1,%xmm2', 'blendvpd %xmm0,%xmm1,%xmm2', 'pblendvb %xmm0,%xmm3,%xmm0',
  'insertps $0x5a,%xmm1,%xmm0', 'insertps $0x30,%xmm2,%xmm2', 'insertps $0x21,(%rsi),%xmm0', 'extractps $2,%xmm1,%eax',
  'extractps $3,%xmm1,(%rsi)']) sse(a, 'bytes', { msize: 4 });
sse('movntdqa (%rsi),%xmm3', 'bytes', aligned);
for (const imm of [0, 1, 2, 4, 5, 6, 7]) sse(`mpsadbw $${imm},%xmm1,%xmm0`, 'bytes');
sse('mpsadbw $3,(%rsi),%xmm2', 'bytes', aligned);
for (const imm of ['0xff', '0xf1', '0x3c', '0x5a', '0x0f']) sse(`dpps $${imm},%xmm1,%xmm0`, 'ps');
for (const imm of ['0x33', '0x31', '0x12', '0x23']) sse(`dppd $${imm},%xmm1,%xmm0`, 'pd');
sse('dpps $0xff,(%rsi),%xmm0', 'ps', aligned);
sse('dpps $0x7f,%xmm1,%xmm0', 'ps', { tag: 'unmasked', setup: (c) => { c.b.mxcsr &= ~(c.rng.int(64) << 7); } });
sse('dppd $0x33,%xmm1,%xmm0', 'pd', { tag: 'unmasked', setup: (c) => { c.b.mxcsr &= ~(c.rng.int(64) << 7); } });
for (const op of ['haddps', 'hsubps', 'addsubps']) { sse(`${op} %xmm1,%xmm0`, 'ps'); sse(`${op} (%rsi),%xmm0`, 'ps', aligned); }
for (const op of ['haddpd', 'hsubpd', 'addsubpd']) { sse(`${op} %xmm1,%xmm0`, 'pd'); sse(`${op} (%rsi),%xmm0`, 'pd', aligned); }
sse('haddpd %xmm1,%xmm0', 'pd', { tag: 'unmasked', setup: (c) => { c.b.mxcsr &= ~0x1f80; } });
sse('pshufb (%rsi),%xmm3', 'bytes', aligned);
for (const imm of [4, 12, 20, 31, 32, 200]) sse(`palignr $${imm},%xmm1,%xmm0`, 'bytes');
sse('palignr $7,%xmm0,%xmm0', 'bytes');
sse('pmaxud (%rsi),%xmm3', 'bytes', aligned);
sse('ptest %xmm1,%xmm0', 'bytes');
sse('ptest %xmm2,%xmm2', 'bytes');
sse('ptest (%rsi),%xmm0', 'bytes', aligned);
for (const ext of ['bw', 'bd', 'bq', 'wd', 'wq', 'dq']) {
  sse(`pmovsx${ext} %xmm1,%xmm0`, 'bytes');
  sse(`pmovzx${ext} %xmm1,%xmm0`, 'bytes');
  sse(`pmovzx${ext} (%rsi),%xmm2`, 'bytes', { msize: ext === 'bq' ? 2 : ext === 'bd' || ext === 'wq' ? 4 : 8, edge: 0.05 });
}
sse('pmovsxbw %xmm0,%xmm0', 'bytes');
for (const a of ['pextrb $13,%xmm1,%eax', 'pextrb $3,%xmm1,(%rsi)', 'pextrd $2,%xmm1,%ecx', 'pextrd $1,%xmm1,(%rsi)',
  'pextrq $1,%xmm1,%rax', 'pextrq $0,%xmm1,(%rsi)', 'pextrw $6,%xmm1,(%rsi)', 'pinsrb $9,%eax,%xmm0', 'pinsrb $1,(%rsi),%xmm0',
  'pinsrd $3,%ecx,%xmm0', 'pinsrd $0,(%rsi),%xmm0', 'pinsrq $1,%rax,%xmm0', 'pinsrq $0,(%rsi),%xmm0']) sse(a, 'int', { msize: 8 });
for (const a of ['pblendw $0xa5,%xmm1,%xmm0', 'blendps $0x6,%xmm1,%xmm0', 'blendpd $0x2,%xmm1,%xmm0', 'blendps $0x9,(%rsi),%xmm0']) {
  sse(a, 'int', a.includes('(') ? aligned : {});
}
for (const a of ['movlpd (%rsi),%xmm0', 'movhpd (%rsi),%xmm1', 'movlpd %xmm2,(%rsi)', 'movhpd %xmm3,(%rsi)', 'movddup %xmm1,%xmm0',
  'movddup (%rsi),%xmm0', 'movsldup %xmm1,%xmm0', 'movshdup %xmm1,%xmm0', 'movshdup (%rsi),%xmm2']) {
  sse(a, 'pd', a.includes('dup (') ? (a.startsWith('movddup') ? { msize: 8 } : aligned) : { msize: 8 });
}
sse('lddqu (%rsi),%xmm5', 'bytes');
for (const a of ['movntdq %xmm1,(%rsi)', 'movntps %xmm2,(%rsi)', 'movntpd %xmm3,(%rsi)', 'movapd %xmm4,(%rsi)', 'movupd %xmm5,(%rsi)',
  'movupd (%rsi),%xmm6']) sse(a, 'bytes', a.includes('movupd') ? {} : aligned);
sse('movnti %eax,(%rsi)', 'int', { msize: 4 });
sse('movnti %rax,(%rsi)', 'int', { msize: 8 });
sse('movq %xmm1,%xmm0', 'int');
sse('movd %xmm1,%r11d', 'int');
for (const a of ['cvtps2dq %xmm1,%xmm0', 'cvtps2dq (%rsi),%xmm0', 'cvttps2dq (%rsi),%xmm1', 'cvtdq2ps (%rsi),%xmm2',
  'cvtps2pd (%rsi),%xmm3', 'cvtss2si (%rsi),%eax', 'cvttss2si (%rsi),%rax']) {
  sse(a, 'ps', a.includes('(') ? (a.includes('ps2pd') ? { msize: 8 } : a.includes('ss2si') ? { msize: 4 } : aligned) : {});
}
for (const a of ['cvtpd2dq %xmm1,%xmm0', 'cvtpd2dq (%rsi),%xmm0', 'cvttpd2dq (%rsi),%xmm1', 'cvtpd2ps (%rsi),%xmm2',
  'cvtdq2pd (%rsi),%xmm3', 'cvtsd2si (%rsi),%rax', 'cvttsd2si (%rsi),%ecx', 'unpcklpd (%rsi),%xmm0', 'unpckhps (%rsi),%xmm0',
  'shufps $0x1e,(%rsi),%xmm0']) {
  sse(a, 'pd', a.includes('(') ? (a.includes('dq2pd') || a.includes('2si') ? { msize: 8 } : aligned) : {});
}
// SSE4.2 string compares: operands from a small alphabet (matches are likely), lengths near the limits.
const strSetup: FormOpts['setup'] = (c) => {
  const { rng, b } = c;
  const fill = (x: Uint8Array) => { for (let k = 0; k < x.length; k++) x[k] = rng.chance(0.08) ? 0 : rng.pick([0x61, 0x62, 0x63, 0x7f, 0x80, 0xff]); };
  fill(b.xmm(1)); fill(b.xmm(2));
  for (const off of c.ea) { const t = new Uint8Array(16); fill(t); for (let k = 0; k < 16; k++) if (off + k >= 0 && off + k < 4096) b.mem[off + k] = t[k]; }
  const len = () => BigInt.asUintN(64, BigInt(rng.chance(0.1) ? rng.range(-40, 40) * 1000003 : rng.range(-20, 20)));
  b.setGpr('rax', len()); b.setGpr('rdx', len());
};
for (const imm of [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x08, 0x09, 0x0c, 0x0d, 0x10, 0x14, 0x18, 0x1a, 0x30, 0x34, 0x38, 0x3c, 0x40,
  0x44, 0x48, 0x4c, 0x70, 0x7d]) {
  for (const op of ['pcmpistri', 'pcmpestri', 'pcmpistrm', 'pcmpestrm']) sse(`${op} $${imm},%xmm2,%xmm1`, 'bytes', { setup: strSetup });
}
for (const a of ['pcmpistri $0x0c,(%rsi),%xmm1', 'pcmpestrm $0x44,(%rsi),%xmm1', 'pcmpestri $0x18,%xmm2,%xmm1']) {
  sse(a, 'bytes', { setup: strSetup, edge: 0.05 });
}
sse('.byte 0x66,0x48,0x0f,0x3a,0x61,0xca,0x0c', 'bytes', { setup: strSetup, tag: 'pcmpestri REX.W' });

for (const a of ['crc32b %cl,%eax', 'crc32b %ah,%edx', 'crc32b (%rsi),%eax', 'crc32w %cx,%eax', 'crc32w (%rsi),%ebx', 'crc32l %ecx,%eax',
  'crc32l (%rsi),%r9d', 'crc32q %rcx,%rax', 'crc32q (%rsi),%rax', 'crc32b %r10b,%rax', 'crc32b %sil,%eax']) sse(a, 'int', { msize: 8, edge: 0.05 });

// maskmovdqu: implicit DS:[rdi], placed near the page edges, masks from sparse to empty.
const maskSetup: FormOpts['setup'] = (c) => {
  const { rng, b } = c;
  const off = rng.chance(0.4) ? rng.pick([4096 - 16, 4096 - 9, 4096 - 1, 4096, -8, -16, -1]) + rng.range(-3, 3) : rng.range(0, 4080);
  b.setGpr('rdi', DATA_ADDR + BigInt(off));
  const m = b.xmm(2);
  const density = rng.pick([0, 0.1, 0.5, 1]);
  for (let k = 0; k < 16; k++) m[k] = rng.chance(density) ? 0x80 | rng.int(128) : rng.int(128);
};
sse('maskmovdqu %xmm2,%xmm1', 'bytes', { setup: maskSetup });
sse('maskmovq %mm2,%mm1', 'bytes', { x87: [0, 8], setup: (c) => { maskSetup(c); c.b.st(2).set(c.b.xmm(2).subarray(0, 8)); } });

// MMX forms: registers are the x87 significands; x87 state varied (TOP, tags, values) via the x87 option.
const mmx = (asm: string, extra: FormOpts = {}) => sse(asm, 'bytes', { x87: [0, 8], msize: 8, edge: asm.includes('(') ? 0.2 : 0, ...extra });
for (const op of ['paddb', 'paddw', 'paddd', 'paddq', 'psubb', 'psubw', 'psubd', 'psubq', 'paddsb', 'paddsw', 'paddusb', 'paddusw',
  'psubsb', 'psubsw', 'psubusb', 'psubusw', 'pcmpeqb', 'pcmpeqw', 'pcmpeqd', 'pcmpgtb', 'pcmpgtw', 'pcmpgtd', 'pand', 'pandn',
  'por', 'pxor', 'pmullw', 'pmulhw', 'pmulhuw', 'pmuludq', 'pmaddwd', 'psadbw', 'pavgb', 'pavgw', 'pminub', 'pmaxub', 'pminsw',
  'pmaxsw', 'punpcklbw', 'punpcklwd', 'punpckldq', 'punpckhbw', 'punpckhwd', 'punpckhdq', 'packsswb', 'packuswb', 'packssdw',
  'pshufb', 'phaddw', 'phaddd', 'phaddsw', 'phsubw', 'phsubd', 'phsubsw', 'pmaddubsw', 'pmulhrsw', 'psignb', 'psignw', 'psignd',
  'pabsb', 'pabsw', 'pabsd']) mmx(`${op} %mm1,%mm0`);
for (const op of ['paddb', 'pxor', 'punpckhbw', 'packssdw', 'pshufb']) mmx(`${op} (%rsi),%mm2`);
for (const op of ['psrlw', 'psrld', 'psrlq', 'psllw', 'pslld', 'psllq', 'psraw', 'psrad']) {
  mmx(`${op} %mm1,%mm0`, { setup: (c) => { const v = c.rng.chance(0.2) ? c.rng.u32() : c.rng.range(0, 70); c.b.st(1).fill(0); c.b.st(1)[0] = v & 0xff; } });
  mmx(`${op} $${[3, 15, 31, 40][op.length % 4]},%mm0`);
}
for (const a of ['movq %mm1,%mm0', 'movq (%rsi),%mm0', 'movq %mm3,(%rsi)', 'movd %eax,%mm0', 'movd %mm2,%ecx', 'movd (%rsi),%mm4',
  'movd %mm5,(%rsi)', 'movq %rax,%mm0', 'movq %mm1,%rdx', 'movq2dq %mm1,%xmm9', 'movdq2q %xmm10,%mm3', 'movntq %mm1,(%rsi)',
  'pextrw $2,%mm1,%eax', 'pinsrw $3,%eax,%mm0', 'pinsrw $1,(%rsi),%mm0', 'pshufw $0x1b,%mm1,%mm0', 'pshufw $0x4e,(%rsi),%mm0',
  'palignr $3,%mm1,%mm0', 'palignr $11,%mm1,%mm0', 'palignr $17,%mm1,%mm0', 'pmovmskb %mm1,%eax']) mmx(a);
for (const a of ['cvtpi2ps %mm1,%xmm0', 'cvtpi2ps (%rsi),%xmm1', 'cvtpi2pd %mm1,%xmm0', 'cvtpi2pd (%rsi),%xmm2']) mmx(a);
for (const a of ['cvtps2pi %xmm1,%mm0', 'cvttps2pi %xmm1,%mm0', 'cvtps2pi (%rsi),%mm2']) sse(a, 'ps', { x87: [0, 8], msize: 8, edge: 0.2 });
for (const a of ['cvtpd2pi %xmm1,%mm0', 'cvttpd2pi %xmm1,%mm0', 'cvtpd2pi (%rsi),%mm2']) sse(a, 'pd', { x87: [0, 8], ...aligned });

const PRED = ['eq', 'lt', 'le', 'unord', 'neq', 'nlt', 'nle', 'ord'];
for (const p of PRED) { sse(`cmp${p}pd %xmm1,%xmm0`, 'pd'); sse(`cmp${p}ps %xmm1,%xmm0`, 'ps'); }
sse('cmpleps (%rsi),%xmm0', 'ps', aligned);
// Predicates above 7 in the legacy encoding (only imm8[2:0] counts).
for (const imm of [0x0d, 0x1a, 0xff]) {
  sse(`.byte 0x0f,0xc2,0xc1,${imm}`, 'ps', { tag: `cmpps imm ${imm}` });
  sse(`.byte 0xf2,0x0f,0xc2,0xc1,${imm}`, 'pd', { tag: `cmpsd imm ${imm}` });
}
for (const imm of [0, 1, 2, 3, 4, 8, 9, 12]) {
  sse(`roundsd $${imm},%xmm1,%xmm0`, 'pd');
  sse(`roundss $${imm},%xmm1,%xmm0`, 'ps');
}
sse('roundpd $0xa,%xmm1,%xmm0', 'pd');
sse('roundps $0x5,%xmm1,%xmm0', 'ps');
sse('roundsd $4,(%rsi),%xmm0', 'pd', { msize: 8 });
// Legacy SSE 128-bit memory operands must be aligned (#GP(0)); scalar and "u" forms need not be.
for (const a of ['addps (%rsi),%xmm0', 'pxor (%rsi),%xmm1', 'movaps (%rsi),%xmm2', 'movdqa %xmm3,(%rsi)', 'cvtdq2ps (%rsi),%xmm4',
  'pshufd $1,(%rsi),%xmm5', 'palignr $3,(%rsi),%xmm6']) sse(a, 'ps', { align: 16, edge: 0.6, tag: 'alignment' });
// Page-crossing / unmapped accesses (#PF, nothing written).
for (const a of ['movdqu (%rsi),%xmm0', 'movups %xmm1,(%rsi)', 'movsd (%rsi),%xmm2', 'movhps %xmm1,(%rsi)', 'addsd (%rsi),%xmm0']) {
  sse(a, 'pd', { edge: 0.5, tag: 'page edges', msize: a.includes('movdqu') || a.includes('movups') ? 16 : 8 });
}
// Unmasked exceptions: #XM with flags recorded and no destination written.
const unmask = (mask: number): FormOpts['setup'] => (c) => { c.b.mxcsr = (c.b.mxcsr & ~mask) | (c.rng.chance(0.5) ? 0x40 : 0); };
for (const a of ['addpd %xmm1,%xmm0', 'mulps %xmm1,%xmm0', 'divsd %xmm1,%xmm0', 'sqrtss %xmm1,%xmm0', 'cvtsd2si %xmm1,%eax',
  'cvtpd2ps %xmm1,%xmm0', 'comisd %xmm1,%xmm0', 'cvttps2dq %xmm1,%xmm0', 'minpd %xmm1,%xmm0', 'cmpltps %xmm1,%xmm0']) {
  sse(a, a.includes('ps') || a.includes('ss') ? 'ps' : 'pd', { tag: 'unmasked', setup: unmask(0x1f80) });
  sse(a, a.includes('ps') || a.includes('ss') ? 'ps' : 'pd', { tag: 'PE unmasked', setup: unmask(0x1000) });
}
