// Helpers of the CLI tests: the built `osvemu` command, and minimal PVH kernels assembled with the host's as/ld.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../../src/cli/guest.js';
import { assemblePvhKernel } from '../../bench/pvh-kernel.js';

export const CLI = path.join(repoRoot(), 'dist', 'src', 'cli', 'main.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'osvemu-cli-kernels-'));

/** A minimal PVH kernel: the Xen entry note and 32-bit code at 0x200000 running `body`. */
export function pvhKernel(name: string, body: string): string {
  return assemblePvhKernel(tmp, name, body);
}

export function osvemu(...args: string[]) {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first`);
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
}
