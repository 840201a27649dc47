// The thread list with OSv threads is taken from a roster kept across stops while the thread
// map's version (size, first node, sched::thread::_s_idgen) is unchanged (src/osv/thread-snapshot.ts):
// it must always equal a fresh walk of the thread map, and be reused when nothing joined or left.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ElfFile } from '../../src/machine/elf.js';
import { MachineGdbTarget } from '../../src/machine/gdb-target.js';
import { Machine } from '../../src/machine/machine.js';
import { loadDebugInfoFile } from '../../src/osv/dwarf/dwarf-info.js';
import { OsvThreadProvider } from '../../src/osv/threads.js';
import { guestImage } from '../gdb/helpers.js';
import { TestClient } from '../gdbstub/client.js';

const ELF = guestImage('osvlike');

describe.skipIf(!ELF)('OSv thread roster across stops (osvlike -c 2)', () => {
  it('follows threads joining the map, equals a fresh walk at every stop, is reused while the map is unchanged', async () => {
    const kernel = readFileSync(ELF!);
    const elf = ElfFile.parse(kernel);
    const machine = new Machine({ kernel, cpus: 2, cmdline: '--demo --sleepers=4' });
    const target = new MachineGdbTarget(machine);
    const provider = new OsvThreadProvider({ target, debug: loadDebugInfoFile(ELF!), kernelElf: elf });
    const c = new TestClient(target, { threads: provider });
    await c.request('qSupported:swbreak+;hwbreak+');
    const reg = elf.symbols('.symtab').find((s) => s.name === '_ZN5sched6thread15register_threadEv')!.value.toString(16);
    await c.request(`Z1,${reg},1`);
    const counts: number[] = [];
    for (let i = 0; i < 6; i++) {
      const stop = await c.request('vCont;c', 20_000);
      expect(stop).toMatch(/^T05thread:/);
      const listed = (await c.request('qfThreadInfo')).slice(1).split(',').map((h) => parseInt(h, 16));
      const fresh = provider.kernel.threads().map((t) => t.id);
      // An empty map: threads are vCPUs (1, 2); else vCPUs running no thread of the map come last.
      if (fresh.length === 0) expect(listed).toEqual([1, 2]);
      else expect(listed.filter((id) => id < 0x7fff0000)).toEqual(fresh);
      counts.push(fresh.length);
      // A step inside register_thread changes nothing in the map: the roster is the same object.
      const roster = provider.snapshot().roster;
      const tid = /thread:([0-9a-f]+);/.exec(stop)![1];
      expect(await c.request(`vCont;s:${tid};c`, 20_000)).toMatch(/^T05thread:/);
      if (counts.length > 1) expect(provider.snapshot().roster).toBe(roster);
    }
    // Each stop at register_thread is one thread before the map holds it.
    for (let i = 2; i < counts.length; i++) expect(counts[i]).toBe(counts[i - 1] + 1);
    target.kill();
  }, 60_000);
});
