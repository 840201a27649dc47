import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BufferPhysMemory, IoBus, MmioBus, type AccessSize, type MmioDevice, type PortDevice } from '../../src/devices/bus.js';
import { ManualClock } from '../../src/devices/clock.js';
import { HeapTimerQueue } from '../../src/devices/timer-queue.js';

class Recorder implements PortDevice, MmioDevice {
  log: string[] = [];
  constructor(readonly portRanges: [number, number][] = []) {}
  readPort(port: number, size: AccessSize): number {
    this.log.push(`in ${port.toString(16)}/${size}`);
    return 0x12345678;
  }
  writePort(port: number, size: AccessSize, value: number): void {
    this.log.push(`out ${port.toString(16)}/${size}=${value.toString(16)}`);
  }
  readMmio(offset: number, size: AccessSize): number {
    this.log.push(`r ${offset.toString(16)}/${size}`);
    return 0xcafef00d;
  }
  writeMmio(offset: number, size: AccessSize, value: number): void {
    this.log.push(`w ${offset.toString(16)}/${size}=${value.toString(16)}`);
  }
}

describe('IoBus', () => {
  it('reads all-ones from unmapped ports and ignores writes', () => {
    const io = new IoBus();
    expect(io.read(0x1234, 1)).toBe(0xff);
    expect(io.read(0x1234, 2)).toBe(0xffff);
    expect(io.read(0x1234, 4)).toBe(0xffffffff);
    io.write(0x1234, 4, 0); // no throw
  });

  it('routes by the first port and truncates to the access size', () => {
    const io = new IoBus();
    const d = new Recorder([[0x3f8, 8]]);
    io.add(d);
    expect(io.read(0x3f9, 1)).toBe(0x78);
    expect(io.read(0x3fa, 2)).toBe(0x5678);
    io.write(0x3f8, 1, 0x1ff);
    expect(d.log).toEqual(['in 3f9/1', 'in 3fa/2', 'out 3f8/1=ff']);
    expect(io.ownerOf(0x3ff)).toBe(d);
    expect(io.ownerOf(0x400)).toBeUndefined();
  });

  it('refuses overlapping and out-of-range mappings with a clear error', () => {
    const io = new IoBus();
    io.add(new Recorder([[0x60, 5]]));
    expect(() => io.add(new Recorder([[0x64, 1]]))).toThrow(/0x64 is already mapped/);
    expect(() => io.map(0xffff, 2, new Recorder())).toThrow(/bad port range/);
  });

  it('unmaps ports', () => {
    const io = new IoBus();
    io.add(new Recorder([[0xc000, 0x40]]));
    io.unmap(0xc000, 0x40);
    expect(io.read(0xc010, 4)).toBe(0xffffffff);
  });
});

describe('MmioBus', () => {
  it('finds regions and passes region-relative offsets', () => {
    const bus = new MmioBus();
    const a = new Recorder();
    const b = new Recorder();
    bus.map(0xfec00000, 0x1000, a, 'ioapic');
    bus.map(0xfee00000, 0x1000, b, 'lapic');
    expect(bus.find(0xfec00000)?.name).toBe('ioapic');
    expect(bus.find(0xfee00fff)?.name).toBe('lapic');
    expect(bus.find(0xfee01000)).toBeUndefined();
    expect(bus.find(0xfebfffff)).toBeUndefined();
    expect(bus.read(0xfee000f0, 4)).toBe(0xcafef00d);
    bus.write(0xfec00010, 4, 7);
    expect(b.log).toEqual(['r f0/4']);
    expect(a.log).toEqual(['w 10/4=7']);
  });

  it('reads all-ones where nothing is mapped and rejects overlaps', () => {
    const bus = new MmioBus();
    const r = bus.map(0xfed00000, 0x400, new Recorder(), 'hpet');
    expect(bus.read(0x1000, 2)).toBe(0xffff);
    expect(() => bus.map(0xfed00200, 0x10, new Recorder(), 'x')).toThrow(/overlaps hpet/);
    bus.unmap(r);
    expect(bus.find(0xfed00000)).toBeUndefined();
  });

  it('keeps many regions searchable (binary search past the cache)', () => {
    const bus = new MmioBus();
    for (let i = 0; i < 50; i++) bus.map(0xe0000000 + i * 0x10000, 0x1000, new Recorder(), `bar${i}`);
    for (let i = 49; i >= 0; i--) expect(bus.find(0xe0000000 + i * 0x10000 + 0x800)?.name).toBe(`bar${i}`);
    expect(bus.find(0xe0000000 + 3 * 0x10000 + 0x1000)).toBeUndefined();
  });
});

describe('HeapTimerQueue', () => {
  it('runs callbacks in deadline order, ties in scheduling order', () => {
    const q = new HeapTimerQueue();
    const order: string[] = [];
    q.schedule(30, () => order.push('c'));
    q.schedule(10, () => order.push('a1'));
    q.schedule(20, () => order.push('b'));
    q.schedule(10, () => order.push('a2'));
    expect(q.nextDeadline()).toBe(10);
    q.runDue(25);
    expect(order).toEqual(['a1', 'a2', 'b']);
    expect(q.nextDeadline()).toBe(30);
    q.runDue(100);
    expect(order).toEqual(['a1', 'a2', 'b', 'c']);
    expect(q.nextDeadline()).toBe(Infinity);
  });

  it('cancels timers, ignoring stale handles', () => {
    const q = new HeapTimerQueue();
    let fired = 0;
    const h = q.schedule(5, () => fired++);
    q.schedule(7, () => fired++);
    q.cancel(h);
    q.cancel(h);
    q.cancel(12345);
    expect(q.nextDeadline()).toBe(7);
    expect(q.size).toBe(1);
    q.runDue(10);
    expect(fired).toBe(1);
  });

  it('runs timers scheduled by a callback when they are already due', () => {
    const q = new HeapTimerQueue();
    const seen: number[] = [];
    q.schedule(10, (d) => {
      seen.push(d);
      q.schedule(d + 10, (d2) => seen.push(d2));
    });
    q.runDue(25);
    expect(seen).toEqual([10, 20]);
  });

  it('keeps a random schedule/cancel mix in order', () => {
    const q = new HeapTimerQueue();
    let seed = 12345;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const fired: number[] = [];
    const handles: number[] = [];
    for (let i = 0; i < 500; i++) handles.push(q.schedule(Math.floor(rnd() * 1000), (d) => fired.push(d)));
    for (let i = 0; i < 500; i += 3) q.cancel(handles[i]!);
    q.runDue(1000);
    expect(fired.length).toBe(500 - 167);
    for (let i = 1; i < fired.length; i++) expect(fired[i]!).toBeGreaterThanOrEqual(fired[i - 1]!);
  });
});

describe('ManualClock', () => {
  it('never goes backwards', () => {
    const c = new ManualClock(5);
    c.advance(10);
    expect(c.nowNs()).toBe(15);
    expect(() => c.setNs(3)).toThrow(/backwards/);
  });
});

describe('BufferPhysMemory', () => {
  it('writes little-endian and ignores out-of-range addresses', () => {
    const buf = new ArrayBuffer(16);
    const m = new BufferPhysMemory(buf);
    m.write32(4, 0x11223344);
    m.write8(0, 0x1ff);
    m.write32(14, 1); // out of range: ignored
    expect([...new Uint8Array(buf, 0, 8)]).toEqual([0xff, 0, 0, 0, 0x44, 0x33, 0x22, 0x11]);
    expect(m.read32(4)).toBe(0x11223344);
  });
});

describe('determinism', () => {
  it('no device reads host time or host randomness', () => {
    const dir = join(import.meta.dirname, '../../src/devices');
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
      const src = readFileSync(join(dir, f), 'utf8');
      expect(src, f).not.toMatch(/Date\.now|performance\.now|new Date\(|Math\.random|process\.hrtime|setTimeout|setInterval/);
    }
  });
});
