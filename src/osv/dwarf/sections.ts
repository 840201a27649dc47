// The ELF sections the DWARF reader uses, taken from src/machine/elf.ts. Compressed sections
// (SHF_COMPRESSED, zlib) are inflated; a file on disk is read sparsely: only its headers and the
// debug sections are read into an otherwise untouched (never resident) buffer of the file's size.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import { ElfError, ElfFile, SHT_NOBITS } from '../../machine/elf.js';
import { DwarfError } from './errors.js';

const SHF_COMPRESSED = 0x800;
const ET_REL = 1;
const SHT_RELA = 4;
const R_X86_64_64 = 1;
const R_X86_64_PC32 = 2;
const R_X86_64_32 = 10;
const R_X86_64_32S = 11;
const R_X86_64_DTPOFF64 = 17;
const R_X86_64_DTPOFF32 = 21;
const ELFCOMPRESS_ZLIB = 1;

export const DEBUG_SECTIONS = [
  '.debug_info', '.debug_abbrev', '.debug_str', '.debug_line_str', '.debug_str_offsets', '.debug_addr',
  '.debug_rnglists', '.debug_ranges', '.debug_types', '.debug_aranges', '.debug_frame', '.eh_frame',
  '.eh_frame_hdr',
] as const;
export type DebugSectionName = (typeof DEBUG_SECTIONS)[number];

export interface DwarfSections {
  get(name: DebugSectionName): Uint8Array | undefined;
  /** Load address of an allocated section (.eh_frame's pc-relative pointers need it). */
  addr(name: DebugSectionName): number;
  readonly elf: ElfFile;
}

export function sectionsOf(elf: ElfFile): DwarfSections {
  const cache = new Map<string, Uint8Array | undefined>();
  return {
    elf,
    get(name) {
      if (cache.has(name)) return cache.get(name);
      // An object file has one section per COMDAT group for type units: read them as one.
      const all = elf.header.type === ET_REL ? elf.sections.filter((x) => x.name === name) : [elf.section(name)];
      const parts: Uint8Array[] = [];
      for (const s of all) {
        if (!s || s.type === SHT_NOBITS) continue;
        let data = elf.sectionData(s);
        if (s.flags & SHF_COMPRESSED) data = inflate(data, name);
        if (elf.header.type === ET_REL) data = relocate(elf, s.index, data, name);
        parts.push(data);
      }
      const data = parts.length <= 1 ? parts[0] : Buffer.concat(parts);
      cache.set(name, data);
      return data;
    },
    addr(name) {
      return elf.section(name)?.addr ?? 0;
    },
  };
}

/**
 * A relocatable object (gcc -c) leaves its debug sections' cross-references to RELA entries:
 * apply them to a copy (sections sit at address 0 in such a file, so S + A is the value).
 */
function relocate(elf: ElfFile, index: number, data: Uint8Array, name: string): Uint8Array {
  const relas = elf.sections.filter((r) => r.type === SHT_RELA && r.info === index);
  if (relas.length === 0) return data;
  const out = new Uint8Array(data);
  const dv = new DataView(out.buffer);
  for (const r of relas) {
    const symtab = elf.sections[r.link];
    const syms = symtab ? elf.symbols(symtab.name) : [];
    const rd = elf.sectionData(r);
    const rv = new DataView(rd.buffer, rd.byteOffset, rd.byteLength);
    for (let o = 0; o + 24 <= rd.length; o += 24) {
      const off = Number(rv.getBigUint64(o, true));
      const type = rv.getUint32(o + 8, true);
      const sym = rv.getUint32(o + 12, true);
      const addend = rv.getBigInt64(o + 16, true);
      const s = syms[sym];
      if (!s && sym !== 0) throw new DwarfError(`bad ELF: relocation of ${name} names symbol ${sym}, past the symbol table`);
      const v = BigInt(s?.value ?? 0) + addend;
      const width = type === R_X86_64_64 || type === R_X86_64_DTPOFF64 ? 8 : type === R_X86_64_32 || type === R_X86_64_32S || type === R_X86_64_DTPOFF32 ? 4 : type === R_X86_64_PC32 ? 4 : 0;
      if (width === 0) continue;
      if (off + width > out.length) throw new DwarfError(`bad ELF: relocation of ${name} at 0x${off.toString(16)} is past the section`);
      if (width === 8) dv.setBigUint64(off, BigInt.asUintN(64, v), true);
      else if (type === R_X86_64_PC32) dv.setUint32(off, Number(BigInt.asUintN(32, v - BigInt(off))), true);
      else dv.setUint32(off, Number(BigInt.asUintN(32, v)), true);
    }
  }
  return out;
}

function inflate(data: Uint8Array, name: string): Uint8Array {
  if (data.length < 24) throw new DwarfError(`bad DWARF: compressed section ${name} is shorter than its header`);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const type = dv.getUint32(0, true);
  if (type !== ELFCOMPRESS_ZLIB) throw new DwarfError(`unsupported DWARF: section ${name} is compressed with type ${type} (only zlib is read)`);
  const size = Number(dv.getBigUint64(8, true));
  let out: Buffer;
  try {
    out = inflateSync(data.subarray(24));
  } catch (e) {
    throw new DwarfError(`bad DWARF: compressed section ${name} does not inflate (${(e as Error).message})`);
  }
  if (out.length !== size) throw new DwarfError(`bad DWARF: compressed section ${name} inflates to ${out.length} bytes, its header says ${size}`);
  return out;
}

/**
 * Reads an ELF file for its debug information without reading the program's code and data: the
 * buffer has the file's size but only the ELF header, section headers, section-name table and
 * the debug sections are filled in (untouched pages of a fresh allocation cost no memory).
 */
export function readElfForDebug(path: string): ElfFile {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const buf = new Uint8Array(size);
    const fill = (off: number, len: number): void => {
      const end = Math.min(size, off + len);
      let p = off;
      while (p < end) {
        const n = readSync(fd, buf, p, end - p, p);
        if (n <= 0) break;
        p += n;
      }
    };
    fill(0, 64);
    const dv = new DataView(buf.buffer);
    // Invalid headers are ElfFile.parse's to report; only plausible values are followed here.
    if (buf[0] === 0x7f && buf[4] === 2 && buf[5] === 1 && size >= 64) {
      const shoff = Number(dv.getBigUint64(40, true));
      const shnum = dv.getUint16(60, true);
      const phoff = Number(dv.getBigUint64(32, true));
      const phnum = dv.getUint16(56, true);
      if (phoff < size) fill(phoff, phnum * 56);
      if (shoff < size && shnum > 0) {
        fill(shoff, shnum * 64);
        const wanted = new Set<string>(DEBUG_SECTIONS);
        const shstrndx = dv.getUint16(62, true);
        const hdr = (i: number): number => shoff + i * 64;
        if (shstrndx < shnum && hdr(shstrndx) + 64 <= size) {
          const strOff = Number(dv.getBigUint64(hdr(shstrndx) + 24, true));
          const strSize = Number(dv.getBigUint64(hdr(shstrndx) + 32, true));
          if (strOff < size) fill(strOff, strSize);
          for (let i = 0; i < shnum && hdr(i) + 64 <= size; i++) {
            const h = hdr(i);
            const nameOff = dv.getUint32(h, true);
            let name = '';
            for (let p = strOff + nameOff; p < size && p < strOff + strSize && buf[p] !== 0; p++) name += String.fromCharCode(buf[p]!);
            // Symbol tables too: the CLI's symbolizer wants them from the same buffer.
            const type = dv.getUint32(h + 4, true);
            if (wanted.has(name) || wanted.has(name.replace(/^\.rela/, '')) || type === 2 || type === 3 || type === 11) {
              const off = Number(dv.getBigUint64(h + 24, true));
              const len = Number(dv.getBigUint64(h + 32, true));
              if (type !== SHT_NOBITS && off < size) fill(off, len);
            }
          }
        }
      }
    }
    return ElfFile.parse(buf);
  } catch (e) {
    if (e instanceof ElfError) throw e;
    throw new DwarfError(`cannot read ${path}: ${(e as Error).message}`);
  } finally {
    closeSync(fd);
  }
}
