// TCP front end: listens on HOST:PORT, serves one client at a time and accepts a new one after
// the previous detached or disconnected.

import * as net from 'node:net';
import { GdbSession } from './session.js';
import type { GdbTarget, ThreadProvider } from './target.js';

const MAX_UNREAD_BYTES = 16 << 20;

export interface GdbServerOptions {
  target: GdbTarget;
  /** Thread provider factory; default: one thread per vCPU. */
  threads?: () => ThreadProvider;
  packetSize?: number;
  log?(message: string): void;
}

export class GdbServer {
  private server: net.Server | null = null;
  private client: { socket: net.Socket; session: GdbSession } | null = null;
  private readonly connectWaiters: (() => void)[] = [];

  constructor(private readonly opts: GdbServerOptions) {}

  /** Starts listening; port 0 picks a free port. Resolves with the bound address. */
  listen(host: string, port: number): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      const server = net.createServer((socket) => this.accept(socket));
      server.once('error', (e: NodeJS.ErrnoException) => reject(new Error(`gdb server: cannot listen on ${host}:${port}: ${e.code ?? e.message}`)));
      server.listen(port, host, () => {
        server.on('error', (e) => this.log(`server error: ${e.message}`));
        this.server = server;
        const a = server.address() as net.AddressInfo;
        resolve({ host: a.address, port: a.port });
      });
    });
  }

  get connected(): boolean {
    return this.client !== null;
  }

  /** Resolves when a client is connected (at once if one is). Used for `-S` style "wait for gdb". */
  waitForClient(): Promise<void> {
    if (this.client) return Promise.resolve();
    return new Promise((resolve) => this.connectWaiters.push(resolve));
  }

  async close(): Promise<void> {
    if (this.client) {
      this.client.session.dispose();
      this.client.socket.destroy();
      this.client = null;
    }
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private log(message: string): void {
    this.opts.log?.(`gdbstub: ${message}`);
  }

  private accept(socket: net.Socket): void {
    if (this.client !== null) {
      // One debugger at a time: a second one would fight over the stop state.
      this.log(`refusing a second gdb connection from ${socket.remoteAddress}`);
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const session = new GdbSession({
      target: this.opts.target,
      threads: this.opts.threads?.(),
      packetSize: this.opts.packetSize,
      log: this.opts.log,
      send: (data) => {
        if (socket.destroyed) return;
        socket.write(data);
        // A client that asks but never reads would make us buffer without bound.
        if (socket.writableLength > MAX_UNREAD_BYTES) {
          this.log('client is not reading its replies; closing the connection');
          socket.destroy();
        }
      },
      close: () => socket.end(),
    });
    const client = { socket, session };
    this.client = client;
    socket.on('data', (data) => session.feed(data));
    socket.on('error', (e) => this.log(`connection error: ${e.message}`));
    socket.on('close', () => {
      session.dispose();
      if (this.client === client) this.client = null;
    });
    session.start();
    for (const w of this.connectWaiters.splice(0)) w();
  }
}
