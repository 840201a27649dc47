/**
 * `--net user`: QEMU-style user networking through Debian's passt, which answers DHCP, ARP, NDP
 * and DHCPv6 itself and maps the guest's TCP/UDP onto host sockets. osvemu starts one passt per
 * NIC in the foreground and hands it one end of a socket pair (`-F 3`, the child's fd 3) on which
 * both speak the stream protocol: no socket file, and passt ends when osvemu closes its end or
 * dies. (passt's own `-1` exits at once in Debian 12's version, so it is not used.) Addresses default to OSv's scripts/run.py network
 * (192.168.122.0/24, host 192.168.122.1, guest 192.168.122.15); `hostfwd=` becomes passt's -t/-u.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import type { Socket } from 'node:net';
import { delimiter, join } from 'node:path';
import type { BackendEvents, FrameSink, NetBackend } from './backend.js';
import { StreamBackend } from './stream.js';

export interface HostForward {
  proto: 'tcp' | 'udp';
  /** '' = every host address (QEMU's default). */
  hostAddr: string;
  hostPort: number;
  guestPort: number;
}

export interface UserNetOptions {
  hostfwd?: HostForward[];
  /** Guest address handed out by DHCP. */
  guest?: string;
  /** Gateway, which passt maps to the host's own addresses. */
  host?: string;
  prefixLength?: number;
  /** The passt binary; default: `passt` on PATH (or $OSVEMU_PASST). */
  passt?: string;
  /** passt's own pcap of the tap side (debugging passt itself). */
  passtPcap?: string;
}

export const USER_NET_DEFAULTS = { guest: '192.168.122.15', host: '192.168.122.1', prefixLength: 24 };

/** The passt executable, or null when it is not installed. */
export function findPasst(explicit?: string): string | null {
  const candidates = explicit ? [explicit] : process.env.OSVEMU_PASST ? [process.env.OSVEMU_PASST] :
    (process.env.PATH ?? '/usr/bin:/bin').split(delimiter).concat(['/usr/bin', '/usr/sbin']).map((d) => join(d, 'passt'));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      /* next */
    }
  }
  return null;
}

export const PASST_MISSING = '--net user needs passt (Debian/Ubuntu: apt-get install passt), which is not installed';

/** passt's command line for these options and socket path. */
export function passtArgs(opts: UserNetOptions): string[] {
  const guest = opts.guest ?? USER_NET_DEFAULTS.guest;
  const host = opts.host ?? USER_NET_DEFAULTS.host;
  const prefix = opts.prefixLength ?? USER_NET_DEFAULTS.prefixLength;
  const args = ['-f', '-e', '-F', '3', '-a', guest, '-n', String(prefix), '-g', host];
  for (const f of opts.hostfwd ?? []) {
    args.push(f.proto === 'tcp' ? '-t' : '-u', `${f.hostAddr ? `${f.hostAddr}/` : ''}${f.hostPort}:${f.guestPort}`);
  }
  if (opts.passtPcap) args.push('-p', opts.passtPcap);
  return args;
}

/** Lines of passt's stderr that are noise when it cannot reach syslog or drops root. */
function meaningful(stderr: string): string[] {
  return stderr.split('\n').map((l) => l.trim()).filter((l) => l && !/^Failed to send \d+ bytes to syslog/.test(l) && !/^Don't run as root/.test(l));
}

export class PasstBackend implements NetBackend {
  readonly live = true;
  readonly description = 'passt';

  private constructor(
    private readonly stream: StreamBackend,
    private readonly child: ChildProcess,
  ) {}

  /** Starts passt and connects to it; rejects with one line (passt missing, port taken, ...). */
  static async start(opts: UserNetOptions = {}): Promise<PasstBackend> {
    const bin = findPasst(opts.passt);
    if (!bin) throw new Error(PASST_MISSING);
    const child = spawn(bin, passtArgs(opts), { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      stderr += d;
      if (stderr.length > 65536) stderr = stderr.slice(-16384);
    });
    // passt prints its address summary once its ports are bound (a taken port ends it before that);
    // frames written before it reads the socket wait in the socket.
    try {
      await new Promise<void>((resolve, reject) => {
        const started = Date.now();
        const onExit = (code: number | null): void => {
          clearInterval(timer);
          const why = meaningful(stderr).pop() ?? `exited with status ${code}`;
          reject(new Error(`passt failed: ${why}`));
        };
        child.once('exit', onExit);
        child.once('error', (e) => {
          clearInterval(timer);
          reject(new Error(`cannot start ${bin}: ${e.message}`));
        });
        const timer = setInterval(() => {
          if (/^(MAC|DHCP):/m.test(stderr)) {
            clearInterval(timer);
            child.off('exit', onExit);
            resolve();
          } else if (Date.now() - started > 10_000) {
            clearInterval(timer);
            reject(new Error('passt did not start within 10 s'));
          }
        }, 10);
      });
    } catch (e) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      throw e;
    }
    const socket = child.stdio[3] as Socket;
    return new PasstBackend(StreamBackend.fromSocket(socket, 'passt'), child);
  }

  /** passt's process id (tests check it is gone after close). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  open(receive: FrameSink, events?: BackendEvents): void {
    this.stream.open(receive, events);
  }

  send(frame: Uint8Array): void {
    this.stream.send(frame);
  }

  async close(): Promise<void> {
    await this.stream.close();
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const gone = new Promise<void>((res) => this.child.once('exit', () => res()));
      this.child.kill('SIGTERM');
      await Promise.race([gone, new Promise<void>((res) => setTimeout(res, 1000).unref())]);
      if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    }
  }
}
