// `monitor osv trace save FILE [--perfetto JSON]` from stock gdb against the OSv-shaped guest with
// tracing enabled, stopped mid-run at a breakpoint.
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ElfFile } from '../../src/machine/elf.js';
import { loadDebugInfoFile } from '../../src/osv/dwarf/dwarf-info.js';
import { OsvThreadProvider } from '../../src/osv/threads.js';
import { parseOsvt } from '../../src/osv/trace-osvt.js';
import { guestImage, HAVE_GDB, mark, runGdb, serve, type Served } from './helpers.js';

const ELF = HAVE_GDB ? guestImage('osvlike') : null;
const served: Served[] = [];
afterEach(async () => {
  for (const s of served.splice(0)) await s.close();
});

describe.skipIf(!ELF)('monitor osv trace save', () => {
  it('writes the buffers as they are at the stop, in OSVT and Perfetto JSON', async () => {
    const debug = loadDebugInfoFile(ELF!);
    const kernelElf = ElfFile.parse(readFileSync(ELF!));
    const s = await serve(ELF!, { cpus: 2, cmdline: '--trace=sched*,elf* --demo', threads: (target) => new OsvThreadProvider({ target, debug, kernelElf }) });
    served.push(s);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'osvemu-trace-gdb-'));
    const osvt = path.join(dir, 'stop.osvt');
    const json = path.join(dir, 'stop.json');
    const r = await runGdb(s.port, ELF, [
      'break demo_checkpoint if n == 3', 'continue',
      mark('save'), `monitor osv trace save ${osvt} --perfetto ${json}`,
      mark('bad'), 'monitor osv trace', `monitor osv trace save ${path.join(dir, 'no', 'x.osvt')}`,
      mark('end'), 'kill',
    ], { timeoutMs: 120_000 });
    if (process.env.GDB_SHOW) console.log(r.output);
    expect(r.output).toMatch(/\d+ trace samples \(\d+\+\d+ on 2 CPUs, 11 tracepoints\) written to .*stop\.osvt \(\d+ bytes\) and Perfetto JSON .*stop\.json/);
    expect(r.output).toMatch(/usage: osv trace save FILE \[--perfetto JSON\]/);
    expect(r.output).toMatch(/osv trace save: cannot write .*x\.osvt: ENOENT/);
    const dump = parseOsvt(readFileSync(osvt));
    const all = dump.cpus.flat();
    // Stopped after libhello.so was loaded on cpu 1.
    expect(all.find((x) => x.tp.name === 'elf_load')).toMatchObject({ cpu: 1, threadName: 'demo_a', args: ['libhello.so'] });
    expect(JSON.parse(readFileSync(json, 'utf8')).traceEvents.length).toBeGreaterThan(all.length);
  }, 150_000);
});
