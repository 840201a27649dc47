/**
 * The narrow interfaces between platform devices and the rest of the machine.
 *
 * Devices know nothing about CPUs, RAM layout or the host: they see port/MMIO accesses, a
 * virtual clock, a timer queue, interrupt lines and (for kvmclock) a small physical-memory
 * writer. Everything here is deterministic: time only comes from a `Clock` the board derives
 * from retired instructions, never from the host.
 */

/** Width of one device access in bytes. 64-bit MMIO accesses are split by the caller. */
export type AccessSize = 1 | 2 | 4;

/** All-ones value for an access of `size` bytes: what an unclaimed read returns on a PC bus. */
export function allOnes(size: AccessSize): number {
  return size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
}

/** Keeps the low `size` bytes of `value` as an unsigned number. */
export function truncate(value: number, size: AccessSize): number {
  return size === 4 ? value >>> 0 : size === 2 ? value & 0xffff : value & 0xff;
}

// ---------------------------------------------------------------------------------------------
// Port I/O

/**
 * A device on the I/O port bus. It receives the absolute port number (so one device can own
 * several scattered ports) and returns/accepts the low `size` bytes.
 */
export interface PortDevice {
  /** Port ranges this device claims, as [firstPort, count]; `IoBus.add` maps them. */
  readonly portRanges: ReadonlyArray<readonly [number, number]>;
  readPort(port: number, size: AccessSize): number;
  writePort(port: number, size: AccessSize, value: number): void;
}

/**
 * The 64 Ki-port I/O space as one array lookup. An access is routed by its first port only
 * (a 32-bit `in` at 0xCF8 goes to the owner of 0xCF8 even though 0xCF9 belongs to someone
 * else, which is exactly how the PCI address register and the reset control register share
 * that area). Unmapped reads return all-ones; unmapped writes are ignored.
 */
export class IoBus {
  private readonly owners: (PortDevice | undefined)[] = new Array<PortDevice | undefined>(0x10000).fill(undefined);

  /** Maps every range in `device.portRanges`. Throws on overlap with an already mapped port. */
  add(device: PortDevice): void {
    for (const [base, count] of device.portRanges) this.map(base, count, device);
  }

  /** Maps `count` ports starting at `base` to `device`. */
  map(base: number, count: number, device: PortDevice): void {
    if (!Number.isInteger(base) || !Number.isInteger(count) || base < 0 || count <= 0 || base + count > 0x10000) {
      throw new Error(`IoBus: bad port range 0x${base.toString(16)}+${count}`);
    }
    for (let p = base; p < base + count; p++) {
      if (this.owners[p] !== undefined && this.owners[p] !== device) {
        throw new Error(`IoBus: port 0x${p.toString(16)} is already mapped`);
      }
    }
    for (let p = base; p < base + count; p++) this.owners[p] = device;
  }

  /** Removes the mapping of `count` ports at `base` (used when a PCI I/O BAR moves). */
  unmap(base: number, count: number): void {
    for (let p = base; p < base + count && p < 0x10000; p++) this.owners[p] = undefined;
  }

  /** The device owning `port`, if any. */
  ownerOf(port: number): PortDevice | undefined {
    return this.owners[port & 0xffff];
  }

  read(port: number, size: AccessSize): number {
    const dev = this.owners[port & 0xffff];
    return dev === undefined ? allOnes(size) : truncate(dev.readPort(port & 0xffff, size), size);
  }

  write(port: number, size: AccessSize, value: number): void {
    const dev = this.owners[port & 0xffff];
    if (dev !== undefined) dev.writePort(port & 0xffff, size, truncate(value, size));
  }
}

// ---------------------------------------------------------------------------------------------
// MMIO

/**
 * A device on the physical memory bus. `offset` is relative to the start of the mapped
 * region. Accesses are 1, 2 or 4 bytes: the CPU side splits a 64-bit access into two 4-byte
 * accesses (low half at `offset`, then high half at `offset + 4`), which is how every
 * register this project models (HPET counter, LAPIC, IOAPIC, PCI BARs) is specified to work.
 */
export interface MmioDevice {
  readMmio(offset: number, size: AccessSize): number;
  writeMmio(offset: number, size: AccessSize, value: number): void;
}

/** One mapped MMIO window. `end` is exclusive. */
export interface MmioRegion {
  readonly base: number;
  readonly end: number;
  readonly device: MmioDevice;
  readonly name: string;
}

/**
 * Physical address ranges backed by devices. Few regions exist (LAPIC, IOAPIC, HPET, PCI
 * BARs), so `find` is a sorted-array binary search behind a one-entry cache of the last hit,
 * which makes the common "same device again" case a two-comparison check.
 */
export class MmioBus {
  private regions: MmioRegion[] = [];
  private last: MmioRegion | undefined;

  /** Maps `[base, base + length)` to `device`. Throws on overlap. Addresses are < 2^52. */
  map(base: number, length: number, device: MmioDevice, name = 'mmio'): MmioRegion {
    if (!Number.isInteger(base) || !Number.isInteger(length) || base < 0 || length <= 0 || base + length > 2 ** 52) {
      throw new Error(`MmioBus: bad range 0x${base.toString(16)}+0x${length.toString(16)} for ${name}`);
    }
    const region: MmioRegion = { base, end: base + length, device, name };
    for (const r of this.regions) {
      if (region.base < r.end && r.base < region.end) {
        throw new Error(`MmioBus: ${name} at 0x${base.toString(16)} overlaps ${r.name} at 0x${r.base.toString(16)}`);
      }
    }
    this.regions.push(region);
    this.regions.sort((a, b) => a.base - b.base);
    this.last = undefined;
    return region;
  }

  /** Removes a region returned by `map` (no-op when it is not mapped). */
  unmap(region: MmioRegion): void {
    this.regions = this.regions.filter((r) => r !== region);
    this.last = undefined;
  }

  /** The region containing `physAddr`, or undefined when the address is RAM/unclaimed. */
  find(physAddr: number): MmioRegion | undefined {
    const last = this.last;
    if (last !== undefined && physAddr >= last.base && physAddr < last.end) return last;
    const rs = this.regions;
    let lo = 0;
    let hi = rs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = rs[mid]!;
      if (physAddr < r.base) hi = mid - 1;
      else if (physAddr >= r.end) lo = mid + 1;
      else {
        this.last = r;
        return r;
      }
    }
    return undefined;
  }

  /** Convenience read through `find`: unmapped addresses read as all-ones. */
  read(physAddr: number, size: AccessSize): number {
    const r = this.find(physAddr);
    return r === undefined ? allOnes(size) : truncate(r.device.readMmio(physAddr - r.base, size), size);
  }

  /** Convenience write through `find`: unmapped addresses are ignored. */
  write(physAddr: number, size: AccessSize, value: number): void {
    const r = this.find(physAddr);
    if (r !== undefined) r.device.writeMmio(physAddr - r.base, size, truncate(value, size));
  }
}

// ---------------------------------------------------------------------------------------------
// Virtual time

/**
 * The machine's notion of time in nanoseconds since power-on. The board derives it from
 * retired instructions (and jumps it forward when every vCPU is halted), so it is a pure
 * function of the guest's execution. It must never go backwards. Values stay below 2^53.
 */
export interface Clock {
  nowNs(): number;
}

/** Opaque handle of a scheduled timer; 0 is never a valid handle. */
export type TimerHandle = number;

/** Called when a timer's deadline has been reached; `deadlineNs` is the scheduled time. */
export type TimerCallback = (deadlineNs: number) => void;

/**
 * Device timers in virtual time. The board runs CPUs until `nextDeadline()`, then calls
 * `runDue(clock.nowNs())`; when every vCPU is halted it may set the clock to `nextDeadline()`
 * directly. Callbacks with equal deadlines run in scheduling order, so runs are reproducible.
 */
export interface TimerQueue {
  /** Schedules `callback` at `deadlineNs` (already-past deadlines run at the next `runDue`). */
  schedule(deadlineNs: number, callback: TimerCallback): TimerHandle;
  /** Cancels a timer; unknown or already-fired handles are ignored. */
  cancel(handle: TimerHandle): void;
  /** Earliest pending deadline, or Infinity when nothing is scheduled. */
  nextDeadline(): number;
  /** Runs (in deadline order) every timer due at `nowNs`, including ones scheduled meanwhile. */
  runDue(nowNs: number): void;
}

// ---------------------------------------------------------------------------------------------
// Interrupts

/**
 * One interrupt wire from a device to an interrupt controller input (an IOAPIC pin / GSI).
 * `raise` asserts it, `lower` deasserts it; the controller decides whether that is an edge or
 * a level. Edge-triggered devices call `raise()` then `lower()`. The line is logical
 * (asserted = true) whatever the electrical polarity the ACPI tables describe.
 */
export interface IrqLine {
  raise(): void;
  lower(): void;
}

/**
 * What a vCPU offers its local APIC. `requestInterrupt` means "something changed in your
 * LAPIC (a new IRR bit, NMI, INIT or SIPI): at the next instruction boundary ask it
 * (`highestPendingVector`, `takeNmi`, `takeInit`, `takeSipi`), and leave HLT if there is
 * something to take". It may be called from another vCPU's instruction (an IPI) or from a
 * timer callback; it must only set a flag, never run guest code.
 */
export interface InterruptSink {
  requestInterrupt(): void;
}

// ---------------------------------------------------------------------------------------------
// MSRs

/** A reusable out-parameter for 64-bit MSR reads, split in unsigned 32-bit halves. */
export interface MsrValue {
  lo: number;
  hi: number;
}

/**
 * A device that owns some model-specific registers. The CPU routes `rdmsr`/`wrmsr` by index
 * (`ownsMsr`). Both methods return false when the access must raise #GP (reserved bits,
 * wrong APIC mode, read of a write-only register).
 */
export interface MsrDevice {
  ownsMsr(index: number): boolean;
  readMsr(index: number, out: MsrValue): boolean;
  writeMsr(index: number, lo: number, hi: number): boolean;
}

// ---------------------------------------------------------------------------------------------
// Physical memory (for devices that write guest RAM, e.g. kvmclock)

/**
 * Little-endian access to guest physical memory. 64-bit values are written as two 32-bit
 * halves (low at `addr`, high at `addr + 4`). Writes outside RAM are ignored by the board.
 */
export interface PhysMemory {
  read32(addr: number): number;
  write8(addr: number, value: number): void;
  write32(addr: number, value: number): void;
}

/** `PhysMemory` over one ArrayBuffer holding RAM from physical address 0 (tests, simple boards). */
export class BufferPhysMemory implements PhysMemory {
  private readonly view: DataView;
  constructor(buffer: ArrayBuffer) {
    this.view = new DataView(buffer);
  }
  read32(addr: number): number {
    return addr >= 0 && addr + 4 <= this.view.byteLength ? this.view.getUint32(addr, true) : 0xffffffff;
  }
  write8(addr: number, value: number): void {
    if (addr >= 0 && addr < this.view.byteLength) this.view.setUint8(addr, value & 0xff);
  }
  write32(addr: number, value: number): void {
    if (addr >= 0 && addr + 4 <= this.view.byteLength) this.view.setUint32(addr, value >>> 0, true);
  }
}
