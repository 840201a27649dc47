// Choosing how gdb sees threads for `osvemu run --gdb`: OSv threads when the kernel's DWARF is at
// hand (debug-symbols.ts: --symbols FILE, else loader.elf beside the kernel, else the kernel itself
// when it is unstripped), vCPUs otherwise or with --gdb-threads vcpu.

import type { GdbTarget, ThreadProvider } from '../gdbstub/target.js';
import { ElfFile } from '../machine/elf.js';
import { loadKernelDebugInfo } from './debug-symbols.js';
import { OsvThreadProvider } from './threads.js';

export type GdbThreadMode = 'osv' | 'vcpu';

/**
 * A thread-provider factory for the gdb server, or undefined for the default (vCPUs). Throws with a
 * one-line message when an explicitly given symbols file cannot be used.
 */
export function osvThreads(opts: {
  mode: GdbThreadMode; kernel: Uint8Array; kernelPath: string | null; symbols: string | null; log: (m: string) => void;
}): ((target: GdbTarget) => ThreadProvider) | undefined {
  if (opts.mode === 'vcpu') return undefined;
  const kernelElf = ElfFile.parse(opts.kernel);
  const started = Date.now();
  let loaded;
  try {
    loaded = loadKernelDebugInfo(opts.kernelPath ?? undefined, opts.symbols ?? undefined, kernelElf);
  } catch (e) {
    if (opts.symbols !== null) throw e;
    opts.log(`${(e as Error).message.split('\n')[0]}; gdb threads are vCPUs`);
    return undefined;
  }
  if (loaded === undefined) return undefined;
  if (loaded.mismatch !== undefined) opts.log(`warning: ${loaded.mismatch}`);
  const debug = loaded.info;
  opts.log(`symbols from ${loaded.path} (${Date.now() - started} ms): gdb threads are OSv threads`);
  return (target) => new OsvThreadProvider({ target, debug, kernelElf });
}
