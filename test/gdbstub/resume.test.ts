import { describe, expect, it } from 'vitest';
import { REG } from '../../src/gdbstub/tdesc.js';
import { TestClient } from './client.js';
import { CODE_BASE, MockTarget, READ_BASE, WRITE_BASE } from './mock-target.js';

async function client(features = 'swbreak+;hwbreak+') {
  const t = new MockTarget(2);
  const c = new TestClient(t);
  await c.request(`qSupported:multiprocess+;${features}`);
  expect(await c.request('?')).toBe('T05thread:1;');
  return { t, c };
}

describe('execution packets', () => {
  it('advertises vCont actions', async () => {
    const { c } = await client();
    expect(await c.request('vCont?')).toBe('vCont;c;C;s;S;t;r');
  });

  it('vCont;s:1;c steps thread 1 while the others run', async () => {
    const { t, c } = await client();
    expect(await c.request('vCont;s:1;c')).toBe('T05thread:1;');
    expect(t.lastResume?.actions).toEqual([
      { cpu: 0, kind: 'step', signal: 0 },
      { cpu: 1, kind: 'continue', signal: 0 },
    ]);
    expect(t.getReg(0, REG.rip)).toBe(BigInt(CODE_BASE + 1));
  });

  it('vCont;s:2 steps only thread 2 and reports it', async () => {
    const { t, c } = await client();
    expect(await c.request('vCont;s:p1.2')).toBe('T05thread:2;');
    expect(t.lastResume?.actions).toEqual([{ cpu: 1, kind: 'step', signal: 0 }]);
    expect(t.getReg(0, REG.rip)).toBe(BigInt(CODE_BASE));
    expect(t.getReg(1, REG.rip)).toBe(BigInt(CODE_BASE + 0x801));
    // The stopped thread becomes the register thread.
    expect(await c.request(`p${REG.rip.toString(16)}`)).toBe('0108400000000000');
  });

  it('leftmost matching action wins; t keeps a thread stopped; nothing to run is an error', async () => {
    const { t, c } = await client();
    expect(await c.request('vCont;t:2;s')).toBe('T05thread:1;');
    expect(t.lastResume?.actions).toEqual([{ cpu: 0, kind: 'step', signal: 0 }]);
    expect(await c.request('vCont;t')).toBe('E01');
    expect(await c.request('vCont;s:9')).toBe('E01');
    for (const bad of ['vCont;x', 'vCont;s:zz', 'vCont;Czz', 'vCont;', 'vCont;cc']) expect(await c.request(bad), bad).toBe('E22');
    expect(await c.request('vContX')).toBe('');
  });

  it('stops at a Z0 breakpoint with swbreak, Z1 with hwbreak', async () => {
    const { c } = await client();
    await c.request('Z0,400010,1');
    expect(await c.request('vCont;c')).toBe('T05thread:1;swbreak:;');
    await c.request('z0,400010,1');
    await c.request('Z1,400812,1');
    expect(await c.request('vCont;c')).toBe('T05thread:2;hwbreak:;');
  });

  it('omits swbreak/hwbreak when gdb did not announce them', async () => {
    const { c } = await client('xmlRegisters=i386');
    await c.request('Z0,400004,1');
    expect(await c.request('c')).toBe('T05thread:1;');
  });

  it('reports watch, rwatch and awatch with the address', async () => {
    const { c } = await client();
    await c.request(`Z2,${(WRITE_BASE + 0x20).toString(16)},1`);
    expect(await c.request('vCont;c')).toBe(`T05thread:1;watch:${(WRITE_BASE + 0x20).toString(16)};`);
    await c.request(`z2,${(WRITE_BASE + 0x20).toString(16)},1`);
    await c.request(`Z3,${(READ_BASE + 0x30).toString(16)},8`);
    expect(await c.request('vCont;c')).toBe(`T05thread:1;rwatch:${(READ_BASE + 0x30).toString(16)};`);
    await c.request(`z3,${(READ_BASE + 0x30).toString(16)},8`);
    await c.request(`Z4,${(WRITE_BASE + 0x40).toString(16)},4`);
    expect(await c.request('vCont;c')).toBe(`T05thread:1;awatch:${(WRITE_BASE + 0x40).toString(16)};`);
  });

  it('legacy s steps the Hc thread, c [addr] resumes at addr', async () => {
    const { t, c } = await client();
    expect(await c.request('Hc2')).toBe('OK');
    expect(await c.request('s')).toBe('T05thread:2;');
    expect(t.lastResume?.actions).toEqual([{ cpu: 1, kind: 'step', signal: 0 }]);
    await c.request('Hc-1');
    await c.request('Z0,400105,1');
    // Hc -1 means the current (last stopped) thread, thread 2, for the new pc.
    expect(await c.request('c400100')).toBe('T05thread:2;swbreak:;');
    expect(t.getReg(1, REG.rip)).toBe(0x400105n);
    expect(await c.request('S05;400200')).toBe('T05thread:2;');
    expect(t.getReg(1, REG.rip)).toBe(0x400201n);
    expect(await c.request('Czz')).toBe('E22');
    expect(await c.request('czz')).toBe('E22');
  });

  it('Ctrl-C stops a running target with SIGINT', async () => {
    const { t, c } = await client();
    c.send('vCont;c');
    while (t.icount < 5000n) await new Promise((r) => setImmediate(r));
    expect(c.replies).toEqual([]);
    c.sendRaw('\x03');
    expect(await c.next()).toMatch(/^T02thread:[12];$/);
    expect(t.isRunning()).toBe(false);
  });

  it('Ctrl-C while stopped is ignored', async () => {
    const { t, c } = await client();
    c.sendRaw('\x03');
    expect(await c.request('?')).toBe('T05thread:1;');
    expect(t.isRunning()).toBe(false);
  });

  it('queues packets received while running and answers them after the stop reply', async () => {
    const { c } = await client();
    c.send('vCont;c');
    c.send('qC');
    await new Promise((r) => setImmediate(r));
    expect(c.replies).toEqual([]);
    c.sendRaw('\x03');
    expect(await c.next()).toMatch(/^T02/);
    expect(await c.next()).toMatch(/^QC[12]$/);
  });

  it('single-step leaves interrupts masked unless the monitor says otherwise', async () => {
    const { t, c } = await client();
    await c.request('vCont;s:1');
    expect(t.lastResume?.options.stepIntoInterrupts).toBe(false);
    await c.request('qRcmd,' + Buffer.from('step-interrupts on').toString('hex'));
    await c.next(); // OK after the O packet
    await c.request('vCont;s:1');
    expect(t.lastResume?.options.stepIntoInterrupts).toBe(true);
    expect(await c.request('Qqemu.sstep=0x7')).toBe('OK');
    expect(await c.request('qqemu.sstep')).toBe('0x7');
    await c.request('vCont;s:1');
    expect(t.lastResume?.options.stepIntoInterrupts).toBe(false);
    expect(await c.request('Qqemu.sstep=1')).toBe('OK');
    expect(await c.request('qqemu.sstep')).toBe('0x1');
  });

  it('reports a guest exit as W and keeps answering', async () => {
    const { t, c } = await client();
    c.send('vCont;c');
    t.exit(3);
    expect(await c.next()).toBe('W03');
    expect(await c.request('?')).toBe('W03');
    expect(await c.request('vCont;c')).toBe('W03');
  });
});
