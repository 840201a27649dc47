/**
 * A back end whose other end is JavaScript: `onFrame` sees every frame the guest transmits and
 * `inject` sends one to the guest (delivered at the machine's next deterministic point), so a test
 * can play the peer on the wire.
 */
import type { BackendEvents, FrameSink, NetBackend } from './backend.js';

export interface CallbackOptions {
  /**
   * Whether frames may come at any time from outside the guest's run (timers, other async code):
   * the idle guest then waits in wall-clock time. Default false: the test answers from `onFrame`
   * or between runs, and an idle guest's virtual time jumps as without a network.
   */
  live?: boolean;
}

export class CallbackBackend implements NetBackend {
  readonly description = 'callback';
  readonly live: boolean;
  private receive: FrameSink | null = null;
  private events: BackendEvents = {};
  private readonly early: Uint8Array[] = [];

  constructor(private readonly onFrame: (frame: Uint8Array, backend: CallbackBackend) => void, opts: CallbackOptions = {}) {
    this.live = opts.live ?? false;
  }

  open(receive: FrameSink, events: BackendEvents = {}): void {
    this.receive = receive;
    this.events = events;
    for (const f of this.early.splice(0)) receive(f);
  }

  /** Sends a frame to the guest (copied). */
  inject(frame: Uint8Array): void {
    const copy = frame.slice();
    if (this.receive) this.receive(copy);
    else this.early.push(copy);
  }

  /** Sets the device's link status as a cable would. */
  setLink(up: boolean): void {
    this.events.link?.(up);
  }

  send(frame: Uint8Array): void {
    this.onFrame(frame, this);
  }

  close(): Promise<void> {
    this.receive = null;
    return Promise.resolve();
  }
}
