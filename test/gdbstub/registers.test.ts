import { describe, expect, it } from 'vitest';
import { G_PACKET_BYTES, REG, REGISTERS } from '../../src/gdbstub/tdesc.js';
import { TestClient } from './client.js';
import { FS_BASE, MockTarget } from './mock-target.js';

function regAt(g: string, reg: number): string {
  const r = REGISTERS[reg];
  return g.slice(r.offset * 2, (r.offset + r.bytes) * 2);
}

describe('register packets', () => {
  it('g returns every register little-endian in tdesc order', async () => {
    const t = new MockTarget(2);
    const c = new TestClient(t);
    const g = await c.request('g');
    expect(g.length).toBe(G_PACKET_BYTES * 2);
    expect(regAt(g, REG.rip)).toBe('0000400000000000');
    expect(regAt(g, REG.fs_base)).toBe('00100000007f0000');
    expect(regAt(g, REG.cr3)).toBe('0010000000000000');
    expect(regAt(g, REG.mxcsr)).toBe('801f0000');
  });

  it('g follows Hg and marks unavailable registers with xx', async () => {
    const t = new MockTarget(2);
    t.unavailable.add(`1:${REG.rbx}`);
    const c = new TestClient(t);
    expect(await c.request('Hg2')).toBe('OK');
    const g = await c.request('g');
    expect(regAt(g, REG.rip)).toBe('0008400000000000');
    expect(regAt(g, REG.rbx)).toBe('xx'.repeat(8));
    expect(regAt(g, REG.fs_base)).toBe(((FS_BASE + 0x1000n).toString(16).padStart(16, '0').match(/../g) ?? []).reverse().join(''));
    expect(await c.request(`p${REG.rbx.toString(16)}`)).toBe('xx'.repeat(8));
  });

  it('p reads one register; P writes one', async () => {
    const t = new MockTarget(2);
    const c = new TestClient(t);
    expect(await c.request(`p${REG.cr3.toString(16)}`)).toBe('0010000000000000');
    expect(await c.request(`P${REG.rcx.toString(16)}=efcdab8967452301`)).toBe('OK');
    expect(t.getReg(0, REG.rcx)).toBe(0x0123456789abcdefn);
    expect(await c.request(`P${REG.st0.toString(16)}=${'11'.repeat(10)}`)).toBe('OK');
    expect(t.getReg(0, REG.st0)).toBe(0x11111111111111111111n);
  });

  it('G writes all registers of the Hg thread', async () => {
    const t = new MockTarget(2);
    const c = new TestClient(t);
    await c.request('Hg2');
    const g = await c.request('g');
    const r = REGISTERS[REG.rdx];
    const patched = g.slice(0, r.offset * 2) + '0807060504030201' + g.slice((r.offset + 8) * 2);
    expect(await c.request('G' + patched)).toBe('OK');
    expect(t.getReg(1, REG.rdx)).toBe(0x0102030405060708n);
    expect(t.getReg(0, REG.rdx)).toBe(0n);
  });

  it('answers malformed register packets with errors', async () => {
    const c = new TestClient(new MockTarget(2));
    for (const bad of ['pzz', 'p1000', 'p', 'P10=12', 'P10', 'Pzz=00', 'G0', 'Gzz', 'G' + '00'.repeat(G_PACKET_BYTES + 1), 'gg']) {
      expect(await c.request(bad), bad).toMatch(/^E/);
    }
    expect(await c.request('Hg99')).toMatch(/^E/);
    expect(await c.request('Hx1')).toMatch(/^E/);
  });
});
