// The hook through which OSv thread knowledge (src/osv threads work: sched::thread_map walked with
// the DebugInfo layouts) reaches abort reports, core files and recordings. Until a source is
// installed everything works per vCPU: the aborting vCPU is named, the thread is "unknown".
import type { Machine } from '../machine/machine.js';
import type { DebugInfo } from './debug-info.js';
import { loadKernelDebugInfo } from './debug-symbols.js';
import { dwarfThreadSource, kernelDebugInfo } from './dwarf-threads.js';

/** Registers of a thread that is not on a vCPU, as its saved context has them (others are unknown). */
export interface SavedContext {
  rip: number;
  rsp: number;
  rbp: number;
}

export interface OsvThreadRef {
  /** sched::thread::_id */
  id: number;
  /** _attr._name */
  name: string;
  /** vCPU it runs on right now, or null when it is not running. */
  cpu: number | null;
  /** For a thread not on a vCPU: where `switch_to` left it. */
  context?: SavedContext;
}

export interface OsvThreadSource {
  /** The thread running on vCPU `cpu`, or null when not known. */
  threadOnCpu(cpu: number): OsvThreadRef | null;
  /** Every OSv thread, or null when the list is not known (callers fall back to one entry per vCPU). */
  allThreads(): OsvThreadRef[] | null;
}

export type OsvThreadSourceFactory = (machine: Machine) => OsvThreadSource | null;

/** Default: the kernel's own DWARF when it has OSv's scheduler in it (osvlike.elf, an unstripped loader.elf). */
let factory: OsvThreadSourceFactory = (m) => {
  const di = kernelDebugInfo(m);
  return di ? dwarfThreadSource(m, di) : null;
};

/** Installed by the OSv threads code (e.g. from the CLI once loader.elf's DWARF is loaded). */
export function setOsvThreadSourceFactory(f: OsvThreadSourceFactory): void {
  factory = f;
}

export function osvThreads(machine: Machine): OsvThreadSource | null {
  return factory(machine);
}

/**
 * Names threads from the DWARF that `--symbols` or a loader.elf beside the kernel provides (src/osv/debug-symbols.ts),
 * so abort summaries and core files of a stripped kernel still list every OSv thread. Loaded on first use (an
 * abort, a core file), once; a missing or unreadable file falls back to the kernel's own DWARF.
 */
export function useKernelSymbols(kernelPath: string | undefined, symbolsPath: string | undefined): void {
  let loaded: DebugInfo | null | undefined;
  const fallback = factory;
  setOsvThreadSourceFactory((m) => {
    if (loaded === undefined) {
      try {
        const k = loadKernelDebugInfo(kernelPath, symbolsPath);
        loaded = k && k.info.variable('sched::thread_map') !== undefined ? k.info : null;
      } catch {
        loaded = null;
      }
    }
    return loaded ? dwarfThreadSource(m, loaded) : fallback(m);
  });
}
