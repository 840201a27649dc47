/**
 * An in-process Ethernet hub (QEMU's `-netdev hubport`): every frame a port sends reaches every
 * other port, copied, so several osvemu machines of one Node process share a segment. Each
 * receiving machine folds the frame in at its own next deterministic point.
 */
import type { BackendEvents, FrameSink, NetBackend } from './backend.js';

export class NetHub {
  private readonly ports: HubPort[] = [];
  /** Frames forwarded (counted once per sender). */
  frames = 0;
  bytes = 0;

  /** A new port: pass it as a machine's net back end. */
  port(): HubPort {
    const p = new HubPort(this, this.ports.length);
    this.ports.push(p);
    return p;
  }

  /** @internal */
  forward(from: HubPort, frame: Uint8Array): void {
    this.frames++;
    this.bytes += frame.length;
    for (const p of this.ports) {
      // A copy each: a receiver may keep what it gets.
      if (p !== from && p.receive) p.receive(frame.slice());
    }
  }
}

export class HubPort implements NetBackend {
  readonly live = true;
  readonly description: string;
  /** @internal */
  receive: FrameSink | null = null;

  constructor(private readonly hub: NetHub, readonly index: number) {
    this.description = `hub port ${index}`;
  }

  open(receive: FrameSink, _events?: BackendEvents): void {
    this.receive = receive;
  }

  send(frame: Uint8Array): void {
    if (this.receive) this.hub.forward(this, frame);
  }

  close(): Promise<void> {
    this.receive = null;
    return Promise.resolve();
  }
}
