// Choosing how gdb sees threads for `osvemu run --gdb`: OSv threads when the kernel's DWARF is at
// hand (--symbols FILE, else loader.elf beside the kernel, else the kernel itself when it is
// unstripped), vCPUs otherwise or with --gdb-threads vcpu.

import { existsSync } from 'node:fs';
import path from 'node:path';
import type { GdbTarget, ThreadProvider } from '../gdbstub/target.js';
import { ElfFile } from '../machine/elf.js';
import { loadDebugInfoFile } from './dwarf/dwarf-info.js';
import { OsvThreadProvider } from './threads.js';

export type GdbThreadMode = 'osv' | 'vcpu';

/** The file whose DWARF describes the kernel, or null when there is none. */
export function findSymbols(kernelPath: string | null, symbols: string | null): string | null {
  if (symbols !== null) return symbols;
  if (kernelPath === null) return null;
  const beside = path.join(path.dirname(kernelPath), 'loader.elf');
  if (existsSync(beside)) return beside;
  return kernelPath;
}

/**
 * A thread-provider factory for the gdb server, or undefined for the default (vCPUs). Throws with a
 * one-line message when an explicitly given symbols file cannot be read.
 */
export function osvThreads(opts: {
  mode: GdbThreadMode; kernel: Uint8Array; symbolsPath: string | null; explicit: boolean; log: (m: string) => void;
}): ((target: GdbTarget) => ThreadProvider) | undefined {
  if (opts.mode === 'vcpu' || opts.symbolsPath === null) return undefined;
  let debug;
  try {
    const started = Date.now();
    debug = loadDebugInfoFile(opts.symbolsPath);
    if (debug.stats.units === 0) throw new Error('no DWARF (.debug_info) in it');
    opts.log(`symbols from ${opts.symbolsPath} (${debug.stats.units} units, ${Date.now() - started} ms): gdb threads are OSv threads`);
  } catch (e) {
    const msg = `${opts.symbolsPath}: ${(e as Error).message.split('\n')[0]}`;
    if (opts.explicit) throw new Error(msg);
    opts.log(`${msg}; gdb threads are vCPUs`);
    return undefined;
  }
  const kernelElf = ElfFile.parse(opts.kernel);
  return (target) => new OsvThreadProvider({ target, debug, kernelElf });
}
