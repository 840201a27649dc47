// The bare-metal guests of images/bare boot through PVH and must print only PASS lines and exit with 0.
import { describe, expect, it } from 'vitest';
import { bareImage, bareToolchainMissing } from './bare-images.js';
import { Vm } from './harness.js';

const missing = bareToolchainMissing();

async function boot(name: string, cpus = 1, limit = 30_000_000): Promise<ReturnType<Vm['run']>> {
  const vm = new Vm(64, cpus);
  vm.bootPvh(await bareImage(name), `${name} test`);
  return vm.run(limit);
}

function expectAllPass(r: ReturnType<Vm['run']>): void {
  const fails = r.out.split('\n').filter((l) => l.startsWith('FAIL'));
  expect({ kind: r.kind, message: r.message, fails }).toEqual({ kind: 'exit', message: '', fails: [] });
  expect(r.exitCode).toBe(0);
  expect(r.out).toMatch(/^PASS /m);
  expect(r.out).toMatch(/^DONE \d+ passed 0 failed/m);
}

describe.skipIf(missing !== null)('bare-metal guests', () => {
  for (const name of ['boot64', 'paging', 'interrupts', 'realmode', 'syscall', 'fpu', 'cpuid']) {
    it(name, async () => {
      const r = await boot(name);
      if (r.kind !== 'exit' || r.exitCode !== 0) console.log(r.out);
      expectAllPass(r);
    });
  }
  it('smp (2 vCPUs through INIT/STARTUP and the real-mode trampoline)', async () => {
    const r = await boot('smp', 2, 60_000_000);
    if (r.kind !== 'exit' || r.exitCode !== 0) console.log(r.out);
    expectAllPass(r);
  });
});
