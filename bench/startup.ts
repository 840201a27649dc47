// The fixed cost of a cold `osvemu run` (issue 12): Node's own start and exit, the bundle with its code
// cache, building the machine, and exiting, timed on a kernel that leaves through the isa-debug-exit port at
// its first instructions, next to `node -e 0`. Whatever a real boot costs beyond this is the guest's run
// (V8 warming up on it). Built with the machine's as/ld; null without them.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { assemblePvhKernel } from './pvh-kernel.js';
import { median, timed } from './suite-host.js';

type Timed = ReturnType<typeof timed>;

/** Leaves through the isa-debug-exit port (0xf4) at its first instruction. */
const EXIT_BODY = 'mov $0, %al\n  out %al, $0xf4\n1: hlt\n  jmp 1b';

export interface StartupFigures { osvemu: { wallS: number; cpuS: number }; node: { wallS: number; cpuS: number } }

/** Median of `runs` turns of `osvemu run EXIT-KERNEL` and `node -e 0` (one unmeasured turn fills the code cache). */
export function startupCost(cli: string, runs: number): StartupFigures | null {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'osvemu-startup-'));
  try {
    let elf: string;
    try {
      elf = assemblePvhKernel(dir, 'exit', EXIT_BODY);
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
