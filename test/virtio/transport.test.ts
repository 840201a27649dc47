import { describe, expect, it } from 'vitest';
import { VirtioPciDevice, type VirtioPciMode } from '../../src/devices/virtio/pci-transport.js';
import { RecordingLine, VirtualTime } from '../devices/helpers.js';
import { EchoModel } from './echo-model.js';
import { DriverRing, F_INDIRECT, F_WRITE, FakeRam } from './ring.js';

// Legacy register offsets (BAR0).
const HOST_F = 0x00, GUEST_F = 0x04, PFN = 0x08, QNUM = 0x0c, QSEL = 0x0e, NOTIFY = 0x10, STATUS = 0x12, ISR = 0x13;
const CFG_VEC = 0x14, Q_VEC = 0x16;
const INDIRECT = 1 << 28, EVENT_IDX = 1 << 29;

function setup(mode: VirtioPciMode = 'transitional', msix = true) {
  const ram = new FakeRam();
  const t = new VirtualTime();
  const log: string[] = [];
  const msis: [number, number][] = [];
  const model = new EchoModel();
  const dev = new VirtioPciDevice(model, {
    mem: ram, clock: t.clock, timers: t.timers, mode, log: (l) => log.push(l),
    ...(msix ? { sendMsi: (lo: number, _hi: number, data: number) => msis.push([lo, data]) } : {}),
  });
  const intx = new RecordingLine();
  dev.intx = intx;
  dev.setSlot(3);
  const io = {
    r: (off: number, size: 1 | 2 | 4) => dev.readBar(0, off, size),
    w: (off: number, size: 1 | 2 | 4, v: number) => dev.writeBar(0, off, size, v),
  };
  return { ram, t, log, msis, model, dev, intx, io };
}

/** Legacy driver bring-up of queue `q` at `base` with `features`, as OSv does it. */
function legacyQueue(s: ReturnType<typeof setup>, q: number, base: number, features: number): DriverRing {
  const { io, ram } = s;
  io.w(STATUS, 1, 1);
  io.w(STATUS, 1, 3);
  io.w(GUEST_F, 4, features);
  io.w(QSEL, 2, q);
  const size = io.r(QNUM, 2);
  const ring = DriverRing.legacy(ram, size, base);
  io.w(PFN, 4, base / 4096);
  io.w(STATUS, 1, 7);
  return ring;
}

function put(ram: FakeRam, addr: number, s: string): void {
  ram.u8.set(new TextEncoder().encode(s), addr);
}
function get(ram: FakeRam, addr: number, n: number): string {
  return new TextDecoder().decode(ram.u8.subarray(addr, addr + n));
}

describe('virtio-pci transport: identity and BARs', () => {
  it('transitional: legacy ID, revision 0, subsystem = type, I/O BAR0, MSI-X BAR1, modern BAR4 and capabilities', () => {
    const { dev } = setup();
    expect(dev.readConfig(0, 4)).toBe(0x10031af4);
    expect(dev.readConfig(8, 1)).toBe(0);
    expect(dev.readConfig(0x2c, 4)).toBe(0x00031af4);
    expect(dev.bars[0]).toMatchObject({ kind: 'io', size: 32 });
    expect(dev.bars[1]).toMatchObject({ kind: 'mem32', size: 0x1000 });
    expect(dev.bars[4]).toMatchObject({ kind: 'mem64', size: 0x4000, prefetchable: true });
    const caps: number[][] = [];
    for (let p = dev.readConfig(0x34, 1); p !== 0; p = dev.readConfig(p + 1, 1)) {
      caps.push([dev.readConfig(p, 1), dev.readConfig(p, 1) === 9 ? dev.readConfig(p + 3, 1) : -1]);
    }
    expect(caps).toEqual([[0x11, -1], [9, 1], [9, 3], [9, 4], [9, 2], [9, 5]]);
  });

  it('modern: ID 0x1040 + type, revision 1, no I/O BAR; legacy: no BAR4', () => {
    const m = setup('modern').dev;
    expect(m.readConfig(0, 4)).toBe(0x10431af4);
    expect(m.readConfig(8, 1)).toBe(1);
    expect(m.bars[0]).toBeUndefined();
    const l = setup('legacy').dev;
    expect(l.readConfig(0, 4)).toBe(0x10031af4);
    expect(l.bars[4]).toBeUndefined();
  });
});

describe('virtio-pci transport: legacy interface', () => {
  it('offers device + ring features, moves the device config to 0x18 when MSI-X is on', () => {
    const s = setup();
    const { io, dev } = s;
    expect(io.r(HOST_F, 4)).toBe((1 | INDIRECT | EVENT_IDX | (1 << 27)) >>> 0);
    expect(io.r(0x14, 4)).toBe(0x04030201);
    dev.writeConfig(dev.msix!.capOffset + 2, 2, 0x8000);
    expect(io.r(0x18, 2)).toBe(0x0201);
    expect(io.r(CFG_VEC, 2)).toBe(0xffff);
    io.w(0x19, 1, 0x55);
    expect(s.model.configWrites).toEqual([[1, 1, 0x55]]);
  });

  it('runs a chain, interrupts through INTx + ISR, and the ISR read lowers the line', () => {
    const s = setup('transitional', false);
    const ring = legacyQueue(s, 0, 0x10000, 0);
    expect(s.model.driverOks).toBe(1);
    put(s.ram, 0x20000, 'hello');
    ring.chain([{ addr: 0x20000, len: 5 }, { addr: 0x30000, len: 16, flags: F_WRITE }]);
    s.io.w(NOTIFY, 2, 0);
    expect(ring.takeUsed()).toEqual([[0, 5]]);
    expect(get(s.ram, 0x30000, 5)).toBe('olleh');
    expect(s.intx.level).toBe(true);
    expect(s.io.r(ISR, 1)).toBe(1);
    expect(s.intx.level).toBe(false);
    expect(s.io.r(ISR, 1)).toBe(0);
    expect(s.log).toEqual([]);
  });

  it('MSI-X: per-queue vector, refused vector reads back 0xffff, message sent on completion', () => {
    const s = setup();
    const { dev, io } = s;
    dev.writeConfig(dev.msix!.capOffset + 2, 2, 0x8000);
    dev.writeBar(1, 16, 4, 0xfee00000);
    dev.writeBar(1, 24, 4, 0x26);
    dev.writeBar(1, 28, 4, 0);
    io.w(QSEL, 2, 0);
    io.w(Q_VEC, 2, 7);
    expect(io.r(Q_VEC, 2)).toBe(0xffff);
    io.w(Q_VEC, 2, 1);
    expect(io.r(Q_VEC, 2)).toBe(1);
    const ring = legacyQueue(s, 0, 0x10000, 0);
    ring.chain([{ addr: 0x20000, len: 2 }, { addr: 0x30000, len: 2, flags: F_WRITE }]);
    io.w(NOTIFY, 2, 0);
    expect(s.msis).toEqual([[0xfee00000, 0x26]]);
    expect(s.intx.raises).toBe(0);
  });

  it('indirect descriptors', () => {
    const s = setup('transitional', false);
    const ring = legacyQueue(s, 0, 0x10000, INDIRECT);
    put(s.ram, 0x20000, 'abc');
    put(s.ram, 0x20010, 'de');
    ring.setDesc(0, { addr: 0x20000, len: 3, flags: 1, next: 1 }, 0x40000);
    ring.setDesc(1, { addr: 0x20010, len: 2, flags: 1, next: 2 }, 0x40000);
    ring.setDesc(2, { addr: 0x30000, len: 8, flags: F_WRITE }, 0x40000);
    ring.setDesc(5, { addr: 0x40000, len: 48, flags: F_INDIRECT });
    ring.offer(5);
    s.io.w(NOTIFY, 2, 0);
    expect(ring.takeUsed()).toEqual([[5, 5]]);
    expect(get(s.ram, 0x30000, 5)).toBe('edcba');
  });

  it('EVENT_IDX: avail_event follows the device, interrupts only when used_event is crossed', () => {
    const s = setup('transitional', false);
    const ring = legacyQueue(s, 0, 0x10000, EVENT_IDX);
    ring.usedEvent = 1; // interrupt when the second buffer is used
    for (let k = 0; k < 2; k++) {
      ring.chain([{ addr: 0x20000, len: 1 }, { addr: 0x30000, len: 1, flags: F_WRITE }], 2 * k);
      s.io.w(NOTIFY, 2, 0);
      expect(ring.availEvent).toBe(k + 1);
      expect(s.io.r(ISR, 1)).toBe(k === 0 ? 1 : 1); // first completion always signals (nothing signalled yet)
    }
    ring.usedEvent = 5;
    ring.chain([{ addr: 0x20000, len: 1 }, { addr: 0x30000, len: 1, flags: F_WRITE }], 4);
    s.io.w(NOTIFY, 2, 0);
    expect(s.io.r(ISR, 1)).toBe(0);
    expect(ring.usedIdx).toBe(3);
  });

  it('NO_INTERRUPT without EVENT_IDX suppresses the interrupt', () => {
    const s = setup('transitional', false);
    const ring = legacyQueue(s, 0, 0x10000, 0);
    ring.availFlags = 1;
    ring.chain([{ addr: 0x20000, len: 1 }, { addr: 0x30000, len: 1, flags: F_WRITE }]);
    s.io.w(NOTIFY, 2, 0);
    expect(ring.usedIdx).toBe(1);
    expect(s.intx.raises).toBe(0);
  });
});

describe('virtio-pci transport: modern interface', () => {
  it('feature words, FEATURES_OK, queue setup through common config, notify region, ISR, device config', () => {
    const s = setup('modern', false);
    const { dev, ram } = s;
    const r = (o: number, sz: 1 | 2 | 4) => dev.readBar(4, o, sz);
    const w = (o: number, sz: 1 | 2 | 4, v: number) => dev.writeBar(4, o, sz, v);
    w(0x00, 4, 1);
    expect(r(0x04, 4)).toBe(1); // VERSION_1
    w(0x00, 4, 0);
    expect(r(0x04, 4)).toBe((1 | INDIRECT | EVENT_IDX) >>> 0);
    expect(r(0x12, 2)).toBe(2);
    w(0x14, 1, 3);
    w(0x08, 4, 0); w(0x0c, 4, 1 | (1 << 5)); // bit 5 not offered
    w(0x08, 4, 1); w(0x0c, 4, 1);
    w(0x14, 1, 11);
    expect(r(0x14, 1)).toBe(3); // FEATURES_OK refused
    w(0x08, 4, 0); w(0x0c, 4, 1 | INDIRECT);
    w(0x14, 1, 11);
    expect(r(0x14, 1)).toBe(11);
    w(0x16, 2, 1);
    expect(r(0x18, 2)).toBe(4);
    w(0x18, 2, 2);
    w(0x20, 4, 0x50000); w(0x28, 4, 0x50100); w(0x30, 4, 0x50200);
    w(0x1c, 2, 1);
    expect(r(0x1c, 2)).toBe(1);
    expect(r(0x1e, 2)).toBe(1);
    w(0x14, 1, 15);
    const ring = new DriverRing(ram, 2, 0x50000, 0x50100, 0x50200);
    put(ram, 0x20000, 'xy');
    ring.chain([{ addr: 0x20000, len: 2 }, { addr: 0x30000, len: 2, flags: F_WRITE }]);
    w(0x3000 + 4 * 1, 2, 1);
    expect(ring.takeUsed()).toEqual([[0, 2]]);
    expect(get(ram, 0x30000, 2)).toBe('yx');
    expect(r(0x1000, 1)).toBe(1);
    expect(r(0x2000, 4)).toBe(0x04030201);
    // The PCI-config access capability reaches the same registers.
    let cap = dev.readConfig(0x34, 1);
    while (!(dev.readConfig(cap, 1) === 9 && dev.readConfig(cap + 3, 1) === 5)) cap = dev.readConfig(cap + 1, 1);
    dev.writeConfig(cap + 4, 1, 4);
    dev.writeConfig(cap + 8, 4, 0x2004);
    dev.writeConfig(cap + 12, 4, 4);
    expect(dev.readConfig(cap + 16, 4)).toBe(0x08070605);
    // Status 0 resets everything.
    w(0x14, 1, 0);
    expect(r(0x1c, 2)).toBe(0);
    expect(s.model.resets).toBe(1);
  });
});

describe('virtio-pci transport: hostile descriptor chains', () => {
  const cases: [string, (ring: DriverRing) => void, RegExp][] = [
    ['buffer outside RAM', (ring) => ring.chain([{ addr: 0xfff00000, len: 16 }]), /outside RAM/],
    ['buffer straddling the end of RAM', (ring) => ring.chain([{ addr: (1 << 20) - 8, len: 16 }]), /outside RAM/],
    ['64-bit address', (ring) => ring.chain([{ addr: 2 ** 40, len: 1 }]), /outside RAM/],
    ['loop', (ring) => {
      ring.setDesc(0, { addr: 0x20000, len: 1, flags: 1, next: 1 });
      ring.setDesc(1, { addr: 0x20000, len: 1, flags: 1, next: 0 });
      ring.offer(0);
    }, /loops back/],
    ['next beyond the table', (ring) => {
      ring.setDesc(0, { addr: 0x20000, len: 1, flags: 1, next: 99 });
      ring.offer(0);
    }, /beyond its 8-entry table/],
    ['head beyond the table', (ring) => ring.offer(200), /head descriptor 200/],
    ['readable after writable', (ring) => ring.chain([{ addr: 0x20000, len: 1, flags: F_WRITE }, { addr: 0x20000, len: 1 }]), /readable after/],
    ['indirect table with a bad length', (ring) => ring.chain([{ addr: 0x40000, len: 20, flags: F_INDIRECT }]), /bad table length 20/],
    ['indirect table outside RAM', (ring) => ring.chain([{ addr: 0xffff0000, len: 32, flags: F_INDIRECT }]), /outside RAM/],
    ['nested indirect', (ring) => {
      ring.setDesc(0, { addr: 0x41000, len: 16, flags: F_INDIRECT }, 0x40000);
      ring.chain([{ addr: 0x40000, len: 16, flags: F_INDIRECT }]);
    }, /itself indirect/],
    ['over-long chain inside an indirect table', (ring) => {
      for (let k = 0; k < 4; k++) ring.setDesc(k, { addr: 0x20000, len: 1, flags: 1, next: (k + 1) % 4 }, 0x40000);
      ring.chain([{ addr: 0x40000, len: 64, flags: F_INDIRECT }]);
    }, /longer than its 4-entry table/],
    ['available index jumping ahead', (ring) => {
      ring.availIdx = 100;
      ring.ram.dv.setUint16(ring.avail + 2, 100, true);
    }, /moved 100 entries ahead/],
  ];
  for (const [name, make, message] of cases) {
    it(`${name}: needs-reset, one stderr line, no throw; a reset revives the device`, () => {
      const s = setup('transitional', false);
      const ring = legacyQueue(s, 0, 0x10000, INDIRECT);
      make(ring);
      expect(() => s.io.w(NOTIFY, 2, 0)).not.toThrow();
      expect(s.log).toHaveLength(1);
      expect(s.log[0]).toMatch(message);
      expect(s.log[0]).toMatch(/^osvemu: virtio-echo 00:03\.0: queue 0: .*; device needs reset$/);
      expect(s.io.r(STATUS, 1) & 0x40).toBe(0x40);
      expect(s.io.r(ISR, 1)).toBe(2); // config-change interrupt
      // Later kicks are ignored, and no second line is printed.
      s.io.w(NOTIFY, 2, 0);
      expect(s.log).toHaveLength(1);
      // Reset and a fresh ring work again.
      s.io.w(STATUS, 1, 0);
      expect(s.io.r(STATUS, 1)).toBe(0);
      const again = legacyQueue(s, 0, 0x60000, 0);
      put(s.ram, 0x20000, 'ok');
      again.chain([{ addr: 0x20000, len: 2 }, { addr: 0x30000, len: 2, flags: F_WRITE }]);
      s.io.w(NOTIFY, 2, 0);
      expect(again.takeUsed()).toEqual([[0, 2]]);
    });
  }

  it('a ring placed outside RAM fails at PFN time', () => {
    const s = setup('transitional', false);
    s.io.w(QSEL, 2, 0);
    s.io.w(PFN, 4, 0xfffff);
    expect(s.log[0]).toMatch(/descriptor table at 0xfffff000\+128 is outside RAM/);
  });
});
