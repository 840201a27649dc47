// The hook through which OSv thread knowledge (src/osv threads work: sched::thread_map walked with
// the DebugInfo layouts) reaches abort reports, core files and recordings. Until a source is
// installed everything works per vCPU: the aborting vCPU is named, the thread is "unknown".
import type { Machine } from '../machine/machine.js';
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
