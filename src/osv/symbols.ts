// Kernel symbols for backtraces and breakpoints: `.symtab` of loader.elf when present, else the
// `.dynsym` that loader-stripped.elf keeps. Names stay mangled (OSv's own backtraces print
// them mangled too, e.g. `_ZN3osv4haltEv`).

import { ElfFile, type ElfSymbol } from '../machine/elf.js';

export class KernelSymbols {
  private constructor(
    readonly elf: ElfFile,
    /** Which table the names come from. */
    readonly table: '.symtab' | '.dynsym' | 'none',
  ) {}

  /** Throws ElfError on a malformed file (symbol tables included). */
  static fromElf(bytes: Uint8Array): KernelSymbols {
    const elf = ElfFile.parse(bytes);
    const table = elf.symbols('.symtab').length > 0 ? '.symtab' : elf.symbols('.dynsym').length > 0 ? '.dynsym' : 'none';
    return new KernelSymbols(elf, table);
  }

  /** "name+off" for the function containing addr, or null. */
  resolve(addr: number): string | null {
    // Outside the kernel's segments (an application object's code) the nearest kernel symbol would be a lie.
    if (!this.inImage(addr)) return null;
    const at = this.elf.symbolAt(addr);
    return at ? `${at.symbol.name}+${at.offset}` : null;
  }

  /** Whether addr lies in the kernel's loaded segments (any address when it has none). */
  inImage(addr: number): boolean {
    return this.elf.inLoadedSpan(addr);
  }

  /** Address of a defined symbol, or null. */
  lookup(name: string): number | null {
    const s = this.elf.findSymbol(name);
    return s && s.exact ? s.value : null;
  }

  symbol(name: string): ElfSymbol | undefined {
    return this.elf.findSymbol(name);
  }
}
