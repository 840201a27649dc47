// The load-time index: one linear pass over the DIE headers of every unit that reads only names,
// declaration flags and specifications of namespace- and class-scope entries, and jumps over
// function bodies (DW_AT_sibling) and over classes already defined by an earlier unit (gcc repeats
// every type in every unit that uses it). Everything else is parsed on demand.

import { Cursor } from './bytes.js';
import * as C from './constants.js';
import { DwarfError } from './errors.js';
import type { Abbrev, DieReader, Unit } from './units.js';
import { skipForm } from './units.js';

/**
 * The name index is a tree of scopes keyed by each DIE's own DW_AT_name: no qualified strings are
 * built while scanning, and the keys are the reader's cached .debug_str strings (V8 keeps their
 * hashes). Entries: 0 none, a DIE's global offset for a definition, minus the offset for a
 * declaration (offset 0 is a unit header, never a DIE).
 */
export class NameNode {
  type = 0;
  var = 0;
  kids: Map<string, NameNode> | null = null;
  /** Inline namespaces (std::__cxx11): their names are also found from here. */
  inline: NameNode[] | null = null;
  /** A namespace: the DIEs (one per unit) whose children are not indexed yet. */
  pending: number[] | null = null;
  isNs = false;

  kid(name: string): NameNode {
    if (!this.kids) this.kids = new Map();
    let k = this.kids.get(name);
    if (!k) {
      k = new NameNode();
      this.kids.set(name, k);
    }
    return k;
  }
}

/** Index keys ignore blanks so 'sched::thread *' and 'sched::thread*' meet. */
export function nameKey(name: string): string {
  return name.indexOf(' ') < 0 ? name : name.replace(/ /g, '');
}

/** 'a::b<c::d>::e' -> ['a', 'b<c::d>', 'e'] (template arguments and parentheses kept whole). */
export function splitQualified(name: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < name.length; i++) {
    const ch = name.charCodeAt(i);
    if (ch === 60 || ch === 40) depth++; // < (
    else if (ch === 62 || ch === 41) depth--; // > )
    else if (ch === 58 && depth === 0 && name.charCodeAt(i + 1) === 58) {
      out.push(name.slice(start, i));
      start = i + 2;
      i++;
    }
  }
  out.push(name.slice(start));
  return out;
}

function findKid(node: NameNode, comp: string, depth = 0): NameNode | undefined {
  const exact = node.kids?.get(comp);
  if (exact) return exact;
  if (node.kids) {
    const want = nameKey(comp);
    for (const [k, n] of node.kids) if (nameKey(k) === want) return n;
  }
  if (node.inline && depth < 8) {
    for (const n of node.inline) {
      const f = findKid(n, comp, depth + 1);
      if (f) return f;
    }
  }
  return undefined;
}

/** Every kid whose name starts with the template name and leading arguments given ('vector<int>'). */
function findByLeadingArgs(node: NameNode, comp: string, kind: 'type' | 'var'): NameNode | undefined {
  if (!comp.endsWith('>')) return undefined;
  const prefix = nameKey(comp).slice(0, -1) + ',';
  let best: NameNode | undefined;
  const scan = (n: NameNode, depth: number): void => {
    if (n.kids) {
      for (const [k, kid] of n.kids) {
        if (kid[kind] === 0 || !nameKey(k).startsWith(prefix)) continue;
        if (!best || (best[kind] < 0 && kid[kind] > 0)) best = kid;
      }
    }
    if (n.inline && depth < 8) for (const i of n.inline) scan(i, depth + 1);
  };
  scan(node, 0);
  return best;
}

/** Expands a namespace node by one pending DIE; false when nothing is left. */
export type Expander = (node: NameNode) => boolean;

export function lookupName(root: NameNode, qualified: string, kind: 'type' | 'var', expand: Expander = () => false): number {
  const comps = splitQualified(qualified.trim());
  for (;;) {
    const path: NameNode[] = [];
    let node: NameNode | undefined = root;
    for (let i = 0; i < comps.length && node; i++) {
      path.push(node);
      const comp = comps[i]!;
      const final = i === comps.length - 1;
      const good = (n: NameNode | undefined): boolean => !!n && (final ? n[kind] > 0 : n.isNs || n.type > 0);
      let next = findKid(node, comp);
      // Namespaces are indexed unit by unit, on demand, until a definition turns up.
      while (!good(next) && expand(node)) next = findKid(node, comp);
      if (!next && final) {
        while (expand(node));
        next = findByLeadingArgs(node, comp, kind);
      }
      node = next;
    }
    if (node && node[kind] > 0) return node[kind];
    // A class's static member is defined in one unit only: index more units of the enclosing
    // namespaces (classes holding a definition's declaration are entered again) and retry.
    let progressed = false;
    for (let i = path.length - 1; i >= 0 && !progressed; i--) progressed = expand(path[i]!);
    if (!progressed) return node ? node[kind] : 0;
  }
}

/** The node for a qualified name, created as needed. */
export function nodeFor(root: NameNode, qualified: string): NameNode {
  let node = root;
  for (const c of splitQualified(qualified)) node = node.kid(c);
  return node;
}

function setEntry(node: NameNode, kind: 'type' | 'var', off: number, decl: boolean): void {
  const prev = node[kind];
  if (prev === 0) node[kind] = decl ? -off : off;
  else if (prev < 0 && !decl) node[kind] = off;
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
  kind: 'type' | 'var';
  decl: boolean;
}

export class Indexer {
  readonly root = new NameNode();
  dies = 0;
  typeNames = 0;
  varNames = 0;
  /** Definitions outside their declaration's scope: declaration offset -> definition. */
  private readonly specDefs = new Map<number, { def: number; kind: 'type' | 'var' }>();
  /** The keys of specDefs, sorted (is any inside a class we would skip?). */
  private specTargets: Float64Array = new Float64Array(0);
  private specsResolved = false;

  constructor(private readonly r: DieReader) {}

  /** Set by the owner: the qualified name of any DIE (for specifications across scopes). */
  qualifiedNameOf: (off: number) => string | undefined = () => undefined;

  /** The load-time pass: the top level of every unit; namespaces are only recorded. */
  run(): void {
    for (const u of this.r.unitSet.units) {
      this.r.readRoot(u);
      this.scanList(u, this.firstChild(u, u.dieStart), this.root);
    }
    this.specTargets = Float64Array.from(this.specDefs.keys()).sort();
  }

  /** Indexes one more of a namespace's pending DIEs. */
  readonly expand = (node: NameNode): boolean => {
    const p = node.pending;
    if (!p || p.length === 0) return false;
    const off = p.shift()!;
    const u = this.r.unitAt(off);
    this.scanList(u, this.firstChild(u, off), node);
    return true;
  };

  /** Names every specification target whose definition is not linked yet (a lookup missed). */
  resolveSpecs(): boolean {
    if (this.specsResolved) return false;
    this.specsResolved = true;
    for (const [spec, { def, kind }] of this.specDefs) {
      const name = this.qualifiedNameOf(spec);
      if (name) this.set(nodeFor(this.root, name), kind, def, false);
    }
    return true;
  }

  /** Global offset of a DIE's first child, or -1 when it has none. */
  private firstChild(u: Unit, off: number): number {
    const c = new Cursor(u.data, off - u.base, u.end - u.base, u.section);
    const code = c.uleb();
    const ab = u.abbrevs.get(code);
    if (!ab) throw new DwarfError(`bad DWARF: abbreviation code ${code} of the DIE at 0x${off.toString(16)} is undefined`);
    if (!ab.hasChildren) return -1;
    this.skipAttrs(c, u, ab);
    return u.base + c.pos;
  }

  private set(node: NameNode, kind: 'type' | 'var', off: number, decl: boolean): void {
    if (node[kind] === 0) {
      if (kind === 'type') this.typeNames++;
      else this.varNames++;
    }
    setEntry(node, kind, off, decl);
  }

  private hasSpecTargetIn(lo: number, hi: number): boolean {
    const t = this.specTargets;
    let a = 0;
    let b = t.length;
    while (a < b) {
      const m = (a + b) >> 1;
      if (t[m]! < lo) a = m + 1;
      else b = m;
    }
    return a < t.length && t[a]! < hi;
  }

  /** Indexes a list of sibling DIEs starting at `start` (global offset) into `scope`. */
  private scanList(u: Unit, start: number, scope0: NameNode): void {
    if (start < 0) return;
    const base = u.base;
    const c = new Cursor(u.data, start - base, u.end - base, u.section);
    // Scope stack: the node of each open scope; null = nothing below is indexed.
    const stack: (NameNode | null)[] = [];
    const classStack: boolean[] = [];
    let scope: NameNode | null = scope0;
    let scopeIsClass = false;
    let depth = 0;
    let dies = 0;
    const end = c.end;
    const specDefs = this.specDefs;
    while (c.pos < end) {
      const off = base + c.pos;
      const code = c.uleb();
      if (code === 0) {
        if (depth === 0) break; // end of the list
        depth--;
        scope = stack.pop()!;
        scopeIsClass = classStack.pop()!;
        continue;
      }
      dies++;
      const ab = u.abbrevs.get(code);
      if (!ab) throw new DwarfError(`bad DWARF: abbreviation code ${code} of the DIE at 0x${off.toString(16)} is undefined`);
      const tag = ab.tag;
      let kind = scope === null ? Kind.Skip : kindOf(tag);
      // Typedefs inside classes (size_type, pointer...) are many and rarely asked for by name.
      if (kind === Kind.Type && scopeIsClass && tag === C.DW_TAG_typedef) kind = Kind.Skip;
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
      for (let i = 0; i < forms.length; i++) {
        const form = forms[i]!;
        if (i === ab.nameIdx) name = this.readName(c, form, u);
        else if (i === ab.declIdx) decl = this.readFlag(c, form, u);
        else if (i === ab.specIdx) spec = this.readRef(c, form, u);
        else if (i === ab.siblingIdx) sibling = this.readRef(c, form, u);
        else if (i === ab.exportIdx) exported = this.readFlag(c, form, u);
        else skipForm(c, form, u);
      }
      if (kind === Kind.Scope) {
        if (ab.hasChildren) {
          const ns: NameNode = scope!.kid(name ?? '(anonymous namespace)');
          ns.isNs = true;
          (ns.pending ??= []).push(off);
          if (exported && !(scope!.inline ??= []).includes(ns)) scope!.inline!.push(ns);
          if (sibling - base > c.pos && sibling - base <= end) c.pos = sibling - base;
          else {
            c.pos = off - base;
            this.r.skipDie(c, u);
          }
        }
        continue;
      }
      const ek: 'type' | 'var' = kind === Kind.Type ? 'type' : 'var';
      let node: NameNode | null = null;
      if (spec >= 0) {
        specDefs.set(spec, { def: off, kind: ek });
      } else if (name !== null) {
        node = scope!.kid(name);
        const linked = decl ? specDefs.get(off) : undefined;
        if (linked) this.set(node, linked.kind, linked.def, false);
        else this.set(node, ek, off, decl);
      }
      if (!ab.hasChildren) continue;
      // Enter classes the index has not seen defined yet, and those holding a declaration that
      // a definition elsewhere completes (static data members).
      const isClass = ek === 'type' && node !== null && !decl && tag !== C.DW_TAG_enumeration_type && tag !== C.DW_TAG_typedef;
      const hasSib = sibling - base > c.pos && sibling - base <= end;
      const enter = isClass && (node!.type === off || !hasSib || this.hasSpecTargetIn(off, sibling));
      if (enter) {
        stack.push(scope);
        classStack.push(scopeIsClass);
        scope = node;
        scopeIsClass = true;
        depth++;
      } else if (hasSib) {
        c.pos = sibling - base;
      } else {
        stack.push(scope);
        classStack.push(scopeIsClass);
        scope = null;
        depth++;
      }
    }
    this.dies += dies;
  }

  private readFlag(c: Cursor, form: number, u: Unit): boolean {
    if (form === C.DW_FORM_flag_present) return true;
    if (form === C.DW_FORM_flag) return c.u8() !== 0;
    skipForm(c, form, u);
    return false;
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
      const a = u.abbrevs.get(code);
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
