// Names for profile frames in OSv's application objects (tst-*.so, their libraries): the kernel's symbol
// table knows nothing of them, and by the time the profile is written the object may be unloaded, so frames
// are named while the run goes on. Objects come from elf::program::s_objs (layouts from the kernel's DWARF);
// each object's symbols are its .dynsym, read from guest memory through the object's dynamic section, which
// an OSv object always has mapped. A frame outside every dynamic symbol is `object+0xOFFSET`.
import { readVirtual } from '../machine/debug-mem.js';
import type { Machine } from '../machine/machine.js';
import type { FrameNamer } from '../machine/profiler.js';
import type { DebugInfo } from './debug-info.js';
import { OsvKernel, type OsvObject } from './kernel.js';
import { unsigned } from './profile-threads.js';

const DT_NULL = 0, DT_HASH = 4, DT_STRTAB = 5, DT_SYMTAB = 6, DT_STRSZ = 10, DT_GNU_HASH = 0x6ffffef5;
const STT_FUNC = 2;
/** Enough for any test object's exports; a corrupt table must not make a sample read megabytes. */
const MAX_SYMS = 200_000;
const MAX_DYN = 512;

type Read = (addr: number, len: number) => Uint8Array | null;

interface FuncSym { start: number; end: number; name: string }

interface Named {
  base: number;
  end: number;
  label: string;
  syms: FuncSym[] | null;
  object: OsvObject;
}

function u64(b: Uint8Array, off: number): number {
  const dv = new DataView(b.buffer, b.byteOffset + off, 8);
  return dv.getUint32(4, true) * 4294967296 + dv.getUint32(0, true);
}

function u32(b: Uint8Array, off: number): number {
  return new DataView(b.buffer, b.byteOffset + off, 4).getUint32(0, true);
}

/** Number of .dynsym entries: DT_HASH's nchain, or one past the highest index GNU hash chains reach. */
function symbolCount(read: Read, base: number, hash: number, gnuHash: number): number {
  if (hash !== 0) {
    const h = read(base + hash, 8);
    return h ? u32(h, 4) : 0;
  }
  if (gnuHash === 0) return 0;
  const head = read(base + gnuHash, 16);
  if (!head) return 0;
  const nbuckets = u32(head, 0), symoffset = u32(head, 4), bloomSize = u32(head, 8);
  if (nbuckets === 0 || nbuckets > MAX_SYMS || bloomSize > MAX_SYMS) return 0;
  const bucketsAt = base + gnuHash + 16 + bloomSize * 8;
  const buckets = read(bucketsAt, nbuckets * 4);
  if (!buckets) return 0;
  let last = 0;
  for (let i = 0; i < nbuckets; i++) last = Math.max(last, u32(buckets, i * 4));
  if (last < symoffset) return symoffset;
  const chainsAt = bucketsAt + nbuckets * 4;
  // Follow the last bucket's chain to its terminating entry (low bit set).
  for (let i = last; i < MAX_SYMS; i++) {
    const c = read(chainsAt + (i - symoffset) * 4, 4);
    if (!c || (u32(c, 0) & 1) !== 0) return i + 1;
  }
  return 0;
}

/** The object's defined functions from its .dynsym, sorted by address; [] when it has none readable. */
function dynamicFunctions(read: Read, o: OsvObject): FuncSym[] {
  if (o.dynamic === 0) return [];
  const tags = new Map<number, number>();
  for (let i = 0; i < MAX_DYN; i++) {
    const d = read(o.dynamic + i * 16, 16);
    if (!d) break;
    const tag = u64(d, 0);
    if (tag === DT_NULL) break;
    tags.set(tag, u64(d, 8));
  }
  const symtab = tags.get(DT_SYMTAB), strtab = tags.get(DT_STRTAB), strsz = tags.get(DT_STRSZ) ?? 0;
  if (symtab === undefined || strtab === undefined || strsz === 0) return [];
  const n = Math.min(MAX_SYMS, symbolCount(read, o.base, tags.get(DT_HASH) ?? 0, tags.get(DT_GNU_HASH) ?? 0));
  const table = n > 0 ? read(o.base + symtab, n * 24) : null;
  const strings = table ? read(o.base + strtab, Math.min(strsz, 16 << 20)) : null;
  if (!table || !strings) return [];
  const out: FuncSym[] = [];
  const text = new TextDecoder();
  for (let i = 1; i < n; i++) {
    const e = i * 24;
    const info = table[e + 4]!, shndx = table[e + 6]! | (table[e + 7]! << 8);
    if ((info & 15) !== STT_FUNC || shndx === 0) continue;
    const name = u32(table, e), value = u64(table, e + 8), size = u64(table, e + 16);
    let stop = name;
    while (stop < strings.length && strings[stop] !== 0) stop++;
    const start = o.base + value;
    out.push({ start, end: start + Math.max(size, 1), name: text.decode(strings.subarray(name, stop)) });
  }
  return out.sort((a, b) => a.start - b.start);
}

function label(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1) || path;
}

/**
 * The frame namer the guest profiler calls per sample (GuestProfiler.nameFrames), or null when the DWARF does
 * not describe elf::program::s_objs. The object list is re-read only when s_objs's end pointer moved and a
 * frame is in no object known, so a sample of kernel code costs no guest read once its addresses are known.
 */
export function osvProfileObjects(machine: Machine, di: DebugInfo): FrameNamer | null {
  if (di.variable('elf::program::s_objs') === undefined || di.member('elf::object', '_pathname') === undefined) return null;
  const read: Read = (addr, len) => readVirtual(machine.cpus[0]!, addr, len);
  const kernel = new OsvKernel(di, read);
  let version = NaN;
  let objects: Named[] = [];
  /** Addresses in no object of the current list: kernel code, mostly. */
  const outside = new Set<number>();

  function reload(): void {
    kernel.invalidate();
    let now: number;
    try {
      const end = read(kernel.objectListEndAddress(), 8);
      now = end ? u64(end, 0) : NaN;
    } catch {
      return;
    }
    if (now === version) return;
    version = now;
    outside.clear();
    let list: OsvObject[];
    try {
      list = kernel.objects();
    } catch {
      list = [];
    }
    // osvlike lists its kernel as the first object; the kernel's own symbols name that range.
    const core = kernel.coreObject();
    objects = list.filter((o) => o.addr !== core && o.end > o.base).map((o) => ({ base: o.base, end: o.end, label: label(o.path), syms: null, object: o }));
  }

  function name(addr: number): string | null {
    const a = unsigned(addr);
    const o = objects.find((x) => a >= x.base && a < x.end);
    if (o === undefined) return null;
    o.syms ??= dynamicFunctions(read, o.object);
    let lo = 0, hi = o.syms.length - 1, hit: FuncSym | null = null;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (o.syms[mid]!.start <= a) {
        hit = o.syms[mid]!;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (hit !== null && a < hit.end) return `${hit.name}+${a - hit.start}`;
    return `${o.label}+0x${(a - o.base).toString(16)}`;
  }

  return (frames, names) => {
    let reloaded = false;
    for (const f of frames) {
      if (names.has(f) || outside.has(f)) continue;
      let n = name(f);
      if (n === null && !reloaded) {
        reload();
        reloaded = true;
        n = name(f);
      }
      if (n === null) outside.add(f);
      else names.set(f, n);
    }
  };
}
