// QEMU users attach gdb after the fact: with --gdb, a guest that aborts (every vCPU halted with interrupts
// off) stays inspectable until a debugger has attached and left; then the run ends with the abort status.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { guestImage, HAVE_GDB, mark, ROOT, runGdb, section } from './helpers.js';

const VITE_NODE = path.join(ROOT, 'node_modules', '.bin', 'vite-node');
const ELF = HAVE_GDB && existsSync(VITE_NODE) ? guestImage('osvlike') : null;

describe.skipIf(!ELF)('osvemu run --gdb after a guest abort', () => {
  it('waits for gdb, shows both halted vCPUs, and exits with status 3 after detach', async () => {
    const cli = spawn(process.execPath, [VITE_NODE, 'src/cli/main.ts', 'run', ELF!, '-c', '2', '-e', '--abort', '--gdb', '127.0.0.1:0'],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    cli.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    cli.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    const exited = new Promise<number | null>((resolve) => cli.on('close', resolve));
    try {
      const port = await new Promise<number>((resolve, reject) => {
        const poll = setInterval(() => {
          const m = /gdb stub on 127\.0\.0\.1:(\d+)[\s\S]*waiting for gdb to inspect it/.exec(out);
          if (m) { clearInterval(poll); resolve(Number(m[1])); }
        }, 50);
        exited.then(() => { clearInterval(poll); reject(new Error(`CLI ended before gdb attached:\n${out}`)); });
      });
      expect(out).toContain('[backtrace]');
      const r = await runGdb(port, ELF, [mark('threads'), 'info threads', mark('bt'), 'thread 1', 'bt 2', 'detach']);
      const threads = section(r.output, 'threads');
      expect(threads).toMatch(/Thread 1 "CPU#0" \(halted\)/);
      expect(threads).toMatch(/Thread 2 "CPU#1" \(halted\)/);
      expect(section(r.output, 'bt')).toMatch(/halt_no_interrupts/);
      expect(await exited).toBe(3);
    } finally {
      cli.kill();
    }
  }, 120_000);
});
