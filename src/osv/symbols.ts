// Kernel symbols for backtraces and breakpoints: `.symtab` of loader.elf when present, else the
// `.dynsym` that loader-stripped.elf keeps. Names stay mangled (OSv's own backtraces print
// them mangled too, e.g. `_ZN3osv4haltEv`).

import { ElfFile, PT_LOAD, type ElfSymbol } from '../machine/elf.js';

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

  private span: [number, number] | null = null;

  /** Whether addr lies in one of the kernel's loaded segments (any address when it has none). */
  inImage(addr: number): boolean {
    if (this.span === null) {
      const loads = this.elf.programHeaders.filter((p) => p.type === PT_LOAD);
      this.span = loads.length === 0 ? [-Infinity, Infinity]
        : [Math.min(...loads.map((p) => Number(p.vaddr))), Math.max(...loads.map((p) => Number(p.vaddr) + Number(p.memsz)))];
    }
    return addr >= this.span[0] && addr < this.span[1];
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
