// --icount-shift N: every retired instruction is 2^N ns of guest time (QEMU's -icount shift=N).
import { describe, expect, it } from 'vitest';
import { Machine, MachineError } from '../../src/machine/machine.js';
import { buildTiny } from '../gdb/tiny.js';

const tiny = buildTiny();

describe.skipIf(!tiny)('guest time scale (icountShift)', () => {
  it('scales virtual time by 2^shift for the same instructions', () => {
    const runs = [0, 3, 10].map((icountShift) => new Machine({ kernel: tiny!.elf, icountShift }).run({ maxInsns: 1e6 }));
    for (const r of runs) expect(r.cause).toBe('debug-exit');
    expect(runs[1]!.instructions).toBe(runs[0]!.instructions);
    expect(runs[0]!.virtualNs).toBe(runs[0]!.instructions);
    expect(runs[1]!.virtualNs).toBe(runs[0]!.virtualNs * 8);
    expect(runs[2]!.virtualNs).toBe(runs[0]!.virtualNs * 1024);
  });

  it('rejects shifts QEMU does not accept', () => {
    for (const icountShift of [-1, 11, 1.5]) expect(() => new Machine({ kernel: tiny!.elf, icountShift })).toThrow(MachineError);
  });
});
