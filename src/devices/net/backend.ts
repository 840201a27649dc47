/**
 * The host side of a virtual Ethernet wire, below the device model (TinyEMU's split: transport,
 * device model, back end). A back end moves whole Ethernet frames (no virtio-net header) and never
 * blocks: frames for the guest are handed to `receive` from the Node event loop whenever they
 * arrive, and the machine folds them into the guest at its next deterministic point (see
 * README.md); frames from the guest are queued or dropped, never waited for.
 */
import type { InputPoint } from '../../machine/host-input.js';

export type FrameSink = (frame: Uint8Array) => void;

export interface NetBackend {
  /** For messages: "passt", "stream unix:/tmp/s", "hub port 1", "callback". */
  readonly description: string;
  /**
   * Whether frames may arrive while the guest does nothing (a socket, a hub peer). An idle guest
   * with a live back end waits for the host in wall-clock time instead of being declared stuck.
   */
  readonly live: boolean;
  /** Connects the receive side; called once, before any frame is sent. */
  open(receive: FrameSink, events?: BackendEvents): void;
  /** A frame the guest transmitted (the back end may keep the array). */
  send(frame: Uint8Array): void;
  /** Releases sockets and child processes; frames sent afterwards are dropped. */
  close(): Promise<void>;
  /** Back ends whose input is known in advance (a replay) hand it over here, at the board's poll. */
  due?(at: InputPoint): void;
  /** Virtual time of input known to come (a replay); Infinity when none. */
  nextAt?(): number;
}

export interface BackendEvents {
  /** The wire went up or down (peer connected, closed): becomes the device's link status. */
  link?(up: boolean): void;
  /** Something the user should see, one line (peer closed, protocol error). */
  log?(line: string): void;
}

/** Largest frame any back end accepts: a 64 KiB IP packet plus Ethernet and VLAN headers. */
export const MAX_FRAME = 65536 + 18;
/** Ethernet header: destination, source, type. */
export const MIN_FRAME = 14;
