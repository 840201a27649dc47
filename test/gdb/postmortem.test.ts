// QEMU users attach gdb after the fact: with --gdb, a guest that aborts (every vCPU halted with interrupts
// off) stays inspectable until a debugger has attached and left; then the run ends with the abort status.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { guestImage, HAVE_GDB, mark, runGdb, section, startCli, VITE_NODE } from './helpers.js';

const ELF = HAVE_GDB && existsSync(VITE_NODE) ? guestImage('osvlike') : null;

describe.skipIf(!ELF)('osvemu run --gdb after a guest abort', () => {
  it('waits for gdb, shows the OSv threads on both halted vCPUs, and exits with status 3 after detach', async () => {
    const cli = startCli(['run', ELF!, '-c', '2', '-e', '--abort', '--gdb', '127.0.0.1:0']);
    try {
      const port = await cli.port(/gdb stub on 127\.0\.0\.1:(\d+)[\s\S]*waiting for gdb to inspect it/, 'CLI ended before gdb attached');
      expect(cli.output).toContain('[backtrace]');
      const r = await runGdb(port, ELF, [mark('threads'), 'info threads', mark('bt'), 'thread 1', 'bt 2', 'detach']);
      const threads = section(r.output, 'threads');
      // osvlike.elf has DWARF: gdb's threads are the OSv threads (src/osv/threads.ts).
      expect(threads).toMatch(/Thread \d+ "aborter" \(running on vCPU 1, in osv::halt\)/);
      expect(threads).toMatch(/Thread 1 "idle0" \(running on vCPU 0, in nmi\)/);
      expect(section(r.output, 'bt')).toMatch(/halt_no_interrupts/);
      expect(await cli.exited).toBe(3);
    } finally {
      cli.kill();
    }
  }, 120_000);
});
