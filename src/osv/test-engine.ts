// How a test machine runs guest code: the settings `osvemu test` shares with `osvemu run` (guest time per
// instruction, what waiting instructions cost, the block compiler). Kept apart from the runner so that the
// CLI's argument parser and the worker thread can name them without loading each other.
import type { MachineOptions } from '../machine/machine.js';
import { DEFAULT_PAUSE_NS, DEFAULT_TSC_READ_NS } from '../machine/wait-cost.js';

export interface EngineSettings {
  /** 2^icountShift ns of guest time per instruction (--icount-shift). */
  icountShift: number;
  /** Guest ns a PAUSE takes (--pause-cost). */
  pauseNs: number;
  /** Guest ns a TSC read takes (--rdtsc-cost). */
  tscReadNs: number;
  /** Compile hot code (default); false: --no-jit. */
  jit: boolean;
  /** Jump over idle loop iterations (default); false: --no-loop-skip. */
  loopSkip: boolean;
  /** Compile hot 64-bit integer code to WebAssembly (default); false: --no-wasm. */
  wasm: boolean;
}

export const DEFAULT_ENGINE: EngineSettings = { icountShift: 0, pauseNs: DEFAULT_PAUSE_NS, tscReadNs: DEFAULT_TSC_READ_NS, jit: true, loopSkip: true, wasm: true };

/** The machine options of these settings. */
export function engineMachineOptions(e: Partial<EngineSettings> | undefined): Pick<MachineOptions, 'icountShift' | 'pauseNs' | 'tscReadNs' | 'jit' | 'loopSkip' | 'wasm'> {
  const s = { ...DEFAULT_ENGINE, ...e };
  // wasm only when set: absent, the Machine's default (OSVEMU_WASM) holds.
  return { icountShift: s.icountShift, pauseNs: s.pauseNs, tscReadNs: s.tscReadNs, jit: s.jit, loopSkip: s.loopSkip, ...(e?.wasm === false ? { wasm: false } : {}) };
}

/** `osvemu run` options that give a machine these settings (only those that differ from the defaults). */
export function engineRunWords(e: Partial<EngineSettings> | undefined): string[] {
  const s = { ...DEFAULT_ENGINE, ...e };
  const words: string[] = [];
  if (s.icountShift !== DEFAULT_ENGINE.icountShift) words.push('--icount-shift', String(s.icountShift));
  if (s.pauseNs !== DEFAULT_ENGINE.pauseNs) words.push('--pause-cost', String(s.pauseNs));
  if (s.tscReadNs !== DEFAULT_ENGINE.tscReadNs) words.push('--rdtsc-cost', String(s.tscReadNs));
  if (!s.jit) words.push('--no-jit');
  if (!s.loopSkip) words.push('--no-loop-skip');
  if (!s.wasm) words.push('--no-wasm');
  return words;
}
