// Host-checked layouts: a C++ program built natively with the host g++ prints offsetof/sizeof for
// member paths (and bit positions of bit-fields), so the DWARF reader's figures are compared with
// the compiler's, not hand-written.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A type as the reader names it and, when different, as the C++ program spells it. */
export type TypeSpelling = string | [dwarf: string, cxx: string];
export const dwarfName = (t: TypeSpelling): string => (typeof t === 'string' ? t : t[0]);
const cxxName = (t: TypeSpelling): string => (typeof t === 'string' ? t : t[1]);

export interface NativeLayout {
  /** `${dwarf type}|${path}` -> offsetof and sizeof. */
  offsets: Map<string, { offset: number; size: number }>;
  /** dwarf type -> sizeof. */
  sizes: Map<string, number>;
  /** `${dwarf type}|${field}` -> first bit (from the start of the object) and width of a bit-field. */
  bits: Map<string, { bit: number; width: number }>;
  /** The native program (linked with `objects`), for reading its own DWARF. */
  exe: string;
}

export function tempDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'osvemu-dwarf-'));
}

export async function gxx(args: string[]): Promise<void> {
  await run('g++', args, { maxBuffer: 1 << 24 });
}

/**
 * Builds and runs a native program that includes `prelude` (headers or code), linked with
 * `objects`, printing offsetof/sizeof of each [type, member path], sizeof of each type and the
 * bit position/width of each [type, bit-field]. Private members are reachable (-fno-access-control).
 */
export async function nativeLayout(
  prelude: string,
  members: [TypeSpelling, string][],
  types: TypeSpelling[],
  bitfields: [TypeSpelling, string][] = [],
  objects: string[] = [],
): Promise<NativeLayout> {
  const dir = tempDir();
  const T = (t: TypeSpelling): string => `osvemu_id<${cxxName(t)}>::type`;
  const lines = [
    '#include <cstdio>',
    '#include <cstddef>',
    '#include <cstring>',
    prelude,
    'template <class T> struct osvemu_id { using type = T; };',
    'int main() {',
    ...members.map(([t, m], i) => `  printf("M ${i} %zu %zu\\n", (size_t)__builtin_offsetof(${T(t)}, ${m}), sizeof(((${T(t)}*)0)->${m}));`),
    ...types.map((t, i) => `  printf("S ${i} %zu\\n", sizeof(${T(t)}));`),
    ...bitfields.map(([t, f], i) => [
      `  { static unsigned char buf[sizeof(${T(t)})]; auto* o = reinterpret_cast<${T(t)}*>(buf); memset(buf, 0, sizeof buf);`,
      `    o->${f} = ~0ull; int first = -1, width = 0;`,
      `    for (unsigned b = 0; b < sizeof buf * 8; b++) if (buf[b / 8] >> (b % 8) & 1) { if (first < 0) first = b; width++; }`,
      `    printf("B ${i} %d %d\\n", first, width); }`,
    ].join('\n')),
    '}',
  ];
  const src = path.join(dir, 'layout.cc');
  writeFileSync(src, lines.join('\n'));
  const exe = path.join(dir, 'layout');
  await gxx(['-std=gnu++17', '-w', '-fno-access-control', '-o', exe, src, ...objects]);
  const { stdout } = await run(exe, [], { encoding: 'utf8' });
  const offsets = new Map<string, { offset: number; size: number }>();
  const sizes = new Map<string, number>();
  const bits = new Map<string, { bit: number; width: number }>();
  for (const line of stdout.trim().split('\n')) {
    const [k, i, a, b] = line.split(' ');
    if (k === 'M') {
      const [t, m] = members[Number(i)]!;
      offsets.set(`${dwarfName(t)}|${m}`, { offset: Number(a), size: Number(b) });
    } else if (k === 'S') sizes.set(dwarfName(types[Number(i)]!), Number(a));
    else if (k === 'B') {
      const [t, f] = bitfields[Number(i)]!;
      bits.set(`${dwarfName(t)}|${f}`, { bit: Number(a), width: Number(b) });
    }
  }
  return { offsets, sizes, bits, exe };
}
