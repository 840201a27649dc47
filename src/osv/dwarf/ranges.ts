// Address ranges: DW_AT_low_pc/high_pc, DW_AT_ranges (.debug_ranges in DWARF 2-4, .debug_rnglists
// in DWARF 5) and the unit lookup table of .debug_aranges.

import { Cursor } from './bytes.js';
import * as C from './constants.js';
import { DwarfError } from './errors.js';
import type { DwarfSections } from './sections.js';
import type { Die, DieReader, Unit } from './units.js';

export type Range = [low: number, high: number];

/** The pc ranges of a DIE (empty when it has none). */
export function dieRanges(die: Die, r: DieReader, secs: DwarfSections): Range[] {
  const low = die.attrs.get(C.DW_AT_low_pc);
  const high = die.attrs.get(C.DW_AT_high_pc);
  if (typeof low === 'number' && typeof high === 'number') {
    const hf = die.forms.get(C.DW_AT_high_pc)!;
    const isAddr = hf === C.DW_FORM_addr || (hf >= C.DW_FORM_addrx1 && hf <= C.DW_FORM_addrx4) || hf === C.DW_FORM_addrx || hf === C.DW_FORM_GNU_addr_index;
    const end = isAddr ? high : low + high;
    return end > low ? [[low, end]] : [];
  }
  const ranges = die.attrs.get(C.DW_AT_ranges);
  if (typeof ranges !== 'number') return [];
  const u = die.unit;
  if (u.version >= 5) {
    const form = die.forms.get(C.DW_AT_ranges)!;
    const off = form === C.DW_FORM_rnglistx ? rnglistxOffset(u, ranges, secs) : ranges;
    return readRnglist(u, off, r, secs);
  }
  return readRanges(u, ranges, secs);
}

function rnglistxOffset(u: Unit, index: number, secs: DwarfSections): number {
  const sec = secs.get('.debug_rnglists');
  if (!sec) throw new DwarfError('bad DWARF: DW_FORM_rnglistx without .debug_rnglists');
  const c = new Cursor(sec, u.rnglistsBase + index * u.offsetSize, sec.length, '.debug_rnglists');
  return u.rnglistsBase + c.unsigned(u.offsetSize);
}

function readRnglist(u: Unit, off: number, r: DieReader, secs: DwarfSections): Range[] {
  const sec = secs.get('.debug_rnglists');
  if (!sec) throw new DwarfError('bad DWARF: DW_AT_ranges without .debug_rnglists');
  const c = new Cursor(sec, off, sec.length, '.debug_rnglists');
  const out: Range[] = [];
  let base = u.lowPc;
  for (let n = 0; n < 1_000_000; n++) {
    const kind = c.u8();
    switch (kind) {
      case C.DW_RLE_end_of_list: return out;
      case C.DW_RLE_base_addressx: base = r.addrx(u, c.uleb()); break;
      case C.DW_RLE_startx_endx: push(out, r.addrx(u, c.uleb()), r.addrx(u, c.uleb())); break;
      case C.DW_RLE_startx_length: { const s = r.addrx(u, c.uleb()); push(out, s, s + c.uleb()); break; }
      case C.DW_RLE_offset_pair: { const s = c.uleb(); push(out, base + s, base + c.uleb()); break; }
      case C.DW_RLE_base_address: base = c.unsigned(u.addrSize); break;
      case C.DW_RLE_start_end: push(out, c.unsigned(u.addrSize), c.unsigned(u.addrSize)); break;
      case C.DW_RLE_start_length: { const s = c.unsigned(u.addrSize); push(out, s, s + c.uleb()); break; }
      default: throw new DwarfError(`bad DWARF: range list entry kind ${kind} at 0x${(c.pos - 1).toString(16)} of .debug_rnglists`);
    }
  }
  throw new DwarfError('bad DWARF: unterminated range list');
}

function readRanges(u: Unit, off: number, secs: DwarfSections): Range[] {
  const sec = secs.get('.debug_ranges');
  if (!sec) throw new DwarfError('bad DWARF: DW_AT_ranges without .debug_ranges');
  const c = new Cursor(sec, off, sec.length, '.debug_ranges');
  const out: Range[] = [];
  let base = u.lowPc;
  const all = u.addrSize === 8 ? 2 ** 64 : 0xffffffff;
  for (let n = 0; n < 1_000_000; n++) {
    const s = c.unsigned(u.addrSize);
    const e = c.unsigned(u.addrSize);
    if (s === 0 && e === 0) return out;
    if (s === all) base = e;
    else push(out, base + s, base + e);
  }
  throw new DwarfError('bad DWARF: unterminated range list');
}

function push(out: Range[], low: number, high: number): void {
  // Discarded functions keep tombstone ranges starting at 0 (or -1/-2): ignore empty or absurd ones.
  if (high > low && low > 0) out.push([low, high]);
}

export interface ArangeEntry {
  low: number;
  high: number;
  unit: number;
}

/** .debug_aranges as (low, high, unit offset) entries; [] when absent. */
export function readAranges(secs: DwarfSections): ArangeEntry[] {
  const sec = secs.get('.debug_aranges');
  const out: ArangeEntry[] = [];
  if (!sec) return out;
  const c = new Cursor(sec, 0, sec.length, '.debug_aranges');
  while (c.pos < sec.length) {
    const start = c.pos;
    const { length: len, offsetSize: offSize } = c.initialLength();
    const end = c.pos + len;
    if (end > sec.length) throw new DwarfError(`truncated DWARF: the .debug_aranges set at 0x${start.toString(16)} ends past the section`);
    c.end = end;
    c.u16();
    const unit = c.unsigned(offSize);
    const addrSize = c.u8();
    const segSize = c.u8();
    if (addrSize !== 4 && addrSize !== 8) throw new DwarfError(`bad DWARF: address size ${addrSize} in .debug_aranges`);
    const tuple = 2 * addrSize + segSize;
    const hdr = c.pos - start;
    c.pos = start + Math.ceil(hdr / tuple) * tuple;
    while (c.pos + tuple <= end) {
      c.skip(segSize);
      const a = c.unsigned(addrSize);
      const l = c.unsigned(addrSize);
      if (a === 0 && l === 0) break;
      if (l > 0 && a > 0) out.push({ low: a, high: a + l, unit });
    }
    c.end = sec.length;
    c.pos = end;
  }
  return out;
}
