// OsvThreadSource from the kernel's DWARF (src/osv/debug-info.ts): the thread running on a vCPU is the one
// whose stack holds the vCPU's RSP (or, on an exception stack, the one whose _detached_state names that CPU as
// running). Used by abort reports and core files.
import { readVirtual } from '../machine/debug-mem.js';
import type { Machine } from '../machine/machine.js';
import { RSP } from '../cpu/regs.js';
import type { DebugInfo } from './debug-info.js';
import { loadDebugInfo } from './dwarf/dwarf-info.js';
import { LayoutError, OsvKernel, type OsvThread } from './kernel.js';
import { perKernel } from './per-kernel.js';
import type { OsvThreadRef, OsvThreadSource } from './thread-source.js';

/**
 * Threads as abort reports and core files need them, read through the same OsvKernel walk of sched::thread_map
 * the gdb thread provider uses. Null when the kernel's DWARF lacks the layouts; an unreadable list (an abort before
 * the scheduler exists) makes allThreads() null, so callers fall back to one entry per vCPU.
 */
export function dwarfThreadSource(m: Machine, di: DebugInfo): OsvThreadSource | null {
  if (di.variable('sched::thread_map') === undefined || di.variable('sched::cpus') === undefined) return null;
  const cpu0 = m.cpus[0]!;
  const kernel = new OsvKernel(di, (addr, len) => readVirtual(cpu0, addr, len));

  function threads(): OsvThreadRef[] | null {
    kernel.invalidate();
    let list: OsvThread[];
    try {
      list = kernel.threads();
    } catch (e) {
      if (e instanceof LayoutError) return null;
      throw e;
    }
    const out: OsvThreadRef[] = list.map((t) => ({
      id: t.id, name: t.name,
      // The status lags behind a switch; the stack check below settles which thread a vCPU runs.
      cpu: t.status === 'running' && t.cpu >= 0 && t.cpu < m.cpus.length ? t.cpu : null,
      context: { rsp: t.rsp, rbp: t.rbp, rip: t.rip },
    }));
    m.cpus.forEach((c, k) => {
      const rsp = c.reg64(RSP);
      const i = list.findIndex((t) => rsp >= t.stackBegin && rsp < t.stackBegin + t.stackSize);
      if (i < 0) return;
      for (const t of out) if (t.cpu === k) t.cpu = null;
      out[i]!.cpu = k;
    });
    for (const t of out) if (t.cpu !== null) delete t.context;
    return out;
  }

  return {
    threadOnCpu: (k) => threads()?.find((t) => t.cpu === k) ?? null,
    allThreads: () => threads(),
  };
}

const debugInfoOf = perKernel((k) => {
  const di = loadDebugInfo(k);
  return di.variable('sched::thread_map') === undefined ? null : di;
});

/** The kernel's own DWARF (an unstripped loader.elf or osvlike.elf) when it describes OSv's scheduler, or null. */
export function kernelDebugInfo(m: Machine): DebugInfo | null {
  return debugInfoOf(m.options.kernel);
}
