// `osvemu run -S --gdb HOST:PORT` end to end: the CLI (run from source through vite-node) waits
// before the first instruction, gdb breaks in 32-bit and 64-bit code of a bare guest, and the guest's
// exit reaches both gdb and the CLI's exit status.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseRunArgs } from '../../src/cli/args.js';
import { guestImage, HAVE_GDB, mark, runGdb, section, startCli, VITE_NODE } from './helpers.js';

const ELF = HAVE_GDB && existsSync(VITE_NODE) ? guestImage('boot64') : null;

describe('gdb options', () => {
  it('parses -s, --gdb [HOST:]PORT and QEMU spellings', () => {
    expect(parseRunArgs(['-s']).gdb).toEqual({ host: '127.0.0.1', port: 1234 });
    expect(parseRunArgs(['--gdb', '4321']).gdb).toEqual({ host: '127.0.0.1', port: 4321 });
    expect(parseRunArgs(['--gdb', '0.0.0.0:5000', '-S']).gdb).toEqual({ host: '0.0.0.0', port: 5000 });
    expect(parseRunArgs(['--gdb=tcp::1235']).gdb).toEqual({ host: '127.0.0.1', port: 1235 });
    expect(parseRunArgs(['-S']).stopAtStart).toBe(true);
    expect(() => parseRunArgs(['--gdb', 'host:port'])).toThrow(/--gdb: invalid port/);
  });
});

describe.skipIf(!ELF)('osvemu run -S --gdb', () => {
  it('stops before the first instruction, breaks in 32- and 64-bit code, and reports the exit', async () => {
    const cli = startCli(['run', ELF!, '-S', '--gdb', '127.0.0.1:0']);
    try {
      const port = await cli.port(/gdb stub on 127\.0\.0\.1:(\d+): stopped before the first instruction/, 'CLI ended early');
      expect(cli.output).not.toMatch(/boot64:/); // nothing ran yet
      const r = await runGdb(port, ELF, [
        mark('start'), 'p (long)$pc == (long)&pvh_entry32', 'break enter_long_mode', 'break guest_main',
        mark('c1'), 'continue', 'p/x $cr0',
        mark('c2'), 'continue', 'bt',
        mark('end'), 'delete', 'continue',
      ]);
      if (process.env.GDB_SHOW) console.log(r.output);
      expect(section(r.output, 'start')).toMatch(/\$1 = 1\n/);
      const c1 = section(r.output, 'c1');
      expect(c1).toMatch(/Breakpoint 1, enter_long_mode \(\)/); // 32-bit protected mode, before paging
      expect(c1).toMatch(/\$2 = 0x1\n/);
      const c2 = section(r.output, 'c2');
      expect(c2).toMatch(/Breakpoint 2, guest_main \(\) at bare\/boot64\.c/);
      expect(c2).toMatch(/#1\s+0x[0-9a-f]+ in bare_entry/);
      // The guest ends on the debug-exit port: gdb and the CLI's exit status agree on the status.
      const m = /\[Inferior 1 \(Remote target\) exited (normally|with code (\d+))\]/.exec(section(r.output, 'end'));
      expect(m, r.output).not.toBeNull();
      expect(await cli.exited).toBe(m![2] === undefined ? 0 : parseInt(m![2], 8));
      expect(cli.output).toMatch(/boot64: hello from COM1/);
    } finally {
      cli.kill();
    }
  }, 90_000);
});
