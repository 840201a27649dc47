// Units, abbreviation tables and DIEs of .debug_info (DWARF 2-5) and .debug_types (DWARF 4 type
// units). A DIE is named by its global offset: .debug_info offsets as they are, .debug_types
// offsets shifted past the end of .debug_info, so one number identifies a DIE everywhere.

import { Cursor, cstrAt } from './bytes.js';
import * as C from './constants.js';
import { DwarfError } from './errors.js';
import type { DwarfSections } from './sections.js';

export interface Abbrev {
  code: number;
  tag: number;
  hasChildren: boolean;
  attrs: number[];
  forms: number[];
  /** DW_FORM_implicit_const values, by attribute index (0 elsewhere). */
  implicit: number[];
  /** Byte size of all attribute values when it does not depend on the data, else -1. */
  fixedSize: number;
  /** Index of DW_AT_name / DW_AT_sibling / DW_AT_declaration / DW_AT_specification / DW_AT_location (-1: none). */
  nameIdx: number;
  siblingIdx: number;
  declIdx: number;
  specIdx: number;
  exportIdx: number;
}

export interface Unit {
  /** Global offset of the unit header. */
  offset: number;
  /** Global offset of the section holding it. */
  base: number;
  data: Uint8Array;
  section: '.debug_info' | '.debug_types';
  version: number;
  unitType: number;
  addrSize: number;
  offsetSize: number;
  abbrevs: AbbrevTable;
  /** Global offsets: first DIE, end of the unit. */
  dieStart: number;
  end: number;
  typeSignature: string | null;
  /** Global offset of a type unit's type DIE. */
  typeDie: number;
  strOffsetsBase: number;
  addrBase: number;
  rnglistsBase: number;
  /** The CU's base address (DW_AT_low_pc of the unit DIE). */
  lowPc: number;
  /** Set once the unit DIE's attributes have been read. */
  rootRead: boolean;
}

export type AttrValue = number | string | Uint8Array | boolean;

export interface Die {
  offset: number;
  unit: Unit;
  tag: number;
  hasChildren: boolean;
  /** Global offset just past this DIE's attributes (its first child, if any). */
  next: number;
  attrs: Map<number, AttrValue>;
  forms: Map<number, number>;
}

const abbrevCache = new WeakMap<Uint8Array, Map<string, AbbrevTable>>();

/**
 * One unit's abbreviation table. Loading only finds where each code's declaration starts (no
 * allocation per entry); an entry is decoded the first time a DIE uses it, since gcc gives every
 * unit its own table and most entries are never needed by the index.
 */
export class AbbrevTable {
  private readonly decoded: (Abbrev | undefined)[] = [];
  constructor(
    private readonly sec: Uint8Array,
    /** Section offset of each code's tag, by code (0: undefined). */
    private readonly starts: Int32Array,
    private readonly addrSize: number,
    private readonly offsetSize: number,
    private readonly version: number,
  ) {}

  get(code: number): Abbrev | undefined {
    const hit = this.decoded[code];
    if (hit) return hit;
    const start = code < this.starts.length ? this.starts[code]! : 0;
    if (start === 0) return undefined;
    const ab = decodeAbbrev(this.sec, start, code, this.addrSize, this.offsetSize, this.version);
    this.decoded[code] = ab;
    return ab;
  }
}

/** Parses the abbreviation table at `off` of .debug_abbrev, for units of the given shape. */
export function parseAbbrevs(abbrevSec: Uint8Array, off: number, addrSize: number, offsetSize: number, version: number): AbbrevTable {
  let perSec = abbrevCache.get(abbrevSec);
  if (!perSec) abbrevCache.set(abbrevSec, (perSec = new Map()));
  const key = `${off}:${addrSize}:${offsetSize}:${version}`;
  const hit = perSec.get(key);
  if (hit) return hit;
  if (off >= abbrevSec.length) throw new DwarfError(`bad DWARF: abbreviation table offset 0x${off.toString(16)} is past .debug_abbrev (${abbrevSec.length} bytes)`);
  const c = new Cursor(abbrevSec, off, abbrevSec.length, '.debug_abbrev');
  let starts = new Int32Array(64);
  for (;;) {
    const code = c.uleb();
    if (code === 0) break;
    if (code > 1e6) throw new DwarfError(`bad DWARF: abbreviation code ${code} is absurdly large`);
    if (code >= starts.length) {
      const bigger = new Int32Array(Math.max(code + 1, starts.length * 2));
      bigger.set(starts);
      starts = bigger;
    }
    if (starts[code] === 0) starts[code] = c.pos;
    c.uleb(); // tag
    c.u8(); // children
    for (;;) {
      const at = c.uleb();
      const form = c.uleb();
      if (at === 0 && form === 0) break;
      if (form === C.DW_FORM_implicit_const) c.sleb();
    }
  }
  const table = new AbbrevTable(abbrevSec, starts, addrSize, offsetSize, version);
  perSec.set(key, table);
  return table;
}

function decodeAbbrev(sec: Uint8Array, start: number, code: number, addrSize: number, offsetSize: number, version: number): Abbrev {
  const c = new Cursor(sec, start, sec.length, '.debug_abbrev');
  const tag = c.uleb();
  const hasChildren = c.u8() !== 0;
  const attrs: number[] = [];
  const forms: number[] = [];
  const implicit: number[] = [];
  let fixed = 0;
  const ab: Abbrev = { code, tag, hasChildren, attrs, forms, implicit, fixedSize: 0, nameIdx: -1, siblingIdx: -1, declIdx: -1, specIdx: -1, exportIdx: -1 };
  for (let i = 0; ; i++) {
    const at = c.uleb();
    const form = c.uleb();
    if (at === 0 && form === 0) break;
    attrs.push(at);
    forms.push(form);
    implicit.push(form === C.DW_FORM_implicit_const ? c.sleb() : 0);
    const sz = fixed < 0 ? -1 : fixedFormSize(form, addrSize, offsetSize, version);
    fixed = sz < 0 ? -1 : fixed + sz;
    switch (at) {
      case C.DW_AT_name: if (ab.nameIdx < 0) ab.nameIdx = i; break;
      case C.DW_AT_sibling: ab.siblingIdx = i; break;
      case C.DW_AT_declaration: ab.declIdx = i; break;
      case C.DW_AT_specification: ab.specIdx = i; break;
      case C.DW_AT_export_symbols: ab.exportIdx = i; break;
    }
  }
  ab.fixedSize = fixed;
  return ab;
}

/** Size of a form's value when it does not depend on the bytes; -1 when it does. */
export function fixedFormSize(form: number, addrSize: number, offsetSize: number, version: number): number {
  switch (form) {
    case C.DW_FORM_addr: return addrSize;
    case C.DW_FORM_data1: case C.DW_FORM_ref1: case C.DW_FORM_flag: case C.DW_FORM_strx1: case C.DW_FORM_addrx1: return 1;
    case C.DW_FORM_data2: case C.DW_FORM_ref2: case C.DW_FORM_strx2: case C.DW_FORM_addrx2: return 2;
    case C.DW_FORM_strx3: case C.DW_FORM_addrx3: return 3;
    case C.DW_FORM_data4: case C.DW_FORM_ref4: case C.DW_FORM_ref_sup4: case C.DW_FORM_strx4: case C.DW_FORM_addrx4: return 4;
    case C.DW_FORM_data8: case C.DW_FORM_ref8: case C.DW_FORM_ref_sig8: case C.DW_FORM_ref_sup8: return 8;
    case C.DW_FORM_data16: return 16;
    case C.DW_FORM_flag_present: case C.DW_FORM_implicit_const: return 0;
    case C.DW_FORM_strp: case C.DW_FORM_line_strp: case C.DW_FORM_sec_offset: case C.DW_FORM_strp_sup:
    case C.DW_FORM_GNU_ref_alt: case C.DW_FORM_GNU_strp_alt:
      return offsetSize;
    case C.DW_FORM_ref_addr: return version <= 2 ? addrSize : offsetSize;
    default: return -1;
  }
}

/** Advances past one attribute value. */
export function skipForm(c: Cursor, form: number, u: Unit): void {
  switch (form) {
    case C.DW_FORM_string: c.skipCstr(); return;
    case C.DW_FORM_block1: c.skip(c.u8()); return;
    case C.DW_FORM_block2: c.skip(c.u16()); return;
    case C.DW_FORM_block4: c.skip(c.u32()); return;
    case C.DW_FORM_block: case C.DW_FORM_exprloc: c.skip(c.uleb()); return;
    case C.DW_FORM_sdata: c.sleb(); return;
    case C.DW_FORM_udata: case C.DW_FORM_ref_udata: case C.DW_FORM_strx: case C.DW_FORM_addrx:
    case C.DW_FORM_loclistx: case C.DW_FORM_rnglistx: case C.DW_FORM_GNU_addr_index: case C.DW_FORM_GNU_str_index:
      c.uleb();
      return;
    case C.DW_FORM_indirect: skipForm(c, c.uleb(), u); return;
    default: {
      const s = fixedFormSize(form, u.addrSize, u.offsetSize, u.version);
      if (s < 0) throw new DwarfError(`unsupported DWARF: form 0x${form.toString(16)} in the unit at 0x${u.offset.toString(16)}`);
      c.skip(s);
    }
  }
}

export interface UnitSet {
  units: Unit[];
  infoSize: number;
  /** Type signature (hex) -> global offset of the type DIE. */
  signatures: Map<string, number>;
}

/** Reads every unit header of .debug_info and .debug_types (DIEs are read later). */
export function readUnits(secs: DwarfSections): UnitSet {
  const info = secs.get('.debug_info');
  const abbrev = secs.get('.debug_abbrev');
  const units: Unit[] = [];
  const signatures = new Map<string, number>();
  const infoSize = info?.length ?? 0;
  if (!info || info.length === 0) return { units, infoSize, signatures };
  if (!abbrev) throw new DwarfError('bad DWARF: .debug_info without .debug_abbrev');
  readSection(info, 0, '.debug_info', abbrev, units, signatures);
  const types = secs.get('.debug_types');
  if (types) readSection(types, infoSize, '.debug_types', abbrev, units, signatures);
  return { units, infoSize, signatures };
}

function readSection(data: Uint8Array, base: number, section: '.debug_info' | '.debug_types', abbrevSec: Uint8Array, units: Unit[], sigs: Map<string, number>): void {
  const c = new Cursor(data, 0, data.length, section);
  while (c.pos < data.length) {
    const start = c.pos;
    const { length: len, offsetSize } = c.initialLength();
    if (offsetSize === 4 && len >= 0xfffffff0) throw new DwarfError(`bad DWARF: reserved unit length 0x${len.toString(16)} at 0x${start.toString(16)} of ${section}`);
    const end = c.pos + len;
    if (end > data.length) throw new DwarfError(`truncated DWARF: the unit at 0x${start.toString(16)} of ${section} ends past the section (${end} > ${data.length})`);
    c.end = end;
    const version = c.u16();
    if (version < 2 || version > 5) throw new DwarfError(`unsupported DWARF: version ${version} in the unit at 0x${start.toString(16)} of ${section}`);
    let unitType = section === '.debug_types' ? C.DW_UT_type : C.DW_UT_compile;
    let addrSize: number;
    let abbrevOff: number;
    if (version >= 5) {
      unitType = c.u8();
      addrSize = c.u8();
      abbrevOff = c.unsigned(offsetSize);
    } else {
      abbrevOff = c.unsigned(offsetSize);
      addrSize = c.u8();
    }
    if (addrSize !== 4 && addrSize !== 8) throw new DwarfError(`bad DWARF: address size ${addrSize} in the unit at 0x${start.toString(16)} of ${section}`);
    let sig: string | null = null;
    let typeOff = 0;
    if (unitType === C.DW_UT_type || unitType === C.DW_UT_split_type) {
      const b = c.bytes(8);
      sig = Buffer.from(b).toString('hex');
      typeOff = c.unsigned(offsetSize);
    } else if (unitType === C.DW_UT_skeleton || unitType === C.DW_UT_split_compile) {
      c.skip(8);
    }
    const u: Unit = {
      offset: base + start,
      base,
      data,
      section,
      version,
      unitType,
      addrSize,
      offsetSize,
      abbrevs: parseAbbrevs(abbrevSec, abbrevOff, addrSize, offsetSize, version),
      dieStart: base + c.pos,
      end: base + end,
      typeSignature: sig,
      typeDie: base + start + typeOff,
      strOffsetsBase: 0,
      addrBase: 0,
      rnglistsBase: 0,
      lowPc: 0,
      rootRead: false,
    };
    if (sig !== null) {
      if (typeOff < c.pos - start || start + typeOff >= end) throw new DwarfError(`bad DWARF: type unit at 0x${start.toString(16)} has its type offset 0x${typeOff.toString(16)} outside the unit`);
      if (!sigs.has(sig)) sigs.set(sig, u.typeDie);
    }
    units.push(u);
    c.end = data.length;
    c.pos = end;
  }
}

/**
 * Reads one DIE's attributes. References become global offsets, strings are decoded, indexed
 * strings and addresses are resolved through the unit's bases.
 */
export class DieReader {
  constructor(
    private readonly secs: DwarfSections,
    readonly unitSet: UnitSet,
  ) {
    this.str = secs.get('.debug_str');
    this.lineStr = secs.get('.debug_line_str');
    this.strOffsets = secs.get('.debug_str_offsets');
    this.addr = secs.get('.debug_addr');
  }
  private readonly str: Uint8Array | undefined;
  private readonly lineStr: Uint8Array | undefined;
  private readonly strOffsets: Uint8Array | undefined;
  private readonly addr: Uint8Array | undefined;
  private readonly strCache = new Map<number, string>();

  /** The unit containing a global offset. */
  unitAt(off: number): Unit {
    if (!Number.isSafeInteger(off)) throw new DwarfError(`bad DWARF: DIE reference ${off} is not an offset`);
    const units = this.unitSet.units;
    let lo = 0;
    let hi = units.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const u = units[mid]!;
      if (off < u.offset) hi = mid - 1;
      else if (off >= u.end) lo = mid + 1;
      else {
        this.readRoot(u);
        return u;
      }
    }
    throw new DwarfError(`bad DWARF: DIE reference 0x${off.toString(16)} is outside every unit`);
  }

  /** Reads the unit DIE once for the bases its other DIEs need. */
  readRoot(u: Unit): void {
    if (u.rootRead) return;
    u.rootRead = true;
    if (u.dieStart >= u.end) return;
    // The bases first, raw: the root's own strx/addrx values depend on them.
    const c = new Cursor(u.data, u.dieStart - u.base, u.end - u.base, u.section);
    const code = c.uleb();
    if (code === 0) return;
    const ab = u.abbrevs.get(code);
    if (!ab) throw new DwarfError(`bad DWARF: abbreviation code ${code} of the unit DIE at 0x${u.dieStart.toString(16)} is undefined`);
    for (let i = 0; i < ab.attrs.length; i++) {
      const at = ab.attrs[i]!;
      const form = ab.forms[i]!;
      if (at === C.DW_AT_str_offsets_base) u.strOffsetsBase = c.unsigned(u.offsetSize);
      else if (at === C.DW_AT_addr_base || at === C.DW_AT_GNU_addr_base) u.addrBase = c.unsigned(u.offsetSize);
      else if (at === C.DW_AT_rnglists_base) u.rnglistsBase = c.unsigned(u.offsetSize);
      else skipForm(c, form, u);
    }
    if (u.strOffsetsBase === 0 && u.version >= 5 && this.strOffsets) u.strOffsetsBase = 8;
    const root = this.readDie(u.dieStart, u);
    const low = root.attrs.get(C.DW_AT_low_pc);
    if (typeof low === 'number') u.lowPc = low;
  }

  readDie(off: number, unit?: Unit): Die {
    const u = unit ?? this.unitAt(off);
    const c = new Cursor(u.data, off - u.base, u.end - u.base, u.section);
    const code = c.uleb();
    if (code === 0) throw new DwarfError(`bad DWARF: reference 0x${off.toString(16)} points at a null entry`);
    const ab = u.abbrevs.get(code);
    if (!ab) throw new DwarfError(`bad DWARF: abbreviation code ${code} of the DIE at 0x${off.toString(16)} is undefined`);
    const attrs = new Map<number, AttrValue>();
    const forms = new Map<number, number>();
    for (let i = 0; i < ab.attrs.length; i++) {
      let form = ab.forms[i]!;
      if (form === C.DW_FORM_indirect) form = c.uleb();
      const at = ab.attrs[i]!;
      attrs.set(at, this.readValue(c, form, u, ab.implicit[i]!));
      forms.set(at, form);
    }
    return { offset: off, unit: u, tag: ab.tag, hasChildren: ab.hasChildren, next: u.base + c.pos, attrs, forms };
  }

  readValue(c: Cursor, form: number, u: Unit, implicitConst: number): AttrValue {
    switch (form) {
      case C.DW_FORM_addr: return c.unsigned(u.addrSize);
      case C.DW_FORM_data1: return c.u8();
      case C.DW_FORM_data2: return c.u16();
      case C.DW_FORM_data4: return c.u32();
      case C.DW_FORM_data8: return c.u64();
      case C.DW_FORM_data16: return c.bytes(16);
      case C.DW_FORM_sdata: return c.sleb();
      case C.DW_FORM_udata: return c.uleb();
      case C.DW_FORM_flag: return c.u8() !== 0;
      case C.DW_FORM_flag_present: return true;
      case C.DW_FORM_implicit_const: return implicitConst;
      case C.DW_FORM_string: return c.cstr();
      case C.DW_FORM_strp: return this.strp(this.str, '.debug_str', c.unsigned(u.offsetSize));
      case C.DW_FORM_line_strp: return this.strp(this.lineStr, '.debug_line_str', c.unsigned(u.offsetSize));
      case C.DW_FORM_strp_sup: case C.DW_FORM_GNU_strp_alt: c.skip(u.offsetSize); return '';
      case C.DW_FORM_strx: case C.DW_FORM_GNU_str_index: return this.strx(u, c.uleb());
      case C.DW_FORM_strx1: return this.strx(u, c.u8());
      case C.DW_FORM_strx2: return this.strx(u, c.u16());
      case C.DW_FORM_strx3: return this.strx(u, c.u24());
      case C.DW_FORM_strx4: return this.strx(u, c.u32());
      case C.DW_FORM_addrx: case C.DW_FORM_GNU_addr_index: return this.addrx(u, c.uleb());
      case C.DW_FORM_addrx1: return this.addrx(u, c.u8());
      case C.DW_FORM_addrx2: return this.addrx(u, c.u16());
      case C.DW_FORM_addrx3: return this.addrx(u, c.u24());
      case C.DW_FORM_addrx4: return this.addrx(u, c.u32());
      case C.DW_FORM_ref1: return this.ref(u, c.u8());
      case C.DW_FORM_ref2: return this.ref(u, c.u16());
      case C.DW_FORM_ref4: return this.ref(u, c.u32());
      case C.DW_FORM_ref8: return this.ref(u, c.u64());
      case C.DW_FORM_ref_udata: return this.ref(u, c.uleb());
      case C.DW_FORM_ref_addr: {
        const off = c.unsigned(u.version <= 2 ? u.addrSize : u.offsetSize);
        if (off >= this.unitSet.infoSize) throw new DwarfError(`bad DWARF: DW_FORM_ref_addr 0x${off.toString(16)} is past .debug_info`);
        return off;
      }
      case C.DW_FORM_ref_sig8: {
        const sig = Buffer.from(c.bytes(8)).toString('hex');
        const target = this.unitSet.signatures.get(sig);
        if (target === undefined) throw new DwarfError(`bad DWARF: type signature ${sig} names no type unit`);
        return target;
      }
      case C.DW_FORM_ref_sup4: c.skip(4); return -1;
      case C.DW_FORM_ref_sup8: case C.DW_FORM_GNU_ref_alt: c.skip(form === C.DW_FORM_ref_sup8 ? 8 : u.offsetSize); return -1;
      case C.DW_FORM_sec_offset: return c.unsigned(u.offsetSize);
      case C.DW_FORM_loclistx: case C.DW_FORM_rnglistx: return c.uleb();
      case C.DW_FORM_block1: return c.bytes(c.u8());
      case C.DW_FORM_block2: return c.bytes(c.u16());
      case C.DW_FORM_block4: return c.bytes(c.u32());
      case C.DW_FORM_block: case C.DW_FORM_exprloc: return c.bytes(c.uleb());
      case C.DW_FORM_indirect: return this.readValue(c, c.uleb(), u, 0);
      default: throw new DwarfError(`unsupported DWARF: form 0x${form.toString(16)} in the unit at 0x${u.offset.toString(16)}`);
    }
  }

  private ref(u: Unit, rel: number): number {
    const off = u.offset + rel;
    if (off >= u.end) throw new DwarfError(`bad DWARF: reference 0x${rel.toString(16)} is past its unit at 0x${u.offset.toString(16)}`);
    return off;
  }

  strp(sec: Uint8Array | undefined, name: string, off: number): string {
    if (!sec) throw new DwarfError(`bad DWARF: a string refers to ${name}, which is missing`);
    if (sec === this.str) {
      const hit = this.strCache.get(off);
      if (hit !== undefined) return hit;
    }
    if (off >= sec.length) throw new DwarfError(`bad DWARF: string offset 0x${off.toString(16)} is past ${name} (${sec.length} bytes)`);
    const s = cstrAt(sec, off, sec.length, name);
    if (sec === this.str) this.strCache.set(off, s);
    return s;
  }

  strx(u: Unit, index: number): string {
    const sec = this.strOffsets;
    if (!sec) throw new DwarfError('bad DWARF: an indexed string without .debug_str_offsets');
    const at = u.strOffsetsBase + index * u.offsetSize;
    if (at + u.offsetSize > sec.length) throw new DwarfError(`bad DWARF: string index ${index} is past .debug_str_offsets`);
    const c = new Cursor(sec, at, sec.length, '.debug_str_offsets');
    return this.strp(this.str, '.debug_str', c.unsigned(u.offsetSize));
  }

  addrx(u: Unit, index: number): number {
    const sec = this.addr;
    if (!sec) throw new DwarfError('bad DWARF: an indexed address without .debug_addr');
    const at = (u.addrBase || 8) + index * u.addrSize;
    if (at + u.addrSize > sec.length) throw new DwarfError(`bad DWARF: address index ${index} is past .debug_addr`);
    return new Cursor(sec, at, sec.length, '.debug_addr').unsigned(u.addrSize);
  }

  /** Global offsets of a DIE's children (empty when it has none). */
  children(die: Die): number[] {
    const out: number[] = [];
    if (!die.hasChildren) return out;
    const u = die.unit;
    const c = new Cursor(u.data, die.next - u.base, u.end - u.base, u.section);
    let guard = 0;
    for (;;) {
      const off = u.base + c.pos;
      const code = c.uleb();
      if (code === 0) return out;
      out.push(off);
      c.pos = off - u.base;
      this.skipDie(c, u);
      if (++guard > 10_000_000) throw new DwarfError('bad DWARF: runaway DIE list');
    }
  }

  /** Advances `c` (at a DIE's abbreviation code) past the DIE and all its descendants. */
  skipDie(c: Cursor, u: Unit): void {
    let depth = 0;
    do {
      const code = c.uleb();
      if (code === 0) {
        depth--;
        continue;
      }
      const ab = u.abbrevs.get(code);
      if (!ab) throw new DwarfError(`bad DWARF: abbreviation code ${code} at 0x${(u.base + c.pos).toString(16)} is undefined`);
      if (ab.siblingIdx >= 0 && ab.hasChildren) {
        const sib = this.siblingOf(c, u, ab);
        if (sib > c.pos && sib <= c.end) {
          c.pos = sib;
          continue;
        }
      } else if (ab.fixedSize >= 0) c.skip(ab.fixedSize);
      else for (let i = 0; i < ab.forms.length; i++) skipForm(c, ab.forms[i]!, u);
      if (ab.hasChildren) depth++;
    } while (depth > 0);
  }

  /** Reads a DIE's attributes up to DW_AT_sibling; returns its section-relative target (or -1), cursor past all attributes. */
  private siblingOf(c: Cursor, u: Unit, ab: Abbrev): number {
    let sib = -1;
    for (let i = 0; i < ab.forms.length; i++) {
      const form = ab.forms[i]!;
      if (i === ab.siblingIdx) {
        switch (form) {
          case C.DW_FORM_ref1: sib = u.offset - u.base + c.u8(); break;
          case C.DW_FORM_ref2: sib = u.offset - u.base + c.u16(); break;
          case C.DW_FORM_ref4: sib = u.offset - u.base + c.u32(); break;
          case C.DW_FORM_ref8: sib = u.offset - u.base + c.u64(); break;
          case C.DW_FORM_ref_udata: sib = u.offset - u.base + c.uleb(); break;
          default: skipForm(c, form, u);
        }
      } else skipForm(c, form, u);
    }
    return sib;
  }
}
