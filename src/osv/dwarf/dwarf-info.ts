// DebugInfo (src/osv/debug-info.ts) from an ELF's DWARF 4/5: a name index built at load time
// (scan.ts), DIEs read on demand and memoised.

import { ElfFile } from '../../machine/elf.js';
import type { DebugInfo, MemberLayout, TypeLayout, VariableInfo, VariableLocation } from '../debug-info.js';
import { Cursor, lastAtOrBelow } from './bytes.js';
import * as C from './constants.js';
import { asDwarfError, DwarfError } from './errors.js';
import { dieRanges, readAranges, type Range } from './ranges.js';
import { Indexer, lookupName, type NameNode } from './scan.js';
import { readElfForDebug, sectionsOf, type DwarfSections } from './sections.js';
import { DieReader, readUnits, skipForm, type Die } from './units.js';

const MAX_DEPTH = 64;

interface FuncEntry {
  low: number;
  high: number;
  off: number;
}

export interface DwarfStats {
  units: number;
  dies: number;
  typeNames: number;
  varNames: number;
}

export class DwarfDebugInfo implements DebugInfo {
  private readonly r: DieReader;
  private readonly names: NameNode;
  private readonly index: Indexer;
  readonly stats: DwarfStats;
  private readonly dieCache = new Map<number, Die>();
  private readonly qnameCache = new Map<number, string>();
  private readonly typeNameCache = new Map<number, string>();
  private readonly layoutCache = new Map<number, TypeLayout>();
  /** The DIE of each member's type with typedefs and qualifiers stripped (anonymous types have no name to look up). */
  private readonly memberTypes = new WeakMap<MemberLayout, number>();
  private unitMap: { low: number; high: number; unit: number }[] | null = null;
  private readonly unitFuncs = new Map<number, FuncEntry[]>();

  constructor(private readonly secs: DwarfSections) {
    const units = readUnits(secs);
    this.r = new DieReader(secs, units);
    const ix = new Indexer(this.r);
    ix.qualifiedNameOf = (off) => this.guard(() => this.qualifiedName(off));
    ix.run();
    this.names = ix.root;
    this.index = ix;
    this.stats = { units: units.units.length, dies: ix.dies, typeNames: ix.typeNames, varNames: ix.varNames };
  }

  get elf(): ElfFile {
    return this.secs.elf;
  }

  /** Runs a lookup, turning any failure on malformed data into a DwarfError. */
  private guard<T>(f: () => T): T {
    try {
      return f();
    } catch (e) {
      throw asDwarfError(e);
    }
  }

  die(off: number): Die {
    let d = this.dieCache.get(off);
    if (!d) {
      d = this.r.readDie(off);
      this.dieCache.set(off, d);
    }
    return d;
  }

  private ref(d: Die, at: number): number | undefined {
    const v = d.attrs.get(at);
    return typeof v === 'number' && v >= 0 ? v : undefined;
  }

  private nameOf(d: Die): string | undefined {
    const v = d.attrs.get(C.DW_AT_name);
    return typeof v === 'string' ? v : undefined;
  }

  // ---- names ----

  /** The chain of DIEs from the unit DIE down to (excluding) `off`. */
  private ancestors(off: number): Die[] {
    const u = this.r.unitAt(off);
    const out: Die[] = [];
    let cur = this.die(u.dieStart);
    if (cur.offset === off) return out;
    for (let depth = 0; depth < 4096; depth++) {
      out.push(cur);
      if (!cur.hasChildren) break;
      const c = new Cursor(u.data, cur.next - u.base, u.end - u.base, u.section);
      let next: Die | null = null;
      for (;;) {
        const childOff = u.base + c.pos;
        if (childOff > off) break;
        const code = c.uleb();
        if (code === 0) break;
        if (childOff === off) return out;
        c.pos = childOff - u.base;
        this.r.skipDie(c, u);
        if (u.base + c.pos > off) {
          next = this.die(childOff);
          break;
        }
      }
      if (!next) break;
      cur = next;
    }
    throw new DwarfError(`bad DWARF: no DIE starts at 0x${off.toString(16)}`);
  }

  /** Qualified C++ name of a DIE: 'sched::thread', 'std::vector<int, std::allocator<int> >'. */
  private qnDepth = 0;

  qualifiedName(off: number): string {
    const hit = this.qnameCache.get(off);
    if (hit !== undefined) return hit;
    if (this.qnDepth > MAX_DEPTH) throw new DwarfError(`bad DWARF: the scopes of the DIE at 0x${off.toString(16)} nest too deep (a reference loop?)`);
    this.qnDepth++;
    try {
      return this.qualifiedNameUncached(off);
    } finally {
      this.qnDepth--;
    }
  }

  private qualifiedNameUncached(off: number): string {
    const d = this.die(off);
    let q: string;
    // A definition outside its scope (out-of-line members, type units) names its declaration.
    const spec = this.ref(d, C.DW_AT_specification) ?? this.ref(d, C.DW_AT_abstract_origin) ?? this.ref(d, C.DW_AT_signature);
    if (spec !== undefined && spec !== off) {
      q = this.qualifiedName(spec);
    } else {
      const own = this.ownName(d);
      const parts: string[] = [];
      for (const a of this.ancestors(off)) {
        if (a.tag === C.DW_TAG_compile_unit || a.tag === C.DW_TAG_type_unit || a.tag === C.DW_TAG_partial_unit) continue;
        if (a.tag === C.DW_TAG_lexical_block) continue;
        if (a.tag === C.DW_TAG_subprogram) {
          parts.length = 0;
          parts.push(this.qualifiedName(a.offset) + '()');
          continue;
        }
        parts.push(this.ownName(a));
      }
      parts.push(own);
      q = parts.join('::');
    }
    this.qnameCache.set(off, q);
    return q;
  }

  private ownName(d: Die): string {
    const n = this.nameOf(d);
    if (n !== undefined) return n;
    switch (d.tag) {
      case C.DW_TAG_namespace: return '(anonymous namespace)';
      case C.DW_TAG_structure_type: return '{anonymous struct}';
      case C.DW_TAG_class_type: return '{anonymous class}';
      case C.DW_TAG_union_type: return '{anonymous union}';
      case C.DW_TAG_enumeration_type: return '{anonymous enum}';
      default: return '';
    }
  }

  /** C++ spelling of a type DIE ('char [16]', 'sched::thread *', 'void (*)(void *)'). */
  typeName(off: number | undefined): string {
    if (off === undefined) return 'void';
    const hit = this.typeNameCache.get(off);
    if (hit !== undefined) return hit;
    const s = this.compose(off, '', 0);
    this.typeNameCache.set(off, s);
    return s;
  }

  private compose(off: number | undefined, decl: string, depth: number): string {
    const join = (base: string): string => (decl ? `${base} ${decl}` : base);
    if (off === undefined) return join('void');
    if (depth > MAX_DEPTH) throw new DwarfError(`bad DWARF: type chain at 0x${off.toString(16)} is too deep (a reference loop?)`);
    const d = this.die(off);
    const target = this.ref(d, C.DW_AT_type);
    const wrapIfNeeded = (inner: string): string => {
      if (target === undefined) return inner;
      const t = this.die(target).tag;
      return t === C.DW_TAG_array_type || t === C.DW_TAG_subroutine_type ? `(${inner})` : inner;
    };
    switch (d.tag) {
      case C.DW_TAG_pointer_type: return this.compose(target, wrapIfNeeded('*' + decl), depth + 1);
      case C.DW_TAG_reference_type: return this.compose(target, wrapIfNeeded('&' + decl), depth + 1);
      case C.DW_TAG_rvalue_reference_type: return this.compose(target, wrapIfNeeded('&&' + decl), depth + 1);
      case C.DW_TAG_const_type:
      case C.DW_TAG_volatile_type:
      case C.DW_TAG_restrict_type:
      case C.DW_TAG_atomic_type: {
        const q = d.tag === C.DW_TAG_const_type ? 'const' : d.tag === C.DW_TAG_volatile_type ? 'volatile' : d.tag === C.DW_TAG_restrict_type ? 'restrict' : '_Atomic';
        if (target !== undefined) {
          const t = this.die(target).tag;
          if (t === C.DW_TAG_pointer_type || t === C.DW_TAG_reference_type || t === C.DW_TAG_rvalue_reference_type) {
            return this.compose(target, decl ? `${q} ${decl}` : q, depth + 1);
          }
        }
        return `${q} ${this.compose(target, decl, depth + 1)}`;
      }
      case C.DW_TAG_array_type: {
        let dims = '';
        for (const ch of this.r.children(d)) {
          const s = this.die(ch);
          if (s.tag !== C.DW_TAG_subrange_type) continue;
          const n = this.subrangeCount(s);
          dims += n === undefined ? '[]' : `[${n}]`;
        }
        return this.compose(target, decl + dims, depth + 1);
      }
      case C.DW_TAG_subroutine_type: {
        const params: string[] = [];
        for (const ch of this.r.children(d)) {
          const p = this.die(ch);
          if (p.tag === C.DW_TAG_formal_parameter) params.push(this.typeName(this.ref(p, C.DW_AT_type)));
          else if (p.tag === C.DW_TAG_unspecified_parameters) params.push('...');
        }
        return this.compose(target, `${decl}(${params.length ? params.join(', ') : 'void'})`, depth + 1);
      }
      case C.DW_TAG_ptr_to_member_type: return join(`${this.typeName(target)} (*)`);
      case C.DW_TAG_unspecified_type: return join(this.nameOf(d) ?? 'void');
      case C.DW_TAG_base_type: return join(this.nameOf(d) ?? '?');
      default: return join(this.qualifiedName(off));
    }
  }

  private subrangeCount(s: Die): number | undefined {
    const count = s.attrs.get(C.DW_AT_count);
    if (typeof count === 'number' && s.forms.get(C.DW_AT_count) !== C.DW_FORM_exprloc) return count;
    const ub = s.attrs.get(C.DW_AT_upper_bound);
    if (typeof ub === 'number') {
      // A 1-byte or 2-byte -1 upper bound means "unknown size" (flexible arrays).
      const f = s.forms.get(C.DW_AT_upper_bound);
      if ((f === C.DW_FORM_data1 && ub === 0xff) || (f === C.DW_FORM_data2 && ub === 0xffff) || (f === C.DW_FORM_data4 && ub === 0xffffffff) || ub < 0) return 0;
      return ub + 1;
    }
    return undefined;
  }

  /** Follows typedefs and cv-qualifiers, and declarations to their definition. */
  private strip(off: number | undefined): number | undefined {
    for (let i = 0; off !== undefined && i < MAX_DEPTH; i++) {
      const d = this.die(off);
      switch (d.tag) {
        case C.DW_TAG_typedef:
        case C.DW_TAG_const_type:
        case C.DW_TAG_volatile_type:
        case C.DW_TAG_restrict_type:
        case C.DW_TAG_atomic_type:
          off = this.ref(d, C.DW_AT_type);
          continue;
        default:
          return this.definition(off);
      }
    }
    if (off !== undefined) throw new DwarfError(`bad DWARF: typedef chain at 0x${off.toString(16)} is too deep`);
    return undefined;
  }

  /** The defining DIE for a struct/class/union/enum declaration (itself when it is a definition). */
  private definition(off: number, depth = 0): number {
    if (depth > MAX_DEPTH) throw new DwarfError(`bad DWARF: signature chain at 0x${off.toString(16)} is too deep`);
    const d = this.die(off);
    // Type units refer to each other through stubs that carry only DW_AT_signature.
    const sig = this.ref(d, C.DW_AT_signature);
    if (sig !== undefined && sig !== off) return this.definition(sig, depth + 1);
    if (d.attrs.get(C.DW_AT_declaration) !== true) return off;
    const def = this.lookup(this.qualifiedName(off), 'type');
    return def > 0 ? def : off;
  }

  /** Byte size of a type (0 when unknown). */
  sizeOfType(off: number | undefined, depth = 0): number {
    if (off === undefined || depth > MAX_DEPTH) return 0;
    const s = this.strip(off);
    if (s === undefined) return 0;
    const d = this.die(s);
    const bs = d.attrs.get(C.DW_AT_byte_size);
    if (typeof bs === 'number') return bs;
    switch (d.tag) {
      case C.DW_TAG_pointer_type:
      case C.DW_TAG_reference_type:
      case C.DW_TAG_rvalue_reference_type:
      case C.DW_TAG_ptr_to_member_type:
        return d.unit.addrSize;
      case C.DW_TAG_array_type: {
        let n = 1;
        for (const ch of this.r.children(d)) {
          const sr = this.die(ch);
          if (sr.tag === C.DW_TAG_subrange_type) n *= this.subrangeCount(sr) ?? 0;
        }
        return n * this.sizeOfType(this.ref(d, C.DW_AT_type), depth + 1);
      }
      case C.DW_TAG_enumeration_type:
        return this.sizeOfType(this.ref(d, C.DW_AT_type), depth + 1);
      default:
        return 0;
    }
  }

  // ---- DebugInfo ----

  /** An index entry; a miss links definitions made outside their scope and tries again once. */
  private lookup(qualifiedName: string, kind: 'type' | 'var'): number {
    const e = lookupName(this.names, qualifiedName, kind, this.index.expand);
    if (e > 0 || !this.index.resolveSpecs()) return e;
    return lookupName(this.names, qualifiedName, kind, this.index.expand);
  }

  private lookupType(qualifiedName: string): number | undefined {
    const e = this.lookup(qualifiedName, 'type');
    return e === 0 ? undefined : Math.abs(e);
  }

  type(qualifiedName: string): TypeLayout | undefined {
    return this.guard(() => {
      const off = this.lookupType(qualifiedName);
      if (off === undefined) return undefined;
      const s = this.strip(off);
      return s === undefined ? undefined : this.layout(s);
    });
  }

  private layout(off: number): TypeLayout | undefined {
    const hit = this.layoutCache.get(off);
    if (hit) return hit;
    const d = this.die(off);
    if (d.tag !== C.DW_TAG_structure_type && d.tag !== C.DW_TAG_class_type && d.tag !== C.DW_TAG_union_type) {
      if (d.tag === C.DW_TAG_enumeration_type || d.tag === C.DW_TAG_base_type || d.tag === C.DW_TAG_pointer_type) {
        return { name: this.typeName(off), size: this.sizeOfType(off), members: [] };
      }
      return undefined;
    }
    const members: MemberLayout[] = [];
    for (const ch of this.r.children(d)) {
      const m = this.die(ch);
      if (m.tag === C.DW_TAG_inheritance) {
        const t = this.ref(m, C.DW_AT_type);
        const bt = this.strip(t);
        members.push(this.memberLayout(bt !== undefined ? this.typeName(bt) : '?', this.memberOffset(m), t, m));
        continue;
      }
      if (m.tag !== C.DW_TAG_member) continue;
      // DWARF 4 static data members are DW_TAG_member declarations.
      if (m.attrs.get(C.DW_AT_declaration) === true || (m.attrs.get(C.DW_AT_external) === true && !m.attrs.has(C.DW_AT_data_member_location))) continue;
      members.push(this.memberLayout(this.nameOf(m) ?? '', this.memberOffset(m), this.ref(m, C.DW_AT_type), m));
    }
    const bs = d.attrs.get(C.DW_AT_byte_size);
    const layout: TypeLayout = { name: this.qualifiedName(off), size: typeof bs === 'number' ? bs : 0, members };
    const args: (string | number)[] = [];
    for (const ch of this.r.children(d)) {
      const p = this.die(ch);
      if (p.tag === C.DW_TAG_template_type_param) args.push(this.typeName(this.ref(p, C.DW_AT_type)));
      else if (p.tag === C.DW_TAG_template_value_param) {
        const v = p.attrs.get(C.DW_AT_const_value);
        args.push(typeof v === 'number' ? v : NaN);
      }
    }
    if (args.length > 0) layout.templateArgs = args;
    this.layoutCache.set(off, layout);
    return layout;
  }

  private memberLayout(name: string, offset: number, type: number | undefined, m: Die): MemberLayout {
    const size = this.sizeOfType(type);
    const stripped = this.strip(type);
    const out: MemberLayout = {
      name,
      offset,
      size,
      typeName: this.typeName(type),
      baseTypeName: stripped === undefined ? 'void' : this.typeName(stripped),
    };
    if (stripped !== undefined) {
      this.memberTypes.set(out, stripped);
      const sd = this.die(stripped);
      if (sd.tag === C.DW_TAG_pointer_type || sd.tag === C.DW_TAG_reference_type || sd.tag === C.DW_TAG_rvalue_reference_type) {
        const target = this.strip(this.ref(sd, C.DW_AT_type));
        out.pointee = target === undefined ? 'void' : this.typeName(target);
      } else if (sd.tag === C.DW_TAG_array_type) {
        const dims = this.r.children(sd).map((ch) => this.die(ch)).filter((d) => d.tag === C.DW_TAG_subrange_type);
        const elemType = this.ref(sd, C.DW_AT_type);
        const count = dims.length > 0 ? this.subrangeCount(dims[0]!) ?? 0 : 0;
        const inner = dims.length > 1 ? size / Math.max(1, count) : this.sizeOfType(elemType);
        const es = this.strip(elemType);
        const innerName = dims.length > 1 ? this.typeName(stripped).replace(/^(.*?) ?\[\d*\]/, '$1 ') .trim() : es === undefined ? 'void' : this.typeName(es);
        out.elements = { count, typeName: innerName, size: inner };
      }
    }
    const bits = m.attrs.get(C.DW_AT_bit_size);
    if (typeof bits === 'number') {
      const dbo = m.attrs.get(C.DW_AT_data_bit_offset);
      const unit = size > 0 ? size : 1;
      let bitPos: number;
      if (typeof dbo === 'number') {
        bitPos = dbo;
        out.offset = Math.floor(dbo / (unit * 8)) * unit;
      } else {
        // DWARF 2/3 (big-endian-style) DW_AT_bit_offset counts from the storage unit's high bit.
        const bo = m.attrs.get(C.DW_AT_bit_offset);
        bitPos = offset * 8 + unit * 8 - (typeof bo === 'number' ? bo : 0) - bits;
      }
      out.bitSize = bits;
      out.bitOffset = bitPos - out.offset * 8;
    }
    return out;
  }

  private memberOffset(m: Die): number {
    const v = m.attrs.get(C.DW_AT_data_member_location);
    if (typeof v === 'number') return v;
    if (v instanceof Uint8Array) {
      // DWARF 2 style: DW_OP_plus_uconst N (or a constant pushed).
      const c = new Cursor(v, 0, v.length, 'a member location');
      const op = c.u8();
      if (op === C.DW_OP_plus_uconst || op === C.DW_OP_constu) return c.uleb();
      return -1;
    }
    const dbo = m.attrs.get(C.DW_AT_data_bit_offset);
    if (typeof dbo === 'number') return Math.floor(dbo / 8);
    return 0;
  }

  member(qualifiedName: string, path: string): MemberLayout | undefined {
    return this.guard(() => {
      const start = this.lookupType(qualifiedName);
      if (start === undefined) return undefined;
      let cur = this.strip(start);
      let total = 0;
      let last: MemberLayout | undefined;
      for (const comp of path.split('.')) {
        if (cur === undefined) return undefined;
        const lay = this.layout(cur);
        if (!lay) return undefined;
        const found = this.findMember(lay, comp);
        if (!found) return undefined;
        total += found.offset;
        last = found.member;
        cur = this.memberTypes.get(found.member);
      }
      return last ? { ...last, offset: total } : undefined;
    });
  }

  /** A member by name, through anonymous members and base classes (offset relative to `lay`). */
  private findMember(lay: TypeLayout, name: string): { member: MemberLayout; offset: number } | undefined {
    // The shallowest match wins, as C++ name lookup would have it (std::tuple's _M_head_impl of
    // element 0 sits one base class up, element 1's two).
    for (let limit = 0; limit <= 8; limit++) {
      const f = this.findMemberAt(lay, name, limit);
      if (f) return f;
    }
    return undefined;
  }

  /** A member found exactly `levels` anonymous members or base classes down. */
  private findMemberAt(lay: TypeLayout, name: string, levels: number): { member: MemberLayout; offset: number } | undefined {
    if (levels === 0) {
      for (const m of lay.members) if (m.name === name) return { member: m, offset: m.offset };
      return undefined;
    }
    for (const m of lay.members) {
      const isBase = m.name === m.baseTypeName;
      if (m.name !== '' && !isBase) continue;
      const inner = this.memberTypes.get(m);
      const il = inner === undefined ? undefined : this.layout(inner);
      if (!il) continue;
      const f = this.findMemberAt(il, name, levels - 1);
      if (f) return { member: f.member, offset: m.offset + f.offset };
    }
    return undefined;
  }


  enumerators(qualifiedName: string): Readonly<Record<string, number>> | undefined {
    return this.guard(() => {
      const off = this.lookupType(qualifiedName);
      const s = off === undefined ? undefined : this.strip(off);
      if (s === undefined) return undefined;
      const d = this.die(s);
      if (d.tag !== C.DW_TAG_enumeration_type) return undefined;
      const out: Record<string, number> = {};
      for (const ch of this.r.children(d)) {
        const e = this.die(ch);
        const v = e.attrs.get(C.DW_AT_const_value);
        const n = this.nameOf(e);
        if (e.tag === C.DW_TAG_enumerator && n !== undefined && typeof v === 'number') out[n] = v;
      }
      return out;
    });
  }

  variable(qualifiedName: string): VariableInfo | undefined {
    return this.guard(() => {
      const v = this.lookup(qualifiedName, 'var');
      if (v === 0) return undefined;
      const off = Math.abs(v);
      const d = this.die(off);
      let type = this.ref(d, C.DW_AT_type);
      // A definition through DW_AT_specification carries the location; the declaration, the type.
      for (let s = this.ref(d, C.DW_AT_specification), i = 0; type === undefined && s !== undefined && i < 8; i++) {
        const sd = this.die(s);
        type = this.ref(sd, C.DW_AT_type);
        s = this.ref(sd, C.DW_AT_specification);
      }
      const out: VariableInfo = {
        name: this.qualifiedName(off),
        location: this.location(d),
        size: this.sizeOfType(type),
        typeName: this.typeName(type),
      };
      // A constexpr / static const with an initializer: the value, on the definition or its declaration.
      for (let e: number | undefined = off, i = 0; e !== undefined && i < 8; e = this.ref(this.die(e), C.DW_AT_specification), i++) {
        const v = this.die(e).attrs.get(C.DW_AT_const_value);
        if (typeof v === 'number') {
          out.value = v;
          break;
        }
      }
      return out;
    });
  }

  private location(d: Die): VariableLocation {
    const loc = d.attrs.get(C.DW_AT_location);
    if (!(loc instanceof Uint8Array) || loc.length === 0) return { kind: 'unknown' };
    const c = new Cursor(loc, 0, loc.length, 'a location expression');
    const op = c.u8();
    const u = d.unit;
    if (op === C.DW_OP_addr && loc.length === 1 + u.addrSize) return { kind: 'address', address: c.unsigned(u.addrSize) };
    if ((op === C.DW_OP_addrx || op === C.DW_OP_GNU_addr_index)) {
      const a = this.r.addrx(u, c.uleb());
      if (c.pos === loc.length) return { kind: 'address', address: a };
      return { kind: 'unknown' };
    }
    let value: number;
    switch (op) {
      case C.DW_OP_const1u: value = c.u8(); break;
      case C.DW_OP_const2u: value = c.u16(); break;
      case C.DW_OP_const4u: value = c.u32(); break;
      case C.DW_OP_const8u: value = c.u64(); break;
      case C.DW_OP_constu: value = c.uleb(); break;
      case C.DW_OP_addr: value = c.unsigned(u.addrSize); break;
      default: return { kind: 'unknown' };
    }
    if (c.pos === loc.length - 1) {
      const tls = c.u8();
      if (tls === C.DW_OP_GNU_push_tls_address || tls === C.DW_OP_form_tls_address) return { kind: 'tls', offset: value };
    }
    return { kind: 'unknown' };
  }

  functionAt(address: number): { name: string; low: number; high: number } | undefined {
    return this.guard(() => {
      const unit = this.unitFor(address);
      if (unit === undefined) return undefined;
      const funcs = this.functionsOf(unit);
      // Innermost (shortest) range containing the address wins among nested/overlapping entries.
      let best: FuncEntry | undefined;
      const hi = lastAtOrBelow(funcs, address);
      for (let i = hi; i >= 0 && i > hi - 64; i--) {
        const f = funcs[i]!;
        if (address >= f.low && address < f.high && (!best || f.high - f.low < best.high - best.low)) best = f;
      }
      if (!best) return undefined;
      return { name: this.qualifiedName(best.off), low: best.low, high: best.high };
    });
  }

  private unitFor(address: number): number | undefined {
    if (!this.unitMap) {
      const map = readAranges(this.secs);
      const covered = new Set(map.map((e) => e.unit));
      for (const u of this.r.unitSet.units) {
        if (u.section !== '.debug_info' || covered.has(u.offset) || u.unitType === 2) continue;
        this.r.readRoot(u);
        for (const [low, high] of dieRanges(this.die(u.dieStart), this.r, this.secs)) map.push({ low, high, unit: u.offset });
      }
      map.sort((a, b) => a.low - b.low);
      this.unitMap = map;
    }
    const m = this.unitMap;
    const hi = lastAtOrBelow(m, address);
    for (let i = hi; i >= 0 && i > hi - 16; i--) if (address >= m[i]!.low && address < m[i]!.high) return m[i]!.unit;
    return undefined;
  }

  /** Every subprogram with code in a unit, sorted by start address. */
  private functionsOf(unitOff: number): FuncEntry[] {
    const hit = this.unitFuncs.get(unitOff);
    if (hit) return hit;
    const u = this.r.unitAt(unitOff);
    const out: FuncEntry[] = [];
    const c = new Cursor(u.data, u.dieStart - u.base, u.end - u.base, u.section);
    let depth = 0;
    while (c.pos < c.end) {
      const off = u.base + c.pos;
      const code = c.uleb();
      if (code === 0) {
        if (--depth <= 0) break;
        continue;
      }
      const ab = u.abbrevs.get(code);
      if (!ab) throw new DwarfError(`bad DWARF: abbreviation code ${code} of the DIE at 0x${off.toString(16)} is undefined`);
      if (ab.tag === C.DW_TAG_subprogram) {
        const d = this.r.readDie(off, u);
        for (const [low, high] of dieRanges(d, this.r, this.secs)) out.push({ low, high, off });
        c.pos = d.next - u.base;
        // Bodies hold no other out-of-line functions: skip them.
        if (ab.hasChildren) {
          c.pos = off - u.base;
          this.r.skipDie(c, u);
        }
        continue;
      }
      c.pos = off - u.base;
      c.uleb();
      if (ab.fixedSize >= 0) c.skip(ab.fixedSize);
      else for (let i = 0; i < ab.forms.length; i++) skipForm(c, ab.forms[i]!, u);
      if (ab.hasChildren) depth++;
      else if (depth === 0) break;
    }
    out.sort((a, b) => a.low - b.low);
    this.unitFuncs.set(unitOff, out);
    return out;
  }
}

/** DebugInfo from the bytes of an ELF file; throws DwarfError (or ElfError) on malformed input. */
export function loadDebugInfo(elfBytes: Uint8Array | ElfFile): DwarfDebugInfo {
  const elf = elfBytes instanceof ElfFile ? elfBytes : ElfFile.parse(elfBytes);
  try {
    return new DwarfDebugInfo(sectionsOf(elf));
  } catch (e) {
    throw asDwarfError(e);
  }
}

/** DebugInfo of an ELF file on disk, reading only its headers, symbol tables and debug sections. */
export function loadDebugInfoFile(path: string): DwarfDebugInfo {
  return loadDebugInfo(readElfForDebug(path));
}
