// Disk image back ends: a truncated, corrupt or unsupported image is one DiskError line (and, from
// the command line, exit status 1 before the guest starts); snapshot mode never touches the file.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../src/cli/guest.js';
import { DiskError } from '../../src/devices/backends/block.js';
import { openDisk, openImage, parseDiskSpec } from '../../src/devices/backends/disk-open.js';
import { OverlayDisk } from '../../src/devices/backends/disk-overlay.js';
import { buildImage, toolchainAvailable } from '../images/build.js';
import { buildQcow2, testContent } from './qcow2-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'osvemu-img-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const content = testContent(64 * 1024, 3);

function file(name: string, bytes: Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

function patched(edit: (dv: DataView, b: Uint8Array) => void, version: 2 | 3 = 3): Uint8Array {
  const b = buildQcow2({ content, version });
  edit(new DataView(b.buffer), b);
  return b;
}

const BAD: [string, Uint8Array, RegExp][] = [
  ['truncated header', buildQcow2({ content }).subarray(0, 40), /truncated qcow2 image/],
  ['truncated L1 table', buildQcow2({ content }).subarray(0, 4096 + 4), /L1 table beyond the end of the file/],
  ['truncated before an L2 table', buildQcow2({ content }).subarray(0, 4 * 4096 + 100), /L2 table 0 at 16384 is outside the file/],
  ['version 4', patched((dv) => dv.setUint32(4, 4)), /unsupported qcow2 version 4/],
  ['cluster_bits 30', patched((dv) => dv.setUint32(20, 30)), /cluster_bits 30/],
  ['encrypted', patched((dv) => dv.setUint32(32, 1)), /encrypted qcow2 images are not supported/],
  ['marked corrupt', patched((dv) => dv.setUint32(76, 2)), /marked corrupt/],
  ['external data file', patched((dv) => dv.setUint32(76, 4)), /unsupported qcow2 feature: external data file/],
  ['zstd compression', patched((dv, b) => { dv.setUint32(100, 112); b[104] = 1; }), /compression type/],
  ['L1 too small', patched((dv) => dv.setUint32(28, 2 ** 31)), /L1 table of 1 entries is too small/],
  ['missing backing file', buildQcow2({ content, backingFile: 'nope.raw' }), /backing file: cannot open .*nope\.raw: ENOENT/],
  ['empty raw file', new Uint8Array(0), /empty disk image/],
];

describe('disk images: bad input', () => {
  for (const [name, bytes, message] of BAD) {
    it(`${name}: one-line DiskError`, () => {
      const p = file(`${name.replace(/\W+/g, '-')}.img`, bytes);
      let err: unknown;
      try {
        openDisk(parseDiskSpec(p));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(DiskError);
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).not.toContain('\n');
    });
  }

  it('a backing file chain that loops', () => {
    const a = join(dir, 'loop-a.qcow2'), b = join(dir, 'loop-b.qcow2');
    writeFileSync(a, buildQcow2({ content, backingFile: 'loop-b.qcow2' }));
    writeFileSync(b, buildQcow2({ content, backingFile: 'loop-a.qcow2' }));
    expect(() => openImage(a, false)).toThrow(/deeper than 16/);
  });

  it('spellings: FILE, ,writable, ,readonly, QEMU keys; unknown options are errors', () => {
    expect(parseDiskSpec('a.img')).toEqual({ path: 'a.img', mode: 'snapshot' });
    expect(parseDiskSpec('a.img,writable')).toEqual({ path: 'a.img', mode: 'writable' });
    expect(parseDiskSpec('a.img,readonly')).toEqual({ path: 'a.img', mode: 'readonly' });
    expect(parseDiskSpec('file=a.img,if=virtio,format=qcow2,snapshot=off')).toEqual({ path: 'a.img', mode: 'writable', format: 'qcow2' });
    expect(() => parseDiskSpec('a.img,bogus')).toThrow(/bad disk option "bogus"/);
    expect(() => parseDiskSpec('format=raw')).toThrow(/no file/);
  });
});

describe('snapshot overlay', () => {
  it('keeps writes (partial chunks too) and discards in memory; the base is not written', () => {
    const p = file('base.raw', content);
    const d = openDisk(parseDiskSpec(p)) as OverlayDisk;
    d.write(100, Uint8Array.of(1, 2, 3));
    d.write(4090, new Uint8Array(20).fill(9));
    d.discard(8192, 8192);
    const got = new Uint8Array(content.length);
    d.read(0, got);
    const want = Uint8Array.from(content);
    want.set([1, 2, 3], 100);
    want.fill(9, 4090, 4110);
    want.fill(0, 8192, 16384);
    expect(Buffer.compare(Buffer.from(got), Buffer.from(want))).toBe(0);
    expect(d.overlayBytes).toBe(4 * 4096);
    expect(readFileSync(p).equals(Buffer.from(content))).toBe(true);
  });
});

describe('osvemu run --disk: bad images stop before the guest starts', () => {
  const CLI = join(repoRoot(), 'dist', 'src', 'cli', 'main.js');
  it.skipIf(!existsSync(CLI) || !toolchainAvailable())('exit status 1 and one line on stderr', () => {
    const kernel = buildImage('virtio');
    const p = file('cli-bad.qcow2', patched((dv) => dv.setUint32(4, 9)));
    const r = spawnSync(process.execPath, [CLI, 'run', kernel, '--disk', p], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual([`osvemu: ${p}: unsupported qcow2 version 9`]);
    const r2 = spawnSync(process.execPath, [CLI, 'run', kernel, '--disk', join(dir, 'missing.img')], { encoding: 'utf8', timeout: 60_000 });
    expect(r2.status).toBe(1);
    expect(r2.stderr).toMatch(/^osvemu: cannot open .*missing\.img: ENOENT\n$/);
  });
});
