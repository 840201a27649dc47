import { describe, expect, it } from 'vitest';
import { IoBus } from '../../src/devices/bus.js';
import { AcpiPm, PM_TIMER_HZ } from '../../src/devices/acpi-pm.js';
import { RecordingLine, VirtualTime } from './helpers.js';

function setup(opts: { timer32?: boolean; sciEnabled?: boolean } = {}) {
  const t = new VirtualTime();
  const io = new IoBus();
  let offs = 0;
  const sci = new RecordingLine();
  const pm = new AcpiPm({ clock: t.clock, powerOff: () => offs++, sci, ...opts });
  io.add(pm);
  return { t, io, pm, sci, offs: () => offs };
}

describe('ACPI PM1 control', () => {
  it('SLP_EN with SLP_TYP 0 (S5, as QEMU) powers off: outw(0x604, 0x2000)', () => {
    const { io, offs, pm } = setup();
    io.write(0x604, 2, 0x2000);
    expect(offs()).toBe(1);
    expect(pm.isPoweredOff).toBe(true);
    expect(io.read(0x604, 2) & 0x2000).toBe(0); // SLP_EN is write-only
  });

  it('other sleep types and writes without SLP_EN do not power off', () => {
    const { io, offs } = setup();
    io.write(0x604, 2, 0x3400); // SLP_TYP 5 + SLP_EN: not this machine's S5
    io.write(0x604, 2, 0x0000);
    io.write(0x604, 1, 0x01);
    expect(offs()).toBe(0);
  });

  it('a byte write to the high half of PM1_CNT acts on the whole register', () => {
    const { io, offs } = setup();
    io.write(0x605, 1, 0x20);
    expect(offs()).toBe(1);
  });

  it('SMI command 0xF1 sets SCI_EN (ACPI mode); 0xF0 clears it', () => {
    const { io, pm } = setup();
    expect(pm.sciEnabled).toBe(false);
    io.write(0xb2, 1, 0xf1);
    expect(io.read(0x604, 2) & 1).toBe(1);
    io.write(0xb2, 1, 0xf0);
    expect(io.read(0x604, 2) & 1).toBe(0);
    expect(setup({ sciEnabled: true }).pm.sciEnabled).toBe(true);
  });
});

describe('ACPI PM1 events', () => {
  it('power button sets PWRBTN_STS and raises the SCI when enabled; write-1 clears', () => {
    const { io, pm, sci } = setup({ sciEnabled: true });
    pm.pressPowerButton();
    expect(io.read(0x600, 2) & 0x100).toBe(0x100);
    expect(sci.level).toBe(false);
    io.write(0x602, 2, 0x100);
    expect(io.read(0x602, 2)).toBe(0x100);
    expect(sci.level).toBe(true);
    io.write(0x600, 2, 0x100);
    expect(io.read(0x600, 2) & 0x100).toBe(0);
    expect(sci.level).toBe(false);
  });

  it('GPE0 block: status write-1-clear, enable read/write', () => {
    const { io } = setup();
    io.write(0xafe2, 2, 0x000f);
    expect(io.read(0xafe0, 4)).toBe(0x000f0000);
  });
});

describe('ACPI PM timer', () => {
  it('counts at 3.579545 MHz from the virtual clock, 24-bit', () => {
    const { t, io, pm } = setup();
    expect(io.read(0x608, 4)).toBe(0);
    t.advance(1e9);
    expect(pm.timerTicks()).toBe(PM_TIMER_HZ);
    expect(io.read(0x608, 4)).toBe(PM_TIMER_HZ & 0xffffff);
    t.advance(1000); // 1 us = 3.58 ticks
    expect(io.read(0x608, 4)).toBe((PM_TIMER_HZ + 3) & 0xffffff);
  });

  it('is exact far from zero and can be 32-bit', () => {
    const { t, io, pm } = setup({ timer32: true });
    t.advance(86_400e9 * 30 + 123_456_789); // 30 days
    const expected = 86_400 * 30 * PM_TIMER_HZ + Math.floor((123_456_789 * PM_TIMER_HZ) / 1e9);
    expect(pm.timerTicks()).toBe(expected);
    expect(io.read(0x608, 4)).toBe(expected % 2 ** 32);
  });

  it('sets TMR_STS when the top bit toggles; write-1 clears', () => {
    const { t, io } = setup();
    expect(io.read(0x600, 2) & 1).toBe(0);
    t.advance(Math.ceil((2 ** 23 / PM_TIMER_HZ) * 1e9) + 1);
    expect(io.read(0x600, 2) & 1).toBe(1);
    io.write(0x600, 2, 1);
    expect(io.read(0x600, 2) & 1).toBe(0);
  });
});
