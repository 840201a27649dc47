// OsvThreadSource from the kernel's DWARF (src/osv/debug-info.ts): OSv's sched::thread_map walked in
// guest memory, the thread running on a vCPU found by its RSP being inside the thread's stack (or,
// on an exception stack, by the thread's _detached_state naming that CPU as running). Used by abort
// reports and core files; the gdb side has its own, richer thread provider.
import { readVirtual } from '../machine/debug-mem.js';
import type { Machine } from '../machine/machine.js';
import { RSP } from '../cpu/regs.js';
import type { DebugInfo } from './debug-info.js';
import { loadDebugInfo } from './dwarf/dwarf-info.js';
import { perKernel } from './per-kernel.js';
import type { OsvThreadRef, OsvThreadSource } from './thread-source.js';
import { readU64 } from './unwind.js';

const STATUS_RUNNING = 5;
const MAX_THREADS = 100_000;

interface Layout {
  mapAddr: number;
  beforeBegin: number;
  id: number;
  name: number;
  stackBegin: number;
  stackSize: number;
  detached: number;
  dsCpu: number;
  dsSt: number;
  rsp: number;
  rbp: number;
  rip: number;
  cpusAddr: number;
}

function layoutOf(di: DebugInfo): Layout | null {
  const map = di.variable('sched::thread_map');
  const cpus = di.variable('sched::cpus');
  if (map?.location.kind !== 'address' || cpus?.location.kind !== 'address') return null;
  const off = (t: string, p: string) => di.member(t, p)?.offset;
  const f = {
    id: off('sched::thread', '_id'), name: off('sched::thread', '_attr._name'),
    stackBegin: off('sched::thread', '_attr._stack.begin'), stackSize: off('sched::thread', '_attr._stack.size'),
    detached: off('sched::thread', '_detached_state'), dsCpu: off('sched::thread::detached_state', '_cpu'),
    dsSt: off('sched::thread::detached_state', 'st'), rsp: off('sched::thread', '_state.rsp'),
    rbp: off('sched::thread', '_state.rbp'), rip: off('sched::thread', '_state.rip'),
  };
  if (Object.values(f).some((v) => v === undefined)) return null;
  // libstdc++'s _Hashtable: _M_buckets, _M_bucket_count, then _M_before_begin._M_nxt.
  const bb = di.member(map.typeName, '_M_h._M_before_begin._M_nxt')?.offset ?? 16;
  return { mapAddr: map.location.address, beforeBegin: bb, cpusAddr: cpus.location.address, ...(f as Record<keyof typeof f, number>) };
}

export function dwarfThreadSource(m: Machine, di: DebugInfo): OsvThreadSource | null {
  const layout = layoutOf(di);
  if (layout === null) return null;
  const L: Layout = layout;
  const cpu0 = m.cpus[0]!;
  const u64 = (a: number) => readU64(cpu0, a);
  const u32 = (a: number) => { const b = readVirtual(cpu0, a, 4); return b && b.length === 4 ? new DataView(b.buffer, b.byteOffset).getUint32(0, true) : null; };
  const cpuPtr = (k: number) => { const start = u64(L.cpusAddr); return start === null ? null : u64(start + 8 * k); };

  function threads(): OsvThreadRef[] | null {
    const out: OsvThreadRef[] = [];
    let node = u64(L.mapAddr + L.beforeBegin);
    const cpuIndex = new Map<number, number>();
    m.cpus.forEach((_, k) => { const p = cpuPtr(k); if (p !== null) cpuIndex.set(p, k); });
    while (node !== null && node !== 0 && out.length < MAX_THREADS) {
      const t = u64(node + 16);
      if (t !== null && t !== 0) {
        const nameBytes = readVirtual(cpu0, t + L.name, 16) ?? new Uint8Array();
        const nul = nameBytes.indexOf(0);
        const ds = u64(t + L.detached);
        const st = ds ? u32(ds + L.dsSt) : null;
        const dsCpu = ds ? u64(ds + L.dsCpu) : null;
        const running = st === STATUS_RUNNING && dsCpu !== null ? cpuIndex.get(dsCpu) ?? null : null;
        out.push({
          id: u32(t + L.id) ?? 0,
          name: Buffer.from(nameBytes.subarray(0, nul < 0 ? nameBytes.length : nul)).toString('latin1'),
          cpu: running,
          context: { rsp: u64(t + L.rsp) ?? 0, rbp: u64(t + L.rbp) ?? 0, rip: u64(t + L.rip) ?? 0 },
          stack: { begin: u64(t + L.stackBegin) ?? 0, size: u64(t + L.stackSize) ?? 0 },
        } as OsvThreadRef & { stack: { begin: number; size: number } });
      }
      node = u64(node);
    }
    // A thread is on a vCPU when that vCPU's RSP is in its stack (status alone lags behind a switch).
    m.cpus.forEach((c, k) => {
      const rsp = c.reg64(RSP);
      const on = out.find((t) => { const s = (t as OsvThreadRef & { stack: { begin: number; size: number } }).stack; return rsp >= s.begin && rsp < s.begin + s.size; });
      if (on) {
        for (const t of out) if (t.cpu === k && t !== on) t.cpu = null;
        on.cpu = k;
      }
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
