// Whole-system: a real OSv kernel (built outside this repository) on user networking through passt,
// as OSv's scripts/run.py attaches virtio-net. Skipped without passt or the kernels:
//   OSV_KERNEL            any kernel with an app (ramfs hello, or rofs with OSV_DISK): OSv's virtio-net
//                         driver comes up and its DHCP client gets 192.168.122.15 from passt
//   OSV_DISK              its usr.img when the root is on a disk (--rootfs=rofs)
//   OSV_NET_KERNEL        a kernel whose app listens on TCP (default: OSV_TESTS_KERNEL, the unit-test
//   OSV_NET_DISK          image, with its disk OSV_TESTS_DISK), OSV_NET_CMDLINE (default: OSv's
//   OSV_NET_PORT          tests/misc-tcp-hash-srv.so on port 2500): a host connection through
//                         --net user,hostfwd=tcp::HOSTPORT-:PORT sends bytes and "END" and gets their
//                         XOR back, as OSv's tst-tcp-hash-cli.py does.
import { existsSync, readFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDisk, parseDiskSpec } from '../../src/devices/backends/disk-open.js';
import { SeededEntropy } from '../../src/devices/backends/entropy.js';
import { PasstBackend } from '../../src/devices/net/passt.js';
import { Machine } from '../../src/machine/machine.js';
import { passtProblem } from '../net/passt-probe.js';

const exists = (p: string | undefined): p is string => p !== undefined && p !== '' && existsSync(p);
const kernel = process.env.OSV_KERNEL;
const disk = process.env.OSV_DISK;
const netKernel = process.env.OSV_NET_KERNEL ?? process.env.OSV_TESTS_KERNEL;
const netDisk = process.env.OSV_NET_DISK ?? process.env.OSV_TESTS_DISK;
const netPort = Number(process.env.OSV_NET_PORT ?? 2500);
const passt = passtProblem === null;
const TIMEOUT_MS = 240_000;

function cmdlineNextTo(path: string | undefined, fallback: string): string {
  if (!exists(path)) return fallback;
  const f = join(dirname(path), 'cmdline');
  return existsSync(f) ? readFileSync(f, 'utf8').trim() : fallback;
}

async function freeTcpPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe.skipIf(!passt || !exists(kernel))('real OSv on --net user (passt)', () => {
  it('virtio-net comes up and OSv\'s DHCP client gets 192.168.122.15', async () => {
    const backend = await PasstBackend.start();
    const cmd = cmdlineNextTo(disk, '--rootfs=ramfs /hello');
    const m = new Machine({
      kernel: readFileSync(kernel!), cmdline: `--verbose ${cmd}`, memMiB: 512, rng: new SeededEntropy(0),
      net: [{ backend }], ...(exists(disk) ? { disks: [openDisk(parseDiskSpec(disk))] } : {}),
    });
    const r = await m.runAsync({ timeoutMs: TIMEOUT_MS });
    await m.close();
    expect(m.console).toMatch(/eth0: ethernet address: 52:54:00:12:34:56/);
    expect(m.console).toMatch(/eth0: 192\.168\.122\.15/);
    expect(r.cause, m.console.slice(-2000)).toBe('poweroff');
  });
});

describe.skipIf(!passt || !exists(netKernel))('real OSv answering a host connection through hostfwd', () => {
  it(`a TCP server in the guest (port ${netPort}) answers through --net user,hostfwd`, async () => {
    const hostPort = await freeTcpPort();
    const backend = await PasstBackend.start({ hostfwd: [{ proto: 'tcp', hostAddr: '127.0.0.1', hostPort, guestPort: netPort }] });
    const rootfs = exists(netDisk) ? '--rootfs=rofs ' : '';
    const cmd = process.env.OSV_NET_CMDLINE ?? `--verbose ${rootfs}/tests/misc-tcp-hash-srv.so`;
    const m = new Machine({
      kernel: readFileSync(netKernel!), cmdline: cmd, memMiB: 1024, rng: new SeededEntropy(0),
      net: [{ backend }], ...(exists(netDisk) ? { disks: [openDisk(parseDiskSpec(netDisk))] } : {}),
    });
    const run = m.runAsync({ timeoutMs: TIMEOUT_MS });
    const payload = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7 + 3) & 0xff));
    const want = payload.reduce((a, b) => a ^ b, 0);
    let answer: number | null = null;
    const deadline = Date.now() + TIMEOUT_MS - 10_000;
    // Until the guest listens, passt accepts and then closes the host connection: try again.
    while (answer === null && Date.now() < deadline && m.state === 'running') {
      if (!/eth0: \d+\.\d+\.\d+\.\d+/.test(m.console)) {
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      answer = await new Promise<number | null>((resolve) => {
        const c = createConnection({ host: '127.0.0.1', port: hostPort });
        const got: Buffer[] = [];
        c.on('data', (d: Buffer) => got.push(d));
        c.on('error', () => resolve(null));
        c.on('close', () => resolve(got.length > 0 ? Buffer.concat(got)[0]! : null));
        c.on('connect', () => c.end(Buffer.concat([payload, Buffer.from('END')])));
        setTimeout(() => c.destroy(), 30_000).unref();
      });
      if (answer === null) await new Promise((r) => setTimeout(r, 500));
    }
    m.requestStop();
    await run;
    await m.close();
    expect(answer, m.console.slice(-3000)).toBe(want);
  });
});
