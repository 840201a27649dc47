// Which OSv thread a profile sample belongs to: the one whose sched::thread::_tcb is the vCPU's FS_BASE
// (OSv's switch_to loads the next thread's TCB into FS_BASE). The thread map is walked (OsvKernel, layouts
// from the DWARF) only for an FS_BASE not seen before or whose thread no longer owns it (exited, TCB
// reused); otherwise a sample costs two guest reads to confirm the cached thread. Reads have no side
// effects, so attribution never changes the run.
import type { Cpu } from '../cpu/cpu.js';
import { FS } from '../cpu/regs.js';
import { readVirtual } from '../machine/debug-mem.js';
import type { Machine } from '../machine/machine.js';
import type { ProfileThread, ThreadOfCpu } from '../machine/profiler.js';
import type { DebugInfo } from './debug-info.js';
import { OsvKernel } from './kernel.js';

const TWO64 = 2 ** 64;

/** A 64-bit address as OsvKernel reads it (unsigned; rounded alike above 2^53), whatever sign it came with. */
export function unsigned(v: number): number {
  return v < 0 ? v + TWO64 : v;
}

interface Known extends ProfileThread {
  /** Address of the sched::thread. */
  addr: number;
}

/**
 * The thread-of-vCPU function the guest profiler calls per sample (GuestProfiler.threadOf), or null when the
 * DWARF does not describe OSv's scheduler. Before the thread map exists (early boot) samples have no thread.
 */
export function osvProfileThreads(machine: Machine, di: DebugInfo): ThreadOfCpu | null {
  if (di.variable('sched::thread_map') === undefined || di.member('sched::thread', '_tcb') === undefined) return null;
  // Kernel addresses are mapped alike in every vCPU's address space; vCPU 0's page tables are used.
  const kernel = new OsvKernel(di, (addr, len) => readVirtual(machine.cpus[0]!, addr, len));
  const byTcb = new Map<number, Known>();

  function owns(t: Known, tcb: number): boolean {
    try {
      const now = kernel.thread(t.addr);
      return now.tcb === tcb && now.id === t.id;
    } catch {
      return false;
    }
  }

  function lookup(tcb: number): Known | null {
    let list: number[];
    try {
      list = kernel.threadAddresses();
    } catch {
      // No thread map yet (early boot) or one being rehashed: this sample has no thread.
      return null;
    }
    for (const addr of list) {
      try {
        const t = kernel.thread(addr);
        if (t.tcb === tcb) return { addr, id: t.id, name: t.name };
      } catch {
        // A node being inserted or freed: skip it.
      }
    }
    return null;
  }

  return (cpu: Cpu) => {
    const fs = cpu.segBase[FS]!;
    if (fs === 0) return null;
    const tcb = unsigned(fs);
    kernel.invalidate();
    const cached = byTcb.get(tcb);
    if (cached !== undefined && owns(cached, tcb)) return cached;
    const found = lookup(tcb);
    if (found === null) byTcb.delete(tcb);
    else byTcb.set(tcb, found);
    return found;
  };
}
