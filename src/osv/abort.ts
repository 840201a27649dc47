// Recognising an OSv abort in a stopped machine and saying where it happened. OSv's abort() prints
// its message and "[backtrace]", then osv::halt() sends an NMI to all-but-self (more than one CPU)
// and loops in cli; hlt: the machine ends with every vCPU halted with interrupts off. The aborting
// vCPU is the NMI's sender (recorded by the APIC bus), else the one whose stack holds abort/osv::halt.
// A triple fault names its vCPU itself. Threads come from the OsvThreadSource hook when installed.
import type { Machine } from '../machine/machine.js';
import { perKernel } from './per-kernel.js';
import { KernelSymbols } from './symbols.js';
import { osvThreads, type OsvThreadRef, type OsvThreadSource } from './thread-source.js';
import { cpuStart, kernelUnwinder, type Unwinder } from './unwind.js';

export interface SymbolizedFrame {
  pc: number;
  /** "name+offset" or null when no symbol covers the address. */
  symbol: string | null;
}

export interface AbortInfo {
  cpu: number;
  kind: 'abort' | 'triple-fault';
  /** How the aborting vCPU was told apart, for the report. */
  evidence: string;
  message: string;
  thread: OsvThreadRef | null;
  frames: SymbolizedFrame[];
}

const ABORT_SYMBOL = /^(abort|_Z5abortPKcz|_Z5abortv|_ZN3osv4haltEv|__assert_fail)(\+|$)/;

const symbolsOf = perKernel((k) => {
  const s = KernelSymbols.fromElf(k);
  return s.table === 'none' ? null : s;
});

/** Symbols of the kernel the machine booted (null when it has none or cannot be parsed). */
export function kernelSymbols(m: Machine): KernelSymbols | null {
  return symbolsOf(m.options.kernel);
}

export function symbolize(syms: KernelSymbols | null, pc: number, returnAddress: boolean): string | null {
  // A return address may be just past the last instruction of its function: look up the call.
  return syms?.resolve(returnAddress ? pc - 1 : pc)?.replace(/\+(\d+)$/, (_, o: string) => `+${Number(o) + (returnAddress ? 1 : 0)}`) ?? null;
}

export function backtrace(m: Machine, cpu: number, unwinder: Unwinder = kernelUnwinder(m.options.kernel)): SymbolizedFrame[] {
  const syms = kernelSymbols(m);
  const c = m.cpus[cpu]!;
  return unwinder.unwind(c, cpuStart(c)).map((f, i) => ({ pc: f.pc, symbol: symbolize(syms, f.pc, i > 0) }));
}

/** The abort message OSv printed: the last line before its "[backtrace]". */
export function abortMessage(consoleText: string): string | null {
  const at = consoleText.lastIndexOf('[backtrace]');
  if (at < 0) return null;
  const lines = consoleText.slice(Math.max(0, at - 4096), at).split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return lines.length > 0 ? lines[lines.length - 1]! : null;
}

/** The abort the machine stopped in, or null when it did not stop in one. */
export function detectAbort(m: Machine, threads: OsvThreadSource | null = osvThreads(m)): AbortInfo | null {
  let cpu = -1;
  let kind: AbortInfo['kind'] = 'abort';
  let evidence = '';
  if (m.state === 'triple-fault') {
    kind = 'triple-fault';
    const k = /^vCPU (\d+)/.exec(m.stateMessage);
    cpu = k ? Number(k[1]) : m.currentCpu;
    evidence = 'triple fault';
  } else if (m.state === 'halted' || m.state === 'stopped' || m.state === 'running') {
    const sender = m.platform.apicBus.nmiAllButSelfFrom;
    if (sender >= 0) {
      cpu = sender;
      evidence = 'sent the NMI to all-but-self (osv::halt)';
    } else {
      for (let k = 0; k < m.cpus.length && cpu < 0; k++) {
        if (backtrace(m, k).some((f) => f.symbol !== null && ABORT_SYMBOL.test(f.symbol))) {
          cpu = k;
          evidence = 'abort on its stack';
        }
      }
    }
    if (cpu < 0 && m.state === 'halted' && m.cpus.length === 1 && abortMessage(m.console) !== null) {
      cpu = 0;
      evidence = 'halted after "[backtrace]"';
    }
    if (cpu < 0) return null;
  } else return null;
  return {
    cpu, kind, evidence,
    message: kind === 'triple-fault' ? m.stateMessage : abortMessage(m.console) ?? m.stateMessage,
    thread: threads?.threadOnCpu(cpu) ?? null,
    frames: backtrace(m, cpu),
  };
}

export function hex64(v: number): string {
  const u = v < 0 ? v + 2 ** 64 : v;
  return `0x${u.toString(16).padStart(16, '0')}`;
}

/** The summary printed on stderr, one "osvemu: " line each. */
export function formatAbort(a: AbortInfo): string {
  const thread = a.thread ? `thread ${a.thread.id} "${a.thread.name}"` : 'thread unknown (no OSv thread information)';
  const what = a.kind === 'triple-fault' ? 'triple fault' : 'OSv abort';
  const lines = [`${what} on vCPU ${a.cpu}, ${thread} (${a.evidence}): ${a.message}`, `backtrace of vCPU ${a.cpu}:`];
  a.frames.forEach((f, i) => lines.push(`  #${i} ${hex64(f.pc)} ${f.symbol ?? '??'}`));
  return lines.map((l) => `osvemu: ${l}\n`).join('');
}
