/**
 * The `--net` spellings, close to QEMU's `-netdev`/`-nic` and OSv's scripts/run.py:
 *   user[,hostfwd=tcp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT]...[,net=ADDR/N][,host=ADDR][,dhcpstart=ADDR]
 *   stream,addr.type=unix,addr.path=PATH | stream,addr.type=inet,addr.host=H,addr.port=P  [,server=on|off]
 *   stream,unix=PATH | stream,tcp=HOST:PORT    (short forms)
 *   socket,connect=HOST:PORT | socket,listen=[HOST]:PORT   (QEMU's older -netdev socket, same protocol)
 *   replay,file=LOG         the input a --net-record run received, at the same points (README.md)
 *   isolated                only a DHCP server and gateway on the wire, inside osvemu (isolated.ts)
 * and for every kind: mac=52:54:00:12:34:56, link=on|off.
 */
import type { NetBackend } from './backend.js';
import type { HostForward, UserNetOptions } from './passt.js';
import type { StreamAddress } from './stream.js';

export type NetSpec =
  | { kind: 'user'; user: UserNetOptions; mac?: Uint8Array; link: boolean }
  | { kind: 'stream'; addr: StreamAddress; server: boolean; mac?: Uint8Array; link: boolean }
  | { kind: 'replay'; file: string; mac?: Uint8Array; link: boolean }
  | { kind: 'isolated'; mac?: Uint8Array; link: boolean };

export class NetSpecError extends Error {}

/** QEMU's first NIC address; later NICs count up in the last byte. */
export const DEFAULT_MAC = Uint8Array.of(0x52, 0x54, 0x00, 0x12, 0x34, 0x56);

export function defaultMac(index: number): Uint8Array {
  const m = DEFAULT_MAC.slice();
  m[5] = (m[5]! + index) & 0xff;
  return m;
}

export function parseMac(s: string): Uint8Array {
  const m = /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i.exec(s);
  if (!m) throw new NetSpecError(`bad MAC address "${s}": use e.g. 52:54:00:12:34:56`);
  const mac = Uint8Array.from(m.slice(1, 7).map((x) => parseInt(x, 16)));
  if (mac[0]! & 1) throw new NetSpecError(`MAC address ${s} is a multicast address`);
  return mac;
}

export function formatMac(mac: Uint8Array): string {
  return Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join(':');
}

function port(s: string, what: string): number {
  if (!/^\d+$/.test(s) || Number(s) < 1 || Number(s) > 65535) throw new NetSpecError(`bad ${what} "${s}": use 1-65535`);
  return Number(s);
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function ipv4(s: string, what: string): number[] {
  const m = IPV4.exec(s);
  if (!m || m.slice(1).some((x) => Number(x) > 255)) throw new NetSpecError(`bad ${what} "${s}": use a dotted IPv4 address`);
  return m.slice(1).map(Number);
}

/** QEMU: hostfwd=[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport */
export function parseHostfwd(s: string): HostForward {
  const m = /^(tcp|udp)?:([^:]*):(\d+)-([^:]*):(\d+)$/.exec(s);
  if (!m) throw new NetSpecError(`bad hostfwd "${s}": use tcp::HOSTPORT-:GUESTPORT (or udp:, with optional addresses)`);
  if (m[2]) ipv4(m[2], 'hostfwd host address');
  if (m[4]) ipv4(m[4], 'hostfwd guest address');
  return { proto: (m[1] ?? 'tcp') as 'tcp' | 'udp', hostAddr: m[2]!, hostPort: port(m[3]!, 'hostfwd host port'), guestPort: port(m[5]!, 'hostfwd guest port') };
}

function hostPort(s: string, what: string, hostOptional: boolean): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(s);
  if (!m || (!hostOptional && !(m[1] ?? m[2]))) throw new NetSpecError(`bad ${what} "${s}": use HOST:PORT`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port: port(m[3]!, `${what} port`) };
}

function onOff(v: string, key: string): boolean {
  if (v === 'on' || v === 'yes' || v === 'true') return true;
  if (v === 'off' || v === 'no' || v === 'false') return false;
  throw new NetSpecError(`${key}= takes on or off, got "${v}"`);
}

export function parseNetSpec(text: string): NetSpec {
  const [kind, ...parts] = text.split(',');
  const kv: [string, string][] = parts.map((p) => {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new NetSpecError(`bad --net option "${p}": use key=value`);
    return [p.slice(0, eq), p.slice(eq + 1)];
  });
  let mac: Uint8Array | undefined;
  let link = true;
  const rest: [string, string][] = [];
  for (const [k, v] of kv) {
    if (k === 'mac' || k === 'macaddr') mac = parseMac(v);
    else if (k === 'link') link = onOff(v, k);
    else if (k === 'id' || k === 'model') continue; // QEMU spellings with nothing to choose here
    else rest.push([k, v]);
  }
  if (kind === 'user') {
    const user: UserNetOptions = { hostfwd: [] };
    for (const [k, v] of rest) {
      if (k === 'hostfwd') user.hostfwd!.push(parseHostfwd(v));
      else if (k === 'net') {
        const m = /^([^/]+)(?:\/(\d+))?$/.exec(v);
        const a = ipv4(m?.[1] ?? '', 'net address');
        const n = m?.[2] === undefined ? 24 : Number(m[2]);
        if (n < 8 || n > 30) throw new NetSpecError(`net=${v}: prefix length must be 8-30`);
        user.prefixLength = n;
        // QEMU's defaults inside the network: host .2, first DHCP address .15.
        if (!user.host) user.host = `${a[0]}.${a[1]}.${a[2]}.2`;
        if (!user.guest) user.guest = `${a[0]}.${a[1]}.${a[2]}.15`;
      } else if (k === 'host') user.host = (ipv4(v, 'host address'), v);
      else if (k === 'dhcpstart' || k === 'guest') user.guest = (ipv4(v, 'guest address'), v);
      else if (k === 'pcap') user.passtPcap = v;
      else throw new NetSpecError(`--net user: unknown option "${k}"`);
    }
    return { kind: 'user', user, mac, link };
  }
  if (kind === 'stream' || kind === 'socket') {
    const o = new Map(rest);
    let addr: StreamAddress | undefined;
    let server = false;
    for (const k of o.keys()) {
      if (!['addr.type', 'addr.path', 'addr.host', 'addr.port', 'unix', 'tcp', 'server', 'connect', 'listen'].includes(k)) {
        throw new NetSpecError(`--net ${kind}: unknown option "${k}"`);
      }
    }
    if (o.has('server')) server = onOff(o.get('server')!, 'server');
    const type = o.get('addr.type');
    if (type === 'unix' || o.has('unix')) {
      const path = o.get('addr.path') ?? o.get('unix');
      if (!path) throw new NetSpecError(`--net ${kind}: addr.type=unix needs addr.path=PATH`);
      addr = { kind: 'unix', path };
    } else if (type === 'inet' || o.has('tcp')) {
      const hp = o.has('tcp') ? hostPort(o.get('tcp')!, 'tcp=', true)
        : { host: o.get('addr.host') ?? '127.0.0.1', port: port(o.get('addr.port') ?? '', 'addr.port') };
      addr = { kind: 'tcp', ...hp };
    } else if (o.has('connect')) {
      addr = { kind: 'tcp', ...hostPort(o.get('connect')!, 'connect=', false) };
    } else if (o.has('listen')) {
      addr = { kind: 'tcp', ...hostPort(o.get('listen')!, 'listen=', true) };
      server = true;
    } else if (type !== undefined) {
      throw new NetSpecError(`--net ${kind}: addr.type must be unix or inet, got "${type}"`);
    }
    if (!addr) throw new NetSpecError(`--net ${kind}: say where, e.g. ${kind},addr.type=unix,addr.path=/tmp/passt_1.socket`);
    return { kind: 'stream', addr, server, mac, link };
  }
  if (kind === 'replay') {
    const o = new Map(rest);
    for (const k of o.keys()) if (k !== 'file') throw new NetSpecError(`--net replay: unknown option "${k}"`);
    const file = o.get('file');
    if (!file) throw new NetSpecError('--net replay needs file=LOG (written by --net-record)');
    return { kind: 'replay', file, mac, link };
  }
  if (kind === 'isolated') {
    if (rest.length) throw new NetSpecError(`--net isolated: unknown option "${rest[0]![0]}"`);
    return { kind: 'isolated', mac, link };
  }
  throw new NetSpecError(`unknown --net kind "${kind}": use user, stream, socket, replay or isolated`);
}

/** Creates (and for user networking, starts) the back end a spec asks for; `index` is the card's. */
// The back ends are imported here, on first use, so that `osvemu run` without --net does not load them.
export async function openNetBackend(spec: NetSpec, index = 0): Promise<NetBackend> {
  if (spec.kind === 'user') return (await import('./passt.js')).PasstBackend.start(spec.user);
  if (spec.kind === 'replay') {
    const { readNetLog, ReplayBackend } = await import('./netlog.js');
    return new ReplayBackend(readNetLog(spec.file), index, spec.file);
  }
  if (spec.kind === 'isolated') return new (await import('./isolated.js')).IsolatedNetBackend();
  const { StreamBackend } = await import('./stream.js');
  return spec.server ? StreamBackend.listen(spec.addr) : StreamBackend.connect(spec.addr);
}
