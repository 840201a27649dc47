// User networking through passt (installed by .ci/run): the virtionet guest gets a DHCP offer from
// passt, answers UDP sent to a forwarded host port, the CLI writes a pcap file tcpdump reads, and a
// recorded run replays exactly without passt.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../src/cli/guest.js';
import { readPcap } from '../../src/devices/net/pcap.js';
import { findPasst, PasstBackend } from '../../src/devices/net/passt.js';
import { buildImage, toolchainAvailable } from '../images/build.js';
import { reportProblems } from '../images/report.js';
import { parseDhcp } from './frames.js';
import { netGuest } from './guest.js';
import { passtProblem } from './passt-probe.js';

const CLI = path.join(repoRoot(), 'dist', 'src', 'cli', 'main.js');
const tmp = mkdtempSync(path.join(tmpdir(), 'osvemu-passt-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function osvemu(args: string[]) {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first`);
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
}

function hasTool(t: string): boolean {
  try {
    execFileSync(t, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A UDP port nobody uses right now on loopback. */
async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('--net usage errors', () => {
  it.each([
    [['--net', 'user,hostfwd=tcp::99999-:80'], 'osvemu: bad hostfwd host port "99999": use 1-65535'],
    [['--pcap', '/tmp/x.pcap'], 'osvemu: --pcap needs a network card (--net ...)'],
    [['--net', 'stream,unix=/nonexistent/osvemu.sock'], 'osvemu: cannot connect to unix:/nonexistent/osvemu.sock: ENOENT'],
  ])('%j', (args, line) => {
    const r = osvemu(['run', ...args]);
    expect(r.stderr.trim()).toBe(line);
    expect(r.status).toBe(line.includes('cannot connect') ? 1 : 2);
  });
});

describe.skipIf(!toolchainAvailable())('--net user without passt', () => {
  it('says so in one line', () => {
    const r = spawnSync(process.execPath, [CLI, 'run', buildImage('virtionet'), '--net', 'user', '-e', 'dhcp'], {
      encoding: 'utf8', env: { ...process.env, OSVEMU_PASST: '/nonexistent/passt' },
    });
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe('osvemu: --net user needs passt (Debian/Ubuntu: apt-get install passt), which is not installed');
  });
});

describe.skipIf(!toolchainAvailable() || passtProblem !== null)('passt user networking (passt installed)', () => {
  it('the guest asks passt for an address and gets an offer (CLI, --pcap read back)', () => {
    const pcap = path.join(tmp, 'dhcp.pcap');
    const r = osvemu(['run', buildImage('virtionet'), '--net', 'user', '--pcap', pcap, '-e', 'dhcp', '--timeout', '30']);
    // Only the line naming the debug-exit value (nothing about passt or the network).
    expect(r.stderr).toBe('osvemu: guest wrote 0 (0x0) to the isa-debug-exit port 0xf4: exit status 1 = (0 << 1) | 1, as QEMU\n');
    expect(r.status, r.stdout).toBe(1); // the bare guests' debug-exit: 0 << 1 | 1 = all passed
    const p = readPcap(readFileSync(pcap));
    expect(p.linkType).toBe(1);
    const discover = p.records[0]!.frame;
    expect(Array.from(discover.subarray(6, 12))).toEqual([0x52, 0x54, 0, 0x12, 0x34, 0x56]);
    const offer = p.records.map((x) => parseDhcp(x.frame)).find((d) => d?.type === 2);
    expect(offer).toMatchObject({ yiaddr: '192.168.122.15', server: '192.168.122.1' });
    // Timestamps are virtual time: increasing, and the offer comes after the discover.
    const ns = p.records.map((x) => x.ns);
    expect([...ns].sort((a, b) => a - b)).toEqual(ns);
    if (hasTool('tcpdump')) {
      const t = spawnSync('tcpdump', ['-nn', '-r', pcap], { encoding: 'utf8' });
      expect(t.status, t.stderr).toBe(0);
      expect(t.stdout).toMatch(/0\.0\.0\.0\.68 > 255\.255\.255\.255\.67: BOOTP\/DHCP, Request from 52:54:00:12:34:56/);
      expect(t.stdout).toMatch(/BOOTP\/DHCP, Reply/);
    }
  });

  it('--net stream connects to a passt the user started (its UNIX socket, QEMU\'s -netdev stream spelling)', async () => {
    // passt drops root before it binds: "nobody" must be able to create the socket there (like /tmp).
    const sockDir = path.join(tmp, 'sock');
    mkdirSync(sockDir);
    chmodSync(sockDir, 0o1777);
    chmodSync(tmp, 0o755);
    const sockPath = path.join(sockDir, 'passt.socket');
    const passt = spawn(findPasst()!, ['-f', '-e', '-s', sockPath, '-a', '10.0.2.15', '-n', '24', '-g', '10.0.2.2'], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 500 && !existsSync(sockPath); i++) await new Promise((r) => setTimeout(r, 10));
      const r = spawnSync(process.execPath, [CLI, 'run', buildImage('virtionet'), '--net', `stream,id=n0,server=off,addr.type=unix,addr.path=${sockPath}`,
        '-e', 'dhcp', '--timeout', '30'], { encoding: 'utf8' });
      expect(r.stderr).toBe('osvemu: guest wrote 0 (0x0) to the isa-debug-exit port 0xf4: exit status 1 = (0 << 1) | 1, as QEMU\n');
      expect(r.status).toBe(1);
    } finally {
      passt.kill('SIGKILL');
    }
  });

  it('UDP sent to a forwarded host port reaches the guest, which answers', async () => {
    const port = await freeUdpPort();
    const backend = await PasstBackend.start({ hostfwd: [{ proto: 'udp', hostAddr: '127.0.0.1', hostPort: port, guestPort: 7 }] });
    const g = netGuest('udp-echo 7', { net: [{ backend }] });
    const run = g.m.runAsync({ timeoutMs: 30_000 });
    const sock = createSocket('udp4');
    const replies: string[] = [];
    sock.on('message', (m) => replies.push(m.toString()));
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    const send = (s: string): void => sock.send(s, port, '127.0.0.1');
    // Resent until answered: the guest may still be getting its address.
    for (let i = 0; i < 300 && replies.length === 0; i++) {
      if (g.out().includes('net: ready')) send('hello osv');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(replies[0]).toBe('echo:hello osv');
    send('quit');
    const r = await run;
    for (let i = 0; i < 100 && !replies.includes('echo:quit'); i++) await new Promise((res) => setTimeout(res, 20));
    sock.close();
    await g.m.close();
    expect(reportProblems('virtionet', g.out()), `${r.message}\n${g.out()}`).toEqual([]);
    expect(replies).toContain('echo:quit');
    expect(g.out()).toMatch(/echoed 9 bytes to 192\.168\.122\.1:\d+/);
  });

  it('a run recorded with --net-record replays without passt: same output, same instruction count', () => {
    const log = path.join(tmp, 'dhcp.netlog');
    const rec = osvemu(['run', buildImage('virtionet'), '--net', 'user', '--net-record', log, '-e', 'dhcp', '--verbose', '--timeout', '30']);
    expect(rec.status, rec.stderr).toBe(1);
    const rep = osvemu(['run', buildImage('virtionet'), '--net', `replay,file=${log}`, '-e', 'dhcp', '--verbose', '--timeout', '30']);
    expect(rep.status, rep.stderr).toBe(1);
    const figures = (s: string) => /(\d+) instructions, ([\d.]+) ms virtual time/.exec(s)?.slice(1);
    expect(figures(rep.stderr)).toEqual(figures(rec.stderr));
    expect(figures(rec.stderr)).toBeDefined();
  });
});
