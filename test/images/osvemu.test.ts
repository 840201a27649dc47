// The bare-metal guests on osvemu's own board: each must finish through the
// debug-exit port with every check passing (port 0xE9 carries the report).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/machine/machine.js';
import { BARE_IMAGES, buildImage, toolchainAvailable } from './build.js';
import { reportProblems } from './report.js';

function boot(name: string, cpus = 1, cmdline = '') {
  let debugcon = '';
  let serial = '';
  const m = new Machine({
    kernel: readFileSync(buildImage(name)),
    cpus,
    cmdline,
    memMiB: 128,
    debugOut: (b) => (debugcon += String.fromCharCode(b)),
    serialOut: (b) => (serial += String.fromCharCode(b)),
  });
  const r = m.run({ maxInsns: 100_000_000 });
  return { m, r, debugcon, serial };
}

describe.skipIf(!toolchainAvailable())('bare guests on the osvemu board', () => {
  it.each(BARE_IMAGES.filter((n) => n !== 'smp'))('%s passes its checks', (name) => {
    const { m, r, debugcon } = boot(name, 1, 'console=test');
    expect(reportProblems(name, debugcon), `${r.cause}: ${r.message}\n${debugcon}`).toEqual([]);
    expect(r.cause).toBe('debug-exit');
    expect(m.exitStatus).toBe(1); // isa-debug-exit: (0 << 1) | 1
  });

  it.each([1, 2, 4])('smp starts %i cpus', (n) => {
    const { r, debugcon } = boot('smp', n);
    expect(reportProblems('smp', debugcon), `${r.cause}: ${r.message}\n${debugcon}`).toEqual([]);
    expect(debugcon).toContain(`PASS smp ${n} cpus`);
  });

  it('boot64 reports the command line and writes to COM1', () => {
    const { debugcon, serial } = boot('boot64', 1, 'hello osvemu');
    expect(debugcon).toContain('cmdline="hello osvemu"');
    expect(serial).toContain('boot64: hello from COM1');
  });
});
