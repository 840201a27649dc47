// Where the kernel's DWARF comes from: `--symbols FILE`, else an unstripped loader.elf beside the
// kernel (OSv's build leaves loader.elf next to loader-stripped.elf), else the kernel itself when it
// still carries .debug_info. Loading reads only headers, symbol tables and debug sections.

import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { ElfError, PT_LOAD, type ElfFile } from '../machine/elf.js';
import { loadDebugInfoFile, type DwarfDebugInfo } from './dwarf/dwarf-info.js';
import { DwarfError } from './dwarf/errors.js';

export interface KernelDebugInfo {
  /** The file the DWARF was read from. */
  path: string;
  info: DwarfDebugInfo;
  /** Set when the symbols file's loadable segments differ from the kernel's (a different build). */
  mismatch?: string;
}

/** The file to read symbols from, or undefined when there is none. Throws DwarfError for a bad --symbols. */
export function findSymbolsFile(kernelPath: string | undefined, symbolsPath?: string): string | undefined {
  if (symbolsPath !== undefined) {
    if (!existsSync(symbolsPath) || !statSync(symbolsPath).isFile()) throw new DwarfError(`--symbols ${symbolsPath}: no such file`);
    return symbolsPath;
  }
  if (!kernelPath) return undefined;
  const beside = path.join(path.dirname(kernelPath), 'loader.elf');
  if (path.resolve(beside) !== path.resolve(kernelPath) && existsSync(beside)) return beside;
  return kernelPath;
}

/**
 * Loads the kernel's debug information. Returns undefined when the chosen file has no DWARF (a
 * stripped kernel with no loader.elf beside it); throws a one-line DwarfError/ElfError when a file
 * is unreadable or malformed, naming the file.
 */
export function loadKernelDebugInfo(kernelPath: string | undefined, symbolsPath?: string, kernelElf?: ElfFile): KernelDebugInfo | undefined {
  const file = findSymbolsFile(kernelPath, symbolsPath);
  if (!file) return undefined;
  let info: DwarfDebugInfo;
  try {
    info = loadDebugInfoFile(file);
  } catch (e) {
    if (e instanceof DwarfError || e instanceof ElfError) throw new DwarfError(`${file}: ${e.message}`);
    throw e;
  }
  if (info.stats.units === 0) {
    if (symbolsPath !== undefined) throw new DwarfError(`--symbols ${file}: no DWARF debug information (.debug_info) in it`);
    return undefined;
  }
  const out: KernelDebugInfo = { path: file, info };
  if (kernelElf) {
    const seg = (e: ElfFile) => e.programHeaders.filter((p) => p.type === PT_LOAD).map((p) => `${p.vaddr.toString(16)}+${p.memsz.toString(16)}`).join(',');
    const a = seg(kernelElf);
    const b = seg(info.elf);
    if (a !== b) out.mismatch = `${file} does not match the kernel (its loadable segments ${b} differ from ${a})`;
  }
  return out;
}
