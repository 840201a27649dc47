import { describe, expect, it } from 'vitest';
import type { CpuStopEvent, ResumeOptions, ThreadAction, ThreadId, ThreadInfo, ThreadProvider } from '../../src/gdbstub/target.js';
import { REG } from '../../src/gdbstub/tdesc.js';
import { TestClient } from './client.js';
import { MockTarget } from './mock-target.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('session', () => {
  it('acks good packets, nacks bad ones and retransmits on -', async () => {
    const c = new TestClient(new MockTarget(2));
    expect(await c.request('qC')).toBe('QC1');
    c.sendRaw('$qC#00');
    expect(c.acks).toEqual(['+', '-']);
    c.sendRaw('-');
    expect(await c.next()).toBe('QC1');
  });

  it('detach removes its breakpoints and lets the machine run', async () => {
    const t = new MockTarget(2);
    const c = new TestClient(t);
    await c.request('Z0,400010,1');
    await c.request('Z2,601000,4');
    expect(await c.request('D')).toBe('OK');
    expect(t.breakpoints.size).toBe(0);
    expect(t.isRunning()).toBe(true);
    c.send('?'); // ignored after detach
    await tick();
    expect(c.replies).toEqual([]);
    t.interrupt();
    await tick();
  });

  it('a disconnect while stopped behaves like detach; mid-packet is logged, not thrown', async () => {
    const t = new MockTarget(2);
    const c = new TestClient(t);
    await c.request('Z1,400010,1');
    c.sendRaw('$m4000');
    c.session.dispose();
    expect(t.breakpoints.size).toBe(0);
    expect(t.isRunning()).toBe(true);
    expect(c.logs.join('\n')).toMatch(/middle of a packet/);
    t.interrupt();
    await tick();
  });

  it('attaching to a running machine stops it; ? names the first thread', async () => {
    const t = new MockTarget(2);
    t.resume([{ cpu: 0, kind: 'continue', signal: 0 }, { cpu: 1, kind: 'continue', signal: 0 }], { stepIntoInterrupts: false });
    await tick();
    const c = new TestClient(t);
    expect(await c.request('?')).toBe('T05thread:1;');
    expect(t.isRunning()).toBe(false);
    expect(c.replies).toEqual([]);
  });

  it('a client that leaves before the attach-time stop lands leaves the machine running', async () => {
    const t = new MockTarget(2);
    t.resume([{ cpu: 0, kind: 'continue', signal: 0 }], { stepIntoInterrupts: false });
    const c = new TestClient(t);
    c.session.dispose();
    for (let i = 0; i < 3; i++) await tick();
    expect(t.isRunning()).toBe(true);
    t.interrupt();
    await tick();
  });

  it('a client that leaves mid-step does not leave the machine stopped', async () => {
    const t = new MockTarget(2);
    const c = new TestClient(t);
    c.send('vCont;s:1');
    c.session.dispose();
    for (let i = 0; i < 3; i++) await tick();
    expect(t.isRunning()).toBe(true);
    expect(t.icount).toBeGreaterThan(1n);
    t.interrupt();
    await tick();
  });

  it('k kills the machine and closes the connection; vKill answers OK first', async () => {
    const t = new MockTarget(2);
    const c = new TestClient(t);
    c.send('k');
    expect(t.kills).toBe(1);
    expect(c.closed).toBe(true);
    const c2 = new TestClient(t);
    expect(await c2.request('vKill;1')).toBe('OK');
    expect(t.kills).toBe(2);
  });

  it('a throwing target gives E01, not a crash', async () => {
    const t = new MockTarget(2);
    t.readMemory = () => {
      throw new Error('boom');
    };
    const c = new TestClient(t);
    expect(await c.request('m400000,4')).toBe('E01');
    expect(c.logs.join('\n')).toMatch(/boom/);
    expect(await c.request('qC')).toBe('QC1');
  });

  it('works with a thread provider whose threads are not vCPUs', async () => {
    const t = new MockTarget(2);
    const resumed: ThreadAction[][] = [];
    let swallow = 1;
    // Three guest threads; thread 0x10 runs on cpu 0, the others sleep with only rip saved.
    const provider: ThreadProvider = {
      threads: (): ThreadInfo[] => [
        { id: 0x10, name: 'main', extra: 'running on cpu 0', core: 0 },
        { id: 0x11, name: 'idle', extra: 'waiting' },
        { id: 0x12, name: 'timer', extra: 'waiting' },
      ],
      readRegister: (thread: ThreadId, reg: number, out: Uint8Array) => {
        if (thread === 0x10) return t.readRegister(0, reg, out);
        if (reg !== REG.rip) return false;
        out.fill(0);
        out[0] = thread;
        return true;
      },
      writeRegister: (thread, reg, data) => thread === 0x10 && t.writeRegister(0, reg, data),
      memoryCpu: () => 0,
      resume: (actions: readonly ThreadAction[], options: ResumeOptions) => {
        resumed.push([...actions]);
        t.resume([{ cpu: 0, kind: actions.some((a) => a.kind === 'step') ? 'step' : 'continue', signal: 0 }], options);
      },
      stopThread: (ev: Extract<CpuStopEvent, { kind: 'stopped' }>) => {
        if (swallow-- > 0) {
          // An internal stop: run on, gdb never hears of it.
          t.resume([{ cpu: ev.cpu, kind: 'step', signal: 0 }], { stepIntoInterrupts: false });
          return null;
        }
        return 0x10;
      },
    };
    const c = new TestClient(t, { threads: provider });
    expect(await c.request('?')).toBe('T05thread:10;');
    expect(await c.request('qfThreadInfo')).toBe('m10,11,12');
    expect(await c.request('Hg11')).toBe('OK');
    const g = await c.request('g');
    expect(g.slice(0, 16)).toBe('xx'.repeat(8));
    expect(await c.request(`p${REG.rip.toString(16)}`)).toBe('1100000000000000');
    expect(await c.request('vCont;s:10')).toBe('T05thread:10;');
    expect(resumed).toEqual([[{ thread: 0x10, kind: 'step', signal: 0 }]]);
    expect(t.getReg(0, REG.rip)).toBe(0x400002n); // the swallowed stop plus the reported one
    expect(await c.request('qC')).toBe('QC10');
  });
});
