// Host-checked layouts: a C++ program built natively with the host g++ prints offsetof/sizeof for
// member paths, so the DWARF reader's figures are compared with the compiler's, not hand-written.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface NativeLayout {
  offsets: Map<string, { offset: number; size: number }>;
  sizes: Map<string, number>;
}

/**
 * Builds and runs a native program that includes `prelude` (headers or code) and prints
 * offsetof(T, path)/sizeof for each [type, path] and sizeof(T) for each type.
 */
export function nativeLayout(prelude: string, members: [string, string][], types: string[], flags: string[] = []): NativeLayout {
  const dir = mkdtempSync(path.join(tmpdir(), 'osvemu-dwarf-'));
  const lines = [
    '#include <cstdio>',
    '#include <cstddef>',
    prelude,
    'template <class T> struct osvemu_id { using type = T; };',
    'int main() {',
    ...members.map(([t, m], i) =>
      `  printf("M ${i} %zu %zu\\n", (size_t)offsetof(osvemu_id<${t}>::type, ${m}), sizeof(((osvemu_id<${t}>::type*)0)->${m}));`),
    ...types.map((t, i) => `  printf("S ${i} %zu\\n", sizeof(osvemu_id<${t}>::type));`),
    '}',
  ];
  const src = path.join(dir, 'layout.cc');
  writeFileSync(src, lines.join('\n'));
  const exe = path.join(dir, 'layout');
  execFileSync('g++', ['-std=gnu++17', '-w', '-Wno-invalid-offsetof', ...flags, '-o', exe, src], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = execFileSync(exe, { encoding: 'utf8' });
  const offsets = new Map<string, { offset: number; size: number }>();
  const sizes = new Map<string, number>();
  for (const line of out.trim().split('\n')) {
    const [k, i, a, b] = line.split(' ');
    if (k === 'M') {
      const [t, m] = members[Number(i)]!;
      offsets.set(`${t}|${m}`, { offset: Number(a), size: Number(b) });
    } else sizes.set(types[Number(i)]!, Number(a));
  }
  return { offsets, sizes };
}
