import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseGdbAddress } from '../../src/gdbstub/address.js';
import { GdbServer } from '../../src/gdbstub/server.js';
import { frame } from './client.js';
import { MockTarget } from './mock-target.js';

/** A raw TCP client that collects everything the stub sends. */
function connect(port: number): Promise<{ socket: net.Socket; data: () => string; closed: () => boolean; waitFor: (s: string) => Promise<void> }> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let closed = false;
    const socket = net.connect(port, '127.0.0.1', () =>
      resolve({
        socket,
        data: () => buf,
        closed: () => closed,
        waitFor: async (s) => {
          const end = Date.now() + 2000;
          while (!buf.includes(s)) {
            if (Date.now() > end || closed) throw new Error(`waited for ${s}, got ${JSON.stringify(buf)}`);
            await new Promise((r) => setTimeout(r, 5));
          }
        },
      }),
    );
    socket.on('data', (d) => (buf += d.toString('latin1')));
    socket.on('close', () => (closed = true));
    socket.on('error', reject);
  });
}

/** Polls until `cond` holds (2 s at most): timing under a loaded machine varies. */
async function until(cond: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 2000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const servers: GdbServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function start(target = new MockTarget(2)) {
  const logs: string[] = [];
  const server = new GdbServer({ target, log: (m) => logs.push(m) });
  servers.push(server);
  const addr = await server.listen('127.0.0.1', 0);
  return { server, target, port: addr.port, host: addr.host, logs };
}

describe('GdbServer', () => {
  it('listens on loopback on an ephemeral port and answers', async () => {
    const { port, host } = await start();
    expect(host).toBe('127.0.0.1');
    const c = await connect(port);
    c.socket.write(frame('?'));
    await c.waitFor('$T05thread:1;#');
    c.socket.destroy();
  });

  it('serves one client at a time and accepts a new one after a disconnect', async () => {
    const { server, port, logs } = await start();
    const a = await connect(port);
    await server.waitForClient();
    const b = await connect(port);
    await until(() => b.closed(), 'the second client to be refused');
    expect(logs.join('\n')).toMatch(/refusing a second/);
    a.socket.write('$m4000'); // vanish mid-packet
    a.socket.destroy();
    await until(() => !server.connected, 'the server to notice the disconnect');
    const c = await connect(port);
    c.socket.write(frame('qC'));
    await c.waitFor('$QC1#');
    c.socket.destroy();
  });

  it('re-attaches after D: breakpoints are gone and the machine is stopped again', async () => {
    const { server, port, target } = await start();
    const a = await connect(port);
    a.socket.write(frame('Z0,400010,1'));
    a.socket.write(frame('D'));
    await a.waitFor('+$OK#9a+$OK#9a');
    expect(target.breakpoints.size).toBe(0);
    a.socket.end();
    await until(() => !server.connected, 'the server to notice the disconnect');
    expect(target.isRunning()).toBe(true);
    const b = await connect(port);
    b.socket.write(frame('?'));
    await b.waitFor('$T05thread:1;#');
    expect(target.isRunning()).toBe(false);
    b.socket.destroy();
  });

  it('drops a client that never reads its replies', async () => {
    const { server, port, logs } = await start();
    const c = await connect(port);
    c.socket.pause();
    await server.waitForClient();
    const burst = Buffer.concat(Array.from({ length: 1000 }, () => frame('g')));
    for (let i = 0; i < 40 && server.connected; i++) {
      c.socket.write(burst);
      await new Promise((r) => setTimeout(r, 5));
    }
    await until(() => !server.connected, 'the server to drop the client');
    expect(logs.join('\n')).toMatch(/not reading/);
    c.socket.destroy();
  });

  it('reports a busy port in one line', async () => {
    const { port } = await start();
    const other = new GdbServer({ target: new MockTarget(1) });
    await expect(other.listen('127.0.0.1', port)).rejects.toThrow(/cannot listen on 127.0.0.1:\d+: EADDRINUSE/);
  });
});

describe('parseGdbAddress', () => {
  it('defaults to loopback', () => {
    expect(parseGdbAddress('1234')).toEqual({ host: '127.0.0.1', port: 1234 });
    expect(parseGdbAddress(':1234')).toEqual({ host: '127.0.0.1', port: 1234 });
    expect(parseGdbAddress('tcp::1234')).toEqual({ host: '127.0.0.1', port: 1234 });
  });

  it('takes an explicit host', () => {
    expect(parseGdbAddress('0.0.0.0:9000')).toEqual({ host: '0.0.0.0', port: 9000 });
    expect(parseGdbAddress('localhost:0')).toEqual({ host: 'localhost', port: 0 });
    expect(parseGdbAddress('[::1]:1234')).toEqual({ host: '::1', port: 1234 });
  });

  it('rejects garbage with a one-line message', () => {
    for (const bad of ['', 'abc', '65536', 'host:', 'host:12x', '::1:1234', '-1']) {
      expect(() => parseGdbAddress(bad), bad).toThrow(/^--gdb: invalid/);
    }
  });
});
