import { describe, expect, it } from 'vitest';
import { TARGET_XML } from '../../src/gdbstub/tdesc.js';
import { unescapeBinary } from '../../src/gdbstub/packet.js';
import { TestClient } from './client.js';
import { MockTarget } from './mock-target.js';

const hex = (s: string) => Buffer.from(s).toString('hex');

/** Reads a whole qXfer object the way gdb does, window by window. */
async function xfer(c: TestClient, prefix: string, window: number): Promise<string> {
  let out = '';
  for (;;) {
    const r = await c.request(`${prefix}${out.length.toString(16)},${window.toString(16)}`);
    expect(r[0]).toMatch(/[ml]/);
    const data = unescapeBinary(r.slice(1));
    expect(data).not.toBeNull();
    out += data;
    if (r[0] === 'l') return Buffer.from(out, 'latin1').toString('utf8');
  }
}

/** Collects 'O' console packets up to the final OK of a qRcmd. */
async function monitor(c: TestClient, cmd: string): Promise<string> {
  c.send('qRcmd,' + hex(cmd));
  let text = '';
  for (;;) {
    const r = await c.next();
    if (r === 'OK') return text;
    expect(r[0]).toBe('O');
    text += Buffer.from(r.slice(1), 'hex').toString();
  }
}

describe('queries', () => {
  it('qSupported advertises what the issue lists', async () => {
    const c = new TestClient(new MockTarget(2));
    const r = await c.request('qSupported:multiprocess+;swbreak+;hwbreak+;qRelocInsn+;fork-events+;vContSupported+;QThreadEvents+;no-resumed+;xmlRegisters=i386');
    for (const f of ['PacketSize=4000', 'QStartNoAckMode+', 'qXfer:features:read+', 'qXfer:threads:read+', 'swbreak+', 'hwbreak+', 'vContSupported+']) {
      expect(r.split(';')).toContain(f);
    }
  });

  it('QStartNoAckMode: OK is acked, nothing after it', async () => {
    const c = new TestClient(new MockTarget(2));
    await c.request('qSupported');
    expect(c.acks).toEqual(['+']);
    expect(await c.request('QStartNoAckMode')).toBe('OK');
    expect(c.acks).toEqual(['+', '+']);
    await c.request('?');
    c.sendRaw('$g#00'); // a bad checksum gets no '-' either
    expect(c.acks).toEqual(['+', '+']);
  });

  it('thread list, current thread, extra info and liveness', async () => {
    const c = new TestClient(new MockTarget(2));
    expect(await c.request('qfThreadInfo')).toBe('m1,2');
    expect(await c.request('qsThreadInfo')).toBe('l');
    expect(await c.request('qC')).toBe('QC1');
    expect(await c.request('qAttached')).toBe('1');
    expect(Buffer.from(await c.request('qThreadExtraInfo,2'), 'hex').toString()).toBe('halted');
    expect(await c.request('qThreadExtraInfo,9')).toBe('E01');
    expect(await c.request('T2')).toBe('OK');
    expect(await c.request('Tp1.1')).toBe('OK');
    expect(await c.request('T3')).toBe('E01');
    expect(await c.request('Tzz')).toBe('E22');
    expect(await c.request('Hg0')).toBe('OK');
    expect(await c.request('Hc-1')).toBe('OK');
    expect(await c.request('Hc5')).toBe('E01');
  });

  it('qXfer:features:read serves target.xml in windows', async () => {
    const c = new TestClient(new MockTarget(2));
    expect(await xfer(c, 'qXfer:features:read:target.xml:', 0x100)).toBe(TARGET_XML);
    expect(await xfer(c, 'qXfer:features:read:target.xml:', 0x7fffffff)).toBe(TARGET_XML);
    expect(await c.request('qXfer:features:read:nope.xml:0,100')).toBe('E00');
    expect(await c.request('qXfer:features:read:target.xml:99999,100')).toBe('l');
    expect(await c.request('qXfer:features:read:target.xml:zz,100')).toBe('E22');
    expect(await c.request('qXfer:features:write:target.xml:0,100')).toBe('');
    expect(await c.request('qXfer:auxv:read::0,100')).toBe('');
  });

  it('qXfer:threads:read lists the vCPUs with names and cores', async () => {
    const c = new TestClient(new MockTarget(2));
    const xml = await xfer(c, 'qXfer:threads:read::', 0x40);
    expect(xml).toBe(
      '<?xml version="1.0"?><threads><thread id="1" core="0" name="CPU#0">halted</thread><thread id="2" core="1" name="CPU#1">halted</thread></threads>',
    );
  });

  it('monitor commands', async () => {
    const t = new MockTarget(2);
    const c = new TestClient(t);
    expect(await monitor(c, 'help')).toContain('system_reset');
    expect(await monitor(c, 'info cpus')).toBe('* thread 1: halted rip=0x400000\n  thread 2: halted rip=0x400800\n');
    const regs = await monitor(c, 'info registers');
    expect(regs).toMatch(/^rip +0x400000$/m);
    expect(regs).toMatch(/^cr3 +0x1000$/m);
    expect(regs).toMatch(/^fs_base +0x7f0000001000$/m);
    await c.request('vCont;s:1');
    expect(await monitor(c, 'icount')).toBe('icount: 1\n');
    await c.request('Z0,400010,1'); // breakpoints survive a reset
    expect(await monitor(c, 'system_reset')).toBe('machine reset\n');
    expect(t.resets).toBe(1);
    expect(t.getReg(0, 16)).toBe(0x400000n);
    expect(await monitor(c, 'mock-hello')).toBe('hello from the mock\n');
    expect(await monitor(c, 'frobnicate 1')).toMatch(/unknown command 'frobnicate 1'/);
    expect(await monitor(c, 'step-interrupts maybe')).toMatch(/usage/);
    expect(await c.request('qRcmd,zz')).toBe('E22');
  });

  it('unknown packets get the empty reply', async () => {
    const c = new TestClient(new MockTarget(2));
    for (const p of ['', 'qFooBar', 'QFoo', 'vFile:open:', 'vMustReplyEmpty', '!', 'R00', 'bc', 'i', 'A1,2,3', 'qTStatus', 'qOffsets']) {
      expect(await c.request(p), p).toBe('');
    }
    expect(await c.request('qSymbol::')).toBe('OK');
  });
});
