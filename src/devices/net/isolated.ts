/**
 * `--net isolated`: a wire with nothing on it but a gateway that plays run.py's user network
 * (QEMU's `-netdev user,net=192.168.122.0/24,host=192.168.122.1`) just far enough for a guest to
 * come up as it does under QEMU: it answers DHCP (the guest gets 192.168.122.15/24, router and name
 * server 192.168.122.1), ARP for the gateway and pings to it, and drops everything else. Nothing
 * reaches the host, nothing runs beside osvemu, and the answers are made inside `send` (delivered
 * at the machine's next deterministic point), so a run with this card is as deterministic as one
 * without: what OSv's unit tests that only need an interface with an address (tst-ifaddrs) want.
 */
import type { BackendEvents, FrameSink, NetBackend } from './backend.js';

const GATEWAY_MAC = Uint8Array.of(0x52, 0x55, 0x0a, 0x00, 0x02, 0x02);
const BROADCAST = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
export const ISOLATED_GATEWAY = [192, 168, 122, 1];
export const ISOLATED_GUEST = [192, 168, 122, 15];
const NETMASK = [255, 255, 255, 0];
const LEASE_SECONDS = 86400;
const DHCP_MAGIC = 0x63825363;

/** The Internet checksum's ones'-complement sum of big-endian 16-bit words (RFC 1071); fold() finishes it. */
export function sum16(b: Uint8Array, start: number, end: number, s = 0): number {
  for (let i = start; i + 1 < end; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  if ((end - start) & 1) s += b[end - 1]! << 8;
  return s;
}

export function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

function sameBytes(a: Uint8Array, b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** An Ethernet + IPv4 frame around `payload` (protocol `proto`), checksums filled in. */
function ipFrame(dstMac: Uint8Array, dstIp: ArrayLike<number>, proto: number, payload: Uint8Array): Uint8Array {
  const f = new Uint8Array(34 + payload.length);
  const dv = new DataView(f.buffer);
  f.set(dstMac, 0);
  f.set(GATEWAY_MAC, 6);
  dv.setUint16(12, 0x0800);
  f[14] = 0x45;
  dv.setUint16(16, 20 + payload.length);
  f[22] = 64;
  f[23] = proto;
  f.set(ISOLATED_GATEWAY, 26);
  f.set(dstIp, 30);
  dv.setUint16(24, fold(sum16(f, 14, 34)));
  f.set(payload, 34);
  if (proto === 17) {
    const pseudo = sum16(f, 26, 34, 17 + payload.length);
    dv.setUint16(40, fold(sum16(f, 34, f.length, pseudo)) || 0xffff);
  }
  return f;
}

/** The reply to a DHCP request (BOOTP payload `req`), or null for messages a server does not answer. */
function dhcpReply(req: Uint8Array): Uint8Array | null {
  const dv = new DataView(req.buffer, req.byteOffset, req.byteLength);
  if (req.length < 240 || req[0] !== 1 || dv.getUint32(236) !== DHCP_MAGIC) return null;
  let type = 0;
  let requested: Uint8Array | null = null;
  for (let o = 240; o + 1 < req.length && req[o] !== 255;) {
    if (req[o] === 0) { o++; continue; }
    const len = req[o + 1]!;
    if (req[o] === 53 && len >= 1) type = req[o + 2]!;
    if (req[o] === 50 && len === 4) requested = req.subarray(o + 2, o + 6);
    o += 2 + len;
  }
  // DISCOVER -> OFFER, REQUEST -> ACK (NAK for an address this network does not give), INFORM -> ACK.
  let answer: number;
  if (type === 1) answer = 2;
  else if (type === 3) {
    const ciaddr = req.subarray(12, 16);
    const asked = requested ?? ciaddr;
    answer = sameBytes(asked, ISOLATED_GUEST) ? 5 : 6;
  } else if (type === 8) answer = 5;
  else return null;
  const p = new Uint8Array(300);
  const pv = new DataView(p.buffer);
  p[0] = 2; p[1] = 1; p[2] = 6;
  p.set(req.subarray(4, 8), 4); // xid
  p.set(req.subarray(10, 12), 10); // flags
  if (answer !== 6 && type !== 8) p.set(ISOLATED_GUEST, 16); // yiaddr
  p.set(ISOLATED_GATEWAY, 20); // siaddr
  p.set(req.subarray(28, 44), 28); // chaddr
  pv.setUint32(236, DHCP_MAGIC);
  const opts = [53, 1, answer, 54, 4, ...ISOLATED_GATEWAY];
  if (answer !== 6) {
    opts.push(51, 4, (LEASE_SECONDS >>> 24) & 255, (LEASE_SECONDS >>> 16) & 255, (LEASE_SECONDS >>> 8) & 255, LEASE_SECONDS & 255,
      1, 4, ...NETMASK, 3, 4, ...ISOLATED_GATEWAY, 6, 4, ...ISOLATED_GATEWAY);
  }
  opts.push(255);
  p.set(opts, 240);
  return p;
}

export class IsolatedNetBackend implements NetBackend {
  readonly description = 'isolated (DHCP and gateway 192.168.122.1 only)';
  /** Answers come only from `send`: an idle guest's virtual time jumps as without a network. */
  readonly live = false;
  private receive: FrameSink | null = null;
  /** Frames answered, by kind (tests and curious users). */
  readonly answered = { dhcp: 0, arp: 0, ping: 0 };

  open(receive: FrameSink, _events?: BackendEvents): void {
    this.receive = receive;
  }

  send(f: Uint8Array): void {
    if (f.length < 14 || !this.receive) return;
    const dv = new DataView(f.buffer, f.byteOffset, f.byteLength);
    const type = dv.getUint16(12);
    if (type === 0x0806) this.arp(f, dv);
    else if (type === 0x0800 && f.length >= 34 && (f[14]! >> 4) === 4) this.ip(f, dv);
  }

  private arp(f: Uint8Array, dv: DataView): void {
    // Ethernet/IPv4 request for the gateway's address.
    if (f.length < 42 || dv.getUint16(14) !== 1 || dv.getUint16(16) !== 0x0800 || dv.getUint16(20) !== 1) return;
    if (!sameBytes(f.subarray(38, 42), ISOLATED_GATEWAY)) return;
    const r = new Uint8Array(42);
    r.set(f.subarray(6, 12), 0);
    r.set(GATEWAY_MAC, 6);
    r.set(f.subarray(12, 20), 12);
    r[21] = 2; // reply
    r.set(GATEWAY_MAC, 22);
    r.set(ISOLATED_GATEWAY, 28);
    r.set(f.subarray(22, 32), 32); // the asker's MAC and IP
    this.answered.arp++;
    this.receive!(r);
  }

  private ip(f: Uint8Array, dv: DataView): void {
    const ihl = (f[14]! & 15) * 4;
    const at = 14 + ihl;
    const total = Math.min(f.length, 14 + dv.getUint16(16));
    if (f[23] === 17 && total >= at + 8 && dv.getUint16(at + 2) === 67) {
      const reply = dhcpReply(f.subarray(at + 8, total));
      if (reply === null) return;
      this.answered.dhcp++;
      this.receive!(ipFrame(BROADCAST, [255, 255, 255, 255], 17, udp(67, 68, reply)));
    } else if (f[23] === 1 && total >= at + 8 && f[at] === 8 && sameBytes(f.subarray(30, 34), ISOLATED_GATEWAY)) {
      const icmp = f.slice(at, total);
      icmp[0] = 0;
      icmp[2] = 0; icmp[3] = 0;
      const c = fold(sum16(icmp, 0, icmp.length));
      icmp[2] = c >>> 8; icmp[3] = c & 255;
      this.answered.ping++;
      this.receive!(ipFrame(f.subarray(6, 12), f.subarray(26, 30), 1, icmp));
    }
  }

  close(): Promise<void> {
    this.receive = null;
    return Promise.resolve();
  }
}

/** A UDP header before `payload`; its checksum is filled in by ipFrame. */
function udp(src: number, dst: number, payload: Uint8Array): Uint8Array {
  const u = new Uint8Array(8 + payload.length);
  const dv = new DataView(u.buffer);
  dv.setUint16(0, src);
  dv.setUint16(2, dst);
  dv.setUint16(4, u.length);
  u.set(payload, 8);
  return u;
}
