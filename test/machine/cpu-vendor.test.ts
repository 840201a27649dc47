// --cpu-vendor / MachineOptions.cpuVendor: one switch for CPUID's vendor and every vendor-dependent
// behaviour (src/cpu/vendor.ts); the default stays GenuineIntel.
import { describe, expect, it } from 'vitest';
import { UsageError, parseRunArgs } from '../../src/cli/args.js';
import { AMD, INTEL } from '../../src/cpu/vendor.js';
import { Machine, MachineError } from '../../src/machine/machine.js';
import { HAVE_GCC, buildKernel } from './fixtures.js';

describe('CPU vendor option', () => {
  it('--cpu-vendor intel|amd, default intel', () => {
    expect(parseRunArgs([]).cpuVendor).toBe('intel');
    expect(parseRunArgs(['--cpu-vendor', 'amd']).cpuVendor).toBe('amd');
    expect(parseRunArgs(['--cpu-vendor=AMD']).cpuVendor).toBe('amd');
    expect(parseRunArgs(['--cpu-vendor', 'GenuineIntel']).cpuVendor).toBe('intel');
    expect(() => parseRunArgs(['--cpu-vendor', 'via'])).toThrow(UsageError);
    expect(() => parseRunArgs(['--cpu-vendor', 'via'])).toThrow(/--cpu-vendor needs intel or amd, got "via"/);
  });

  it.skipIf(!HAVE_GCC)('Machine gives every vCPU the chosen model', () => {
    const kernel = buildKernel();
    expect(new Machine({ kernel, cpus: 2 }).cpus.map((c) => c.vendor)).toEqual([INTEL, INTEL]);
    expect(new Machine({ kernel, cpus: 2, cpuVendor: 'amd' }).cpus.map((c) => c.vendor)).toEqual([AMD, AMD]);
    expect(() => new Machine({ kernel, cpuVendor: 'via' as 'amd' })).toThrow(MachineError);
  });
});
