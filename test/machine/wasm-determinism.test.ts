// Determinism with wasm blocks (src/cpu/jit/wasm): the project's guests (and, with OSV_KERNEL set, a real OSv kernel)
// retire the same instructions on every vCPU and print the same bytes with wasm blocks as with no compiler at all. A
// file of its own: the JavaScript compiler's blocks, which another machine of the same process made, would be taken
// before wasm planned the code.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildGuest } from '../../src/cli/guest.js';
import { buildImage, toolchainAvailable } from '../images/build.js';
import { same } from './determinism.js';

describe.skipIf(!toolchainAvailable())('wasm blocks on and the compiler off retire the same instructions', () => {
  const osvlike = readFileSync(buildGuest('osvlike'));
  it.each([1, 2])('osvlike guest, -c %i, and cut mid-run', (cpus) => {
    expect(same(osvlike, cpus, '', 64, 200_000_000, true).console).toContain('osvlike: all threads done');
    same(osvlike, cpus, '', 64, 3_000_001, true);
  });

  it.each(['boot64', 'paging', 'interrupts', 'syscall', 'timers', 'smp'])('bare guest %s', (name) => {
    const r = same(readFileSync(buildImage(name)), name === 'smp' ? 2 : 1, 'console=test', 128, 100_000_000, true);
    expect(r.cause).toBe('debug-exit');
  });
});

const osvKernel = process.env.OSV_KERNEL ?? '';
describe.skipIf(osvKernel === '' || !existsSync(osvKernel))('a real OSv kernel, wasm blocks and no compiler', () => {
  it('prints the same bytes and retires the same instructions', () => {
    const r = same(readFileSync(osvKernel), 1, process.env.OSV_CMDLINE ?? '--rootfs=ramfs /hello', 256, 600_000_000, true);
    expect(r.cause, r.console).toBe('poweroff');
  }, 300_000);
});
