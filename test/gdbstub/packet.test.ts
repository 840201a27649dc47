import { describe, expect, it } from 'vitest';
import { checksum, decodeRle, encodeRle, escapeBinary, framePacket, PacketParser, unescapeBinary, type FrameEvent } from '../../src/gdbstub/packet.js';
import { addressToHex, bytesToHex, hexToBytes, hexToString, parseAddress, parseHexNumber, stringToHex } from '../../src/gdbstub/hex.js';

function parse(input: string | Uint8Array, max = 64): FrameEvent[] {
  const events: FrameEvent[] = [];
  const p = new PacketParser(max, (e) => events.push(e));
  p.feed(typeof input === 'string' ? Buffer.from(input, 'latin1') : input);
  return events;
}

describe('hex helpers', () => {
  it('round-trips bytes and strings', () => {
    expect(bytesToHex(Uint8Array.of(0, 0x7f, 0xff))).toBe('007fff');
    expect(Array.from(hexToBytes('007FfF')!)).toEqual([0, 0x7f, 0xff]);
    expect(hexToBytes('0')).toBeNull();
    expect(hexToBytes('zz')).toBeNull();
    expect(hexToString(stringToHex('info cpus'))).toBe('info cpus');
  });

  it('parses addresses and bounded numbers', () => {
    expect(parseAddress('ffffffff80000000')).toBe(0xffffffff80000000n);
    expect(parseAddress('1ffffffff80000000')).toBeNull(); // 17 digits
    expect(parseAddress('')).toBeNull();
    expect(parseAddress('-1')).toBeNull();
    expect(parseHexNumber('10')).toBe(16);
    expect(parseHexNumber('fffffffff')).toBeNull();
    expect(parseHexNumber('100', 0xff)).toBeNull();
    expect(addressToHex(0xffff800000000000n)).toBe('ffff800000000000');
  });
});

describe('framing', () => {
  it('computes checksums and frames', () => {
    expect(checksum('OK')).toBe(0x9a);
    expect(framePacket('OK').toString()).toBe('$OK#9a');
    expect(framePacket('').toString()).toBe('$#00');
  });

  it('escapes and unescapes binary data', () => {
    const raw = 'a$b#c}d*e';
    const esc = escapeBinary(raw);
    expect(esc).toBe('a}\x04b}\x03c}]d}\x0ae');
    expect(unescapeBinary(esc)).toBe(raw);
    expect(unescapeBinary('abc}')).toBeNull();
  });

  it('decodes and encodes run-length encoding', () => {
    expect(decodeRle('0* ')).toBe('0000');
    expect(decodeRle('*a')).toBeNull();
    expect(decodeRle('0*')).toBeNull();
    for (const s of ['', 'abc', '0'.repeat(7), '0'.repeat(8), '0'.repeat(15), '0'.repeat(17), 'x'.repeat(500), '00112233' + 'f'.repeat(40)]) {
      const enc = encodeRle(s);
      expect(enc).not.toMatch(/[$#]/);
      expect(decodeRle(enc)).toBe(s);
    }
    expect(encodeRle('0'.repeat(100)).length).toBeLessThan(10);
  });
});

describe('PacketParser', () => {
  it('parses a packet split byte by byte', () => {
    const events: FrameEvent[] = [];
    const p = new PacketParser(64, (e) => events.push(e));
    for (const b of framePacket('qSupported:swbreak+')) p.feed(Uint8Array.of(b));
    expect(events).toEqual([{ type: 'packet', body: 'qSupported:swbreak+' }]);
    expect(p.inPacket).toBe(false);
  });

  it('reports acks, nacks and Ctrl-C, and ignores garbage between packets', () => {
    expect(parse('+\x00zz-\x03\xff$g#67\n')).toEqual([{ type: 'ack' }, { type: 'nack' }, { type: 'interrupt' }, { type: 'packet', body: 'g' }]);
  });

  it('flags a bad checksum and a non-hex checksum', () => {
    expect(parse('$g#00')).toEqual([{ type: 'bad' }]);
    expect(parse('$g#zz$g#67')).toEqual([{ type: 'bad' }, { type: 'packet', body: 'g' }]);
  });

  it('rejects oversized packets without keeping them', () => {
    const body = 'm'.repeat(100);
    expect(parse(framePacket(body), 64)).toEqual([{ type: 'bad' }]);
    expect(parse(framePacket('m'.repeat(64)), 64)).toEqual([{ type: 'packet', body: 'm'.repeat(64) }]);
  });

  it('resynchronises on a new $ inside a truncated packet', () => {
    expect(parse('$m1000,$g#67')).toEqual([{ type: 'bad' }, { type: 'packet', body: 'g' }]);
  });

  it('treats 0x03 inside a packet as data (binary X payload)', () => {
    const body = 'X10,1:\x03';
    expect(parse(framePacket(body))).toEqual([{ type: 'packet', body }]);
  });

  it('unescapes packet bodies after checking the escaped checksum', () => {
    const esc = 'X0,1:' + escapeBinary('#');
    expect(parse(framePacket(esc))).toEqual([{ type: 'packet', body: 'X0,1:#' }]);
    expect(parse(framePacket('X0,1:}'))).toEqual([{ type: 'bad' }]);
  });
});
