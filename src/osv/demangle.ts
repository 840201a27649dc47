// C++ names for people: profiles show `memory::pool::alloc()` rather than `_ZN6memory4pool5allocEv`. The
// Itanium ABI's demangler is binutils' c++filt (installed with gcc, which builds OSv); one process demangles
// every name of a profile. Without it names stay mangled, as OSv's own backtraces print them.
import { spawnSync } from 'node:child_process';

/** Demangled form of each mangled name in names (the others map to themselves). */
export function demangleAll(names: Iterable<string>): Map<string, string> {
  const out = new Map<string, string>();
  const mangled: string[] = [];
  for (const n of names) {
    out.set(n, n);
    if (n.startsWith('_Z') && !n.includes('\n')) mangled.push(n);
  }
  if (mangled.length === 0) return out;
  const r = spawnSync('c++filt', { input: mangled.join('\n') + '\n', encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.status !== 0 || typeof r.stdout !== 'string') return out;
  const lines = r.stdout.split('\n');
  if (lines.length < mangled.length) return out;
  mangled.forEach((n, i) => out.set(n, lines[i]!));
  return out;
}
