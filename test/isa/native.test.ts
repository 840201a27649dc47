// Checks the native harness on its own: known results, every exit path, determinism.
import { describe, expect, it } from 'vitest';
import { assemble, assemblerUnavailableReason } from './assemble.js';
import { Blob, CODE_ADDR, DATA_ADDR, FLAG, newInput } from './blob.js';
import { nativeUnavailableReason, runNative } from './native.js';

const skip = nativeUnavailableReason() ?? assemblerUnavailableReason();
if (skip) console.warn(`[isa] native harness tests skipped: ${skip}`);

function run(asm: string, setup: (b: Blob) => void): Blob {
  const [code] = assemble([asm]);
  const inp = newInput();
  setup(inp);
  return new Blob(runNative([{ code: code!, input: inp.bytes }])[0]!);
}

describe.skipIf(skip !== null)('native ISA harness', () => {
  it('add %rbx,%rax gives the sum and flags, ends at the int3', () => {
    const o = run('add %rbx,%rax', (b) => { b.setGpr('rax', 0x7fffffffffffffffn); b.setGpr('rbx', 1n); });
    expect(o.vector).toBe(3);
    expect(o.rip).toBe(CODE_ADDR + 3n + 1n);
    expect(o.gpr('rax')).toBe(0x8000000000000000n);
    expect(o.rflags & (FLAG.OF | FLAG.SF | FLAG.ZF | FLAG.CF | FLAG.AF | FLAG.PF)).toBe(FLAG.OF | FLAG.SF | FLAG.AF | FLAG.PF);
    expect(o.gpr('rbx')).toBe(1n);
  });

  it('loads and reports all 16 GPRs, rflags and the data page', () => {
    const o = run('mov %rax,8(%rsi)', (b) => {
      for (let i = 0; i < 16; i++) b.setGpr(i, BigInt.asUintN(64, 0x1111111111111111n * BigInt(i + 1)));
      b.setGpr('rsi', DATA_ADDR + 0x100n);
      b.rflags = 0x202 | FLAG.CF | FLAG.ZF | FLAG.DF;
    });
    expect(o.vector).toBe(3);
    for (let i = 0; i < 16; i++) if (i !== 6) expect(o.gpr(i)).toBe(BigInt.asUintN(64, 0x1111111111111111n * BigInt(i + 1)));
    expect(o.rflags & 0xfff).toBe(0x202 | FLAG.CF | FLAG.ZF | FLAG.DF);
    expect(Buffer.from(o.mem.subarray(0x108, 0x110)).readBigUInt64LE()).toBe(0x1111111111111111n);
  });

  it('div by zero gives #DE (0) at the instruction', () => {
    const o = run('div %rcx', (b) => { b.setGpr('rcx', 0n); b.setGpr('rax', 5n); });
    expect(o.vector).toBe(0);
    expect(o.rip).toBe(CODE_ADDR);
    expect(o.gpr('rax')).toBe(5n);
  });

  it('misaligned movdqa gives #GP(0)', () => {
    const o = run('movdqa (%rsi),%xmm0', (b) => b.setGpr('rsi', DATA_ADDR + 8n));
    expect([o.vector, o.errorCode, o.rip]).toEqual([13, 0, CODE_ADDR]);
  });

  it('a load at 0x100001000 gives #PF with CR2 and a user-read error code', () => {
    const o = run('mov (%rsi),%rax', (b) => b.setGpr('rsi', DATA_ADDR + 0x1000n));
    expect(o.vector).toBe(14);
    expect(o.faultAddr).toBe(DATA_ADDR + 0x1000n);
    expect(o.errorCode).toBe(4); // U=1, W=0, P=0
  });

  it('a page-crossing store faults without writing either page', () => {
    const o = run('mov %rax,(%rsi)', (b) => { b.setGpr('rsi', DATA_ADDR + 0xffcn); b.setGpr('rax', -1n); });
    expect([o.vector, o.errorCode, o.faultAddr]).toEqual([14, 6, DATA_ADDR + 0x1000n]);
    expect(Array.from(o.mem.subarray(0xff8))).toEqual(new Array(8).fill(0));
  });

  it('a fetch fault in the kernel half reports P=0 (not Linux\'s sanitized P=1)', () => {
    const o = run('jmp *%rax', (b) => b.setGpr('rax', 0xffffffff80000000n));
    expect([o.vector, o.errorCode, o.faultAddr, o.rip]).toEqual([14, 0x14, 0xffffffff80000000n, 0xffffffff80000000n]);
  });

  it('a store to the CODE page is a protection #PF', () => {
    const o = run('mov %rax,(%rsi)', (b) => b.setGpr('rsi', CODE_ADDR + 0x100n));
    expect([o.vector, o.errorCode, o.faultAddr]).toEqual([14, 7, CODE_ADDR + 0x100n]);
  });

  it('ud2 gives #UD, misaligned access with AC gives #AC', () => {
    expect(run('ud2', () => {}).vector).toBe(6);
    const o = run('mov 1(%rsi),%eax', (b) => { b.setGpr('rsi', DATA_ADDR); b.rflags = 0x202 | FLAG.AC; });
    expect([o.vector, o.errorCode]).toEqual([17, 0]);
  });

  it('an unmasked SSE divide by zero gives #XM (19), x87 gives #MF (16) at the next fwait', () => {
    const x = run('divsd %xmm1,%xmm0', (b) => {
      b.mxcsr = 0x1f80 & ~(1 << 9);
      new DataView(b.bytes.buffer).setFloat64(160 + 160, 1, true);
    });
    expect(x.vector).toBe(19);
    expect(x.mxcsr & 4).toBe(4);
    const f = run('fldz; fld1; fdivp; fwait', (b) => { b.fcw = 0x37f & ~4; });
    expect(f.vector).toBe(16);
    expect(f.rip).toBe(CODE_ADDR + 6n);
  });

  it('documents the host: bsf/bsr with a zero source leave the whole destination unchanged', () => {
    for (const asm of ['bsf %ebx,%eax', 'bsr %rbx,%rax', 'bsf %bx,%ax']) {
      const o = run(asm, (b) => { b.setGpr('rax', 0x1234567887654321n); b.setGpr('rbx', 0n); });
      expect(o.gpr('rax'), asm).toBe(0x1234567887654321n);
      expect(o.rflags & FLAG.ZF).toBe(FLAG.ZF);
    }
  });

  it('a jump to itself is stopped by the alarm', () => {
    const o = run('jmp .', () => {});
    expect(o.vector).toBe(0xffffffff);
  });

  it('is deterministic and fast', () => {
    const [code] = assemble(['imul %rbx,%rax']);
    const cases = Array.from({ length: 5000 }, (_, i) => {
      const b = newInput();
      b.setGpr('rax', BigInt(i) * 0x123456789n); b.setGpr('rbx', BigInt(i));
      return { code: code!, input: b.bytes };
    });
    const t0 = Date.now();
    const a = runNative(cases);
    const dt = Date.now() - t0;
    const b = runNative(cases);
    for (let i = 0; i < cases.length; i++) expect(Buffer.compare(a[i]!, b[i]!)).toBe(0);
    expect(new Blob(a[7]!).gpr('rax')).toBe(BigInt.asUintN(64, 7n * 0x123456789n * 7n));
    console.log(`[isa] 5000 native cases in ${dt} ms`);
  });
});
