// The project's own default guest (images/osvlike), built from source with the machine's gcc on first use.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the nearest folder above this file whose package.json names osvemu. */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).name === 'osvemu') return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the osvemu repository root (images/ sources are needed to build the default guest)');
    dir = up;
  }
}

/** Builds (if needed) and returns the path of one of the project's guest images, e.g. "osvlike". */
export function buildGuest(name: string): string {
  const root = repoRoot();
  const out = path.join(root, 'build', 'images');
  const target = path.join(out, `${name}.elf`);
  try {
    execFileSync('make', ['-s', '-C', path.join(root, 'images'), `OUT=${out}`, target], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    const last = (err.stderr || err.message).trim().split('\n').pop();
    throw new Error(`building the ${name} guest failed: ${last}`);
  }
  return target;
}
