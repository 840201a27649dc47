// ELF core files of a machine that stock gdb opens next to the kernel ELF (`gdb loader.elf core`):
// one NT_PRSTATUS (with the x86-64 user_regs_struct) and NT_FPREGSET (fxsave image) per thread, and
// PT_LOAD segments of guest memory at the virtual addresses vCPU 0's page tables map it to. Threads
// are the vCPUs, or every OSv thread when an OsvThreadSource knows them (sleeping threads then get
// the registers of their saved context; the others read 0).
import { writeFileSync } from 'node:fs';
import type { Cpu } from '../cpu/cpu.js';
import { CS, DS, ES, FS, GS, SS } from '../cpu/regs.js';
import type { Machine } from '../machine/machine.js';
import { detectAbort } from './abort.js';
import { osvThreads, type OsvThreadRef } from './thread-source.js';

const PT_LOAD = 1, PT_NOTE = 4;
const NT_PRSTATUS = 1, NT_FPREGSET = 2, NT_PRPSINFO = 3;
const PRSTATUS_SIZE = 336;
const PRPSINFO_SIZE = 136;
const SIGABRT = 6;

/** user_regs_struct order. */
const USER_REGS = ['r15', 'r14', 'r13', 'r12', 'rbp', 'rbx', 'r11', 'r10', 'r9', 'r8', 'rax', 'rcx', 'rdx', 'rsi', 'rdi',
  'orig_rax', 'rip', 'cs', 'eflags', 'rsp', 'ss', 'fs_base', 'gs_base', 'ds', 'es', 'fs', 'gs'] as const;
const GPR_INDEX: Record<string, number> = { rax: 0, rcx: 1, rdx: 2, rbx: 3, rsp: 4, rbp: 5, rsi: 6, rdi: 7, r8: 8, r9: 9, r10: 10, r11: 11, r12: 12, r13: 13, r14: 14, r15: 15 };

interface CoreThread {
  lwp: number;
  signal: number;
  regs: Record<string, number>;
  cpu: Cpu | null;
}

function u64(dv: DataView, at: number, v: number): void {
  dv.setBigUint64(at, BigInt.asUintN(64, BigInt(Math.trunc(v))), true);
}

function cpuRegs(c: Cpu): Record<string, number> {
  const r: Record<string, number> = {};
  for (const [name, n] of Object.entries(GPR_INDEX)) r[name] = c.reg64(n);
  r.rip = c.segBase[CS]! + c.rip;
  r.eflags = c.getFlags();
  r.cs = c.segSel[CS]!; r.ss = c.segSel[SS]!; r.ds = c.segSel[DS]!; r.es = c.segSel[ES]!; r.fs = c.segSel[FS]!; r.gs = c.segSel[GS]!;
  r.fs_base = c.segDescBase[FS]!; r.gs_base = c.segDescBase[GS]!;
  r.orig_rax = -1;
  return r;
}

function note(type: number, desc: Uint8Array): Buffer {
  const name = Buffer.from('CORE\0\0\0\0');
  const head = Buffer.alloc(12);
  head.writeUInt32LE(5, 0);
  head.writeUInt32LE(desc.length, 4);
  head.writeUInt32LE(type, 8);
  const pad = Buffer.alloc((4 - (desc.length % 4)) % 4);
  return Buffer.concat([head, name, Buffer.from(desc), pad]);
}

function prstatus(t: CoreThread): Uint8Array {
  const b = new Uint8Array(PRSTATUS_SIZE);
  const dv = new DataView(b.buffer);
  dv.setInt32(0, t.signal, true);
  dv.setInt16(12, t.signal, true);
  dv.setInt32(32, t.lwp, true);
  dv.setInt32(36, 1, true);
  USER_REGS.forEach((name, i) => u64(dv, 112 + i * 8, t.regs[name] ?? 0));
  dv.setInt32(328, t.cpu ? 1 : 0, true);
  return b;
}

/** The fxsave image (legacy region) of a vCPU: x87 control/status/tags, st0-7, mxcsr, xmm0-15. */
function fpregset(c: Cpu): Uint8Array {
  const b = new Uint8Array(512);
  const dv = new DataView(b.buffer);
  const f = c.fpu;
  dv.setUint16(0, f.cw, true);
  dv.setUint16(2, (f.sw & ~0x3800) | ((f.top & 7) << 11), true);
  let tags = 0;
  for (let i = 0; i < 8; i++) if (!f.empty[i]) tags |= 1 << i;
  b[4] = tags;
  dv.setUint16(6, f.fop, true);
  dv.setUint32(8, f.fipLo, true); dv.setUint32(12, f.fipHi, true);
  dv.setUint32(16, f.fdpLo, true); dv.setUint32(20, f.fdpHi, true);
  dv.setUint32(24, c.mxcsr, true);
  dv.setUint32(28, 0xffff, true);
  for (let st = 0; st < 8; st++) {
    const phys = (f.top + st) & 7;
    dv.setUint32(32 + st * 16, f.lo[phys]!, true);
    dv.setUint32(36 + st * 16, f.hi[phys]!, true);
    dv.setUint16(40 + st * 16, f.se[phys]!, true);
  }
  b.set(c.xmmU8.subarray(0, 256), 160);
  return b;
}

function prpsinfo(): Uint8Array {
  const b = new Uint8Array(PRPSINFO_SIZE);
  const dv = new DataView(b.buffer);
  dv.setInt32(24, 1, true); // pr_pid
  b.set(Buffer.from('osv'), 40);
  b.set(Buffer.from('osvemu core'), 56);
  return b;
}

export interface MappedRange {
  virt: number;
  phys: number;
  size: number;
}

/** Virtual ranges of RAM mapped by the 4-level page tables at `cr3` (adjacent ones merged). */
export function mappedRam(m: Machine, cr3: number): MappedRange[] {
  const dv = m.mem.dv;
  const ram = m.mem.size;
  const out: MappedRange[] = [];
  const add = (virt: number, phys: number, size: number): void => {
    if (phys >= ram) return;
    size = Math.min(size, ram - phys);
    const last = out[out.length - 1];
    if (last && last.virt + last.size === virt && last.phys + last.size === phys) last.size += size;
    else out.push({ virt, phys, size });
  };
  const entry = (table: number, i: number): number => {
    const at = table + i * 8;
    if (at + 8 > ram) return 0;
    return (dv.getUint32(at + 4, true) & 0x000fffff) * 4294967296 + dv.getUint32(at, true);
  };
  const addr = (e: number): number => Math.floor(e / 4096) * 4096;
  const canonical = (v: number): number => (v >= 2 ** 47 ? v - 2 ** 48 : v);
  const pml4 = addr(cr3);
  for (let a = 0; a < 512; a++) {
    const e4 = entry(pml4, a);
    if (!(e4 % 2)) continue;
    for (let b = 0; b < 512; b++) {
      const e3 = entry(addr(e4), b);
      if (!(e3 % 2)) continue;
      const v3 = a * 2 ** 39 + b * 2 ** 30;
      if (Math.floor(e3 / 128) % 2) { add(canonical(v3), Math.floor(e3 / 2 ** 30) * 2 ** 30 % 2 ** 52, 2 ** 30); continue; }
      for (let c = 0; c < 512; c++) {
        const e2 = entry(addr(e3), c);
        if (!(e2 % 2)) continue;
        const v2 = v3 + c * 2 ** 21;
        if (Math.floor(e2 / 128) % 2) { add(canonical(v2), Math.floor(e2 / 2 ** 21) * 2 ** 21 % 2 ** 52, 2 ** 21); continue; }
        for (let d = 0; d < 512; d++) {
          const e1 = entry(addr(e2), d);
          if (!(e1 % 2)) continue;
          add(canonical(v2 + d * 4096), addr(e1) % 2 ** 52, 4096);
        }
      }
    }
  }
  return out;
}

const CHUNK = 64 * 1024;
const ZERO_RUN = 2 * 1024 * 1024;

function isZero(u8: Uint8Array, at: number, len: number): boolean {
  const w = new Int32Array(u8.buffer, u8.byteOffset + at, len >> 2);
  for (let i = 0; i < w.length; i++) if (w[i] !== 0) return false;
  return true;
}

/** The mapped ranges cut into runs of data and runs (at most ZERO_RUN long) of zeros. */
function segments(u8: Uint8Array, ranges: MappedRange[]): (MappedRange & { zero: boolean })[] {
  const out: (MappedRange & { zero: boolean })[] = [];
  for (const r of ranges) {
    for (let off = 0; off < r.size;) {
      const len = Math.min(r.size - off, CHUNK - ((r.phys + off) % CHUNK));
      const zero = isZero(u8, r.phys + off, len);
      const last = out[out.length - 1];
      if (last && last.zero === zero && last.virt + last.size === r.virt + off && last.phys + last.size === r.phys + off &&
          (!zero || last.size + len <= ZERO_RUN)) last.size += len;
      else out.push({ virt: r.virt + off, phys: r.phys + off, size: len, zero });
      off += len;
    }
  }
  return out;
}

function threadsOf(m: Machine, abortCpu: number | null): CoreThread[] {
  const all: OsvThreadRef[] | null = osvThreads(m)?.allThreads() ?? null;
  if (all === null) {
    return m.cpus.map((c, k) => ({ lwp: k + 1, signal: k === abortCpu ? SIGABRT : 0, regs: cpuRegs(c), cpu: c }));
  }
  return all.map((t) => {
    const c = t.cpu !== null ? m.cpus[t.cpu]! : null;
    const regs = c ? cpuRegs(c) : { rip: t.context?.rip ?? 0, rsp: t.context?.rsp ?? 0, rbp: t.context?.rbp ?? 0 };
    return { lwp: t.id, signal: t.cpu !== null && t.cpu === abortCpu ? SIGABRT : 0, regs, cpu: c };
  });
}

/** The core file bytes; the aborting vCPU's thread (when given) comes first, so gdb selects it. */
export function buildCore(m: Machine, abortCpu: number | null): { bytes: Buffer; threads: number } {
  const threads = threadsOf(m, abortCpu);
  threads.sort((x, y) => (y.signal === SIGABRT ? 1 : 0) - (x.signal === SIGABRT ? 1 : 0));
  const notes: Buffer[] = [note(NT_PRPSINFO, prpsinfo())];
  for (const t of threads) {
    notes.push(note(NT_PRSTATUS, prstatus(t)));
    if (t.cpu) notes.push(note(NT_FPREGSET, fpregset(t.cpu)));
  }
  const noteBytes = Buffer.concat(notes);
  const cpu = m.cpus[abortCpu ?? 0]!;
  const ranges = (cpu.cr0 & 0x80000000) !== 0 ? mappedRam(m, cpu.cr3) : [{ virt: 0, phys: 0, size: m.mem.size }];
  const segs = segments(m.mem.u8, ranges);
  const phnum = 1 + segs.length;
  if (phnum >= 0xffff) throw new Error(`core file: ${phnum} segments is more than ELF allows`);
  const headerSize = 64 + phnum * 56;
  const noteOff = headerSize;
  const zeroOff = Math.ceil((noteOff + noteBytes.length) / 4096) * 4096;
  let dataOff = zeroOff + ZERO_RUN;
  const head = Buffer.alloc(headerSize);
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  head.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0], 0);
  dv.setUint16(16, 4, true); // ET_CORE
  dv.setUint16(18, 62, true); // EM_X86_64
  dv.setUint32(20, 1, true);
  u64(dv, 32, 64); // e_phoff
  dv.setUint16(52, 64, true);
  dv.setUint16(54, 56, true);
  dv.setUint16(56, phnum, true);
  const ph = (i: number, type: number, off: number, vaddr: number, size: number, align: number): void => {
    const at = 64 + i * 56;
    dv.setUint32(at, type, true);
    dv.setUint32(at + 4, type === PT_LOAD ? 7 : 4, true);
    u64(dv, at + 8, off); u64(dv, at + 16, vaddr); u64(dv, at + 24, 0);
    u64(dv, at + 32, size); u64(dv, at + 40, size); u64(dv, at + 48, align);
  };
  ph(0, PT_NOTE, noteOff, 0, noteBytes.length, 4);
  // All-zero runs share one block of zeros in the file: the core stays near the size of the RAM in use.
  const chunks: Uint8Array[] = [head, noteBytes, new Uint8Array(zeroOff - noteOff - noteBytes.length), new Uint8Array(ZERO_RUN)];
  segs.forEach((r, i) => {
    if (r.zero) ph(i + 1, PT_LOAD, zeroOff, r.virt, r.size, 4096);
    else {
      ph(i + 1, PT_LOAD, dataOff, r.virt, r.size, 4096);
      chunks.push(m.mem.u8.subarray(r.phys, r.phys + r.size));
      dataOff += r.size;
    }
  });
  return { bytes: Buffer.concat(chunks), threads: threads.length };
}

export function writeCoreFile(m: Machine, path: string, abortCpu?: number | null): { bytes: number; threads: number } {
  const cpu = abortCpu !== undefined ? abortCpu : detectAbort(m)?.cpu ?? null;
  const core = buildCore(m, cpu);
  writeFileSync(path, core.bytes);
  return { bytes: core.bytes.length, threads: core.threads };
}
