// Ethernet/IPv4/UDP/DHCP frames built and parsed by tests playing the other end of the wire.
import { fold, sum16 } from '../../src/devices/net/isolated.js';

export const BROADCAST = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff);

export function udpFrame(o: {
  dstMac: Uint8Array; srcMac: Uint8Array; srcIp: number[]; dstIp: number[]; srcPort: number; dstPort: number; payload: Uint8Array;
}): Uint8Array {
  const f = new Uint8Array(14 + 20 + 8 + o.payload.length);
  const dv = new DataView(f.buffer);
  f.set(o.dstMac, 0);
  f.set(o.srcMac, 6);
  dv.setUint16(12, 0x0800);
  f[14] = 0x45;
  dv.setUint16(16, 20 + 8 + o.payload.length);
  f[22] = 64;
  f[23] = 17;
  f.set(o.srcIp, 26);
  f.set(o.dstIp, 30);
  dv.setUint16(24, fold(sum16(f, 14, 34)));
  dv.setUint16(34, o.srcPort);
  dv.setUint16(36, o.dstPort);
  dv.setUint16(38, 8 + o.payload.length);
  f.set(o.payload, 42);
  const pseudo = sum16(f, 26, 34, 17 + 8 + o.payload.length);
  dv.setUint16(40, fold(sum16(f, 34, f.length, pseudo)) || 0xffff);
  return f;
}

export function dhcpDiscover(mac: Uint8Array, xid = 0x4f535631): Uint8Array {
  const b = new Uint8Array(300);
  const dv = new DataView(b.buffer);
  b[0] = 1; b[1] = 1; b[2] = 6;
  dv.setUint32(4, xid);
  dv.setUint16(10, 0x8000);
  b.set(mac, 28);
  dv.setUint32(236, 0x63825363);
  b.set([53, 1, 1, 55, 3, 1, 3, 6, 255], 240);
  return udpFrame({ dstMac: BROADCAST, srcMac: mac, srcIp: [0, 0, 0, 0], dstIp: [255, 255, 255, 255], srcPort: 68, dstPort: 67, payload: b });
}

export interface DhcpReply { type: number; yiaddr: string; server: string | null; xid: number }

export function parseDhcp(f: Uint8Array): DhcpReply | null {
  const dv = new DataView(f.buffer, f.byteOffset, f.byteLength);
  if (f.length < 14 + 20 + 8 + 240 || dv.getUint16(12) !== 0x0800 || f[23] !== 17) return null;
  const u = 14 + (f[14]! & 15) * 4;
  if (dv.getUint16(u + 2) !== 68) return null;
  const b = u + 8;
  if (f[b] !== 2) return null;
  let type = 0, server: string | null = null;
  for (let o = b + 240; o < f.length && f[o] !== 255;) {
    if (f[o] === 0) { o++; continue; }
    if (f[o] === 53) type = f[o + 2]!;
    if (f[o] === 54) server = Array.from(f.subarray(o + 2, o + 6)).join('.');
    o += 2 + f[o + 1]!;
  }
  return { type, yiaddr: Array.from(f.subarray(b + 16, b + 20)).join('.'), server, xid: dv.getUint32(b + 4) };
}

export function ethType(f: Uint8Array): number {
  return (f[12]! << 8) | f[13]!;
}
