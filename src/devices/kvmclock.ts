/**
 * kvmclock, the KVM paravirtual clock (pvclock protocol), one instance per vCPU.
 *
 * Time base contract: the guest TSC runs at exactly 1 GHz and equals the virtual clock, i.e.
 * the CPU's RDTSC must return `clock.nowNs()` (plus nothing). With that fixed ratio the pvclock
 * scale is exact: tsc_to_system_mul = 2^31 and tsc_shift = 1, so the guest's
 * `system_time + (((tsc - tsc_timestamp) << 1) * 2^31 >> 32)` is `nowNs` to the nanosecond,
 * PVCLOCK_TSC_STABLE_BIT is honest, and the structure never needs refreshing.
 *
 * MSRs: 0x4b564d01 (legacy 0x12) registers this vCPU's `pvclock_vcpu_time_info` at
 * (value & ~1) when bit 0 is set; 0x4b564d00 (legacy 0x11) asks for a `pvclock_wall_clock` at
 * the given address: the wall time at virtual time 0 (the configured boot epoch).
 */
import type { Clock, MsrDevice, MsrValue, PhysMemory } from './bus.js';

export const MSR_KVM_WALL_CLOCK = 0x11;
export const MSR_KVM_SYSTEM_TIME = 0x12;
export const MSR_KVM_WALL_CLOCK_NEW = 0x4b564d00;
export const MSR_KVM_SYSTEM_TIME_NEW = 0x4b564d01;

/** Guest TSC frequency implied by this device (TSC == virtual ns). */
export const KVMCLOCK_TSC_HZ = 1_000_000_000;
export const PVCLOCK_TSC_TO_SYSTEM_MUL = 0x80000000;
export const PVCLOCK_TSC_SHIFT = 1;
export const PVCLOCK_TSC_STABLE_BIT = 1 << 0;
/** Default boot epoch shared with the RTC: 2026-01-01T00:00:00Z. */
export const DEFAULT_BOOT_EPOCH_SEC = 1_767_225_600;

const TWO32 = 2 ** 32;

export class KvmClock implements MsrDevice {
  private systemTimeLo = 0;
  private systemTimeHi = 0;
  private wallLo = 0;
  private wallHi = 0;
  private version = 0;
  private wallVersion = 0;

  constructor(
    private readonly mem: PhysMemory,
    private readonly clock: Clock,
    /** Wall-clock seconds since 1970 at virtual time 0. */
    private readonly bootEpochSec = DEFAULT_BOOT_EPOCH_SEC,
  ) {}

  ownsMsr(index: number): boolean {
    return (
      index === MSR_KVM_WALL_CLOCK || index === MSR_KVM_SYSTEM_TIME ||
      index === MSR_KVM_WALL_CLOCK_NEW || index === MSR_KVM_SYSTEM_TIME_NEW
    );
  }

  readMsr(index: number, out: MsrValue): boolean {
    if (index === MSR_KVM_SYSTEM_TIME || index === MSR_KVM_SYSTEM_TIME_NEW) {
      out.lo = this.systemTimeLo;
      out.hi = this.systemTimeHi;
      return true;
    }
    if (index === MSR_KVM_WALL_CLOCK || index === MSR_KVM_WALL_CLOCK_NEW) {
      out.lo = this.wallLo;
      out.hi = this.wallHi;
      return true;
    }
    return false;
  }

  writeMsr(index: number, lo: number, hi: number): boolean {
    lo >>>= 0;
    hi >>>= 0;
    if (index === MSR_KVM_SYSTEM_TIME || index === MSR_KVM_SYSTEM_TIME_NEW) {
      this.systemTimeLo = lo;
      this.systemTimeHi = hi;
      if (lo & 1) this.writeTimeInfo();
      return true;
    }
    if (index === MSR_KVM_WALL_CLOCK || index === MSR_KVM_WALL_CLOCK_NEW) {
      this.wallLo = lo;
      this.wallHi = hi;
      this.writeWallClock(hi * TWO32 + lo);
      return true;
    }
    return false;
  }

  /** Physical address of the registered time info, or -1 when disabled. */
  get timeInfoAddress(): number {
    return this.systemTimeLo & 1 ? this.systemTimeHi * TWO32 + ((this.systemTimeLo & ~1) >>> 0) : -1;
  }

  /** Rewrites the registered `pvclock_vcpu_time_info` (e.g. after the board restores a snapshot). */
  refresh(): void {
    if (this.systemTimeLo & 1) this.writeTimeInfo();
  }

  private writeTimeInfo(): void {
    const addr = this.systemTimeHi * TWO32 + ((this.systemTimeLo & ~1) >>> 0);
    const now = this.clock.nowNs();
    const nowLo = now % TWO32;
    const nowHi = Math.floor(now / TWO32);
    this.version += 2; // always even: the structure is complete whenever the guest can look
    const m = this.mem;
    m.write32(addr + 0, this.version);
    m.write32(addr + 4, 0);
    m.write32(addr + 8, nowLo); // tsc_timestamp
    m.write32(addr + 12, nowHi);
    m.write32(addr + 16, nowLo); // system_time
    m.write32(addr + 20, nowHi);
    m.write32(addr + 24, PVCLOCK_TSC_TO_SYSTEM_MUL);
    m.write32(addr + 28, (PVCLOCK_TSC_SHIFT & 0xff) | (PVCLOCK_TSC_STABLE_BIT << 8));
  }

  private writeWallClock(addr: number): void {
    this.wallVersion += 2;
    this.mem.write32(addr + 0, this.wallVersion);
    this.mem.write32(addr + 4, this.bootEpochSec >>> 0);
    this.mem.write32(addr + 8, 0);
  }
}
