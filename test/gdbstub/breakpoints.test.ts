import { describe, expect, it } from 'vitest';
import { TestClient } from './client.js';
import { MockTarget } from './mock-target.js';

describe('breakpoint packets', () => {
  it('inserts and removes all five kinds in the target (no memory patching)', async () => {
    const t = new MockTarget(2);
    const c = new TestClient(t);
    expect(await c.request('Z0,400010,1')).toBe('OK');
    expect(await c.request('Z1,ffffffff80000000,1')).toBe('OK');
    expect(await c.request('Z2,601000,8')).toBe('OK');
    expect(await c.request('Z3,600000,1000')).toBe('OK');
    expect(await c.request('Z4,601040,4;X1,0')).toBe('OK');
    expect([...t.breakpoints.keys()].sort()).toEqual(
      ['access:6295616:4', 'hw:18446744071562067968:1', 'read:6291456:4096', 'sw:4194320:1', 'write:6295552:8'].sort(),
    );
    expect(t.code[0x10]).toBe(0x90);
    expect(await c.request('z0,400010,1')).toBe('OK');
    expect(await c.request('z2,601000,8')).toBe('OK');
    expect(t.breakpoints.size).toBe(3);
  });

  it('answers unknown types with empty and malformed packets with E22', async () => {
    const c = new TestClient(new MockTarget(2));
    expect(await c.request('Z5,0,1')).toBe('');
    for (const bad of ['Z0', 'Z0,1', 'Zx,1,1', 'Z0,zz,1', 'Z0,1,zz', 'Z2,1000,0', 'Z0,1,1,1']) expect(await c.request(bad), bad).toBe('E22');
  });

  it('reports E01 when the target refuses', async () => {
    const t = new MockTarget(2);
    t.insertBreakpoint = () => false;
    const c = new TestClient(t);
    expect(await c.request('Z1,0,1')).toBe('E01');
  });
});
