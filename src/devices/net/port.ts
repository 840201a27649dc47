/**
 * One NIC's connection between its device model and its back end, and the place where host input
 * becomes deterministic: frames and link changes from the back end wait here until the board polls
 * (HostInputSource), and each delivery can be recorded with its instruction count and virtual
 * time (NetLogWriter) and dumped to a pcap file with the same virtual time.
 */
import type { Clock } from '../bus.js';
import type { HostInputSource, InputPoint } from '../../machine/host-input.js';
import type { NetBackend } from './backend.js';
import type { NetLogWriter } from './netlog.js';
import type { PcapWriter } from './pcap.js';

/** What a NIC device model offers its port. */
export interface NicDevice {
  /** A frame for the guest (the device may keep the array). */
  receive(frame: Uint8Array): void;
  setLink(up: boolean): void;
}

export interface NetPortOptions {
  index: number;
  pcap?: PcapWriter | null;
  record?: NetLogWriter | null;
  /** Called from the event loop when input arrived (ends an idle wait). */
  wake?: () => void;
  log?: (line: string) => void;
}

type Pending = Uint8Array | boolean;

/** Frames held between polls; a peer that floods a busy guest loses the rest, as on a real wire. */
const MAX_PENDING = 4096;

export class NetPort implements HostInputSource {
  readonly index: number;
  /** The current device model (replaced when the machine resets). */
  device: NicDevice | null = null;
  /** Link state as the back end last said (true until told otherwise). */
  link = true;
  private readonly pending: Pending[] = [];
  private clock: Clock | null = null;
  /** Frames from the host dropped because MAX_PENDING were already waiting. */
  overrun = 0;
  rxFrames = 0;
  txFrames = 0;
  rxBytes = 0;
  txBytes = 0;

  constructor(readonly backend: NetBackend, private readonly opts: NetPortOptions) {
    this.index = opts.index;
    backend.open(
      (frame) => {
        if (this.pending.length >= MAX_PENDING) {
          this.overrun++;
          return;
        }
        this.pending.push(frame);
        opts.wake?.();
      },
      {
        link: (up) => {
          this.pending.push(up);
          opts.wake?.();
        },
        log: opts.log,
      },
    );
  }

  get live(): boolean {
    return this.backend.live;
  }

  /**
   * Replaying recorded history (--record): frames the guest sends go nowhere (the peer already
   * answered them once) and nothing is taken from the back end; it waits for the live end.
   */
  muted = false;

  /** Input that arrived but has not reached the card yet (snapshots keep it: it was on the wire). */
  pendingInput(): (Uint8Array | boolean)[] {
    return this.pending.map((p) => (typeof p === 'boolean' ? p : p.slice()));
  }

  /** Puts saved pending input back in front of whatever the new back end sends. */
  requeue(items: readonly (Uint8Array | boolean)[]): void {
    this.pending.unshift(...items);
    if (items.length > 0) this.opts.wake?.();
  }

  /** Hands one input item to the card as a poll would (a replayed recording), without the pcap/log taps. */
  deliver(item: Uint8Array | boolean): void {
    this.hand(typeof item === 'boolean' ? item : item.slice());
  }

  private hand(item: Uint8Array | boolean): void {
    if (typeof item === 'boolean') {
      this.link = item;
      this.device?.setLink(item);
      return;
    }
    this.rxFrames++;
    this.rxBytes += item.length;
    this.device?.receive(item);
  }

  /** Called with every item a poll delivers (the reverse-execution recorder's tap). */
  tap: ((at: InputPoint, item: Uint8Array | boolean) => void) | null = null;

  /** Connects a (new) device model; the clock stamps transmitted frames in the pcap. */
  attach(device: NicDevice, clock: Clock): void {
    this.device = device;
    this.clock = clock;
    device.setLink(this.link);
  }

  nextAt(): number {
    return this.backend.nextAt?.() ?? Infinity;
  }

  poll(at: InputPoint): void {
    this.backend.due?.(at);
    if (this.pending.length === 0) return;
    const items = this.pending.splice(0);
    for (const item of items) {
      this.opts.record?.write(at, this.index, item);
      this.tap?.(at, typeof item === 'boolean' ? item : item.slice());
      if (typeof item !== 'boolean') this.opts.pcap?.write(at.virtualNs, item);
      this.hand(item);
    }
  }

  /** A frame the guest sent (the caller must not reuse the array). */
  transmit(frame: Uint8Array): void {
    if (this.muted) return;
    this.txFrames++;
    this.txBytes += frame.length;
    this.opts.pcap?.write(this.clock ? this.clock.nowNs() : 0, frame);
    this.backend.send(frame);
  }
}
