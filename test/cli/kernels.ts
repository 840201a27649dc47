// Helpers of the CLI tests: the built `osvemu` command, and minimal PVH kernels assembled with the host's as/ld.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../../src/cli/guest.js';

export const CLI = path.join(repoRoot(), 'dist', 'src', 'cli', 'main.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'osvemu-cli-kernels-'));

/** A minimal PVH kernel: the Xen entry note and 32-bit code at 0x200000 running `body`. */
export function pvhKernel(name: string, body: string): string {
  const src = path.join(tmp, `${name}.S`), obj = path.join(tmp, `${name}.o`), elf = path.join(tmp, `${name}.elf`);
  writeFileSync(src, `
  .section .note.Xen, "a"
  .p2align 2
  .long 4, 4, 18
  .asciz "Xen"
  .long _start
  .text
  .code32
  .globl _start
_start:
  ${body}
`);
  execFileSync('as', ['--64', '-o', obj, src]);
  execFileSync('ld', ['-static', '-nostdlib', '-Ttext=0x200000', '-e', '_start', '-o', elf, obj]);
  return elf;
}

export function osvemu(...args: string[]) {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first`);
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
}
