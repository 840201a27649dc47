// The bare-metal guests of images/bare boot through PVH and must print only PASS lines and exit with 0.
import { describe, expect, it } from 'vitest';
import { DEFAULT_CPUID } from '../../src/cpu/system/cpuid.js';
import { cpuidConfigs } from '../../src/cpu/system/msr.js';
import { bareImage, bareToolchainMissing } from './bare-images.js';
import { RunResult, Vm } from './harness.js';

const missing = bareToolchainMissing();

async function boot(name: string, cpus = 1, limit = 30_000_000, setup?: (vm: Vm) => void): Promise<RunResult> {
  const vm = new Vm(64, cpus);
  setup?.(vm);
  vm.bootPvh(await bareImage(name), `${name} test`);
  return vm.run(limit);
}

function expectAllPass(r: RunResult): void {
  if (r.kind !== 'exit' || r.exitCode !== 0) console.log(r.out);
  const fails = r.out.split('\n').filter((l) => l.startsWith('FAIL'));
  expect({ kind: r.kind, message: r.message, fails }).toEqual({ kind: 'exit', message: '', fails: [] });
  expect(r.exitCode).toBe(0);
  expect(r.out).toMatch(/^PASS /m);
  expect(r.out).toMatch(/^DONE \d+ passed 0 failed/m);
}

describe.skipIf(missing !== null)('bare-metal guests', () => {
  for (const name of ['boot64', 'paging', 'interrupts', 'realmode', 'syscall', 'fpu', 'cpuid']) {
    it(name, async () => expectAllPass(await boot(name)));
  }

  it('fpu with xsave not advertised (fxsave path)', async () => {
    const r = await boot('fpu', 1, 30_000_000, (vm) => cpuidConfigs.set(vm.cpu, { ...DEFAULT_CPUID, xsave: false }));
    expectAllPass(r);
    expect(r.out).toMatch(/^SKIP xsave/m);
  });

  it('smp: 4 vCPUs through INIT/STARTUP and the real-mode trampoline', async () => {
    const r = await boot('smp', 4, 60_000_000);
    expectAllPass(r);
    expect(r.out).toMatch(/^PASS smp 4 cpus/m);
  });
});
