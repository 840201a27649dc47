// `--snapshot-at` and `run --from` with virtio devices through the built CLI: the snapshot brings its
// disk (reopened and checked), so the restore needs no --disk; a moved image is found with --disk,
// a missing one is one line; `osvemu core` needs no image at all.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../src/cli/guest.js';
import { buildImage, toolchainAvailable } from '../images/build.js';
import { testContent } from '../virtio/qcow2-writer.js';

const CLI = path.join(repoRoot(), 'dist', 'src', 'cli', 'main.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'osvemu-vsnap-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function osvemu(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000, cwd: tmp });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function icount(stderr: string): string {
  return /osvemu: (\d+) instructions, [\d.]+ ms virtual time/.exec(stderr)?.[1] ?? `no count in ${stderr}`;
}

describe.skipIf(!existsSync(CLI) || !toolchainAvailable())('virtio snapshots from the CLI', () => {
  it('--snapshot-at during disk I/O, then run --from without --disk: same report and instruction count; moved and missing images', () => {
    const elf = buildImage('virtio');
    const disk = path.join(tmp, 'disk.raw');
    writeFileSync(disk, testContent(1 << 20, 11));
    const snap = path.join(tmp, 'blk.snap');
    const a = osvemu('run', elf, '-e', 'blk --verbose', '--disk', disk, '--rng-seed', '4', '--verbose', '--debugcon', `file:${path.join(tmp, 'a.txt')}`,
      '--snapshot-at', '700000', '--snapshot-file', snap);
    expect(a.stderr).toMatch(/--snapshot-at 700000: snapshot of \d+ instructions written/);
    const reportA = readFileSync(path.join(tmp, 'a.txt'), 'utf8');
    expect(reportA).toMatch(/\nDONE \d+ passed 0 failed/);

    const b = osvemu('run', '--from', snap, '--verbose', '--debugcon', `file:${path.join(tmp, 'b.txt')}`);
    expect(b.status).toBe(a.status);
    expect(icount(b.stderr)).toBe(icount(a.stderr));
    const reportB = readFileSync(path.join(tmp, 'b.txt'), 'utf8');
    expect(reportB.length).toBeGreaterThan(0);
    expect(reportA.endsWith(reportB)).toBe(true);

    const moved = path.join(tmp, 'moved.raw');
    renameSync(disk, moved);
    const missing = osvemu('run', '--from', snap);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^osvemu: .*blk\.snap: cannot open .*disk\.raw: ENOENT\n$/);
    const c = osvemu('run', '--from', snap, '--disk', moved, '--verbose');
    expect(icount(c.stderr)).toBe(icount(a.stderr));
    const core = osvemu('core', snap, path.join(tmp, 'blk.core'));
    expect(core.status, core.stderr).toBe(0);
    writeFileSync(moved, testContent(1 << 20, 12));
    const changed = osvemu('run', '--from', snap, '--disk', moved);
    expect(changed.stderr).toMatch(/^osvemu: .*blk\.snap: disk .*moved\.raw changed since the snapshot \(contents differ\)\n$/);
  }, 120_000);
});
