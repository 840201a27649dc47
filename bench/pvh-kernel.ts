// A minimal PVH kernel assembled with the host's as/ld: the Xen entry note and 32-bit code at 0x200000 running
// `body`. Shared by the CLI tests (test/cli/kernels.ts) and the start-up benchmark (bench/startup.ts).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

/** Assembles `body` into DIR/NAME.elf and returns its path; throws when as or ld fails. */
export function assemblePvhKernel(dir: string, name: string, body: string): string {
  const src = path.join(dir, `${name}.S`), obj = path.join(dir, `${name}.o`), elf = path.join(dir, `${name}.elf`);
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
  execFileSync('as', ['--64', '-o', obj, src], { stdio: ['ignore', 'ignore', 'pipe'] });
  execFileSync('ld', ['-static', '-nostdlib', '-Ttext=0x200000', '-e', '_start', '-o', elf, obj], { stdio: ['ignore', 'ignore', 'pipe'] });
  return elf;
}
