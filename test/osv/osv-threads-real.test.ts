// OSv threads in stock gdb against a real OSv kernel (src/osv/threads.ts with the DWARF of its
// loader.elf), -c 2. Skipped unless gdb runs and OSV_KERNEL (loader-stripped.elf) and
// OSV_LOADER_ELF (the matching loader.elf) are set. Optional: OSV_CMDLINE (default "/hello"),
// GDB_SHOW=1 prints gdb's output.
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { ElfFile } from '../../src/machine/elf.js';
import { loadDebugInfoFile } from '../../src/osv/dwarf/dwarf-info.js';
import { OsvThreadProvider } from '../../src/osv/threads.js';
import { gdbScript, HAVE_GDB, mark, runGdb, section, serve, type Served } from '../gdb/helpers.js';

const KERNEL = process.env.OSV_KERNEL ?? '';
const LOADER_ELF = process.env.OSV_LOADER_ELF ?? '';
const CMDLINE = process.env.OSV_CMDLINE ?? '/hello';
const READY = HAVE_GDB && existsSync(KERNEL) && existsSync(LOADER_ELF);

describe.skipIf(!READY)('OSv threads in gdb against a real OSv kernel', () => {
  const served: Served[] = [];
  afterAll(async () => {
    for (const s of served) await s.close();
  });

  it('threads by name, bt of waiting threads, a __thread variable per thread, stepi stays on its thread, monitor osv', async () => {
    const debug = loadDebugInfoFile(LOADER_ELF);
    const kernelElf = ElfFile.parse(readFileSync(KERNEL));
    const s = await serve(KERNEL, {
      cpus: 2, cmdline: CMDLINE, memMiB: 256,
      threads: (target) => new OsvThreadProvider({ target, debug, kernelElf }),
    });
    served.push(s);
    const r = await runGdb(s.port, LOADER_ELF, [
      'break sched::thread::sleep', 'continue', 'delete',
      mark('threads'), 'info threads',
      mark('bt'), 'thread apply all bt 3',
      mark('tls'), 'thread apply all -s p sched::preempt_counter',
      mark('monitor'), 'monitor osv threads', 'monitor osv syms', 'monitor osv memory', 'monitor osv mmap',
      'monitor osv percpu workman::_work_sheriff',
      mark('steps'), gdbScript(['set $i = 0', 'while $i < 30', 'stepi', 'printf "STEP %lx %d\\n", $pc, $_thread', 'set $i = $i + 1', 'end']),
      'kill',
    ], { timeoutMs: 240_000 });
    if (process.env.GDB_SHOW) console.log(r.output);
    const threads = section(r.output, 'threads');
    for (const name of ['reclaimer', 'idle0', 'page_pool_l2']) expect(threads).toMatch(new RegExp(`Thread \\d+ "${name}" \\(`));
    expect(threads).toMatch(/\((running on vCPU 0|waiting on cpu 0|queued on cpu 0), in /);
    const bt = section(r.output, 'bt');
    expect(bt).toMatch(/#0\s+(0x[0-9a-f]+ in )?sched::thread::switch_to/);
    expect(bt).toMatch(/sched::thread::wait/);
    expect(section(r.output, 'tls')).toMatch(/\$\d+ = [01]\n/);
    expect(r.output).toMatch(/^\s+\d+\s+0x[0-9a-f]{16}\s+idle0\s+cpu0/m);
    expect(r.output).toMatch(/Total Memory: \d+ Bytes/);
    // Early in the boot the list holds only its two sentinels (the empty areas at 0 and 0x400000000000).
    expect(r.output).toMatch(/^0x0000400000000000 0x0000400000000000 \[0 kB\]\s+flags=none\s+perm=none/m);
    expect(r.output).toMatch(/^CPU 1: \(.*\) at 0x[0-9a-f]+: [0-9a-f]+/m);
    const stepped = section(r.output, 'steps').match(/^STEP .*$/gm) ?? [];
    expect(stepped.length).toBe(30);
    expect(new Set(stepped.map((l) => l.split(' ')[2])).size).toBe(1);
  }, 300_000);
});
