// The project's own default guest (images/osvlike), built from source with the machine's gcc on first use.
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { childProcess } from '../node-lazy.js';

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

/**
 * build/images in the package, or a per-version folder of the user's cache when the package cannot be
 * written (a global install owned by root).
 */
function imagesOutDir(root: string): string {
  try {
    accessSync(existsSync(path.join(root, 'build')) ? path.join(root, 'build') : root, constants.W_OK);
    return path.join(root, 'build', 'images');
  } catch {
    const version = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).version as string;
    const cache = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
    return path.join(cache, 'osvemu', version, 'images');
  }
}

/** Builds (if needed) and returns the path of one of the project's guest images, e.g. "osvlike". */
export function buildGuest(name: string): string {
  const root = repoRoot();
  const out = imagesOutDir(root);
  const target = path.join(out, `${name}.elf`);
  try {
    childProcess().execFileSync('make', ['-s', '-C', path.join(root, 'images'), `OUT=${out}`, target], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    const last = (err.stderr || err.message).trim().split('\n').pop();
    throw new Error(`building the ${name} guest failed: ${last}`);
  }
  return target;
}
