import { describe, expect, it } from 'vitest';
import { IoBus } from '../../src/devices/bus.js';
import { DualPic } from '../../src/devices/pic.js';

describe('8259 pair', () => {
  it('accepts the standard init sequence and masks everything like OSv', () => {
    const io = new IoBus();
    const pic = new DualPic();
    io.add(pic);
    io.write(0x20, 1, 0x11); // ICW1: edge, cascade, ICW4
    io.write(0x21, 1, 0x20); // ICW2: vectors 0x20
    io.write(0x21, 1, 0x04); // ICW3: slave on IRQ2
    io.write(0x21, 1, 0x01); // ICW4: 8086 mode
    io.write(0xa0, 1, 0x11);
    io.write(0xa1, 1, 0x28);
    io.write(0xa1, 1, 0x02);
    io.write(0xa1, 1, 0x01);
    expect(pic.master.vectorBase).toBe(0x20);
    expect(pic.slave.vectorBase).toBe(0x28);
    expect(pic.master.icw3).toBe(0x04);
    expect(pic.fullyMasked).toBe(false);
    io.write(0x21, 1, 0xff);
    io.write(0xa1, 1, 0xff);
    expect(io.read(0x21, 1)).toBe(0xff);
    expect(io.read(0xa1, 1)).toBe(0xff);
    expect(pic.fullyMasked).toBe(true);
    expect(io.read(0x20, 1)).toBe(0); // IRR: nothing ever requested
  });

  it('handles single mode without ICW3/ICW4 and OCW3', () => {
    const pic = new DualPic();
    pic.writePort(0x20, 1, 0x13); // single, ICW4
    pic.writePort(0x21, 1, 0x08);
    pic.writePort(0x21, 1, 0x01); // ICW4 (no ICW3 in single mode)
    expect(pic.master.initStep).toBe(0);
    pic.writePort(0x21, 1, 0xfb);
    expect(pic.readPort(0x21, 1)).toBe(0xfb);
    pic.writePort(0x20, 1, 0x0b); // OCW3: read ISR
    expect(pic.master.readIsr).toBe(true);
    expect(pic.readPort(0x20, 1)).toBe(0);
    expect(pic.master.mask).toBe(0xfb);
  });

  it('ELCR keeps the always-edge IRQs at 0', () => {
    const pic = new DualPic();
    pic.writePort(0x4d0, 1, 0xff);
    pic.writePort(0x4d1, 1, 0xff);
    expect(pic.readPort(0x4d0, 1)).toBe(0xf8);
    expect(pic.readPort(0x4d1, 1)).toBe(0xde);
  });
});
