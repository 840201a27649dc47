import { describe, expect, it } from 'vitest';
import { BufferPhysMemory, type MsrValue } from '../../src/devices/bus.js';
import { DEFAULT_BOOT_EPOCH_SEC, KvmClock, PVCLOCK_TSC_STABLE_BIT } from '../../src/devices/kvmclock.js';
import { VirtualTime } from './helpers.js';

function setup() {
  const t = new VirtualTime();
  const ram = new ArrayBuffer(0x10000);
  const kvm = new KvmClock(new BufferPhysMemory(ram), t.clock);
  return { t, ram, view: new DataView(ram), kvm };
}

/** The guest's pvclock read (as OSv/Linux compute it), in BigInt for exactness. */
function guestNow(view: DataView, addr: number, tsc: bigint): bigint {
  const tscTimestamp = view.getBigUint64(addr + 8, true);
  const systemTime = view.getBigUint64(addr + 16, true);
  const mul = BigInt(view.getUint32(addr + 24, true));
  const shift = view.getInt8(addr + 28);
  let delta = tsc - tscTimestamp;
  delta = shift >= 0 ? delta << BigInt(shift) : delta >> BigInt(-shift);
  return systemTime + ((delta * mul) >> 32n);
}

describe('kvmclock', () => {
  it('writes a pvclock_vcpu_time_info that decodes to the virtual clock', () => {
    const { t, view, kvm } = setup();
    t.advance(123_456_789);
    expect(kvm.writeMsr(0x4b564d01, 0x2000 | 1, 0)).toBe(true);
    expect(kvm.timeInfoAddress).toBe(0x2000);
    const version = view.getUint32(0x2000, true);
    expect(version % 2).toBe(0);
    expect(version).toBeGreaterThan(0);
    expect(view.getUint8(0x2000 + 29) & PVCLOCK_TSC_STABLE_BIT).toBe(PVCLOCK_TSC_STABLE_BIT);
    // TSC == virtual ns: at any later time the guest's computation gives nowNs exactly.
    for (const later of [0, 1, 999, 5_000_000_000, 3 * 2 ** 40 + 7]) {
      const now = BigInt(t.now + later);
      expect(guestNow(view, 0x2000, now)).toBe(now);
    }
  });

  it('re-registration bumps the version and stays even; bit 0 clear writes nothing', () => {
    const { view, kvm } = setup();
    kvm.writeMsr(0x12, 0x3000 | 1, 0); // legacy MSR
    const v1 = view.getUint32(0x3000, true);
    kvm.writeMsr(0x12, 0x3000 | 1, 0);
    const v2 = view.getUint32(0x3000, true);
    expect(v2).toBe(v1 + 2);
    kvm.writeMsr(0x4b564d01, 0x4000, 0);
    expect(view.getUint32(0x4000, true)).toBe(0);
    expect(kvm.timeInfoAddress).toBe(-1);
    const out: MsrValue = { lo: 0, hi: 0 };
    expect(kvm.readMsr(0x4b564d01, out)).toBe(true);
    expect(out).toEqual({ lo: 0x4000, hi: 0 });
  });

  it('writes the wall clock at boot epoch for both MSR numbers', () => {
    const { view, kvm } = setup();
    kvm.writeMsr(0x4b564d00, 0x100, 0);
    expect(view.getUint32(0x100, true) % 2).toBe(0);
    expect(view.getUint32(0x104, true)).toBe(DEFAULT_BOOT_EPOCH_SEC);
    expect(view.getUint32(0x108, true)).toBe(0);
    kvm.writeMsr(0x11, 0x200, 0);
    expect(view.getUint32(0x204, true)).toBe(DEFAULT_BOOT_EPOCH_SEC);
  });

  it('owns exactly its four MSRs', () => {
    const { kvm } = setup();
    expect([0x11, 0x12, 0x4b564d00, 0x4b564d01].every((m) => kvm.ownsMsr(m))).toBe(true);
    expect(kvm.ownsMsr(0x4b564d04)).toBe(false);
    expect(kvm.readMsr(0x10, { lo: 0, hi: 0 })).toBe(false);
  });
});
