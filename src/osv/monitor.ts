// `monitor osv ...`: loader.py's commands computed in the emulator from the DWARF layouts, so they
// work in stock gdb with no script. `osv pagetable walk` walks the vCPU's own CR3 through physical
// memory (loader.py reads the root's virtual address as if it were physical).

import { REG } from '../gdbstub/tdesc.js';
import type { ThreadId } from '../gdbstub/target.js';
import { LayoutError } from './kernel.js';
import type { OsvThreadProvider } from './threads.js';
import { TraceError } from './trace-buffers.js';
import { saveGuestTrace, TraceFileError, type TraceFiles } from './trace-save.js';

export const OSV_MONITOR_HELP = [
  'osv threads                  OSv threads: id, address, name, cpu, status, where',
  'osv syms                     loaded objects (elf::program::s_objs): base, end, path',
  'osv memory                   total and free memory',
  'osv mmap                     mapped areas (mmu::vma_list)',
  'osv runqueue                 threads queued to run, per cpu',
  'osv percpu VAR [FIELD...]    a PERCPU variable on every cpu',
  'osv pagetable walk ADDR      translate a virtual address with the current vCPU\'s CR3',
  'osv trace save FILE [--perfetto JSON]  OSv\'s trace buffers as an OSVT dump (scripts/trace.py list FILE)',
];

const hex = (n: number, width = 16) => `0x${n.toString(16).padStart(width, '0')}`;

function threadsCmd(p: OsvThreadProvider): string {
  const snap = p.snapshot();
  if (!snap.osv) return 'osv threads: the scheduler has no threads yet (threads are vCPUs)';
  const lines = ['  id  address             name            cpu  status        where'];
  for (const t of snap.threads) {
    const on = snap.cpuOf.get(t.id);
    const where = on !== undefined ? `running on vCPU ${on}` : p.waitingIn(t);
    lines.push(`${String(t.id).padStart(4)}  ${hex(t.addr)}  ${t.name.padEnd(15)} ${t.cpu >= 0 ? `cpu${t.cpu}`.padEnd(4) : '-   '} ${t.status.padEnd(13)} ${where}`);
  }
  return lines.join('\n');
}

function symsCmd(p: OsvThreadProvider): string {
  const objs = p.kernel.objects();
  if (objs.length === 0) return 'osv syms: no objects loaded';
  return objs.map((o) => `${hex(o.base)} ${o.end ? hex(o.end) : '?'.padEnd(18)} ${o.path}`).join('\n');
}

function memoryCmd(p: OsvThreadProvider): string {
  const k = p.kernel;
  const total = k.ptr(k.variableAddress('memory::phys_mem_size'));
  const free = k.ptr(k.variableAddress('memory::free_memory'));
  const pct = (n: number) => (total > 0 ? ((n * 100) / total).toFixed(2) : '0.00');
  return [`Total Memory: ${total} Bytes`, `Free Memory:  ${free} Bytes (${pct(free)}%)`].join('\n');
}

/** loader.py's letters for vma flags and permissions, lowest bit first. */
function bits(v: number, names: string[]): string {
  const s = names.filter((_, i) => (v >>> i) & 1).join('');
  return s === '' ? 'none' : s;
}

function mmapCmd(p: OsvThreadProvider): string {
  if (p.kernel.debug.variable('mmu::vma_list') === undefined) return 'osv mmap: this kernel has no mmu::vma_list';
  return p.kernel.vmas().map((v) => {
    const size = `[${(v.end - v.start) / 1024} kB]`.padEnd(16);
    return `${hex(v.start)} ${hex(v.end)} ${size} flags=${bits(v.flags, ['f', 'p', 's', 'u', 'j', 'm', 'b', 'F']).padEnd(8)} perm=${bits(v.perm, ['r', 'w', 'x'])}`;
  }).join('\n');
}

function runqueueCmd(p: OsvThreadProvider): string {
  const snap = p.snapshot();
  if (!snap.osv) return 'osv runqueue: the scheduler has no threads yet';
  const lines: string[] = [];
  const ncpu = p.kernel.cpus().length;
  for (let c = 0; c < ncpu; c++) {
    lines.push(`CPU ${c}:`);
    for (const t of snap.threads) if (t.cpu === c && t.status === 'queued') lines.push(`${t.id} ${hex(t.addr, 0)} ${t.name}`);
  }
  return lines.join('\n');
}

function percpuCmd(p: OsvThreadProvider, args: string[]): string {
  if (args.length === 0) return 'usage: osv percpu VAR [FIELD...]';
  const k = p.kernel;
  const v = k.debug.variable(args[0]);
  if (v === undefined || v.location.kind !== 'address') return `osv percpu: no variable ${args[0]} in the debug info`;
  // PERCPU(type, var) wraps the value in a struct whose `_var` is the per-cpu copy's offset.
  const inner = k.debug.member(v.typeName, '_var');
  let offset = v.location.address + (inner?.offset ?? 0);
  let type = inner?.baseTypeName ?? v.typeName;
  let size = inner?.size ?? v.size;
  if (args.length > 1) {
    const m = k.debug.member(type, args.slice(1).join('.'));
    if (m === undefined) return `osv percpu: ${type} has no member ${args.slice(1).join('.')}`;
    offset += m.offset;
    type = m.typeName;
    size = m.size;
  }
  const lines: string[] = [];
  k.cpus().forEach((cpu, i) => {
    const base = k.ptr(cpu + k.off('sched::cpu', 'percpu_base'));
    const addr = base + offset;
    const b = k.bytes(addr, Math.min(Math.max(size, 1), 64));
    lines.push(`CPU ${i}: (${type}) at ${hex(addr, 0)}: ${Buffer.from(b).toString('hex')}`);
  });
  return lines.join('\n');
}

const LEVELS = ['PML4', 'PDPT', 'PD', 'PT'];

function pagetableWalk(p: OsvThreadProvider, arg: string | undefined, thread: ThreadId): string {
  if (arg === undefined || !/^(0x)?[0-9a-f]+$/i.test(arg)) return 'usage: osv pagetable walk ADDR (hex)';
  const va = BigInt(arg.startsWith('0x') || arg.startsWith('0X') ? arg : `0x${arg}`);
  const target = p.machineTarget;
  if (target.readPhysical === undefined) return 'osv pagetable walk: this target cannot read physical memory';
  const cpu = p.memoryCpu(thread);
  const cr3 = BigInt(p.vcpuRegister(cpu, REG.cr3));
  const lines = [`vCPU ${cpu} CR3 ${hex(Number(cr3))}, virtual ${hex(Number(va))}`];
  let table = cr3 & 0x000ffffffffff000n;
  for (let level = 0; level < 4; level++) {
    const index = (va >> BigInt(39 - 9 * level)) & 0x1ffn;
    const entryAddr = table + index * 8n;
    const raw = target.readPhysical(entryAddr, 8);
    if (raw === null || raw.length < 8) return [...lines, `${LEVELS[level]}[${index}] at physical ${hex(Number(entryAddr))}: not in RAM`].join('\n');
    const pte = new DataView(raw.buffer, raw.byteOffset, 8).getBigUint64(0, true);
    const flags = ['P', 'W', 'U', 'PWT', 'PCD', 'A', 'D', 'PS', 'G'].filter((_, bit) => (pte >> BigInt(bit)) & 1n);
    if (pte >> 63n) flags.push('NX');
    lines.push(`${LEVELS[level].padEnd(4)}[${String(index).padStart(3)}] at physical ${hex(Number(entryAddr))}: ${hex(Number(pte & ((1n << 53n) - 1n)))}${pte >> 63n ? ' (NX)' : ''} [${flags.join(' ')}]`);
    if ((pte & 1n) === 0n) return [...lines, 'not present'].join('\n');
    const huge = level > 0 && level < 3 && (pte & 0x80n) !== 0n;
    if (huge || level === 3) {
      const pageBits = BigInt(level === 3 ? 12 : 39 - 9 * level);
      const frame = pte & 0x000ffffffffff000n & ~((1n << pageBits) - 1n);
      const pa = frame | (va & ((1n << pageBits) - 1n));
      lines.push(`physical ${hex(Number(pa))} (${level === 3 ? '4 KiB' : level === 2 ? '2 MiB' : '1 GiB'} page)`);
      return lines.join('\n');
    }
    table = pte & 0x000ffffffffff000n;
  }
  return lines.join('\n');
}

function traceCmd(p: OsvThreadProvider, args: string[]): string {
  const usage = 'usage: osv trace save FILE [--perfetto JSON]';
  if (args[0] !== 'save' || args.length < 2) return usage;
  const files: TraceFiles = { osvt: args[1] };
  for (let i = 2; i < args.length; i += 2) {
    if (args[i] !== '--perfetto' || args[i + 1] === undefined) return usage;
    files.perfetto = args[i + 1];
  }
  try {
    return saveGuestTrace(p.kernel.debug, (addr, len) => p.machineTarget.readMemory(0, BigInt(addr), len), files);
  } catch (e) {
    if (e instanceof TraceError || e instanceof TraceFileError) return `osv trace save: ${e.message}`;
    throw e;
  }
}

export function osvMonitor(p: OsvThreadProvider, command: string, thread: ThreadId): string | undefined {
  const words = command.split(/\s+/).filter((w) => w !== '');
  if (words[0] !== 'osv') return undefined;
  try {
    switch (words[1]) {
      case 'threads':
        return threadsCmd(p);
      case 'syms':
        return symsCmd(p);
      case 'memory':
        return memoryCmd(p);
      case 'mmap':
        return mmapCmd(p);
      case 'runqueue':
        return runqueueCmd(p);
      case 'percpu':
        return percpuCmd(p, words.slice(2));
      case 'trace':
        return traceCmd(p, words.slice(2));
      case 'pagetable':
        if (words[2] === 'walk') return pagetableWalk(p, words[3], thread);
        return 'usage: osv pagetable walk ADDR';
    }
  } catch (e) {
    if (e instanceof LayoutError) return `${words.slice(0, 2).join(' ')}: ${e.message}`;
    throw e;
  }
  return `unknown command '${command}'; osv commands:\n${OSV_MONITOR_HELP.join('\n')}`;
}
