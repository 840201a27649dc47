// Host back ends without a guest: the stream protocol against a local socket peer, the hub, the
// callback back end, the pcap writer/reader, the input log, and passt answering DHCP itself.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CallbackBackend } from '../../src/devices/net/callback.js';
import { NetHub } from '../../src/devices/net/hub.js';
import { NetLogWriter, readNetLog, ReplayBackend } from '../../src/devices/net/netlog.js';
import { PasstBackend } from '../../src/devices/net/passt.js';
import { PcapWriter, readPcap } from '../../src/devices/net/pcap.js';
import { encodeFrame, FrameDecoder, StreamBackend } from '../../src/devices/net/stream.js';
import { dhcpDiscover, parseDhcp } from './frames.js';
import { passtProblem } from './passt-probe.js';

const dir = mkdtempSync(join(tmpdir(), 'osvemu-net-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const frame = (n: number, len = 60): Uint8Array => Uint8Array.from({ length: len }, (_, i) => (i + n) & 0xff);
const until = async (cond: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('stream protocol', () => {
  it('decodes frames split anywhere across chunks', () => {
    const got: Uint8Array[] = [];
    const d = new FrameDecoder((f) => got.push(f));
    const bytes = Buffer.concat([encodeFrame(frame(1)), encodeFrame(frame(2, 1514)), encodeFrame(new Uint8Array(0))]);
    for (let i = 0; i < bytes.length; i += 7) expect(d.push(bytes.subarray(i, i + 7))).toBeNull();
    expect(got.map((f) => f.length)).toEqual([60, 1514, 0]);
    expect(got[1]).toEqual(frame(2, 1514));
  });

  it('rejects an impossible length', () => {
    const d = new FrameDecoder(() => {});
    expect(d.push(Buffer.from([0x7f, 0, 0, 0]))).toMatch(/exceeds/);
  });

  it('exchanges frames with a peer over a UNIX socket and reports the peer closing', async () => {
    const path = join(dir, 'peer.sock');
    let peer: Socket | null = null;
    const fromGuest: Uint8Array[] = [];
    const server = createServer((s) => {
      peer = s;
      const d = new FrameDecoder((f) => fromGuest.push(f));
      s.on('data', (c: Buffer) => d.push(c));
    });
    await new Promise<void>((r) => server.listen(path, r));
    const b = await StreamBackend.connect({ kind: 'unix', path });
    const toGuest: Uint8Array[] = [];
    const links: boolean[] = [];
    const logs: string[] = [];
    b.open((f) => toGuest.push(f), { link: (up) => links.push(up), log: (l) => logs.push(l) });
    b.send(frame(5));
    b.send(frame(6, 1000));
    await until(() => fromGuest.length === 2 && peer !== null);
    expect(fromGuest[1]).toEqual(frame(6, 1000));
    peer!.write(Buffer.concat([encodeFrame(frame(7)), encodeFrame(frame(8))]));
    await until(() => toGuest.length === 2);
    expect(toGuest[0]).toEqual(frame(7));
    peer!.destroy();
    await until(() => links.length === 1);
    expect(links).toEqual([false]);
    expect(logs[0]).toMatch(/peer closed/);
    b.send(frame(9));
    expect(b.dropped).toBe(1);
    await b.close();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('listens for a peer over TCP (QEMU -netdev stream,server=off connects)', async () => {
    const b = await StreamBackend.listen({ kind: 'tcp', host: '127.0.0.1', port: 0 });
    const links: boolean[] = [];
    const toGuest: Uint8Array[] = [];
    b.open((f) => toGuest.push(f), { link: (up) => links.push(up) });
    expect(links).toEqual([false]);
    const port = Number(b.listenAddress!.split(':').pop());
    const { createConnection } = await import('node:net');
    const c = createConnection({ host: '127.0.0.1', port });
    const got: Uint8Array[] = [];
    const d = new FrameDecoder((f) => got.push(f));
    c.on('data', (x: Buffer) => d.push(x));
    await until(() => links.length === 2);
    expect(links).toEqual([false, true]);
    c.write(encodeFrame(frame(3)));
    await until(() => toGuest.length === 1);
    b.send(frame(4));
    await until(() => got.length === 1);
    expect(got[0]).toEqual(frame(4));
    c.destroy();
    await b.close();
  });

  it('fails in one line when nothing listens', async () => {
    await expect(StreamBackend.connect({ kind: 'unix', path: join(dir, 'nobody.sock') })).rejects.toThrow(/^cannot connect to unix:.*ENOENT$/);
  });
});

describe('hub and callback', () => {
  it('a hub copies each frame to every other port', () => {
    const hub = new NetHub();
    const [a, b, c] = [hub.port(), hub.port(), hub.port()];
    const got: string[] = [];
    a.open((f) => got.push(`a${f[0]}`));
    b.open((f) => got.push(`b${f[0]}`));
    c.open((f) => got.push(`c${f[0]}`));
    const f = frame(1);
    a.send(f);
    c.send(frame(9));
    expect(got).toEqual(['b1', 'c1', 'a9', 'b9']);
    expect(hub.frames).toBe(2);
  });

  it('a callback back end sees sent frames and injects frames, also before it is opened', () => {
    const sent: Uint8Array[] = [];
    const cb = new CallbackBackend((f) => sent.push(f));
    cb.inject(frame(1));
    const got: Uint8Array[] = [];
    cb.open((f) => got.push(f));
    cb.inject(frame(2));
    cb.send(frame(3));
    expect(got.map((f) => f[0])).toEqual([1, 2]);
    expect(sent.map((f) => f[0])).toEqual([3]);
    expect(cb.live).toBe(false);
  });
});

describe('files', () => {
  it('pcap: classic header, nanosecond virtual timestamps, frames intact', async () => {
    const path = join(dir, 'x.pcap');
    const w = new PcapWriter(path);
    w.write(1_500_000_123, frame(1));
    w.write(2_000_000_000, frame(2, 1514));
    await w.close();
    const bytes = readFileSync(path);
    expect(bytes.readUInt32LE(0)).toBe(0xa1b23c4d);
    expect([bytes.readUInt16LE(4), bytes.readUInt16LE(6)]).toEqual([2, 4]);
    const p = readPcap(bytes);
    expect(p.linkType).toBe(1);
    expect(p.records.map((r) => r.ns)).toEqual([1_500_000_123, 2_000_000_000]);
    expect(p.records[1]!.frame).toEqual(frame(2, 1514));
  });

  it('pcap: a path that cannot be written is one line', () => {
    expect(() => new PcapWriter(join(dir, 'no/such/dir/x.pcap'))).toThrow(/^cannot write pcap file .*ENOENT$/);
  });

  it('input log: written, read back, replayed only at the recorded points', async () => {
    const path = join(dir, 'in.log');
    const w = new NetLogWriter(path);
    w.write({ instructions: 1000, virtualNs: 1000 }, 0, frame(1));
    w.write({ instructions: 5000, virtualNs: 9000 }, 0, false);
    w.write({ instructions: 5000, virtualNs: 9000 }, 1, frame(2));
    w.write({ instructions: 7000, virtualNs: 12000 }, 0, frame(3));
    await w.close();
    const entries = readNetLog(path);
    expect(entries).toHaveLength(4);
    const r = new ReplayBackend(entries, 0);
    const got: string[] = [];
    r.open((f) => got.push(`f${f[0]}`), { link: (up) => got.push(`link ${up}`) });
    expect(r.live).toBe(true);
    expect(r.nextAt()).toBe(1000);
    r.due({ instructions: 999, virtualNs: 999 });
    expect(got).toEqual([]);
    r.due({ instructions: 1000, virtualNs: 1000 });
    r.due({ instructions: 5000, virtualNs: 8000 });
    expect(got).toEqual(['f1']);
    r.due({ instructions: 5000, virtualNs: 9000 });
    expect(got).toEqual(['f1', 'link false']);
    expect(r.diverged({ instructions: 7001, virtualNs: 12001 })).toBe(true);
    r.due({ instructions: 7000, virtualNs: 12000 });
    expect(r.live).toBe(false);
  });
});

describe.skipIf(passtProblem !== null)('passt', () => {
  it('answers a DHCP discover with an offer of the run.py address', async () => {
    const b = await PasstBackend.start();
    const got: Uint8Array[] = [];
    b.open((f) => got.push(f));
    const mac = Uint8Array.of(0x52, 0x54, 0, 0x12, 0x34, 0x56);
    b.send(dhcpDiscover(mac));
    await until(() => got.some((f) => parseDhcp(f)?.type === 2));
    const offer = got.map(parseDhcp).find((d) => d?.type === 2)!;
    expect(offer.yiaddr).toBe('192.168.122.15');
    expect(offer.server).toBe('192.168.122.1');
    const pid = b.pid!;
    await b.close();
    expect(() => process.kill(pid, 0)).toThrow();
  });

  it('a host port already taken is one line naming it', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    await expect(PasstBackend.start({ hostfwd: [{ proto: 'tcp', hostAddr: '127.0.0.1', hostPort: port, guestPort: 80 }] }))
      .rejects.toThrow(new RegExp(`^passt failed: .*${port}`));
    await new Promise<void>((r) => srv.close(() => r()));
  });
});
