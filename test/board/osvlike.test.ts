// Whole-system: the OSv-shaped guest from images/ boots on the board with 1, 2 and 4 vCPUs, runs its
// threads and powers off; the same inputs give the same console bytes and instruction counts.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildGuest } from '../../src/cli/guest.js';
import { Machine } from '../../src/machine/machine.js';

const kernel = readFileSync(buildGuest('osvlike'));

function boot(cpus: number, cmdline = '') {
  const m = new Machine({ kernel, cpus, cmdline, memMiB: 64 });
  const r = m.run({ maxInsns: 200_000_000 });
  return { m, r };
}

describe('osvlike guest on the board', () => {
  for (const cpus of [1, 2, 4]) {
    it(`boots with -c ${cpus}, runs its threads and powers off`, () => {
      const { m, r } = boot(cpus);
      expect(r.cause, `${r.message}\n${m.console}`).toBe('poweroff');
      expect(m.console).toMatch(/^OSv-like v0\.1/m);
      expect(m.console).toContain(`${cpus} cpus`);
      expect(m.console).toContain('osvlike: all threads done');
    });
  }

  it('is deterministic: two runs give identical console output and instruction counts', () => {
    const a = boot(2), b = boot(2);
    expect(a.r.cause).toBe('poweroff');
    expect(b.m.console).toBe(a.m.console);
    expect(b.r.instructions).toBe(a.r.instructions);
    expect(b.m.cpus.map((c) => c.icount)).toEqual(a.m.cpus.map((c) => c.icount));
  });

  it('uses the HPET when kvmclock is not advertised', () => {
    const m = new Machine({ kernel, cpus: 1, memMiB: 64, kvmclock: false });
    const r = m.run({ maxInsns: 200_000_000 });
    expect(r.cause, m.console).toBe('poweroff');
    expect(m.console).toMatch(/clock hpet/i);
  });

  it('an abort halts every vCPU with interrupts off and is reported as such', () => {
    const { m, r } = boot(2, '--abort');
    expect(m.console).toContain('[backtrace]');
    expect(r.cause).toBe('halted');
    expect(r.message).toMatch(/interrupts disabled/);
  });
});
