// `osvemu run --profile FILE`: writes the guest profile the machine sampled (src/machine/profiler.ts),
// symbolized with the kernel's symbol table (--symbols, else loader.elf beside the kernel, else the kernel).
import { readFileSync, writeFileSync } from 'node:fs';
import type { Machine } from '../machine/machine.js';
import { findSymbolsFile, loadKernelDebugInfo } from '../osv/debug-symbols.js';
import { demangleAll } from '../osv/demangle.js';
import { osvProfileObjects } from '../osv/profile-objects.js';
import { osvProfileThreads } from '../osv/profile-threads.js';
import { KernelSymbols } from '../osv/symbols.js';

/**
 * Before the run: when the kernel's DWARF (--symbols, loader.elf beside the kernel, or the kernel) describes
 * OSv's scheduler, samples are also attributed to OSv threads, and frames in application objects are named from
 * the objects' own symbols. Returns a line for the user when --symbols was
 * given and cannot serve.
 */
export function attachProfileThreads(machine: Machine, kernelPath: string | undefined, symbolsPath: string | null): string | null {
  const profiler = machine.profiler;
  if (!profiler) return null;
  try {
    const k = loadKernelDebugInfo(kernelPath, symbolsPath ?? undefined);
    profiler.threadOf = k ? osvProfileThreads(machine, k.info) : null;
    profiler.nameFrames = k ? osvProfileObjects(machine, k.info) : null;
  } catch (e) {
    return `profile: no per-thread tracks (${(e as Error).message})`;
  }
  // A kernel without OSv's scheduler in its DWARF simply gets per-vCPU tracks; only a given --symbols earns a note.
  return profiler.threadOf || symbolsPath === null ? null : `profile: no per-thread tracks (${symbolsPath} does not describe OSv threads)`;
}

export function writeProfile(machine: Machine, file: string, kernel: Uint8Array, kernelPath: string | undefined, symbolsPath: string | null): string {
  const profiler = machine.profiler;
  if (!profiler) throw new Error('the machine was not profiling');
  let syms: KernelSymbols | null = null;
  try {
    const from = findSymbolsFile(kernelPath, symbolsPath ?? undefined);
    syms = KernelSymbols.fromElf(from && from !== kernelPath ? readFileSync(from) : kernel);
  } catch {
    // Unsymbolized addresses are still a profile: frames are shown as hex.
  }
  // Names are demangled in one batch: the profiler asks per frame.
  const raw = new Map<number, string | null>();
  for (const a of profiler.frameAddresses()) raw.set(a, profiler.functionAt(a, (x) => syms?.resolve(x) ?? null));
  const plain = demangleAll([...raw.values()].filter((n): n is string => n !== null));
  const symbolize = (a: number) => {
    const n = raw.get(a);
    return n == null ? null : plain.get(n) ?? n;
  };
  const data = file.endsWith('.pb.gz') ? profiler.toPprof(symbolize) : profiler.toSpeedscope(symbolize, kernelPath ?? 'osvemu');
  writeFileSync(file, data);
  const samples = machine.cpus.reduce((n, _c, k) => n + profiler.samples(k), 0);
  const threads = profiler.threads().length;
  return `profile: ${samples} samples every ${profiler.interval} instructions${threads ? ` in ${threads} OSv threads` : ''} written to ${file}`;
}
