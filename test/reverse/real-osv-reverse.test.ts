// Reverse execution under stock gdb on a real OSv kernel with its virtio devices: the rofs usr.img on
// virtio-blk (writes kept in memory) and virtio-rng drawing host entropy, so replays need the device
// state in the checkpoints and the entropy tape. Skipped unless OSV_KERNEL, OSV_DISK and
// OSV_LOADER_ELF (the unstripped loader.elf, for symbols) name a build; the command line is the
// `cmdline` file beside the disk (else "--rootfs=rofs /hello").
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDisk } from '../../src/devices/backends/disk-open.js';
import { entropyFrom } from '../../src/devices/backends/entropy.js';
import { GdbServer } from '../../src/gdbstub/server.js';
import { MachineGdbTarget } from '../../src/machine/gdb-target.js';
import { Machine } from '../../src/machine/machine.js';
import { HAVE_GDB, mark, runGdb, section } from '../gdb/helpers.js';

const kernel = process.env.OSV_KERNEL ?? '', disk = process.env.OSV_DISK ?? '', loader = process.env.OSV_LOADER_ELF ?? '';
const have = HAVE_GDB && [kernel, disk, loader].every((p) => p !== '' && existsSync(p));
const servers: GdbServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

const hash = (s: string) => /state hash ([0-9a-f]+) at (\d+) instructions/.exec(s)?.slice(1);

describe.skipIf(!have)('reverse execution on a real OSv kernel with virtio-blk and virtio-rng', () => {
  it('reverse-stepi x100 then stepi x100 in the middle of disk I/O is the same machine; reverse-continue finds the previous request', async () => {
    const f = join(dirname(disk), 'cmdline');
    const cmdline = existsSync(f) ? readFileSync(f, 'utf8').trim() : '--rootfs=rofs /hello';
    const machine = new Machine({
      kernel: readFileSync(kernel), cmdline, memMiB: 256, disks: [openDisk({ path: disk, mode: 'snapshot' })], rng: entropyFrom('host'),
      virtioLog: () => {},
    });
    const target = new MachineGdbTarget(machine, { record: { interval: 1_000_000 } });
    const server = new GdbServer({ target });
    servers.push(server);
    const { port } = await server.listen('127.0.0.1', 0);
    const t0 = performance.now();
    const r = await runGdb(port, loader, [
      'break virtio::blk::make_request', 'continue', 'continue', 'continue', 'delete', 'stepi 5',
      mark('before'), 'monitor state-hash',
      'reverse-stepi 100', mark('back'), 'monitor state-hash',
      'stepi 100', mark('after'), 'monitor state-hash',
      'break virtio::blk::make_request', 'reverse-continue', mark('rc1'), 'monitor state-hash', 'reverse-continue', mark('rc'), 'p $pc', 'monitor state-hash',
      'continue', mark('fwd'), 'p $pc', 'monitor state-hash',
      mark('status'), 'monitor record status', 'kill',
    ], { timeoutMs: 400_000 });
    const ms = performance.now() - t0;
    if (process.env.GDB_SHOW) console.log(r.output);
    const before = hash(section(r.output, 'before'))!;
    const back = hash(section(r.output, 'back'))!;
    expect(before, r.output).toBeDefined();
    expect(Number(back[1])).toBe(Number(before[1]) - 100);
    expect(hash(section(r.output, 'after'))).toEqual(before);
    // Back to the request we stepped into (5 instructions before `before`), then the one before it.
    expect(Number(hash(section(r.output, 'rc1'))![1])).toBe(Number(before[1]) - 5);
    expect(section(r.output, 'rc')).toMatch(/virtio::blk::make_request/);
    expect(Number(hash(section(r.output, 'rc'))![1])).toBeLessThan(Number(before[1]) - 5);
    // Forward from there: the request we started from again.
    expect(section(r.output, 'fwd')).toMatch(/virtio::blk::make_request/);
    expect(Number(hash(section(r.output, 'fwd'))![1])).toBe(Number(before[1]) - 5);
    expect(section(r.output, 'status')).toMatch(/no divergence/);
    expect(r.output).toMatch(/host entropy draw/);
    expect(target.recorder!.divergences).toEqual([]);
    process.stdout.write(`real OSv reverse (virtio-blk + host-entropy rng): gdb session ${(ms / 1000).toFixed(1)} s at ${before[1]} instructions; ` +
      `${target.recorder!.status().split('\n')[0]}; ${target.recorder!.replays} replays, ${target.recorder!.replayedInsns} instructions replayed\n`);
  }, 500_000);
});
