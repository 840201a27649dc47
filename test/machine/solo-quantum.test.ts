// Solo quanta (Machine.soloRunnable): while the other vCPUs halt with nothing pending, the running one keeps
// going up to the next timer instead of switching every 2,000 instructions, and the quantum ends where it
// wakes another vCPU. Where a solo quantum is split (the profile interval caps it) must not change the run.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildGuest } from '../../src/cli/guest.js';
import { Machine, type MachineOptions } from '../../src/machine/machine.js';
import { toolchainAvailable } from '../images/build.js';

function boot(opts: Partial<MachineOptions>) {
  const m = new Machine({ kernel: readFileSync(buildGuest('osvlike')), cpus: 2, memMiB: 64, cmdline: '', ...opts });
  const r = m.run({ maxInsns: 200_000_000 });
  return { m, r, icounts: m.cpus.map((c) => c.icount), console: m.console, virtualNs: r.virtualNs };
}

describe.skipIf(!toolchainAvailable())('solo quanta (osvlike guest, -c 2)', () => {
  it('run while the other vCPU halts, and end where the runner wakes it', () => {
    const { m, r, console } = boot({});
    expect(r.cause).toBe('poweroff');
    expect(console).toContain('osvlike: all threads done');
    expect(m.soloQuanta).toBeGreaterThan(0);
    expect(m.soloWakes).toBeGreaterThan(0);
  });

  it('split anywhere (profile intervals), the run retires the same instructions per vCPU at the same times', () => {
    const whole = boot({});
    const fine = boot({ profileInterval: 3001 }), coarse = boot({ profileInterval: 77_777 });
    expect(fine.m.soloQuanta).toBeGreaterThan(whole.m.soloQuanta);
    for (const x of [fine, coarse]) {
      expect({ i: x.icounts, c: x.console, t: x.virtualNs }).toEqual({ i: whole.icounts, c: whole.console, t: whole.virtualNs });
    }
  });

  it('the same with the loop fast-forward and the compiler off', () => {
    const on = boot({}), off = boot({ loopSkip: false, jit: false });
    expect({ i: off.icounts, c: off.console, t: off.virtualNs }).toEqual({ i: on.icounts, c: on.console, t: on.virtualNs });
  });
});
