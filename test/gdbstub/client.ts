// An in-memory gdb client for unit tests: frames requests, collects and checks replies.

import { GdbSession, type SessionOptions } from '../../src/gdbstub/session.js';
import { checksum, decodeRle } from '../../src/gdbstub/packet.js';
import { hex8 } from '../../src/gdbstub/hex.js';
import type { GdbTarget, ThreadProvider } from '../../src/gdbstub/target.js';

export function frame(body: string): Buffer {
  return Buffer.from('$' + body + '#' + hex8(checksum(body)), 'latin1');
}

export class TestClient {
  readonly session: GdbSession;
  /** Acks ('+'/'-') received, in order. */
  readonly acks: string[] = [];
  /** Reply packet bodies received and not yet taken. */
  readonly replies: string[] = [];
  closed = false;
  readonly logs: string[] = [];
  /** Malformed output from the stub (the stub must never produce any). */
  readonly protocolErrors: string[] = [];
  private buf = '';

  constructor(target: GdbTarget, opts: { threads?: ThreadProvider; packetSize?: number; start?: boolean } = {}) {
    const sessionOpts: SessionOptions = {
      target,
      threads: opts.threads,
      packetSize: opts.packetSize,
      send: (d) => this.receive(d),
      close: () => {
        this.closed = true;
      },
      log: (m) => this.logs.push(m),
    };
    this.session = new GdbSession(sessionOpts);
    if (opts.start !== false) this.session.start();
  }

  sendRaw(data: string | Uint8Array): void {
    this.session.feed(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  send(body: string): void {
    this.sendRaw(frame(body));
  }

  /** Sends a packet and waits (through event-loop turns) for the next reply packet. */
  async request(body: string, timeoutMs = 2000): Promise<string> {
    this.send(body);
    return this.next(timeoutMs);
  }

  /** Waits for the next reply packet. */
  async next(timeoutMs = 2000): Promise<string> {
    const end = Date.now() + timeoutMs;
    while (this.replies.length === 0) {
      if (this.protocolErrors.length > 0) throw new Error(`stub protocol error: ${this.protocolErrors[0]}`);
      if (Date.now() > end) throw new Error('no reply from the stub');
      await new Promise((r) => setImmediate(r));
    }
    return this.replies.shift()!;
  }

  private receive(data: Buffer): void {
    this.buf += data.toString('latin1');
    for (;;) {
      const c = this.buf[0];
      if (c === undefined) return;
      if (c === '+' || c === '-') {
        this.acks.push(c);
        this.buf = this.buf.slice(1);
        continue;
      }
      if (c !== '$') {
        this.protocolErrors.push(`garbage: ${JSON.stringify(this.buf.slice(0, 20))}`);
        this.buf = this.buf.slice(1);
        continue;
      }
      const hash = this.buf.indexOf('#');
      if (hash < 0 || this.buf.length < hash + 3) return;
      const body = this.buf.slice(1, hash);
      const cs = parseInt(this.buf.slice(hash + 1, hash + 3), 16);
      this.buf = this.buf.slice(hash + 3);
      const decoded = decodeRle(body);
      if (cs !== checksum(body)) this.protocolErrors.push(`bad checksum: ${body.slice(0, 40)}`);
      else if (decoded === null) this.protocolErrors.push(`bad RLE: ${body.slice(0, 40)}`);
      else this.replies.push(decoded);
    }
  }
}
