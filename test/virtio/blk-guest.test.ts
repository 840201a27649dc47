// A guest drives virtio-blk through the legacy interface with MSI-X, as OSv does: it reads the
// whole disk (compared with the image's contents on the host), writes and reads back sectors,
// and the user's image file is untouched unless the disk was opened writable.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDisk, openImage, parseDiskSpec } from '../../src/devices/backends/disk-open.js';
import { OverlayDisk } from '../../src/devices/backends/disk-overlay.js';
import { toolchainAvailable } from '../images/build.js';
import { fnv, pattern, runVirtioGuest } from './guest.js';
import { testContent, writeQcow2, type ClusterKind } from './qcow2-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'osvemu-blk-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const SIZE = 1 << 20;
const WRITES = [[8, 8], [1001, 3]] as const;

const qemuImg = (() => {
  try {
    execFileSync('qemu-img', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

interface Image { name: string; path: string; expected: Uint8Array }

function images(): Image[] {
  const content = testContent(SIZE, 7);
  const raw = join(dir, 'disk.raw');
  writeFileSync(raw, content);
  // qcow2 v3, 4 KiB clusters: plain, compressed, zero and unallocated clusters.
  const kinds: ClusterKind[] = ['data', 'compressed', 'zero', 'unallocated'];
  const q3 = join(dir, 'disk-v3.qcow2');
  writeQcow2(q3, { content, kind: (c) => kinds[c % 4]! });
  const e3 = Uint8Array.from(content);
  for (let c = 0; c < SIZE / 4096; c++) if (c % 4 >= 2) e3.fill(0, c * 4096, (c + 1) * 4096);
  // qcow2 v2, 64 KiB clusters, over a raw backing file for the unallocated half.
  const base = join(dir, 'base.raw');
  const baseContent = testContent(SIZE, 99);
  writeFileSync(base, baseContent);
  const q2 = join(dir, 'disk-v2.qcow2');
  writeQcow2(q2, { content, version: 2, clusterBits: 16, backingFile: 'base.raw', kind: (c) => (['compressed', 'unallocated', 'data'] as const)[c % 3]! });
  const e2 = Uint8Array.from(content);
  for (let c = 0; c < SIZE / 65536; c++) if (c % 3 === 1) e2.set(baseContent.subarray(c * 65536, (c + 1) * 65536), c * 65536);
  return [
    { name: 'raw', path: raw, expected: content },
    { name: 'qcow2 v3 (compressed, zero, unallocated clusters)', path: q3, expected: e3 },
    { name: 'qcow2 v2 with a backing file', path: q2, expected: e2 },
  ];
}

function checkReads(lines: string[][], expected: Uint8Array): void {
  const want = [];
  for (let off = 0; off < expected.length; off += 65536) want.push([String(off), fnv(expected.subarray(off, off + 65536))]);
  expect(lines).toEqual(want);
}

function withWrites(expected: Uint8Array): Uint8Array {
  const e = Uint8Array.from(expected);
  for (const [sector, count] of WRITES) e.set(pattern(sector, count * 512), sector * 512);
  return e;
}

describe.skipIf(!toolchainAvailable())('virtio-blk driven by a guest (legacy interface, MSI-X)', () => {
  for (const img of images()) {
    it(`${img.name}: reads match the image, writes stay in memory, the file is untouched`, () => {
      const before = readFileSync(img.path);
      const disk = openDisk(parseDiskSpec(img.path));
      expect(disk).toBeInstanceOf(OverlayDisk);
      const g = runVirtioGuest('blk', { disks: [{ backend: disk, serial: 'osvemu-disk0' }] });
      expect(g.fails).toEqual([]);
      expect(g.out).toMatch(/^DONE \d+ passed 0 failed/m);
      expect(g.lines('CAPACITY')).toEqual([[String(SIZE / 512)]]);
      checkReads(g.lines('READ'), img.expected);
      expect(g.lines('SERIAL')).toEqual([['osvemu-disk0']]);
      expect(g.lines('INDIRECT')).toEqual([[fnv(img.expected.subarray(0, 2048))]]);
      // The guest's writes are visible through the disk it used, not in the file.
      const now = new Uint8Array(SIZE);
      disk.read(0, now);
      expect(Buffer.compare(Buffer.from(now), Buffer.from(withWrites(img.expected)))).toBe(0);
      expect(g.lines('WROTE').map((l) => l[2])).toEqual(WRITES.map(([s, c]) => fnv(pattern(s, c * 512))));
      expect(readFileSync(img.path).equals(before)).toBe(true);
      expect(g.log).toEqual([]);
      disk.close();
    });
  }

  it('the same run gives the same virtual time and instruction count (disk I/O is deterministic)', () => {
    const path = images()[1]!.path;
    const runs = [0, 1].map(() => {
      const disk = openDisk(parseDiskSpec(path));
      const g = runVirtioGuest('blk', { disks: [disk] });
      disk.close();
      return [g.m.instructions, g.m.nowNs()];
    });
    expect(runs[0]).toEqual(runs[1]);
    expect(runs[0]![1]).toBeGreaterThan(16 * 10_000); // at least the per-request cost of 16 reads
  });

  for (const img of images().slice(0, 2)) {
    it(`${img.name} with ,writable: the guest's writes reach the file and nothing else changes`, () => {
      const path = join(dir, `w-${img.name.slice(0, 3)}`);
      copyFileSync(img.path, path);
      const disk = openDisk(parseDiskSpec(`${path},writable`));
      const g = runVirtioGuest('blk', { disks: [disk] });
      disk.close();
      expect(g.fails).toEqual([]);
      const back = openImage(path, false);
      const now = new Uint8Array(SIZE);
      back.read(0, now);
      back.close();
      expect(Buffer.compare(Buffer.from(now), Buffer.from(withWrites(img.expected)))).toBe(0);
      if (qemuImg && img.name.startsWith('qcow2')) execFileSync('qemu-img', ['check', path], { stdio: 'pipe' });
    });
  }

  it('readonly: the device says RO and writes fail with IOERR', () => {
    const disk = openDisk(parseDiskSpec(`${images()[0]!.path},readonly`));
    const g = runVirtioGuest('blk', { disks: [disk] });
    disk.close();
    expect(g.fails.some((f) => f.startsWith('FAIL blk-write-status'))).toBe(true);
    expect(g.m.virtioDevices[0]!.transport.deviceFeatures(0) & (1 << 5)).toBe(1 << 5);
  });
});
