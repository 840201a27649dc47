// `--net isolated`: the in-process gateway answers DHCP (offer, ack, nak), ARP for itself and pings
// to itself, and nothing else; the virtionet guest gets its lease from it.
import { describe, expect, it } from 'vitest';
import { IsolatedNetBackend } from '../../src/devices/net/isolated.js';
import { parseNetSpec } from '../../src/devices/net/spec.js';
import { toolchainAvailable } from '../images/build.js';
import { reportProblems } from '../images/report.js';
import { BROADCAST, dhcpDiscover, ethType, parseDhcp, udpFrame } from './frames.js';
import { netGuest } from './guest.js';

const MAC = Uint8Array.of(0x52, 0x54, 0x00, 0x12, 0x34, 0x56);

function wire(): { b: IsolatedNetBackend; got: Uint8Array[] } {
  const got: Uint8Array[] = [];
  const b = new IsolatedNetBackend();
  b.open((f) => got.push(f));
  return { b, got };
}

function dhcpRequest(ip: number[], xid = 7): Uint8Array {
  const f = dhcpDiscover(MAC, xid);
  const p = f.subarray(42);
  p.set([53, 1, 3, 50, 4, ...ip, 255], 240);
  return udpFrame({ dstMac: BROADCAST, srcMac: MAC, srcIp: [0, 0, 0, 0], dstIp: [255, 255, 255, 255], srcPort: 68, dstPort: 67, payload: p });
}

describe('isolated network', () => {
  it('DHCP: discover gets an offer of 192.168.122.15, a request for it an ack, one for another address a nak', () => {
    const { b, got } = wire();
    b.send(dhcpDiscover(MAC, 0x1234));
    expect(got).toHaveLength(1);
    expect(parseDhcp(got[0]!)).toEqual({ type: 2, yiaddr: '192.168.122.15', server: '192.168.122.1', xid: 0x1234 });
    b.send(dhcpRequest([192, 168, 122, 15]));
    expect(parseDhcp(got[1]!)).toMatchObject({ type: 5, yiaddr: '192.168.122.15' });
    b.send(dhcpRequest([10, 0, 2, 15]));
    expect(parseDhcp(got[2]!)).toMatchObject({ type: 6, yiaddr: '0.0.0.0' });
    // The offer carries mask, router and name server.
    const opts = got[0]!.subarray(42 + 240);
    expect(Buffer.from(opts).includes(Buffer.from([1, 4, 255, 255, 255, 0]))).toBe(true);
    expect(Buffer.from(opts).includes(Buffer.from([3, 4, 192, 168, 122, 1]))).toBe(true);
    expect(b.answered.dhcp).toBe(3);
  });

  it('ARP for the gateway and pings to it are answered; other traffic is dropped', () => {
    const { b, got } = wire();
    const arp = new Uint8Array(42);
    arp.set(BROADCAST, 0); arp.set(MAC, 6); arp.set([8, 6, 0, 1, 8, 0, 6, 4, 0, 1], 12);
    arp.set(MAC, 22); arp.set([192, 168, 122, 15], 28); arp.set([192, 168, 122, 1], 38);
    b.send(arp);
    expect(got).toHaveLength(1);
    expect(ethType(got[0]!)).toBe(0x0806);
    expect(got[0]![21]).toBe(2);
    expect(Array.from(got[0]!.subarray(28, 32))).toEqual([192, 168, 122, 1]);
    expect(got[0]!.subarray(32, 38)).toEqual(MAC);
    // Who has 192.168.122.99: nobody answers.
    arp.set([192, 168, 122, 99], 38);
    b.send(arp);
    expect(got).toHaveLength(1);

    const ping = udpFrame({ dstMac: BROADCAST, srcMac: MAC, srcIp: [192, 168, 122, 15], dstIp: [192, 168, 122, 1], srcPort: 0, dstPort: 0, payload: new Uint8Array(8) });
    ping[23] = 1; // ICMP
    ping.set([8, 0, 0xf7, 0xff, 0, 0, 0, 0], 34); // echo request, checksum of an all-zero rest
    b.send(ping.subarray(0, 42));
    expect(got).toHaveLength(2);
    expect(got[1]![34]).toBe(0); // echo reply
    expect(Array.from(got[1]!.subarray(30, 34))).toEqual([192, 168, 122, 15]);
    // A UDP datagram to some server goes nowhere.
    b.send(udpFrame({ dstMac: BROADCAST, srcMac: MAC, srcIp: [192, 168, 122, 15], dstIp: [8, 8, 8, 8], srcPort: 5, dstPort: 53, payload: new Uint8Array(4) }));
    expect(got).toHaveLength(2);
  });

  it('is a --net kind', () => {
    expect(parseNetSpec('isolated')).toEqual({ kind: 'isolated', mac: undefined, link: true });
    expect(() => parseNetSpec('isolated,foo=1')).toThrow(/unknown option "foo"/);
  });

  it.skipIf(!toolchainAvailable())('the virtionet guest gets its DHCP offer', async () => {
    const g = netGuest('dhcp', { net: [{ backend: new IsolatedNetBackend() }] });
    const r = await g.m.runAsync({ maxInsns: 50_000_000 });
    await g.m.close();
    expect(reportProblems('virtionet', g.out()), `${r.message}\n${g.out()}`).toEqual([]);
    expect(g.out()).toMatch(/DHCP offer 192\.168\.122\.15 from 192\.168\.122\.1/);
  });
});
