// virtio-rng gives the guest the seeded stream (same seed, same bytes), and a hostile guest's
// malformed descriptor chains put virtio-blk into needs-reset with one line each, never a throw.
import { describe, expect, it } from 'vitest';
import { RawDisk } from '../../src/devices/backends/disk-raw.js';
import { OverlayDisk } from '../../src/devices/backends/disk-overlay.js';
import { SeededEntropy } from '../../src/devices/backends/entropy.js';
import { toolchainAvailable } from '../images/build.js';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runVirtioGuest } from './guest.js';

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

describe.skipIf(!toolchainAvailable())('virtio-rng, INTx and a hostile guest', () => {
  it('virtio-rng: the bytes are the seed\'s stream; another seed gives other bytes', () => {
    const runs = [1, 1, 2].map((seed) => runVirtioGuest('rng', { rng: new SeededEntropy(seed) }));
    for (const g of runs) expect(g.fails).toEqual([]);
    const rngLines = runs.map((g) => g.lines('RNG').map((l) => l[0]));
    const expected = new Uint8Array(64);
    new SeededEntropy(1).fill(expected.subarray(0, 32));
    const s = new SeededEntropy(1);
    s.fill(expected.subarray(0, 32));
    s.fill(expected.subarray(32));
    expect(rngLines[0]).toEqual([hex(expected.subarray(0, 32)), hex(expected.subarray(32))]);
    expect(rngLines[1]).toEqual(rngLines[0]);
    expect(rngLines[2]![0]).not.toBe(rngLines[0]![0]);
    // rng is plugged after the disks: alone it takes the first device slot.
    expect(runs[0]!.m.virtioDevices.map((d) => d.transport.label)).toEqual(['virtio-rng 00:03.0']);
  });

  it('INTx: with MSI-X left off the device interrupts through its PCI interrupt line and the ISR', () => {
    const path = join(tmpdir(), `osvemu-intx-${process.pid}.raw`);
    writeFileSync(path, new Uint8Array(64 * 1024));
    const g = runVirtioGuest('intx', { disks: [new OverlayDisk(new RawDisk(path, false))] });
    expect(g.fails).toEqual([]);
    expect(g.out).toMatch(/^PASS intx-interrupts/m);
    expect(g.lines('CAPACITY')).toEqual([['128']]);
    expect(g.lines('INTX')).toEqual([['gsi', '11']]); // slot 3, INTA: GSI [10, 10, 11, 11][(3 + 1 - 1) & 3]
  });

  it('malformed chains: needs-reset and one line each, the guest resets the device and goes on', () => {
    const path = join(tmpdir(), `osvemu-hostile-${process.pid}.raw`);
    writeFileSync(path, new Uint8Array(64 * 1024));
    const g = runVirtioGuest('hostile', { disks: [new OverlayDisk(new RawDisk(path, false))], rng: new SeededEntropy(0) });
    expect(g.fails).toEqual([]);
    expect(g.out).toMatch(/^DONE 23 passed 0 failed/m);
    expect(g.log).toHaveLength(5);
    for (const l of g.log) expect(l).toMatch(/^osvemu: virtio-blk 00:03\.0: .*; device needs reset$/);
    expect(g.log[0]).toMatch(/outside RAM/);
    expect(g.log[1]).toMatch(/loops back/);
    expect(g.log[2]).toMatch(/bad table length 40/);
    expect(g.log[3]).toMatch(/longer than its 8-entry table/);
    expect(g.log[4]).toMatch(/no 16-byte header/);
    expect(g.m.virtioDevices.map((d) => d.transport.label)).toEqual(['virtio-blk 00:03.0', 'virtio-rng 00:04.0']);
  });
});
