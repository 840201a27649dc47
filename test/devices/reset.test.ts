import { describe, expect, it } from 'vitest';
import { IoBus } from '../../src/devices/bus.js';
import { ResetPorts } from '../../src/devices/reset.js';

function setup(withExit = false) {
  const io = new IoBus();
  const events: string[] = [];
  const out: number[] = [];
  io.add(
    new ResetPorts({
      reset: () => events.push('reset'),
      debugOut: (b) => out.push(b),
      ...(withExit ? { debugExit: (s: number) => events.push(`exit ${s}`) } : {}),
    }),
  );
  return { io, events, out };
}

describe('reset sources', () => {
  it('keyboard controller command 0xFE resets; other commands do not', () => {
    const { io, events } = setup();
    expect(io.read(0x64, 1) & 0x02).toBe(0); // input buffer empty
    io.write(0x64, 1, 0xad);
    expect(events).toEqual([]);
    io.write(0x64, 1, 0xfe);
    expect(events).toEqual(['reset']);
  });

  it('port 0xCF9 resets with 0x06 and 0x0E, not with 0x02', () => {
    const { io, events } = setup();
    io.write(0xcf9, 1, 0x02);
    expect(events).toEqual([]);
    expect(io.read(0xcf9, 1)).toBe(0x02);
    io.write(0xcf9, 1, 0x06);
    io.write(0xcf9, 1, 0x0e);
    expect(events).toEqual(['reset', 'reset']);
  });

  it('port 0x92 bit 0 rising edge resets; A20 bit reads back', () => {
    const { io, events } = setup();
    expect(io.read(0x92, 1)).toBe(0x02);
    io.write(0x92, 1, 0x02);
    expect(events).toEqual([]);
    io.write(0x92, 1, 0x03);
    expect(events).toEqual(['reset']);
    expect(io.read(0x92, 1)).toBe(0x02);
    io.write(0x92, 1, 0x03);
    expect(events).toEqual(['reset', 'reset']);
  });
});

describe('debug ports', () => {
  it('0xE9 collects bytes and reads back 0xE9', () => {
    const { io, out } = setup();
    for (const c of 'ok\n') io.write(0xe9, 1, c.charCodeAt(0));
    expect(String.fromCharCode(...out)).toBe('ok\n');
    expect(io.read(0xe9, 1)).toBe(0xe9);
  });

  it('0xF4 exits with (value << 1) | 1 only when configured', () => {
    const a = setup();
    a.io.write(0xf4, 1, 0x10);
    expect(a.events).toEqual([]);
    const b = setup(true);
    b.io.write(0xf4, 1, 0x10);
    expect(b.events).toEqual(['exit 33']);
  });
});
