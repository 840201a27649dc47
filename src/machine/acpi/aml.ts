// A tiny AML encoder: just the object kinds osvemu's DSDT needs (names, packages, integers,
// strings, scopes). Every AML byte ACPICA has to interpret costs OSv boot time, so the DSDT is
// kept to a few bytes and this encoder stays small enough to read against the ACPI spec (§20).

export type AmlBytes = readonly number[];

const ZERO_OP = 0x00;
const ONE_OP = 0x01;
const ONES_OP = 0xff;
const BYTE_PREFIX = 0x0a;
const WORD_PREFIX = 0x0b;
const DWORD_PREFIX = 0x0c;
const STRING_PREFIX = 0x0d;
const QWORD_PREFIX = 0x0e;
const NAME_OP = 0x08;
const SCOPE_OP = 0x10;
const PACKAGE_OP = 0x12;
const ROOT_CHAR = 0x5c; // '\'
const PARENT_PREFIX = 0x5e; // '^'
const DUAL_NAME_PREFIX = 0x2e;
const MULTI_NAME_PREFIX = 0x2f;

/** One 4-character name segment: [A-Z_][A-Z0-9_]{0,3}, padded with '_' as ASL does. */
function nameSeg(seg: string): number[] {
  if (!/^[A-Z_][A-Z0-9_]{0,3}$/.test(seg)) throw new Error(`bad AML name segment "${seg}"`);
  const padded = seg.padEnd(4, '_');
  return [...padded].map((c) => c.charCodeAt(0));
}

/** A NameString: optional '\' or '^' prefixes, then dot-separated segments ("\_SB.PCI0"). */
export function nameString(path: string): number[] {
  const out: number[] = [];
  let rest = path;
  if (rest.startsWith('\\')) {
    out.push(ROOT_CHAR);
    rest = rest.slice(1);
  } else {
    while (rest.startsWith('^')) {
      out.push(PARENT_PREFIX);
      rest = rest.slice(1);
    }
  }
  if (rest === '') {
    out.push(0x00); // NullName
    return out;
  }
  const segs = rest.split('.');
  if (segs.length > 255) throw new Error(`AML name "${path}" has too many segments`);
  if (segs.length === 2) out.push(DUAL_NAME_PREFIX);
  else if (segs.length > 2) out.push(MULTI_NAME_PREFIX, segs.length);
  for (const s of segs) out.push(...nameSeg(s));
  return out;
}

/**
 * PkgLength for a body of `bodyLength` bytes. The encoded length counts itself, so the number
 * of extra bytes is chosen first: 1 byte holds up to 63, n+1 bytes up to 2^(4+8n)-1.
 */
export function pkgLength(bodyLength: number): number[] {
  for (let extra = 0; extra <= 3; extra++) {
    const total = bodyLength + 1 + extra;
    if (extra === 0 && total <= 0x3f) return [total];
    if (extra > 0 && total < 2 ** (4 + 8 * extra)) {
      const out = [(extra << 6) | (total & 0x0f)];
      let v = Math.floor(total / 16);
      for (let i = 0; i < extra; i++) {
        out.push(v & 0xff);
        v = Math.floor(v / 256);
      }
      return out;
    }
  }
  throw new Error(`AML package of ${bodyLength} bytes is too large`);
}

/** The smallest integer encoding (ZeroOp, OneOp, Byte/Word/DWord/QWord constants). */
export function integer(value: number): number[] {
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`AML integer ${value} is not a non-negative safe integer`);
  if (value === 0) return [ZERO_OP];
  if (value === 1) return [ONE_OP];
  if (value <= 0xff) return [BYTE_PREFIX, value];
  if (value <= 0xffff) return [WORD_PREFIX, value & 0xff, value >>> 8];
  const le = (v: number, n: number): number[] => Array.from({ length: n }, (_, i) => Math.floor(v / 2 ** (8 * i)) & 0xff);
  if (value <= 0xffffffff) return [DWORD_PREFIX, ...le(value, 4)];
  return [QWORD_PREFIX, ...le(value, 8)];
}

/** OnesOp: all bits set (the table revision decides 32 or 64 bits). */
export function ones(): number[] {
  return [ONES_OP];
}

export function string(s: string): number[] {
  const out = [STRING_PREFIX];
  for (const c of s) {
    const code = c.charCodeAt(0);
    if (code < 1 || code > 0x7f) throw new Error(`AML strings are 7-bit ASCII without NUL: "${s}"`);
    out.push(code);
  }
  out.push(0x00);
  return out;
}

/** Package(n) { elements... }; each element is an already encoded data object. */
export function pkg(elements: readonly AmlBytes[]): number[] {
  if (elements.length > 255) throw new Error('AML Package with more than 255 elements needs VarPackageOp');
  const body = [elements.length, ...elements.flat()];
  return [PACKAGE_OP, ...pkgLength(body.length), ...body];
}

/** Name(path, object). */
export function name(path: string, object: AmlBytes): number[] {
  return [NAME_OP, ...nameString(path), ...object];
}

/** Scope(path) { terms... }. */
export function scope(path: string, terms: readonly AmlBytes[]): number[] {
  const body = [...nameString(path), ...terms.flat()];
  return [SCOPE_OP, ...pkgLength(body.length), ...body];
}
