/**
 * QEMU's stream-socket protocol (`-netdev stream`, `-netdev socket`, and Debian's passt): each
 * frame is preceded by its length as a 4-byte big-endian number, over a UNIX or TCP stream socket.
 * Either side may listen; osvemu connects to passt and to a listening QEMU, or listens for a QEMU
 * that connects (`server=on`).
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { MAX_FRAME, type BackendEvents, type FrameSink, type NetBackend } from './backend.js';

export type StreamAddress = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

/** Bytes queued towards the peer beyond which frames are dropped, as a full NIC queue would. */
const MAX_PENDING_WRITE = 4 << 20;

export function describeAddress(a: StreamAddress): string {
  return a.kind === 'unix' ? `unix:${a.path}` : `tcp:${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
}

/** Splits a byte stream into length-prefixed frames; a bad length is a protocol error. */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly onFrame: FrameSink) {}

  /** Returns an error message (and stops decoding) when the peer sent an impossible length. */
  push(chunk: Buffer): string | null {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    let off = 0;
    while (this.buf.length - off >= 4) {
      const len = this.buf.readUInt32BE(off);
      if (len > MAX_FRAME) {
        this.buf = Buffer.alloc(0);
        return `frame length ${len} exceeds ${MAX_FRAME} (not QEMU's stream protocol?)`;
      }
      if (this.buf.length - off - 4 < len) break;
      // A copy: the chunk's memory is reused by Node once this returns.
      this.onFrame(new Uint8Array(this.buf.subarray(off + 4, off + 4 + len)));
      off += 4 + len;
    }
    this.buf = off === this.buf.length ? Buffer.alloc(0) : this.buf.subarray(off);
    return null;
  }
}

export function encodeFrame(frame: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(4 + frame.length);
  out.writeUInt32BE(frame.length, 0);
  out.set(frame, 4);
  return out;
}

export class StreamBackend implements NetBackend {
  readonly live = true;
  readonly description: string;
  private socket: Socket | null = null;
  private server: Server | null = null;
  private receive: FrameSink | null = null;
  private events: BackendEvents = {};
  private closed = false;
  /** Frames the guest sent that the socket refused (backlog full, not connected). */
  dropped = 0;

  private constructor(description: string) {
    this.description = description;
  }

  /** Connects to a listening peer (passt, `qemu -netdev stream,server=on`). */
  static connect(addr: StreamAddress, what = `stream ${describeAddress(addr)}`): Promise<StreamBackend> {
    return new Promise((resolve, reject) => {
      const b = new StreamBackend(what);
      const s = addr.kind === 'unix' ? createConnection({ path: addr.path }) : createConnection({ host: addr.host, port: addr.port });
      const fail = (e: NodeJS.ErrnoException): void => reject(new Error(`cannot connect to ${describeAddress(addr)}: ${e.code ?? e.message}`));
      s.once('error', fail);
      s.once('connect', () => {
        s.off('error', fail);
        b.adopt(s);
        resolve(b);
      });
    });
  }

  /** Speaks the protocol over an already connected socket (passt's `-F FD`). */
  static fromSocket(socket: Socket, description: string): StreamBackend {
    const b = new StreamBackend(description);
    b.adopt(socket);
    return b;
  }

  /**
   * Listens for one peer (`qemu -netdev stream,server=off` connects to it); resolves once listening.
   * Frames the guest sends before the peer connects are dropped; the link is down until then.
   */
  static listen(addr: StreamAddress): Promise<StreamBackend> {
    return new Promise((resolve, reject) => {
      const b = new StreamBackend(`stream server ${describeAddress(addr)}`);
      const server = createServer((s) => {
        if (b.socket || b.closed) {
          s.destroy();
          return;
        }
        b.adopt(s);
        b.events.link?.(true);
      });
      b.server = server;
      server.once('error', (e: NodeJS.ErrnoException) => reject(new Error(`cannot listen on ${describeAddress(addr)}: ${e.code ?? e.message}`)));
      const ready = (): void => resolve(b);
      if (addr.kind === 'unix') server.listen(addr.path, ready);
      else server.listen(addr.port, addr.host, ready);
    });
  }

  /** Address a listening back end is bound to (its TCP port when 0 was asked for). */
  get listenAddress(): string | null {
    const a = this.server?.address();
    if (!a) return null;
    return typeof a === 'string' ? a : `${a.address}:${a.port}`;
  }

  get connected(): boolean {
    return this.socket !== null;
  }

  private adopt(s: Socket): void {
    this.socket = s;
    s.setNoDelay?.(true);
    const decoder = new FrameDecoder((f) => this.receive?.(f));
    s.on('data', (chunk: Buffer) => {
      const err = decoder.push(chunk);
      if (err) {
        this.events.log?.(`${this.description}: ${err}; closing`);
        s.destroy();
      }
    });
    s.on('error', () => {});
    s.on('close', () => {
      if (this.socket !== s) return;
      this.socket = null;
      if (!this.closed) {
        this.events.log?.(`${this.description}: peer closed the connection; link down`);
        this.events.link?.(false);
      }
    });
  }

  open(receive: FrameSink, events: BackendEvents = {}): void {
    this.receive = receive;
    this.events = events;
    if (this.server && !this.socket) events.link?.(false);
  }

  send(frame: Uint8Array): void {
    const s = this.socket;
    if (!s || s.destroyed || s.writableLength > MAX_PENDING_WRITE) {
      this.dropped++;
      return;
    }
    s.write(encodeFrame(frame));
  }

  close(): Promise<void> {
    this.closed = true;
    const s = this.socket;
    this.socket = null;
    const done: Promise<void>[] = [];
    if (s && !s.destroyed) done.push(new Promise((res) => s.end(() => res())));
    if (this.server) {
      const srv = this.server;
      done.push(new Promise((res) => srv.close(() => res())));
    }
    // Do not wait on a peer that never acknowledges the end.
    return Promise.race([Promise.all(done).then(() => {}), new Promise<void>((res) => setTimeout(res, 500).unref())]).then(() => {
      s?.destroy();
    });
  }
}
