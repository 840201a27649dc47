import { describe, expect, it } from 'vitest';
import { IoBus } from '../../src/devices/bus.js';
import { Uart16550, type SerialBackend } from '../../src/devices/uart16550.js';
import { RecordingLine, VirtualTime } from './helpers.js';

class Backend implements SerialBackend {
  out: number[] = [];
  input: number[] = [];
  write(b: number): void {
    this.out.push(b);
  }
  read(): number {
    return this.input.length > 0 ? this.input.shift()! : -1;
  }
}

function setup() {
  const io = new IoBus();
  const be = new Backend();
  const irq = new RecordingLine();
  const uart = new Uart16550(be, irq);
  io.add(uart);
  return { io, be, irq, uart };
}

describe('16550 transmit', () => {
  it('sends THR bytes to the back end with LSR THRE|TEMT always set', () => {
    const { io, be } = setup();
    expect(io.read(0x3fd, 1)).toBe(0x60);
    for (const c of 'OSv') io.write(0x3f8, 1, c.charCodeAt(0));
    expect(String.fromCharCode(...be.out)).toBe('OSv');
    expect(io.read(0x3fd, 1)).toBe(0x60);
  });

  it('the DLAB bit exposes the divisor latch instead of THR/IER', () => {
    const { io, be } = setup();
    io.write(0x3fb, 1, 0x83);
    io.write(0x3f8, 1, 0x01);
    io.write(0x3f9, 1, 0x00);
    expect(io.read(0x3f8, 1)).toBe(0x01);
    expect(io.read(0x3f9, 1)).toBe(0x00);
    io.write(0x3fb, 1, 0x03);
    expect(io.read(0x3f9, 1)).toBe(0x00); // IER untouched
    expect(be.out).toEqual([]);
    expect(io.read(0x3fb, 1)).toBe(0x03);
  });

  it('raises the THR-empty interrupt when enabled; reading IIR acknowledges it', () => {
    const { io, irq } = setup();
    io.write(0x3f9, 1, 0x02);
    expect(irq.level).toBe(true);
    expect(io.read(0x3fa, 1)).toBe(0x02);
    expect(irq.level).toBe(false);
    expect(io.read(0x3fa, 1)).toBe(0x01);
    io.write(0x3f8, 1, 0x41);
    expect(irq.level).toBe(true); // transmitted at once: THR empty again
  });

  it('scratch and modem control registers read back', () => {
    const { io } = setup();
    io.write(0x3ff, 1, 0x5a);
    expect(io.read(0x3ff, 1)).toBe(0x5a);
    io.write(0x3fc, 1, 0x0b);
    expect(io.read(0x3fc, 1)).toBe(0x0b);
    expect(io.read(0x3fe, 1) & 0xf0).toBe(0xb0);
  });
});

describe('16550 receive', () => {
  it('receives with the data-available interrupt when IER bit 0 is set', () => {
    const { io, be, irq, uart } = setup();
    io.write(0x3fa, 1, 0x07); // enable and clear FIFOs
    be.input.push(0x61, 0x62);
    expect(uart.pollInput()).toBe(2);
    expect(irq.level).toBe(false); // not enabled yet
    expect(io.read(0x3fd, 1) & 1).toBe(1);
    io.write(0x3f9, 1, 0x01);
    expect(irq.level).toBe(true);
    expect(io.read(0x3fa, 1)).toBe(0xc4);
    expect(io.read(0x3f8, 1)).toBe(0x61);
    expect(irq.level).toBe(true);
    expect(io.read(0x3f8, 1)).toBe(0x62);
    expect(irq.level).toBe(false);
    expect(io.read(0x3fd, 1) & 1).toBe(0);
    expect(io.read(0x3fa, 1)).toBe(0xc1);
  });

  it('never loses host input: a 1-byte chip (FIFOs off, as OSv leaves it) refills as RBR is read', () => {
    const { io, uart, irq } = setup();
    io.write(0x3f9, 1, 0x01);
    for (const c of 'hello') uart.receive(c.charCodeAt(0));
    expect(uart.rxLevel).toBe(1);
    expect(uart.hostQueueLength).toBe(4);
    let got = '';
    while (io.read(0x3fd, 1) & 1) got += String.fromCharCode(io.read(0x3f8, 1));
    expect(got).toBe('hello');
    expect(irq.level).toBe(false);
    expect(io.read(0x3fd, 1) & 0x02).toBe(0); // no overrun
  });

  it('holds 16 bytes in the FIFO when enabled', () => {
    const { io, uart } = setup();
    io.write(0x3fa, 1, 0x01);
    for (let i = 0; i < 20; i++) uart.receive(i);
    expect(uart.rxLevel).toBe(16);
    const got = [];
    while (io.read(0x3fd, 1) & 1) got.push(io.read(0x3f8, 1));
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('loopback overruns a full chip and LSR reports it once', () => {
    const { io } = setup();
    io.write(0x3fc, 1, 0x10);
    io.write(0x3f8, 1, 1);
    io.write(0x3f8, 1, 2);
    expect(io.read(0x3fd, 1) & 0x03).toBe(0x03);
    expect(io.read(0x3fd, 1) & 0x02).toBe(0);
    expect(io.read(0x3f8, 1)).toBe(1);
  });

  it('pollInput only takes what fits', () => {
    const { be, uart, io } = setup();
    io.write(0x3fa, 1, 0x01);
    be.input.push(...Array.from({ length: 20 }, (_, i) => i));
    expect(uart.pollInput()).toBe(16);
    expect(be.input.length).toBe(4);
  });

  it('loopback mode feeds THR back to RBR instead of the back end', () => {
    const { io, be } = setup();
    io.write(0x3fc, 1, 0x10);
    io.write(0x3f8, 1, 0xae);
    expect(be.out).toEqual([]);
    expect(io.read(0x3f8, 1)).toBe(0xae);
    io.write(0x3fc, 1, 0x1f);
    expect(io.read(0x3fe, 1) & 0xf0).toBe(0xf0);
  });

  it('an output-only back end is fine', () => {
    const out: number[] = [];
    const uart = new Uart16550({ write: (b) => out.push(b) }, null);
    expect(uart.pollInput()).toBe(0);
    uart.writePort(0x3f8, 1, 0x21);
    expect(out).toEqual([0x21]);
  });
});

describe('16550 input polling', () => {
  it('polls the back end on the timer queue at fixed virtual times', () => {
    const t = new VirtualTime();
    const be = new Backend();
    const uart = new Uart16550(be, null);
    t.advance(500);
    const stop = uart.startInputPolling(t.clock, t.timers, 1000);
    expect(t.timers.nextDeadline()).toBe(1500);
    be.input.push(1, 2);
    t.to(1499);
    expect(uart.rxLevel).toBe(0);
    t.to(1500);
    expect(uart.rxLevel).toBe(1); // FIFOs off: one byte per poll
    uart.readPort(0x3f8, 1);
    t.to(2500);
    expect(uart.readPort(0x3f8, 1)).toBe(2);
    stop();
    expect(t.timers.nextDeadline()).toBe(Infinity);
    expect(() => uart.startInputPolling(t.clock, t.timers, 0)).toThrow(/interval/);
  });
});
