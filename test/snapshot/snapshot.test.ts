// Snapshots of the OSv-shaped guest (images/osvlike, 2 vCPUs): a restored machine run for N more
// instructions equals the original run for N more; damaged files are refused with one line.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/machine/machine.js';
import { decodeSnapshot, encodeSnapshot, SnapshotFileError } from '../../src/machine/snapshot-file.js';
import { captureMachine, machineFromSnapshot, stateHash } from '../../src/machine/snapshot-state.js';
import { guestImage } from '../gdb/helpers.js';

const ELF = guestImage('osvlike');

function perCpu(m: Machine): number[] {
  return m.cpus.map((c) => c.icount);
}

describe.skipIf(!ELF)('machine snapshots', () => {
  it('restore then run N equals run N, through the file format, at several points of a 2-vCPU boot', () => {
    const kernel = readFileSync(ELF!);
    const a = new Machine({ kernel, cpus: 2, memMiB: 64 });
    for (const at of [3_000_000, 9_000_000]) {
      a.run({ maxInsns: at });
      const file = encodeSnapshot(captureMachine(a));
      const b = machineFromSnapshot(decodeSnapshot(file));
      expect(stateHash(b)).toBe(stateHash(a));
      const consoleA = a.console.length;
      a.run({ maxInsns: at + 2_500_000 });
      b.run({ maxInsns: at + 2_500_000 });
      expect(b.console.slice(consoleA)).toBe(a.console.slice(consoleA));
      expect(perCpu(b)).toEqual(perCpu(a));
      expect(b.nowNs()).toBe(a.nowNs());
      expect(stateHash(b)).toBe(stateHash(a));
    }
    // Runs on to the end (power off) the same way.
    const snap = captureMachine(a);
    const ra = a.run({ maxInsns: 200_000_000 });
    const b = machineFromSnapshot(snap);
    const rb = b.run({ maxInsns: 200_000_000 });
    expect(ra.cause).toBe('poweroff');
    expect(rb.cause).toBe(ra.cause);
    expect(rb.instructions).toBe(ra.instructions);
    expect(b.console).toBe(a.console);
    expect(stateHash(b)).toBe(stateHash(a));
  });

  it('HPET instead of kvmclock: comparator timers survive the snapshot', () => {
    const a = new Machine({ kernel: readFileSync(ELF!), cpus: 2, memMiB: 64, kvmclock: false });
    a.run({ maxInsns: 6_000_000 });
    expect(a.console).toMatch(/hpet: base/);
    const b = machineFromSnapshot(captureMachine(a));
    const from = a.console.length;
    a.run({ maxInsns: 12_000_000 });
    b.run({ maxInsns: 12_000_000 });
    expect(b.console.slice(from)).toBe(a.console.slice(from));
    expect(perCpu(b)).toEqual(perCpu(a));
    expect(stateHash(b)).toBe(stateHash(a));
  });

  it('refuses truncated and corrupted files with a one-line error', () => {
    const a = new Machine({ kernel: readFileSync(ELF!), cpus: 1, memMiB: 32 });
    a.run({ maxInsns: 100_000 });
    const file = encodeSnapshot(captureMachine(a));
    const cases: [Uint8Array, RegExp][] = [
      [file.subarray(0, file.length - 10), /^truncated snapshot \(\d+ of \d+ bytes\)$/],
      [file.subarray(0, 20), /^truncated snapshot/],
      [Buffer.from('hello world, not a snapshot'), /^not an osvemu snapshot$/],
      [(() => { const c = Buffer.from(file); c[c.length - 100] ^= 0x55; return c; })(), /^corrupt snapshot \(checksum mismatch\)$/],
      [(() => { const c = Buffer.from(file); c[8] = 9; return c; })(), /^snapshot format version 9/],
    ];
    for (const [bytes, msg] of cases) {
      let err: unknown;
      try { decodeSnapshot(bytes); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(SnapshotFileError);
      expect((err as Error).message).toMatch(msg);
      expect((err as Error).message).not.toContain('\n');
    }
  });
});
