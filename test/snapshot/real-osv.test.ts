// A real OSv kernel snapshotted mid-boot with its virtio devices (virtio-blk with the qcow2 usr.img,
// virtio-rng), restored through the file format: it runs on to the same console and instruction
// count as the uninterrupted run. Skipped unless OSV_KERNEL names a kernel; OSV_DISK adds its disk
// (hello-rofs), OSV_RAMFS_KERNEL a second, disk-less kernel (hello-ramfs: virtio-rng only). The
// command line is the `cmdline` file beside each kernel (else "--rootfs=rofs /hello" / "/hello").
// OSV_SNAPSHOT_MODERN=1 repeats the first case with modern virtio devices. Prints the snapshot size
// and the save and restore times.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDisk } from '../../src/devices/backends/disk-open.js';
import { SeededEntropy } from '../../src/devices/backends/entropy.js';
import { Machine } from '../../src/machine/machine.js';
import { decodeSnapshot, encodeSnapshot } from '../../src/machine/snapshot-file.js';
import { captureMachine, machineFromSnapshot, stateHash } from '../../src/machine/snapshot-state.js';

interface Case { name: string; kernel: string; disk: string | null; cmdline: string; modern?: boolean }

function cmdlineBeside(path: string, fallback: string): string {
  const f = join(dirname(path), 'cmdline');
  return existsSync(f) ? readFileSync(f, 'utf8').trim() : fallback;
}

const cases: Case[] = [];
const k = process.env.OSV_KERNEL ?? '', d = process.env.OSV_DISK ?? '', r = process.env.OSV_RAMFS_KERNEL ?? '';
if (k !== '' && existsSync(k)) {
  const disk = d !== '' && existsSync(d) ? d : null;
  cases.push({ name: disk ? 'disk' : 'ramfs', kernel: k, disk, cmdline: cmdlineBeside(disk ?? k, disk ? '--rootfs=rofs /hello' : '/hello') });
  // OSv drives modern devices through the virtio 1.0 capabilities (queue enable, 64-bit ring addresses).
  if (process.env.OSV_SNAPSHOT_MODERN) cases.push({ ...cases[0]!, name: `${cases[0]!.name} (modern virtio)`, modern: true });
}
if (r !== '' && existsSync(r)) cases.push({ name: 'ramfs', kernel: r, disk: null, cmdline: cmdlineBeside(r, '/hello') });

const MAX = 2_000_000_000;

function boot(c: Case): Machine {
  return new Machine({
    kernel: readFileSync(c.kernel), cmdline: c.cmdline, memMiB: 256, rng: new SeededEntropy(0), virtioLog: () => {},
    ...(c.modern ? { virtioMode: 'modern' as const } : {}),
    ...(c.disk ? { disks: [openDisk({ path: c.disk, mode: 'snapshot' })] } : {}),
  });
}

describe.skipIf(cases.length === 0)('snapshots of a real OSv kernel with virtio devices', () => {
  for (const c of cases) {
    it(`${c.name}: snapshots at 1/4, 1/2 and 3/4 of the boot, restored, run on to the same console and instruction count`, async () => {
      const whole = boot(c);
      const rw = await whole.runAsync({ maxInsns: MAX, timeoutMs: 300_000 });
      expect(rw.cause, whole.console).toBe('poweroff');
      const a = boot(c);
      const snaps: { at: number; file: Buffer; saveMs: number }[] = [];
      for (const part of [0.25, 0.5, 0.75]) {
        // A single vCPU runs quanta of up to 2^20 instructions: points may coincide.
        if (a.instructions >= rw.instructions * part) continue;
        await a.runAsync({ maxInsns: Math.floor(rw.instructions * part) });
        const t0 = performance.now();
        snaps.push({ at: a.instructions, file: encodeSnapshot(captureMachine(a)), saveMs: performance.now() - t0 });
      }
      const ra = await a.runAsync({ maxInsns: MAX, timeoutMs: 300_000 });
      expect(ra.instructions).toBe(rw.instructions);
      for (const { at, file, saveMs } of snaps) {
        const t0 = performance.now();
        const b = machineFromSnapshot(decodeSnapshot(file));
        const restoreMs = performance.now() - t0;
        const rb = await b.runAsync({ maxInsns: MAX, timeoutMs: 300_000 });
        expect(rb.cause).toBe('poweroff');
        expect(rb.instructions).toBe(rw.instructions);
        expect(rb.virtualNs).toBe(rw.virtualNs);
        expect(b.console).toBe(whole.console);
        expect(stateHash(b)).toBe(stateHash(a));
        process.stdout.write(`real OSv ${c.name}: snapshot at ${at} of ${rw.instructions} instructions: ${file.length} bytes, ` +
          `save ${saveMs.toFixed(0)} ms, restore ${restoreMs.toFixed(0)} ms\n`);
      }
    }, 600_000);
  }
});
