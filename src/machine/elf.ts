// A defensive reader for ELF64 little-endian x86-64 files (kernels and their symbol tables).
// Nothing in the file is trusted: every offset, size and count is checked against the buffer
// before use, and every failure is an ElfError with one readable line. Cold code: BigInt is used
// to read 64-bit fields, but everything exported is a plain number.

export class ElfError extends Error {
  override name = 'ElfError';
}

const EHDR_SIZE = 64;
const PHDR_SIZE = 56;
const SHDR_SIZE = 64;
const SYM_SIZE = 24;
export const EM_X86_64 = 62;

export const PT_NULL = 0;
export const PT_LOAD = 1;
export const PT_DYNAMIC = 2;
export const PT_INTERP = 3;
export const PT_NOTE = 4;
export const PT_PHDR = 6;
export const PT_TLS = 7;

export const SHT_NULL = 0;
export const SHT_SYMTAB = 2;
export const SHT_STRTAB = 3;
export const SHT_NOTE = 7;
export const SHT_NOBITS = 8;
export const SHT_DYNSYM = 11;

export const STT_NOTYPE = 0;
export const STT_OBJECT = 1;
export const STT_FUNC = 2;
export const STT_SECTION = 3;
export const STT_FILE = 4;
export const STT_TLS = 6;
export const STT_GNU_IFUNC = 10;

export const STB_LOCAL = 0;
export const STB_GLOBAL = 1;
export const STB_WEAK = 2;

export const SHN_UNDEF = 0;
export const SHN_LORESERVE = 0xff00;
export const SHN_ABS = 0xfff1;
export const SHN_XINDEX = 0xffff;
const PN_XNUM = 0xffff;

const PT_NAMES: Record<number, string> = {
  0: 'PT_NULL', 1: 'PT_LOAD', 2: 'PT_DYNAMIC', 3: 'PT_INTERP', 4: 'PT_NOTE', 5: 'PT_SHLIB',
  6: 'PT_PHDR', 7: 'PT_TLS', 0x6474e550: 'PT_GNU_EH_FRAME', 0x6474e551: 'PT_GNU_STACK',
  0x6474e552: 'PT_GNU_RELRO', 0x6474e553: 'PT_GNU_PROPERTY',
};

const MACHINE_NAMES: Record<number, string> = {
  2: 'SPARC', 3: 'i386', 8: 'MIPS', 20: 'PowerPC', 21: 'PowerPC64', 22: 'S/390', 40: 'ARM',
  43: 'SPARC V9', 50: 'IA-64', 183: 'AArch64', 243: 'RISC-V', 258: 'LoongArch',
};

export function programTypeName(type: number): string {
  return PT_NAMES[type] ?? `type 0x${type.toString(16)}`;
}

const hex = (n: number): string => '0x' + n.toString(16);

export interface ElfHeader {
  type: number;
  machine: number;
  osabi: number;
  entry: number;
  /** False when a 64-bit address did not fit a JS number exactly (then `entry` is rounded). */
  entryExact: boolean;
  phoff: number;
  shoff: number;
  flags: number;
  ehsize: number;
  phentsize: number;
  phnum: number;
  shentsize: number;
  shnum: number;
  shstrndx: number;
}

export interface ProgramHeader {
  index: number;
  type: number;
  flags: number;
  offset: number;
  vaddr: number;
  paddr: number;
  filesz: number;
  memsz: number;
  align: number;
  /** False when vaddr or paddr exceeded 2^53 (the numbers are then rounded: do not load). */
  exact: boolean;
}

export interface SectionHeader {
  index: number;
  name: string;
  type: number;
  flags: number;
  addr: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  addralign: number;
  entsize: number;
  exact: boolean;
}

export interface ElfNote {
  /** Owner, without the terminating NUL ("Xen", "GNU"). */
  name: string;
  type: number;
  desc: Uint8Array;
  /** File offset of the note header. */
  offset: number;
}

export interface ElfSymbol {
  name: string;
  value: number;
  size: number;
  type: number;
  bind: number;
  visibility: number;
  shndx: number;
  /** False when the value exceeded 2^53 (kept for name lookup, ignored by symbolAt). */
  exact: boolean;
}

export interface SymbolLocation {
  symbol: ElfSymbol;
  offset: number;
}

/** Reads little-endian fields from the file with bounds already checked by the caller. */
class Reader {
  readonly view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  u8(off: number): number {
    return this.view.getUint8(off);
  }
  u16(off: number): number {
    return this.view.getUint16(off, true);
  }
  u32(off: number): number {
    return this.view.getUint32(off, true);
  }
  /** A 64-bit quantity that must be exact (offsets, sizes): past 2^53 is an error. */
  size64(off: number, what: () => string): number {
    const v = this.view.getBigUint64(off, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ElfError(`bad ELF: ${what()} is absurdly large (0x${v.toString(16)})`);
    return Number(v);
  }
  /** A 64-bit address: returned rounded when too large, with the exactness flag. */
  addr64(off: number): [number, boolean] {
    const v = this.view.getBigUint64(off, true);
    return [Number(v), v <= BigInt(Number.MAX_SAFE_INTEGER)];
  }
}

/** An NUL-terminated string inside [start, end) of the file. */
function cString(bytes: Uint8Array, start: number, end: number): string | null {
  let i = start;
  while (i < end && bytes[i] !== 0) i++;
  if (i >= end) return null;
  return latin1(bytes, start, i);
}

function latin1(bytes: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

function isPow2OrZero(n: number): boolean {
  if (n === 0) return true;
  while (n > 1) {
    if (n % 2 !== 0) return false;
    n /= 2;
  }
  return n === 1;
}

export class ElfFile {
  readonly header: ElfHeader;
  readonly programHeaders: readonly ProgramHeader[];
  readonly sections: readonly SectionHeader[];
  private readonly r: Reader;
  private readonly symtabCache = new Map<string, ElfSymbol[]>();
  private addrIndex: ElfSymbol[] | null = null;
  private loadSpan: [number, number] | null = null;
  private nameIndex: Map<string, ElfSymbol> | null = null;

  private constructor(readonly bytes: Uint8Array) {
    this.r = new Reader(bytes);
    this.header = this.parseHeader();
    // Program headers first (their errors matter most for a kernel), unless their count
    // is itself stored in section header 0.
    if (this.header.phnum === PN_XNUM) {
      this.sections = this.parseSections();
      this.programHeaders = this.parseProgramHeaders(this.sections);
    } else {
      this.programHeaders = this.parseProgramHeaders([]);
      this.sections = this.parseSections();
    }
  }

  /** Parses and validates the ELF header, program headers and section headers. */
  static parse(data: Uint8Array | ArrayBuffer): ElfFile {
    const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
    try {
      return new ElfFile(bytes);
    } catch (e) {
      throw asElfError(e);
    }
  }

  get size(): number {
    return this.bytes.length;
  }

  private parseHeader(): ElfHeader {
    const b = this.bytes;
    const magic = [0x7f, 0x45, 0x4c, 0x46];
    for (let i = 0; i < 4; i++) {
      if (i >= b.length || b[i] !== magic[i]) throw new ElfError('not an ELF file: bad magic');
    }
    if (b.length < 16) throw new ElfError(`truncated ELF: file is ${b.length} bytes, shorter than the ELF identification`);
    const cls = b[4]!;
    if (cls === 1) throw new ElfError('32-bit ELF: osvemu runs x86-64 kernels');
    if (cls !== 2) throw new ElfError(`bad ELF: unknown class ${cls} (expected 2, ELFCLASS64)`);
    const data = b[5]!;
    if (data === 2) throw new ElfError('big-endian ELF: osvemu runs little-endian x86-64 kernels');
    if (data !== 1) throw new ElfError(`bad ELF: unknown data encoding ${data} (expected 1, little-endian)`);
    if (b[6] !== 1) throw new ElfError(`bad ELF: unknown identification version ${b[6]} (expected 1)`);
    if (b.length < EHDR_SIZE) throw new ElfError(`truncated ELF: file is ${b.length} bytes, the ELF header needs ${EHDR_SIZE}`);
    const r = this.r;
    const machine = r.u16(18);
    if (machine !== EM_X86_64) {
      const name = MACHINE_NAMES[machine];
      throw new ElfError(`wrong machine: e_machine ${machine}${name ? ` (${name})` : ''}, osvemu runs x86-64 (62)`);
    }
    if (r.u32(20) !== 1) throw new ElfError(`bad ELF: unknown e_version ${r.u32(20)} (expected 1)`);
    const [entry, entryExact] = r.addr64(24);
    const h: ElfHeader = {
      type: r.u16(16),
      machine,
      osabi: b[7]!,
      entry,
      entryExact,
      phoff: r.size64(32, () => 'e_phoff'),
      shoff: r.size64(40, () => 'e_shoff'),
      flags: r.u32(48),
      ehsize: r.u16(52),
      phentsize: r.u16(54),
      phnum: r.u16(56),
      shentsize: r.u16(58),
      shnum: r.u16(60),
      shstrndx: r.u16(62),
    };
    if (h.ehsize < EHDR_SIZE) throw new ElfError(`bad ELF: e_ehsize ${h.ehsize} is smaller than ${EHDR_SIZE}`);
    return h;
  }

  /** Section header i's file offset, checking the table entry lies inside the file. */
  private shdrOffset(i: number): number {
    const off = this.header.shoff + i * SHDR_SIZE;
    if (off + SHDR_SIZE > this.bytes.length) {
      throw new ElfError(`truncated ELF: section header ${i} ends past the file (offset ${hex(off)}, file size ${this.bytes.length})`);
    }
    return off;
  }

  private parseSections(): SectionHeader[] {
    const h = this.header;
    const r = this.r;
    if (h.shoff === 0) return [];
    if (h.shentsize !== SHDR_SIZE) throw new ElfError(`bad ELF: e_shentsize ${h.shentsize} (expected ${SHDR_SIZE})`);
    if (h.shoff < EHDR_SIZE) throw new ElfError(`bad ELF: section headers at ${hex(h.shoff)} overlap the ELF header`);
    // Extended numbering: counts that do not fit 16 bits live in section header 0.
    let shnum = h.shnum;
    let shstrndx = h.shstrndx;
    if (shnum === 0 || shstrndx === SHN_XINDEX) {
      const s0 = this.shdrOffset(0);
      if (shnum === 0) shnum = r.size64(s0 + 32, () => 'section count (section 0 sh_size)');
      if (shstrndx === SHN_XINDEX) shstrndx = r.u32(s0 + 40);
    }
    if (shnum === 0) return [];
    const tableEnd = h.shoff + shnum * SHDR_SIZE;
    if (tableEnd > this.bytes.length) {
      // Name the first entry that does not fit, so the message points at the damage.
      const firstBad = Math.max(0, Math.floor((this.bytes.length - h.shoff) / SHDR_SIZE));
      this.shdrOffset(Math.min(firstBad, shnum - 1));
    }
    const raw: SectionHeader[] = [];
    const nameOffsets: number[] = [];
    for (let i = 0; i < shnum; i++) {
      const o = this.shdrOffset(i);
      const [addr, exact] = r.addr64(o + 16);
      const s: SectionHeader = {
        index: i,
        name: '',
        type: r.u32(o + 4),
        flags: Number(r.view.getBigUint64(o + 8, true) & 0xffffffffn),
        addr,
        offset: r.size64(o + 24, () => `section ${i} sh_offset`),
        size: r.size64(o + 32, () => `section ${i} sh_size`),
        link: r.u32(o + 40),
        info: r.u32(o + 44),
        addralign: r.size64(o + 48, () => `section ${i} sh_addralign`),
        entsize: r.size64(o + 56, () => `section ${i} sh_entsize`),
        exact,
      };
      nameOffsets.push(r.u32(o));
      if (s.type !== SHT_NOBITS && s.type !== SHT_NULL && s.offset + s.size > this.bytes.length) {
        throw new ElfError(
          `truncated ELF: section ${i} ends past the file (offset ${hex(s.offset)} + size ${hex(s.size)} > ${this.bytes.length} bytes)`,
        );
      }
      if (!isPow2OrZero(s.addralign)) throw new ElfError(`bad ELF: section ${i} sh_addralign ${hex(s.addralign)} is not a power of two`);
      raw.push(s);
    }
    if (shstrndx !== 0) {
      if (shstrndx >= shnum) throw new ElfError(`bad ELF: e_shstrndx ${shstrndx} is past the ${shnum} sections`);
      const strtab = raw[shstrndx]!;
      if (strtab.type !== SHT_STRTAB) throw new ElfError(`bad ELF: section-name table (section ${shstrndx}) is not a string table`);
      for (const s of raw) {
        const no = nameOffsets[s.index]!;
        if (no >= strtab.size) {
          throw new ElfError(`bad ELF: section ${s.index} name offset ${hex(no)} is past the section-name table (size ${hex(strtab.size)})`);
        }
        const name = cString(this.bytes, strtab.offset + no, strtab.offset + strtab.size);
        if (name === null) throw new ElfError(`bad ELF: section ${s.index} name is not NUL-terminated inside the section-name table`);
        s.name = name;
      }
    }
    return raw;
  }

  private parseProgramHeaders(sections: readonly SectionHeader[]): ProgramHeader[] {
    const h = this.header;
    const r = this.r;
    let phnum = h.phnum;
    if (phnum === PN_XNUM) {
      if (sections.length === 0) throw new ElfError('bad ELF: e_phnum is PN_XNUM but there is no section header 0');
      phnum = sections[0]!.info;
    }
    if (phnum === 0) return [];
    if (h.phentsize !== PHDR_SIZE) throw new ElfError(`bad ELF: e_phentsize ${h.phentsize} (expected ${PHDR_SIZE})`);
    if (h.phoff < EHDR_SIZE) throw new ElfError(`bad ELF: program headers at ${hex(h.phoff)} overlap the ELF header`);
    const out: ProgramHeader[] = [];
    for (let i = 0; i < phnum; i++) {
      const o = h.phoff + i * PHDR_SIZE;
      if (o + PHDR_SIZE > this.bytes.length) {
        throw new ElfError(`truncated ELF: program header ${i} ends past the file (offset ${hex(o)}, file size ${this.bytes.length})`);
      }
      const [vaddr, vExact] = r.addr64(o + 16);
      const [paddr, pExact] = r.addr64(o + 24);
      const p: ProgramHeader = {
        index: i,
        type: r.u32(o),
        flags: r.u32(o + 4),
        offset: r.size64(o + 8, () => `program header ${i} p_offset`),
        vaddr,
        paddr,
        filesz: r.size64(o + 32, () => `program header ${i} p_filesz`),
        memsz: r.size64(o + 40, () => `program header ${i} p_memsz`),
        align: r.size64(o + 48, () => `program header ${i} p_align`),
        exact: vExact && pExact,
      };
      const what = `segment ${i} (${programTypeName(p.type)})`;
      if (p.type !== PT_NULL && p.offset + p.filesz > this.bytes.length) {
        throw new ElfError(
          `truncated ELF: ${what} ends past the file (offset ${hex(p.offset)} + size ${hex(p.filesz)} > ${this.bytes.length} bytes)`,
        );
      }
      if (p.type === PT_LOAD && p.filesz > p.memsz) {
        throw new ElfError(`bad ELF: ${what} has p_filesz ${hex(p.filesz)} larger than p_memsz ${hex(p.memsz)}`);
      }
      if (!isPow2OrZero(p.align)) throw new ElfError(`bad ELF: ${what} p_align ${hex(p.align)} is not a power of two`);
      out.push(p);
    }
    return out;
  }

  /** Bytes of a segment or section as stored in the file (a view, not a copy). */
  segmentData(p: ProgramHeader): Uint8Array {
    return this.bytes.subarray(p.offset, p.offset + p.filesz);
  }

  sectionData(s: SectionHeader): Uint8Array {
    if (s.type === SHT_NOBITS) return new Uint8Array(0);
    return this.bytes.subarray(s.offset, s.offset + s.size);
  }

  section(name: string): SectionHeader | undefined {
    return this.sections.find((s) => s.name === name);
  }

  /** Notes from the PT_NOTE segments, or from SHT_NOTE sections when there are no such segments. */
  notes(): ElfNote[] {
    try {
      const out: ElfNote[] = [];
      const segs = this.programHeaders.filter((p) => p.type === PT_NOTE);
      if (segs.length > 0) {
        for (const p of segs) this.readNotes(p.offset, p.filesz, p.align, `segment ${p.index} (PT_NOTE)`, out);
      } else {
        for (const s of this.sections) {
          if (s.type === SHT_NOTE) this.readNotes(s.offset, s.size, s.addralign, `section ${s.index} (${s.name || 'SHT_NOTE'})`, out);
        }
      }
      return out;
    } catch (e) {
      throw asElfError(e);
    }
  }

  private readNotes(start: number, size: number, align: number, where: string, out: ElfNote[]): void {
    // gABI notes are 4-byte aligned; GNU property notes in 8-aligned containers use 8.
    const a = align === 8 ? 8 : 4;
    const up = (n: number): number => Math.ceil(n / a) * a;
    const end = start + size;
    let o = start;
    while (o < end) {
      if (o + 12 > end) throw new ElfError(`bad ELF note in ${where}: header at ${hex(o)} ends past the note area`);
      const namesz = this.r.u32(o);
      const descsz = this.r.u32(o + 4);
      const type = this.r.u32(o + 8);
      const nameStart = o + 12;
      // Padding is relative to the note's start (header + name, then desc, each to `a`).
      const descStart = o + up(12 + namesz);
      const next = o + up(descStart - o + descsz);
      if (descStart + descsz > end) {
        throw new ElfError(`bad ELF note in ${where}: note at ${hex(o)} (namesz ${namesz}, descsz ${descsz}) ends past the note area`);
      }
      let nameEnd = nameStart + namesz;
      if (namesz > 0 && this.bytes[nameEnd - 1] === 0) nameEnd--;
      out.push({ name: latin1(this.bytes, nameStart, nameEnd), type, desc: this.bytes.subarray(descStart, descStart + descsz), offset: o });
      o = next;
    }
  }

  /** Symbols of `.symtab` (or the given table section name, e.g. ".dynsym"); [] when absent. */
  symbols(table = '.symtab'): ElfSymbol[] {
    const cached = this.symtabCache.get(table);
    if (cached) return cached;
    const want = table === '.dynsym' ? SHT_DYNSYM : SHT_SYMTAB;
    const s = this.sections.find((x) => x.name === table && x.type === want);
    let syms: ElfSymbol[] = [];
    if (s) {
      try {
        syms = this.readSymbols(s);
      } catch (e) {
        throw asElfError(e);
      }
    }
    this.symtabCache.set(table, syms);
    return syms;
  }

  private readSymbols(s: SectionHeader): ElfSymbol[] {
    const where = `section ${s.index} (${s.name})`;
    if (s.entsize !== SYM_SIZE) throw new ElfError(`bad ELF: ${where} sh_entsize ${s.entsize} (expected ${SYM_SIZE})`);
    if (s.size % SYM_SIZE !== 0) throw new ElfError(`bad ELF: ${where} size ${hex(s.size)} is not a multiple of ${SYM_SIZE}`);
    if (s.link === 0 || s.link >= this.sections.length) throw new ElfError(`bad ELF: ${where} sh_link ${s.link} names no string table`);
    const str = this.sections[s.link]!;
    if (str.type !== SHT_STRTAB) throw new ElfError(`bad ELF: ${where} sh_link ${s.link} is not a string table`);
    const r = this.r;
    const n = s.size / SYM_SIZE;
    const out: ElfSymbol[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const o = s.offset + i * SYM_SIZE;
      const nameOff = r.u32(o);
      if (nameOff >= str.size && !(nameOff === 0 && str.size === 0)) {
        throw new ElfError(`bad ELF: symbol ${i} in ${s.name} has name offset ${hex(nameOff)} past its string table (size ${hex(str.size)})`);
      }
      const name = str.size === 0 ? '' : cString(this.bytes, str.offset + nameOff, str.offset + str.size);
      if (name === null) throw new ElfError(`bad ELF: symbol ${i} in ${s.name} has a name not NUL-terminated inside its string table`);
      const info = r.u8(o + 4);
      const [value, exact] = r.addr64(o + 8);
      out[i] = {
        name,
        value,
        size: r.size64(o + 16, () => `symbol ${i} in ${s.name} st_size`),
        type: info & 0xf,
        bind: info >> 4,
        visibility: r.u8(o + 5) & 3,
        shndx: r.u16(o + 6),
        exact,
      };
    }
    return out;
  }

  /** `.symtab` when present (unstripped), else `.dynsym`. */
  defaultSymbols(): ElfSymbol[] {
    const st = this.symbols('.symtab');
    return st.length > 0 ? st : this.symbols('.dynsym');
  }

  /** A defined symbol by exact name (global/weak preferred over local). */
  findSymbol(name: string): ElfSymbol | undefined {
    if (!this.nameIndex) {
      const m = new Map<string, ElfSymbol>();
      for (const s of this.defaultSymbols()) {
        if (s.shndx === SHN_UNDEF || s.name === '') continue;
        const prev = m.get(s.name);
        if (!prev || (prev.bind === STB_LOCAL && s.bind !== STB_LOCAL)) m.set(s.name, s);
      }
      this.nameIndex = m;
    }
    return this.nameIndex.get(name);
  }

  /** Whether addr lies between the lowest and highest PT_LOAD segment (any address when there are none). */
  inLoadedSpan(addr: number): boolean {
    if (this.loadSpan === null) {
      const loads = this.programHeaders.filter((p) => p.type === PT_LOAD);
      this.loadSpan = loads.length === 0 ? [-Infinity, Infinity]
        : [Math.min(...loads.map((p) => Number(p.vaddr))), Math.max(...loads.map((p) => Number(p.vaddr) + Number(p.memsz)))];
    }
    return addr >= this.loadSpan[0] && addr < this.loadSpan[1];
  }

  /**
   * The function symbol containing `addr` and the offset into it. A symbol with a size covers
   * [value, value+size); a size-0 symbol (assembly labels) covers up to the next symbol. With
   * `nearest`, sizes are ignored and the nearest preceding function wins.
   */
  symbolAt(addr: number, opts: { nearest?: boolean } = {}): SymbolLocation | null {
    const idx = this.functionIndex();
    let lo = 0;
    let hi = idx.length - 1;
    let best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (idx[mid]!.value <= addr) {
        best = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (best < 0) return null;
    const sym = idx[best]!;
    const offset = addr - sym.value;
    if (!opts.nearest && sym.size > 0 && offset >= sym.size) return null;
    return { symbol: sym, offset };
  }

  private functionIndex(): ElfSymbol[] {
    if (this.addrIndex) return this.addrIndex;
    const rank = (s: ElfSymbol): number => (s.bind === STB_GLOBAL ? 0 : s.bind === STB_WEAK ? 1 : 2);
    const fns = this.defaultSymbols().filter(
      (s) => (s.type === STT_FUNC || s.type === STT_GNU_IFUNC) && s.shndx !== SHN_UNDEF && s.exact && s.name !== '',
    );
    fns.sort((a, b) => a.value - b.value || rank(a) - rank(b) || b.size - a.size);
    // One symbol per address: the first after sorting (global, then the largest).
    const out: ElfSymbol[] = [];
    for (const s of fns) if (out.length === 0 || out[out.length - 1]!.value !== s.value) out.push(s);
    this.addrIndex = out;
    return out;
  }
}

/** Anything thrown while walking untrusted bytes becomes an ElfError (DataView RangeErrors included). */
function asElfError(e: unknown): ElfError {
  if (e instanceof ElfError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new ElfError(`bad ELF: ${msg}`);
}

export function parseElf(data: Uint8Array | ArrayBuffer): ElfFile {
  return ElfFile.parse(data);
}
