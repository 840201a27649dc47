// The --net spellings (QEMU's -netdev/-nic and run.py's network), their one-line errors, and the
// passt command line they become.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { passtArgs } from '../../src/devices/net/passt.js';
import { defaultMac, formatMac, parseNetSpec } from '../../src/devices/net/spec.js';

describe('--net spellings', () => {
  it('user with QEMU hostfwd rules becomes passt -t/-u on run.py\'s network', () => {
    const s = parseNetSpec('user,id=n0,hostfwd=tcp::8000-:80,hostfwd=udp:127.0.0.1:5353-10.0.2.15:53,mac=52:54:00:aa:bb:cc');
    expect(s.kind).toBe('user');
    if (s.kind !== 'user') return;
    expect(formatMac(s.mac!)).toBe('52:54:00:aa:bb:cc');
    expect(passtArgs(s.user)).toEqual(['-f', '-e', '-F', '3', '-a', '192.168.122.15', '-n', '24', '-g', '192.168.122.1',
      '-t', '8000:80', '-u', '127.0.0.1/5353:53']);
  });

  it('user,net= picks QEMU\'s .2 host and .15 guest inside it; host= and dhcpstart= override', () => {
    const a = parseNetSpec('user,net=10.0.2.0/24');
    const b = parseNetSpec('user,net=192.168.122.0/24,host=192.168.122.1,dhcpstart=192.168.122.20');
    expect(a.kind === 'user' && a.user).toMatchObject({ guest: '10.0.2.15', host: '10.0.2.2', prefixLength: 24 });
    expect(b.kind === 'user' && b.user).toMatchObject({ guest: '192.168.122.20', host: '192.168.122.1' });
  });

  it('stream and socket in QEMU\'s and short spellings', () => {
    expect(parseNetSpec('stream,id=s,server=off,addr.type=unix,addr.path=/tmp/p.sock')).toMatchObject({ kind: 'stream', server: false, addr: { kind: 'unix', path: '/tmp/p.sock' } });
    expect(parseNetSpec('stream,addr.type=inet,addr.host=127.0.0.1,addr.port=5555,server=on')).toMatchObject({ server: true, addr: { kind: 'tcp', host: '127.0.0.1', port: 5555 } });
    expect(parseNetSpec('stream,tcp=:7000')).toMatchObject({ addr: { kind: 'tcp', host: '127.0.0.1', port: 7000 } });
    expect(parseNetSpec('socket,connect=[::1]:7000')).toMatchObject({ server: false, addr: { kind: 'tcp', host: '::1', port: 7000 } });
    expect(parseNetSpec('socket,listen=:7001')).toMatchObject({ server: true });
    expect(parseNetSpec('stream,unix=/x,link=off')).toMatchObject({ link: false });
    expect(parseNetSpec('replay,file=/tmp/run.netlog')).toMatchObject({ kind: 'replay', file: '/tmp/run.netlog' });
  });

  it.each([
    ['tap,ifname=tap0', /unknown --net kind "tap"/],
    ['user,hostfwd=tcp::80', /bad hostfwd "tcp::80"/],
    ['user,hostfwd=tcp::0-:80', /hostfwd host port "0"/],
    ['user,hostfwd=tcp:1.2.3:80-:80', /hostfwd host address "1\.2\.3"/],
    ['user,smb=/srv', /unknown option "smb"/],
    ['user,mac=01:00:00:00:00:01', /multicast/],
    ['user,mac=52:54:00', /bad MAC address/],
    ['stream', /say where/],
    ['stream,addr.type=vsock', /unix or inet/],
    ['stream,addr.type=inet,addr.port=99999', /addr\.port/],
    ['stream,unix=/x,server=maybe', /server= takes on or off/],
    ['replay', /needs file=/],
    ['user,net', /key=value/],
  ])('%s is one clear error', (text, msg) => {
    expect(() => parseNetSpec(text)).toThrow(msg);
  });

  it('QEMU\'s default MACs: 52:54:00:12:34:56, then counting up', () => {
    expect([0, 1, 2].map((i) => formatMac(defaultMac(i)))).toEqual(['52:54:00:12:34:56', '52:54:00:12:34:57', '52:54:00:12:34:58']);
  });

  it('the device model and its port read no host time or randomness (host I/O stays in the back ends)', () => {
    for (const f of ['virtio-net.ts', 'port.ts']) {
      const src = readFileSync(join(import.meta.dirname, '../../src/devices/net', f), 'utf8');
      expect(src, f).not.toMatch(/Date\.now|performance\.now|new Date\(|Math\.random|process\.hrtime|setTimeout|setInterval|node:/);
    }
  });
});
