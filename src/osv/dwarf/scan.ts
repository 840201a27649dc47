// The load-time index: one linear pass over the DIE headers of every unit that reads only names,
// declaration flags and specifications of namespace- and class-scope entries, and jumps over
// function bodies (DW_AT_sibling) and over classes already defined by an earlier unit (gcc repeats
// every type in every unit that uses it). Everything else is parsed on demand.

import { Cursor } from './bytes.js';
import * as C from './constants.js';
import { DwarfError } from './errors.js';
import type { Abbrev, DieReader, Unit } from './units.js';
import { skipForm } from './units.js';

/** Index entries: a DIE's global offset, or -(offset + 1) for a declaration. */
export interface NameIndex {
  types: Map<string, number>;
  vars: Map<string, number>;
  /** Address ranges of units without DW_AT_ranges: lowPc/highPc pairs, by unit offset. */
  stats: { dies: number; units: number };
}

/** Index keys ignore blanks so 'sched::thread *' and 'sched::thread*' meet. */
export function nameKey(name: string): string {
  return name.indexOf(' ') < 0 ? name : name.replace(/ /g, '');
}

const enum Kind {
  Skip,
  Scope,
  Type,
  Var,
  Member,
}

function kindOf(tag: number): Kind {
  switch (tag) {
    case C.DW_TAG_namespace: return Kind.Scope;
    case C.DW_TAG_structure_type: case C.DW_TAG_class_type: case C.DW_TAG_union_type:
    case C.DW_TAG_enumeration_type: case C.DW_TAG_typedef: case C.DW_TAG_base_type:
      return Kind.Type;
    case C.DW_TAG_variable: return Kind.Var;
    case C.DW_TAG_member: return Kind.Member;
    default: return Kind.Skip;
  }
}

interface Pending {
  def: number;
  spec: number;
  isType: boolean;
}

export class Indexer {
  readonly types = new Map<string, number>();
  readonly vars = new Map<string, number>();
  dies = 0;
  private readonly pending: Pending[] = [];
  /** Declarations seen in the current unit: offset -> qualified name (for specifications). */
  private declNames = new Map<number, string>();

  constructor(private readonly r: DieReader) {}

  run(): void {
    for (const u of this.r.unitSet.units) {
      this.r.readRoot(u);
      this.declNames = new Map();
      this.scanUnit(u);
    }
    for (const p of this.pending) {
      const name = this.declNames.get(p.spec) ?? this.qualifiedNameOf(p.spec);
      if (name) this.add(p.isType ? this.types : this.vars, name, p.def, false);
    }
    this.pending.length = 0;
    this.declNames = new Map();
  }

  /** Set by the owner: the qualified name of any DIE (used for cross-unit specifications). */
  qualifiedNameOf: (off: number) => string | undefined = () => undefined;

  private add(map: Map<string, number>, qname: string, off: number, decl: boolean): void {
    const key = nameKey(qname);
    const prev = map.get(key);
    if (prev === undefined) map.set(key, decl ? -(off + 1) : off);
    else if (prev < 0 && !decl) map.set(key, off);
  }

  private scanUnit(u: Unit): void {
    const r = this.r;
    const base = u.base;
    const c = new Cursor(u.data, u.dieStart - base, u.end - base, u.section);
    // Scope stack: qualified prefix per depth ('' at unit level); null = not indexed below.
    const prefixes: (string | null)[] = [];
    const inlineDepth: boolean[] = [];
    let prefix: string | null = '';
    let depth = 0;
    let dies = 0;
    const end = c.end;
    while (c.pos < end) {
      const off = base + c.pos;
      const code = c.uleb();
      if (code === 0) {
        if (depth === 0) break; // padding after the unit DIE's children
        depth--;
        prefix = prefixes.pop()!;
        inlineDepth.pop();
        continue;
      }
      dies++;
      const ab = u.abbrevs[code];
      if (!ab) throw new DwarfError(`bad DWARF: abbreviation code ${code} of the DIE at 0x${off.toString(16)} is undefined`);
      const tag = ab.tag;
      if (depth === 0 && (tag === C.DW_TAG_compile_unit || tag === C.DW_TAG_type_unit || tag === C.DW_TAG_partial_unit || tag === C.DW_TAG_skeleton_unit)) {
        this.skipAttrs(c, u, ab);
        if (ab.hasChildren) {
          prefixes.push(prefix);
          inlineDepth.push(false);
          depth++;
        }
        continue;
      }
      const kind = prefix === null ? Kind.Skip : kindOf(tag);
      if (kind === Kind.Skip || (kind === Kind.Member && ab.declIdx < 0)) {
        this.skipEntry(c, u, ab, base);
        continue;
      }
      // Read the few attributes the index needs.
      let name: string | null = null;
      let decl = false;
      let spec = -1;
      let sibling = -1;
      let exported = false;
      const forms = ab.forms;
      const attrs = ab.attrs;
      for (let i = 0; i < forms.length; i++) {
        const form = forms[i]!;
        if (i === ab.nameIdx) name = this.readName(c, form, u);
        else if (i === ab.declIdx) decl = form === C.DW_FORM_flag_present || (form === C.DW_FORM_flag ? c.u8() !== 0 : (skipForm(c, form, u), true));
        else if (i === ab.specIdx || i === ab.siblingIdx) {
          const v = this.readRef(c, form, u);
          if (i === ab.specIdx) spec = v;
          else sibling = v;
        } else if (i === ab.exportIdx) exported = form === C.DW_FORM_flag_present || (form === C.DW_FORM_flag ? c.u8() !== 0 : (skipForm(c, form, u), false));
        else if (attrs[i] === C.DW_AT_sibling) skipForm(c, form, u);
        else skipForm(c, form, u);
      }
      if (kind === Kind.Scope) {
        if (!ab.hasChildren) continue;
        const own = name ?? '(anonymous namespace)';
        const q: string = prefix === "" ? own : `${prefix}::${own}`;
        prefixes.push(prefix);
        inlineDepth.push(exported);
        prefix = q;
        depth++;
        continue;
      }
      const isType = kind === Kind.Type;
      let qname: string | null = null;
      if (name !== null) {
        qname = prefix === '' ? name : `${prefix}::${name}`;
        if (spec < 0) {
          const map = isType ? this.types : this.vars;
          this.add(map, qname, off, decl);
          if (inlineDepth.includes(true)) this.add(map, this.withoutInline(qname), off, decl);
          if (decl) this.declNames.set(off, qname);
        }
      }
      if (spec >= 0) {
        const known = this.declNames.get(spec);
        if (known !== undefined) this.add(isType ? this.types : this.vars, known, off, decl);
        else this.pending.push({ def: off, spec, isType });
      }
      if (!ab.hasChildren) continue;
      // Enter classes (nested types, static members) the index has not seen defined yet.
      const enter = isType && qname !== null && !decl && tag !== C.DW_TAG_enumeration_type && tag !== C.DW_TAG_typedef
        ? this.types.get(nameKey(qname)) === off
        : false;
      if (enter) {
        prefixes.push(prefix);
        inlineDepth.push(false);
        prefix = qname;
        depth++;
      } else if (sibling - base > c.pos && sibling - base <= end) {
        c.pos = sibling - base;
      } else {
        prefixes.push(prefix);
        inlineDepth.push(false);
        prefix = null;
        depth++;
      }
    }
    this.dies += dies;
  }

  /** The spelling without inline namespaces (std::__cxx11::list -> std::list), as users write it. */
  private withoutInline(qname: string): string {
    let q = qname;
    for (const ns of ['__cxx11', '__1', '__8']) q = q.split(`::${ns}::`).join('::');
    return q;
  }

  private skipAttrs(c: Cursor, u: Unit, ab: Abbrev): void {
    if (ab.fixedSize >= 0) c.skip(ab.fixedSize);
    else for (let i = 0; i < ab.forms.length; i++) skipForm(c, ab.forms[i]!, u);
  }

  /** Skips a DIE that is not indexed, with its children. */
  private skipEntry(c: Cursor, u: Unit, ab: Abbrev, base: number): void {
    if (!ab.hasChildren) {
      this.skipAttrs(c, u, ab);
      return;
    }
    if (ab.siblingIdx >= 0) {
      let sib = -1;
      for (let i = 0; i < ab.forms.length; i++) {
        if (i === ab.siblingIdx) sib = this.readRef(c, ab.forms[i]!, u);
        else skipForm(c, ab.forms[i]!, u);
      }
      if (sib - base > c.pos && sib - base <= c.end) {
        c.pos = sib - base;
        return;
      }
    } else this.skipAttrs(c, u, ab);
    // No usable sibling: walk the children.
    let depth = 1;
    while (depth > 0) {
      const code = c.uleb();
      if (code === 0) {
        depth--;
        continue;
      }
      const a = u.abbrevs[code];
      if (!a) throw new DwarfError(`bad DWARF: abbreviation code ${code} at 0x${(base + c.pos).toString(16)} is undefined`);
      if (a.hasChildren && a.siblingIdx >= 0) {
        this.skipEntry(c, u, a, base);
        continue;
      }
      this.skipAttrs(c, u, a);
      if (a.hasChildren) depth++;
    }
  }

  /** A reference as a global offset (-1 for forms that are not references into this file). */
  private readRef(c: Cursor, form: number, u: Unit): number {
    const rel = u.offset;
    switch (form) {
      case C.DW_FORM_ref1: return rel + c.u8();
      case C.DW_FORM_ref2: return rel + c.u16();
      case C.DW_FORM_ref4: return rel + c.u32();
      case C.DW_FORM_ref8: return rel + c.u64();
      case C.DW_FORM_ref_udata: return rel + c.uleb();
      case C.DW_FORM_ref_addr: return c.unsigned(u.version <= 2 ? u.addrSize : u.offsetSize);
      default:
        skipForm(c, form, u);
        return -1;
    }
  }

  private readName(c: Cursor, form: number, u: Unit): string | null {
    const v = this.r.readValue(c, form, u, 0);
    return typeof v === 'string' ? v : null;
  }
}
