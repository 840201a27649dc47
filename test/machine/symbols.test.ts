import { describe, expect, it } from 'vitest';
import { ElfError } from '../../src/machine/elf.js';
import { KernelSymbols } from '../../src/osv/symbols.js';
import { HAVE_GCC, buildKernel, buildStrippedShared } from './fixtures.js';

describe.skipIf(!HAVE_GCC)('kernel symbols (src/osv/symbols.ts)', () => {
  it('resolves addresses to name+offset from .symtab, as OSv backtraces print them', () => {
    const syms = KernelSymbols.fromElf(buildKernel());
    expect(syms.table).toBe('.symtab');
    const base = syms.lookup('thread_main_c')!;
    expect(base).toBeGreaterThan(0x40200000);
    expect(syms.resolve(base + 39)).toBe('thread_main_c+39');
    expect(syms.resolve(base)).toBe('thread_main_c+0');
    expect(syms.resolve(0x1000)).toBeNull();
    // An application object's code (OSv maps them at 0x100000000000): never the nearest kernel symbol.
    expect(syms.inImage(base)).toBe(true);
    expect(syms.inImage(0x100000001f46)).toBe(false);
    expect(syms.resolve(0x100000001f46)).toBeNull();
    expect(syms.resolve(base + 65 + 2)).toBeNull(); // in an assembly label with no function symbol
    expect(syms.lookup('nope')).toBeNull();
    expect(syms.symbol('pvh_entry')!.size).toBe(6);
  });

  it('falls back to .dynsym for a stripped image', () => {
    const syms = KernelSymbols.fromElf(buildStrippedShared());
    expect(syms.table).toBe('.dynsym');
    const fn = syms.lookup('exported_fn')!;
    expect(syms.resolve(fn + 1)).toBe('exported_fn+1');
  });

  it('throws ElfError for non-ELF input', () => {
    expect(() => KernelSymbols.fromElf(new TextEncoder().encode('nope'))).toThrow(ElfError);
  });
});
