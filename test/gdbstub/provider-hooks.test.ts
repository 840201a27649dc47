// The stub's optional ThreadProvider hooks a guest-aware provider (OSv threads) uses: range
// stepping, qGetTLSAddr, qXfer:libraries-svr4, `library` stops, the GNU/Linux description, monitor
// commands and breakpoint notes.
import { describe, expect, it } from 'vitest';
import type { BreakpointType, CpuStopEvent, ThreadId, ThreadStop } from '../../src/gdbstub/target.js';
import { G_PACKET_BYTES, ORIG_RAX, TARGET_XML } from '../../src/gdbstub/tdesc.js';
import { VcpuThreadProvider } from '../../src/gdbstub/vcpu-threads.js';
import { TestClient } from './client.js';
import { MockTarget } from './mock-target.js';

class GuestAware extends VcpuThreadProvider {
  readonly linuxAbi = true;
  readonly monitorHelp = ['guest hello   says hello'];
  libraryNext = false;
  notes: string[] = [];
  tlsAddress(thread: ThreadId, offset: bigint, lm: bigint): bigint | string {
    return lm === 0x1000n ? 0x7000n + BigInt(thread) * 0x100n + offset : 'unknown module';
  }
  librariesSvr4(): string {
    return '<library-list-svr4 version="1.0" main-lm="0x1000"><library name="a&amp;b.so" lm="0x2000" l_addr="0x400000" l_ld="0x401000" lmid="0x0"/></library-list-svr4>';
  }
  monitor(command: string, thread: ThreadId): string | undefined {
    return command === 'guest hello' ? `hello from thread ${thread}` : undefined;
  }
  noteBreakpoint(type: BreakpointType, addr: bigint, length: number, inserted: boolean): void {
    this.notes.push(`${inserted ? '+' : '-'}${type}@${addr.toString(16)}/${length}`);
  }
  stopThread(ev: Extract<CpuStopEvent, { kind: 'stopped' }>): ThreadStop {
    const thread = super.stopThread(ev);
    return this.libraryNext ? { thread, reason: { type: 'library' } } : { thread };
  }
}

async function client() {
  const t = new MockTarget(2);
  const p = new GuestAware(t);
  const c = new TestClient(t, { threads: p });
  await c.request('qSupported:multiprocess+;swbreak+;hwbreak+');
  await c.request('?');
  return { t, p, c };
}

describe('guest-aware thread provider hooks', () => {
  it('vCont;r becomes a step with a range', async () => {
    const { t, c } = await client();
    await c.request('vCont;r400000,400010:2;c');
    expect(t.lastResume?.actions).toEqual([
      { cpu: 0, kind: 'continue', signal: 0 },
      { cpu: 1, kind: 'step', signal: 0, range: { start: 0x400000n, end: 0x400010n } },
    ]);
    expect(await c.request('vCont;r400000:1')).toBe('E22');
  });

  it('advertises libraries-svr4 and serves the provider document', async () => {
    const { c } = await client();
    const c2 = new TestClient(new MockTarget(2));
    expect((await c2.request('qSupported')).split(';')).not.toContain('qXfer:libraries-svr4:read+');
    expect((await c.request('qSupported:swbreak+')).split(';')).toContain('qXfer:libraries-svr4:read+');
    const r = await c.request('qXfer:libraries-svr4:read::0,1000');
    expect(r).toMatch(/^l<library-list-svr4 version="1.0" main-lm="0x1000"><library name="a&amp;b.so"/);
    expect(await c2.request('qXfer:libraries-svr4:read::0,1000')).toBe('');
  });

  it('qGetTLSAddr asks the provider for the selected thread', async () => {
    const { c } = await client();
    expect(await c.request('qGetTLSAddr:2,10,1000')).toBe((0x7000 + 0x200 + 0x10).toString(16));
    expect(await c.request('qGetTLSAddr:2,10,3000')).toBe('E01');
    expect(await c.request('qGetTLSAddr:9,10,1000')).toBe('E01'); // no such thread
    expect(await c.request('qGetTLSAddr:2,zz,1000')).toBe('E22');
    expect(await new TestClient(new MockTarget(2)).request('qGetTLSAddr:1,10,1000')).toBe('');
  });

  it('GNU/Linux description: orig_rax is unavailable, writes to it are accepted', async () => {
    const { c } = await client();
    const xml = await c.request('qXfer:features:read:target.xml:0,ffff');
    expect(xml).toContain('<feature name="org.gnu.gdb.i386.linux"><reg name="orig_rax" bitsize="64" type="int" regnum="' + ORIG_RAX + '"/>');
    expect(TARGET_XML).not.toContain('orig_rax');
    const g = await c.request('g');
    expect(g.length).toBe((G_PACKET_BYTES + 8) * 2);
    expect(g.endsWith('xx'.repeat(8))).toBe(true);
    expect(await c.request(`p${ORIG_RAX.toString(16)}`)).toBe('xx'.repeat(8));
    expect(await c.request(`P${ORIG_RAX.toString(16)}=ffffffffffffffff`)).toBe('OK');
  });

  it('library stops, monitor commands and breakpoint notes', async () => {
    const { p, c } = await client();
    p.libraryNext = true;
    expect(await c.request('vCont;s:1')).toBe('T05thread:1;library:;');
    c.send('qRcmd,' + Buffer.from('guest hello').toString('hex'));
    expect(Buffer.from((await c.next()).slice(1), 'hex').toString()).toBe('hello from thread 1\n');
    expect(await c.next()).toBe('OK');
    c.send('qRcmd,' + Buffer.from('help').toString('hex'));
    expect(Buffer.from((await c.next()).slice(1), 'hex').toString()).toContain('guest hello   says hello');
    await c.next();
    await c.request('Z0,400000,1');
    await c.request('z0,400000,1');
    expect(p.notes).toEqual(['+sw@400000/1', '-sw@400000/1']);
  });
});
