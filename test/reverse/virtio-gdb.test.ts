// --record with stock gdb on the virtio guest reading its disk (virtio-blk with MSI-X, writes kept in
// memory): reverse-stepi/stepi in the middle of disk I/O come back to the same machine, and
// reverse-continue finds the previous completion interrupt, replayed from checkpoints holding the
// device state.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openDisk } from '../../src/devices/backends/disk-open.js';
import { SeededEntropy } from '../../src/devices/backends/entropy.js';
import { GdbServer } from '../../src/gdbstub/server.js';
import { MachineGdbTarget } from '../../src/machine/gdb-target.js';
import { Machine } from '../../src/machine/machine.js';
import { guestImage, HAVE_GDB, mark, runGdb, section } from '../gdb/helpers.js';

const ELF = HAVE_GDB ? guestImage('virtio') : null;
const dir = mkdtempSync(join(tmpdir(), 'osvemu-vgdb-'));
const servers: GdbServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hash = (s: string) => /state hash ([0-9a-f]+) at (\d+) instructions/.exec(s)?.slice(1);

describe.skipIf(!ELF)('reverse execution under gdb with virtio-blk', () => {
  it('reverse-stepi x30 then stepi x30 during disk I/O is the same machine; reverse-continue stops at the previous completion interrupt', async () => {
    const raw = join(dir, 'disk.raw');
    writeFileSync(raw, Buffer.alloc(1 << 20, 0x21));
    const machine = new Machine({
      kernel: readFileSync(ELF!), cmdline: 'blk', memMiB: 64, disks: [openDisk({ path: raw, mode: 'snapshot' })], rng: new SeededEntropy(1),
      debugOut: () => {},
    });
    const target = new MachineGdbTarget(machine, { record: { interval: 50_000 }, sliceInsns: 50_000 });
    const server = new GdbServer({ target });
    servers.push(server);
    const { port } = await server.listen('127.0.0.1', 0);
    const r = await runGdb(port, ELF, [
      'break blk_rw', 'continue', 'continue', 'continue', 'continue', 'delete', 'stepi 20',
      mark('before'), 'monitor state-hash',
      'reverse-stepi 30', mark('back'), 'monitor state-hash',
      'stepi 30', mark('after'), 'monitor state-hash',
      'break irq_handler', 'reverse-continue', mark('rc'), 'p $pc', 'monitor state-hash',
      'continue', mark('fwd'), 'monitor state-hash',
      mark('status'), 'monitor record status', 'kill',
    ], { timeoutMs: 120_000 });
    if (process.env.GDB_SHOW) console.log(r.output);
    const before = hash(section(r.output, 'before'))!;
    expect(before, r.output).toBeDefined();
    expect(Number(hash(section(r.output, 'back'))![1])).toBe(Number(before[1]) - 30);
    expect(hash(section(r.output, 'after'))).toEqual(before);
    expect(section(r.output, 'rc')).toMatch(/<irq_handler>/);
    const rc = Number(hash(section(r.output, 'rc'))![1]);
    expect(rc).toBeLessThan(Number(before[1]));
    // Forward again: the next completion interrupt after that one, or back at the live end.
    expect(Number(hash(section(r.output, 'fwd'))![1])).toBeGreaterThan(rc);
    expect(r.output).toMatch(/no divergence/);
    expect(target.recorder!.divergences).toEqual([]);
  }, 180_000);
});
