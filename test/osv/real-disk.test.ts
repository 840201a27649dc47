// Whole-system: a real OSv kernel (built outside this repository) with its root file system on
// virtio-blk, as OSv's scripts/run.py boots it: the disk (qcow2 usr.img, guest writes kept in
// memory) and virtio-rng attached, transitional devices driven through the legacy interface with
// MSI-X (and once with modern devices, which OSv drives through the virtio 1.0 capabilities). Skipped unless OSV_KERNEL and OSV_DISK name the kernel and its usr.img. Optional:
//   OSV_DISK_CMDLINE  kernel command line (default: the `cmdline` file next to OSV_DISK, else
//                     "--rootfs=rofs /hello")
//   OSV_APP_LINE      a regular expression the app prints (default "^Hello from")
// OSv's unit-test image (image=tests, fs=rofs) runs tests from its disk when OSV_TESTS_KERNEL and
// OSV_TESTS_DISK are set; OSV_DISK_TESTS lists them (default: a quick set that reads files and maps them).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDisk, parseDiskSpec } from '../../src/devices/backends/disk-open.js';
import { SeededEntropy } from '../../src/devices/backends/entropy.js';
import { Machine } from '../../src/machine/machine.js';
import { KernelSymbols } from '../../src/osv/symbols.js';

const kernelPath = process.env.OSV_KERNEL ?? '';
const diskPath = process.env.OSV_DISK ?? '';
const have = kernelPath !== '' && existsSync(kernelPath) && diskPath !== '' && existsSync(diskPath);
const testsKernel = process.env.OSV_TESTS_KERNEL ?? '';
const testsDisk = process.env.OSV_TESTS_DISK ?? '';
const haveTests = testsKernel !== '' && existsSync(testsKernel) && testsDisk !== '' && existsSync(testsDisk);
const appLine = new RegExp(process.env.OSV_APP_LINE ?? '^Hello from', 'm');
const diskTests = (process.env.OSV_DISK_TESTS ?? 'tst-hello,tst-vblk,tst-readdir-rofs,tst-stat,tst-fread,tst-read,tst-mmap-file,tst-seek')
  .split(',').map((s) => s.trim()).filter((s) => s !== '');
const MAX_INSNS = 1_500_000_000;
const TIMEOUT_MS = 300_000;

function cmdlineFor(disk: string, fallback: string): string {
  if (process.env.OSV_DISK_CMDLINE) return process.env.OSV_DISK_CMDLINE;
  const f = join(dirname(disk), 'cmdline');
  return existsSync(f) ? readFileSync(f, 'utf8').trim() : fallback;
}

function sha(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function boot(kernel: string, disk: string, cmdline: string, cpus: number, virtioMode?: 'modern' | 'legacy') {
  const backend = openDisk(parseDiskSpec(disk));
  const log: string[] = [];
  const m = new Machine({
    kernel: readFileSync(kernel), cpus, cmdline, memMiB: 512, disks: [backend], rng: new SeededEntropy(0),
    virtioLog: (l) => log.push(l), ...(virtioMode ? { virtioMode } : {}),
  });
  const r = m.run({ maxInsns: MAX_INSNS, timeoutMs: TIMEOUT_MS });
  backend.close();
  let syms: KernelSymbols | null = null;
  try {
    syms = KernelSymbols.fromElf(readFileSync(process.env.OSV_LOADER_ELF ?? kernel));
  } catch {
    syms = null;
  }
  const where = m.cpus.map((c, k) => `vCPU ${k}: rip=0x${c.rip.toString(16)} <${syms?.resolve(c.rip) ?? '?'}>`).join('\n');
  const why = `${r.message} after ${r.instructions} instructions\n${where}\n${log.join('\n')}\n--- console ---\n${m.console}`;
  return { m, r, why, log };
}

describe.skipIf(!have)('real OSv kernel with its root on virtio-blk', () => {
  const cases: [number, 'modern' | undefined][] = [[1, undefined], [2, undefined], [1, 'modern']];
  for (const [cpus, mode] of cases) {
    it(`-c ${cpus}${mode ? ` --virtio ${mode}` : ''}: mounts the rofs usr.img, runs the app, powers off; the image file is unchanged`, () => {
      const before = sha(diskPath);
      const { r, m, why, log } = boot(kernelPath, diskPath, cmdlineFor(diskPath, '--rootfs=rofs /hello'), cpus, mode);
      expect(m.console, why).toMatch(/^OSv v\d/m);
      expect(m.console, why).toMatch(appLine);
      expect(r.cause, why).toBe('poweroff');
      expect(log, why).toEqual([]);
      expect(sha(diskPath)).toBe(before);
    }, TIMEOUT_MS + 30_000);
  }
});

describe.skipIf(!haveTests)('OSv unit tests from a rofs disk', () => {
  for (const name of diskTests) {
    it(`${name}`, () => {
      const { r, m, why } = boot(testsKernel, testsDisk, `--rootfs=rofs /tests/${name}.so`, 1);
      expect(m.console, why).not.toMatch(/^FAIL|\bAborted\b|\[backtrace\]/m);
      expect(r.cause, why).toBe('poweroff');
    }, TIMEOUT_MS + 30_000);
  }
});
