import { describe, expect, it } from 'vitest';
import { escapeBinary } from '../../src/gdbstub/packet.js';
import { TestClient } from './client.js';
import { CODE_BASE, MockTarget, WRITE_BASE } from './mock-target.js';

describe('memory packets', () => {
  it('m reads, M and X write', async () => {
    const t = new MockTarget(2);
    const c = new TestClient(t);
    expect(await c.request(`m${CODE_BASE.toString(16)},4`)).toBe('90909090');
    expect(await c.request(`M${WRITE_BASE.toString(16)},3:0a0b0c`)).toBe('OK');
    expect(Array.from(t.writeData.subarray(0, 3))).toEqual([10, 11, 12]);
    const bin = '$#}*\x03\x00\xff';
    expect(await c.request(`X${(WRITE_BASE + 8).toString(16)},${bin.length.toString(16)}:${escapeBinary(bin)}`)).toBe('OK');
    expect(Buffer.from(t.writeData.subarray(8, 8 + bin.length)).toString('latin1')).toBe(bin);
    expect(await c.request(`m${(WRITE_BASE + 8).toString(16)},7`)).toBe(Buffer.from(bin, 'latin1').toString('hex'));
  });

  it('answers E14 for unmapped memory and partial data at the end of a mapping', async () => {
    const c = new TestClient(new MockTarget(2));
    expect(await c.request('m0,4')).toBe('E14');
    expect(await c.request('mffffffff80000000,10')).toBe('E14');
    expect(await c.request('M0,1:00')).toBe('E14');
    expect(await c.request('X0,1:a')).toBe('E14');
    expect(await c.request(`m${(CODE_BASE + 0xffe).toString(16)},10`)).toBe('9090');
  });

  it('clamps absurd lengths to one packet', async () => {
    const c = new TestClient(new MockTarget(2), { packetSize: 0x100 });
    const r = await c.request(`m${CODE_BASE.toString(16)},7fffffff`);
    expect(r.length).toBeLessThanOrEqual(0x100);
    expect(r).toMatch(/^(90)+$/);
    expect(await c.request('mffffffffffffffff,10')).toBe('E14');
  });

  it('accepts the zero-length X probe and rejects malformed packets', async () => {
    const c = new TestClient(new MockTarget(2));
    expect(await c.request('X0,0:')).toBe('OK');
    expect(await c.request(`m${CODE_BASE.toString(16)},0`)).toBe('');
    for (const bad of ['m', 'm400000', 'mzz,4', 'm400000,zz', 'm400000,fffffffff', 'M400000,2:00', 'M400000,1', 'M400000,1:zz', 'X400000,2:a', 'm11111111111111111,1']) {
      expect(await c.request(bad), bad).toBe('E22');
    }
  });
});
