// Determinism across engines: the project's guests (and, with OSV_KERNEL set, a real OSv kernel) retire the
// same instructions on every vCPU and print the same bytes with the JavaScript block compiler on and off (its regions
// and the sharing of its blocks between machines are checked here; wasm blocks: wasm-determinism.test.ts).
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildGuest } from '../../src/cli/guest.js';
import { buildImage, toolchainAvailable } from '../images/build.js';
import { run, same } from './determinism.js';

describe.skipIf(!toolchainAvailable())('compiler on and off retire the same instructions', () => {
  const osvlike = readFileSync(buildGuest('osvlike'));
  it.each([1, 2])('osvlike guest, -c %i', (cpus) => {
    const r = same(osvlike, cpus);
    expect(r.regions, 'loops spanning several traces compiled as regions').toBeGreaterThan(0);
    expect(r.cause).toBe('poweroff');
    expect(r.console).toContain('osvlike: all threads done');
  });

  it('osvlike guest, budget cut mid-run: the same instruction counts at the cut', () => {
    same(osvlike, 2, '', 64, 3_000_000);
  });

  it('a later machine of the process starts with the code an earlier one compiled, and retires the same instructions', () => {
    const first = run(osvlike, true, 2, '--app=1000', 64, 200_000_000);
    const again = run(osvlike, true, 2, '--app=1000', 64, 200_000_000);
    const off = run(osvlike, false, 2, '--app=1000', 64, 200_000_000);
    expect(again.adopted).toBeGreaterThan(0);
    expect(again.adopted).toBeGreaterThanOrEqual(first.compiled - first.adopted);
    expect(again.regions, 'adopted blocks still form this machine\'s regions').toBeGreaterThan(0);
    for (const r of [first, again]) expect({ ...r, compiled: 0, adopted: 0, regions: 0 }).toEqual({ ...off, compiled: 0, adopted: 0, regions: 0 });
  });

  it.each(['boot64', 'paging', 'interrupts', 'syscall', 'fpu', 'timers', 'smp'])('bare guest %s', (name) => {
    const r = same(readFileSync(buildImage(name)), name === 'smp' ? 2 : 1, 'console=test', 128, 100_000_000);
    expect(r.cause).toBe('debug-exit');
  });
});

const osvKernel = process.env.OSV_KERNEL ?? '';
describe.skipIf(osvKernel === '' || !existsSync(osvKernel))('a real OSv kernel, compiler on and off', () => {
  it('prints the same bytes and retires the same instructions', () => {
    const r = same(readFileSync(osvKernel), 1, process.env.OSV_CMDLINE ?? '--rootfs=ramfs /hello', 256, 600_000_000);
    expect(r.cause, r.console).toBe('poweroff');
  }, 300_000);
});
