// The fixed cost of a cold `osvemu run` (issue 12): Node's own start and exit, the bundle with its code
// cache, building the machine, and exiting, timed on a kernel that leaves through the isa-debug-exit port at
// its first instructions, next to `node -e 0`. Whatever a real boot costs beyond this is the guest's run
// (V8 warming up on it). Built with the machine's as/ld; null without them.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { median, timed } from './suite-host.js';

type Timed = ReturnType<typeof timed>;

const EXIT_KERNEL = `
  .section .note.Xen, "a"
  .p2align 2
  .long 4, 4, 18
  .asciz "Xen"
  .long _start
  .text
  .code32
  .globl _start
_start:
  mov $0, %al
  out %al, $0xf4
1: hlt
  jmp 1b
`;

export interface StartupFigures { osvemu: { wallS: number; cpuS: number }; node: { wallS: number; cpuS: number } }

/** Median of `runs` turns of `osvemu run EXIT-KERNEL` and `node -e 0` (one unmeasured turn fills the code cache). */
export function startupCost(cli: string, runs: number): StartupFigures | null {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'osvemu-startup-'));
  try {
    const elf = path.join(dir, 'exit.elf');
    try {
      writeFileSync(path.join(dir, 'exit.S'), EXIT_KERNEL);
      execFileSync('as', ['--64', '-o', path.join(dir, 'exit.o'), path.join(dir, 'exit.S')], { stdio: 'ignore' });
      execFileSync('ld', ['-static', '-nostdlib', '-Ttext=0x200000', '-e', '_start', '-o', elf, path.join(dir, 'exit.o')], { stdio: 'ignore' });
    } catch {
      return null;
    }
    const osvemu = [process.execPath, cli, 'run', elf], node = [process.execPath, '-e', '0'];
    timed(osvemu);
    const o: Timed[] = [], n: Timed[] = [];
    for (let k = 0; k < runs; k++) {
      o.push(timed(osvemu));
      n.push(timed(node));
    }
    const fig = (t: Timed[]) => ({ wallS: median(t.map((r) => r.wallS)), cpuS: median(t.map((r) => r.cpuS)) });
    return { osvemu: fig(o), node: fig(n) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
