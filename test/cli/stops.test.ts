// A guest that hits an unimplemented instruction or triple-faults gets a one-line report naming RIP and the
// instruction bytes, and a distinct exit status.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../src/cli/guest.js';

const CLI = path.join(repoRoot(), 'dist', 'src', 'cli', 'main.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'osvemu-stops-'));

/** A minimal PVH kernel: the Xen entry note and 32-bit code at 0x200000 running `body`. */
function pvhKernel(name: string, body: string): string {
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

function osvemu(...args: string[]) {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first`);
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
}

describe('osvemu run: the guest stops abnormally', () => {
  it('an unimplemented instruction: status 8, one line with RIP and the bytes', () => {
    const r = osvemu('run', pvhKernel('unimpl', 'nop; .byte 0x66, 0x0f, 0x38, 0xdc, 0xc1; hlt'));
    expect(r.status).toBe(8);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/unimplemented instruction at .*rip=0x200001 .*bytes: 66 0f 38 dc c1/);
  });

  it('a triple fault: status 4, one line with RIP, the vector chain and the bytes', () => {
    // No IDT was loaded: ud2 finds an empty gate, which escalates to a shutdown.
    const r = osvemu('run', pvhKernel('triple', 'lidt idtr; ud2; idtr: .word 0; .long 0'));
    expect(r.status).toBe(4);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/triple fault at rip=0x20000[0-9a-f].*#UD.*bytes: 0f 0b/);
  });
});
