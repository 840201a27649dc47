// The contract between the DWARF reader (src/osv/dwarf) and its users (OSv threads, aborts, core
// files, traces). Users ask for layouts by qualified C++ name and member path; nothing about an OSv
// version is hard-coded on either side of this interface.

/** One data member of a struct/class/union, as the DWARF describes it. */
export interface MemberLayout {
  name: string;
  /** Byte offset from the start of the enclosing type (bit-fields: the containing unit). */
  offset: number;
  /** Byte size of the member's type (0 when unknown, e.g. incomplete types). */
  size: number;
  /** The member's type as a C++ spelling (e.g. 'char [16]', 'sched::thread *'). */
  typeName: string;
  /** Qualified name of the member's type with typedefs and cv-qualifiers stripped (for nesting). */
  baseTypeName: string;
  /** Bit-fields only: width in bits, and the first bit's position counted from bit 0 of `offset`. */
  bitSize?: number;
  bitOffset?: number;
  /** Pointers and references (after typedefs): the target's type, typedefs and cv stripped ('sched::cpu'). */
  pointee?: string;
  /** Arrays: the first dimension's element count, element type (as `baseTypeName`) and element size. */
  elements?: { count: number; typeName: string; size: number };
}

export interface TypeLayout {
  /** Qualified name, e.g. 'sched::thread'. */
  name: string;
  size: number;
  /** Direct members, base classes included as members named after the base type. */
  members: readonly MemberLayout[];
  /** Template arguments as DW_TAG_template_*_param give them: type names, or values of value parameters. */
  templateArgs?: readonly (string | number)[];
}

/** Where a variable lives. */
export type VariableLocation =
  | { kind: 'address'; address: number }
  /** A `__thread` variable: the offset within its object's TLS block (DW_OP_form_tls_address). */
  | { kind: 'tls'; offset: number }
  | { kind: 'unknown' };

export interface VariableInfo {
  name: string;
  location: VariableLocation;
  size: number;
  typeName: string;
  /** DW_AT_const_value of a constant (constexpr, static const member), when it has one. */
  value?: number;
}

export interface DebugInfo {
  /** A struct/class/union by qualified name ('sched::thread', 'elf::object'); undefined if absent. */
  type(qualifiedName: string): TypeLayout | undefined;
  /**
   * Offset and layout of a member path through nested members and base classes:
   * member('sched::thread', '_attr._name') -> offset of _attr plus offset of _name within it.
   */
  member(qualifiedName: string, path: string): MemberLayout | undefined;
  /** A global, static member or namespace-scope variable by qualified name ('sched::thread_map'). */
  variable(qualifiedName: string): VariableInfo | undefined;
  /** Function containing a code address: qualified (demangled-style) name and its start. */
  functionAt(address: number): { name: string; low: number; high: number } | undefined;
  /** Enumerators of an enum by qualified name ('sched::thread::status' -> {running: 5, ...}). */
  enumerators?(qualifiedName: string): Readonly<Record<string, number>> | undefined;
}
