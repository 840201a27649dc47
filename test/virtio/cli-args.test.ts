import { describe, expect, it } from 'vitest';
import { parseRunArgs, UsageError } from '../../src/cli/args.js';

describe('osvemu run: device options', () => {
  it('--disk (repeatable, QEMU -drive too), --rng-seed, --virtio', () => {
    const a = parseRunArgs(['k.elf', '--disk', 'usr.img', '-drive', 'file=b.img,if=virtio,snapshot=off', '--rng-seed', '42', '--virtio', 'modern']);
    expect(a.disks).toEqual(['usr.img', 'file=b.img,if=virtio,snapshot=off']);
    expect(a.rngSeed).toBe(42);
    expect(a.virtioMode).toBe('modern');
    const d = parseRunArgs(['k.elf']);
    expect([d.disks, d.rngSeed, d.virtioMode]).toEqual([[], 0, 'transitional']);
    expect(parseRunArgs(['--rng-seed', 'host']).rngSeed).toBe('host');
  });

  it('bad values are usage errors', () => {
    expect(() => parseRunArgs(['--rng-seed', 'lots'])).toThrow(UsageError);
    expect(() => parseRunArgs(['--virtio', 'new'])).toThrow(/legacy, transitional or modern/);
  });
});
