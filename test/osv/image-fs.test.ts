// Reading the tests an OSv image holds: the bootfs inside a ramfs kernel, the rofs file system on a
// disk (bare or in an MBR partition). With OSV_SOURCE (an OSv checkout) the rofs writer used here
// is checked byte for byte against OSv's own scripts/gen-rofs-img.py.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildGuest } from '../../src/cli/guest.js';
import { findBootfs } from '../../src/osv/bootfs.js';
import { DiskImage, DiskImageError, findRofs, listDiskFiles } from '../../src/osv/disk-image.js';
import { readRofs, RofsError, type ByteSource } from '../../src/osv/rofs.js';
import { writeQcow2 } from '../virtio/qcow2-writer.js';
import { makeRofs, mbrDisk, packBootfs, type FsTree } from './fs-images.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'osvemu-imgfs-'));

function source(bytes: Uint8Array): ByteSource {
  return { size: bytes.length, read: (o, n) => bytes.subarray(o, Math.min(bytes.length, o + n)) };
}

/** Deterministic filler bytes. */
function filler(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed;
  for (let k = 0; k < n; k++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[k] = s >>> 24;
  }
  return out;
}

const TREE: FsTree = {
  '/tests/tst-a.so': 'hello',
  '/tests/tst-b.so': filler(1500, 7),
  '/libfoo.so': 'x',
  '/usr/lib/libbar.so': { symlink: '/libfoo.so' },
  '/tests/data/': '',
};

describe('bootfs (ramfs kernels)', () => {
  it('finds the table at any byte offset inside other bytes', () => {
    const blob = packBootfs({ '/tests/': '', '/tests/tst-a.so': 'aaa', '/tests/tst-b.so': filler(300, 1), '/lib': { symlink: '/x' } });
    for (const at of [0, 1, 4093, 70001]) {
      const kernel = filler(at + blob.length + 999, at);
      kernel.set(blob, at);
      expect(findBootfs(kernel), `offset ${at}`).toEqual([
        { path: '/tests/', type: 'dir', size: 0 },
        { path: '/tests/tst-a.so', type: 'file', size: 3 },
        { path: '/tests/tst-b.so', type: 'file', size: 300 },
        { path: '/lib', type: 'symlink', size: 3 },
      ]);
    }
  });

  it('is not fooled by random bytes or a table whose first offset is wrong', () => {
    expect(findBootfs(filler(200_000, 3))).toBeNull();
    const blob = packBootfs({ '/a.so': 'a', '/b.so': 'b' });
    new DataView(blob.buffer).setUint32(8, 512, true);
    expect(findBootfs(blob)).toBeNull();
  });

  const realKernel = process.env.OSV_KERNEL ?? '';
  it.skipIf(!realKernel || !existsSync(realKernel))('a real ramfs OSv kernel (OSV_KERNEL): its bootfs has the libraries', () => {
    const files = findBootfs(readFileSync(realKernel))!;
    expect(files.map((f) => f.path)).toEqual(expect.arrayContaining(['/libenviron.so', '/etc/fstab', '/dev/']));
  });

  it("the project's osvlike kernel carries /tests/tst-*.so; a bare guest carries none", () => {
    const files = findBootfs(readFileSync(buildGuest('osvlike')))!;
    expect(files.map((f) => f.path)).toEqual(['/hello.so', '/tests/tst-pass.so', '/tests/tst-fail.so', '/tests/tst-status.so',
      '/tests/tst-abort.so', '/tests/tst-hang.so', '/tests/tst-triple.so']);
    expect(findBootfs(readFileSync(buildGuest('boot64')))).toBeNull();
  });
});

describe('rofs (disk images)', () => {
  const listing = [
    { path: '/tests/', type: 'dir', size: 3 },
    { path: '/tests/tst-a.so', type: 'file', size: 5 },
    { path: '/tests/tst-b.so', type: 'file', size: 1500 },
    { path: '/tests/data/', type: 'dir', size: 0 },
    { path: '/libfoo.so', type: 'file', size: 1 },
    { path: '/usr/', type: 'dir', size: 1 },
    { path: '/usr/lib/', type: 'dir', size: 1 },
    { path: '/usr/lib/libbar.so', type: 'symlink', size: 0, target: '/libfoo.so' },
  ];

  it('lists a bare rofs image', () => {
    expect(readRofs(source(makeRofs(TREE)))).toEqual(listing);
  });

  it('finds rofs in an MBR partition, as scripts/build lays out usr.img', () => {
    const disk = mbrDisk(makeRofs(TREE), 10 * 1024 * 1024);
    expect(findRofs(source(disk))).toBe(10 * 1024 * 1024);
    const file = path.join(tmp, 'usr.raw');
    writeFileSync(file, disk);
    expect(listDiskFiles(file)).toEqual(listing);
  });

  it('lists a qcow2 image (usr.img as scripts/build writes it), compressed clusters too', () => {
    const file = path.join(tmp, 'usr.qcow2');
    writeQcow2(file, { content: mbrDisk(makeRofs(TREE), 64 * 1024), clusterBits: 12, kind: (c) => (c % 2 ? 'compressed' : 'data') });
    expect(listDiskFiles(file)).toEqual(listing);
  });

  it('bad images: one-line errors', () => {
    const img = makeRofs(TREE);
    const bad = img.slice();
    new DataView(bad.buffer).setUint32(24, 100_000, true); // structure block past the end
    expect(() => readRofs(source(bad))).toThrow(RofsError);
    const noMagic = img.slice();
    new DataView(noMagic.buffer).setUint32(0, 0x12345678, true);
    expect(() => readRofs(source(noMagic))).toThrow(/no rofs magic/);

    const f = path.join(tmp, 'junk.img');
    writeFileSync(f, filler(8192, 9));
    expect(() => listDiskFiles(f)).toThrow(/no rofs file system/);
    const q = path.join(tmp, 'truncated.qcow2');
    writeFileSync(q, Uint8Array.of(0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3));
    expect(() => listDiskFiles(q)).toThrow(DiskImageError);
    expect(() => DiskImage.open(q)).toThrow(/^[^\n]*qcow2[^\n]*$/);
    expect(() => DiskImage.open(path.join(tmp, 'nope.img'))).toThrow(/cannot open .*nope\.img: ENOENT/);
  });

  const osvSource = process.env.OSV_SOURCE ?? '';
  const haveGen = osvSource !== '' && existsSync(path.join(osvSource, 'scripts', 'gen-rofs-img.py'));
  it.skipIf(!haveGen)("matches OSv's scripts/gen-rofs-img.py byte for byte (OSV_SOURCE)", () => {
    const host = path.join(tmp, 'host');
    mkdirSync(path.join(host, 'tests'), { recursive: true });
    writeFileSync(path.join(host, 'tests', 'tst-a.so'), 'hello');
    writeFileSync(path.join(host, 'tests', 'tst-b.so'), filler(1500, 7));
    writeFileSync(path.join(host, 'libfoo.so'), 'x');
    const manifest = path.join(tmp, 'usr.manifest');
    writeFileSync(manifest, ['[manifest]', `/tests/tst-a.so: ${host}/tests/tst-a.so`, `/tests/tst-b.so: ${host}/tests/tst-b.so`,
      `/libfoo.so: ${host}/libfoo.so`, '/usr/lib/libbar.so: ->/libfoo.so', ''].join('\n'));
    const out = path.join(tmp, 'osv-rofs.img');
    execFileSync('python3', ['gen-rofs-img.py', '-o', out, '-m', manifest], { cwd: path.join(osvSource, 'scripts'), stdio: 'ignore' });
    const { '/tests/data/': _dir, ...files } = TREE;
    expect(Buffer.from(makeRofs(files)).equals(readFileSync(out))).toBe(true);
    expect(readRofs(source(readFileSync(out))).map((e) => e.path)).toEqual(
      ['/tests/', '/tests/tst-a.so', '/tests/tst-b.so', '/libfoo.so', '/usr/', '/usr/lib/', '/usr/lib/libbar.so']);
  });
});
