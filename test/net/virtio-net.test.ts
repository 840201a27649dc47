// virtio-net driven by the project's own guest (images/bare/virtionet.c) through the legacy
// interface, with a JS callback back end as the other end of the wire.
import { describe, expect, it } from 'vitest';
import { CallbackBackend } from '../../src/devices/net/callback.js';
import { NetHub } from '../../src/devices/net/hub.js';
import { toolchainAvailable } from '../images/build.js';
import { reportProblems } from '../images/report.js';
import { BROADCAST, dhcpDiscover, ethType, udpFrame } from './frames.js';
import { netGuest } from './guest.js';

const GUEST_MAC = Uint8Array.of(0x52, 0x54, 0x00, 0x12, 0x34, 0x56);
const PEER_MAC = Uint8Array.of(0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc);

/** A fake DHCP server: answers the guest's discover with an offer of 10.0.2.15. */
function dhcpServer(extra?: (f: Uint8Array, b: CallbackBackend) => void): CallbackBackend {
  return new CallbackBackend((f, b) => {
    const dv = new DataView(f.buffer, f.byteOffset, f.byteLength);
    if (ethType(f) === 0x0800 && f[23] === 17 && dv.getUint16(36) === 67) {
      const req = f.subarray(42);
      const p = new Uint8Array(300);
      p[0] = 2; p[1] = 1; p[2] = 6;
      p.set(req.subarray(4, 8), 4); // xid
      p.set([10, 0, 2, 15], 16);
      p.set(req.subarray(28, 34), 28);
      p.set([0x63, 0x82, 0x53, 0x63], 236);
      p.set([53, 1, 2, 54, 4, 10, 0, 2, 2, 255], 240);
      b.inject(udpFrame({ dstMac: BROADCAST, srcMac: PEER_MAC, srcIp: [10, 0, 2, 2], dstIp: [255, 255, 255, 255], srcPort: 67, dstPort: 68, payload: p }));
      return;
    }
    extra?.(f, b);
  });
}

describe.skipIf(!toolchainAvailable())('virtio-net with the virtionet guest', () => {
  it('negotiates MAC, STATUS and MRG_RXBUF, reads the default MAC and link up, gets a DHCP offer', async () => {
    const sent: Uint8Array[] = [];
    const backend = dhcpServer();
    const spy = new CallbackBackend((f, b) => {
      sent.push(f);
      backend.send(f);
    });
    backend.open((f) => spy.inject(f));
    const g = netGuest('dhcp', { net: [{ backend: spy }] });
    const r = await g.m.runAsync({ maxInsns: 50_000_000 });
    await g.m.close();
    expect(reportProblems('virtionet', g.out()), `${r.message}\n${g.out()}`).toEqual([]);
    expect(g.out()).toMatch(/mac 52:54:00:12:34:56/);
    expect(g.out()).toMatch(/net: link up/);
    expect(g.out()).toMatch(/DHCP offer 10\.0\.2\.15 from 10\.0\.2\.2/);
    expect(sent[0]!.subarray(6, 12)).toEqual(GUEST_MAC);
    // The guest's discover is what a DHCP client sends: same layout as the test's own.
    expect(sent[0]!.length).toBe(dhcpDiscover(GUEST_MAC).length);
    expect(g.m.net.devices[0]!.stats.txFrames).toBe(1);
  });

  it('a chosen MAC and link down are what the guest reads', async () => {
    const g = netGuest('link', { net: [{ backend: new CallbackBackend(() => {}), mac: '02:00:00:00:00:07', link: false }] });
    await g.m.runAsync({ maxInsns: 20_000_000 });
    expect(g.out()).toMatch(/mac 02:00:00:00:00:07/);
    expect(g.out()).toMatch(/net: link down/);
  });

  it('malformed tx chains put the device in needs-reset with one line each, and a reset recovers it', async () => {
    const sent: Uint8Array[] = [];
    const g = netGuest('bad-desc', { net: [{ backend: new CallbackBackend((f) => sent.push(f)) }] });
    const r = await g.m.runAsync({ maxInsns: 50_000_000 });
    expect(reportProblems('virtionet', g.out()), `${r.message}\n${g.out()}\n${g.logs.join('\n')}`).toEqual([]);
    expect(r.cause).toBe('debug-exit');
    expect(g.logs).toHaveLength(2);
    expect(g.logs[0]).toMatch(/^osvemu: virtio-net 00:03\.0: queue 1: descriptor \d+ at 0x7ff000000000\+64 is outside RAM; device needs reset$/);
    expect(g.logs[1]).toMatch(/loops/);
    expect(sent.map((f) => new TextDecoder().decode(f.subarray(14, 18)))).toEqual(['good']);
  });

  it('frames cross an in-process hub between two machines', async () => {
    const hub = new NetHub();
    const a = netGuest('hub-ping 5', { net: [{ backend: hub.port(), mac: '52:54:00:00:00:0a' }] });
    const b = netGuest('hub-pong 5', { net: [{ backend: hub.port(), mac: '52:54:00:00:00:0b' }] });
    const [ra, rb] = await Promise.all([a.m.runAsync({ timeoutMs: 20_000 }), b.m.runAsync({ timeoutMs: 20_000 })]);
    expect(reportProblems('virtionet', a.out()), `${ra.message}\n${a.out()}`).toEqual([]);
    expect(reportProblems('virtionet', b.out()), `${rb.message}\n${b.out()}`).toEqual([]);
    expect(a.out()).toMatch(/pongs 5 of 5/);
    expect(hub.frames).toBeGreaterThanOrEqual(10);
  });

  it('an idle guest waiting for a frame is woken by one injected from outside its run', async () => {
    const peer = new CallbackBackend(() => {}, { live: true });
    const g = netGuest('hub-pong 1', { net: [{ backend: peer }] });
    const run = g.m.runAsync({ timeoutMs: 20_000 });
    setTimeout(() => {
      const f = new Uint8Array(60);
      f.set(BROADCAST, 0);
      f.set(PEER_MAC, 6);
      f.set([0x88, 0xb5], 12);
      f.set(new TextEncoder().encode('ping'), 14);
      peer.inject(f);
    }, 200);
    const r = await run;
    expect(reportProblems('virtionet', g.out()), `${r.message}\n${g.out()}`).toEqual([]);
    // Idle time passed at the wall clock's pace (about 200 ms), not in one jump, not stuck.
    expect(r.virtualNs).toBeGreaterThan(100e6);
  });

  it('link changes from the back end reach the config space at a poll; frames are dropped while it is down', async () => {
    const peer = new CallbackBackend(() => {}, { live: true });
    const g = netGuest('hub-pong 1', { net: [{ backend: peer }] });
    const ping = new Uint8Array(60);
    ping.set(BROADCAST, 0);
    ping.set(PEER_MAC, 6);
    ping.set([0x88, 0xb5], 12);
    ping.set(new TextEncoder().encode('ping'), 14);
    const run = g.m.runAsync({ timeoutMs: 20_000 });
    const dev = () => g.m.net.devices[0]!;
    while (!g.out().includes('net: link up')) await new Promise((r) => setTimeout(r, 10));
    peer.setLink(false);
    expect(dev().link).toBe(true); // not before the board polls
    await new Promise((r) => setTimeout(r, 50));
    expect(dev().link).toBe(false);
    expect(dev().config[6]! & 1).toBe(0);
    peer.inject(ping);
    await new Promise((r) => setTimeout(r, 50));
    expect(dev().stats.rxDropped).toBe(1);
    peer.setLink(true);
    peer.inject(ping);
    const r = await run;
    expect(reportProblems('virtionet', g.out()), `${r.message}\n${g.out()}`).toEqual([]);
    expect(dev().config[6]! & 1).toBe(1);
  });

  it('a frame larger than one rx buffer spans several (mergeable buffers, num_buffers)', async () => {
    const peer = new CallbackBackend(() => {}, { live: true });
    const jumbo = new Uint8Array(6000);
    jumbo.set(BROADCAST, 0);
    jumbo.set(PEER_MAC, 6);
    jumbo.set([0x88, 0xb5], 12);
    jumbo.set(new TextEncoder().encode('ping'), 14);
    for (let i = 20; i < jumbo.length; i++) jumbo[i] = i & 0xff;
    const g = netGuest('hub-pong 1', { net: [{ backend: peer }] });
    const run = g.m.runAsync({ timeoutMs: 20_000 });
    while (!g.out().includes('net: link up')) await new Promise((res) => setTimeout(res, 10));
    peer.inject(jumbo);
    const r = await run;
    expect(reportProblems('virtionet', g.out()), `${r.message}\n${g.out()}`).toEqual([]);
    // 12-byte header + 6000 bytes in 2048-byte buffers.
    expect(g.out()).toMatch(/net: frame of 6000 bytes over 3 buffers/);
  });
});
