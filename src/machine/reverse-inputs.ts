// The non-deterministic host input of a recorded run (--record) besides console bytes, kept so that a
// replay from a checkpoint repeats history exactly:
//  - network frames and link changes, as each card's port delivered them at a quantum boundary;
//  - idle waits: with a live back end an idle guest waits in wall-clock time and virtual time jumps
//    by what passed (Machine.waitIdle); the replay repeats the jump;
//  - host entropy (--rng-seed host): the bytes drawn go on a tape that replays read back from the
//    position saved in the checkpoint (a seeded generator needs no tape: its state is in the snapshot).
// While replaying, the ports are muted (the peer already answered what the guest sends) and take
// nothing from their back ends; what arrives meanwhile waits for the live end.
import type { StateValue } from '../devices/snapshottable.js';
import type { EntropySource } from '../devices/backends/entropy.js';
import { VirtioRng } from '../devices/virtio/rng.js';
import type { InputPoint } from './host-input.js';
import { Machine } from './machine.js';

type Event = { kind: 'net'; t: number; card: number; item: Uint8Array | boolean } | { kind: 'idle'; t: number; ns: number };

/** Host entropy with a memory: bytes drawn once are handed out again after a restore to an earlier position. */
export class EntropyTape implements EntropySource {
  readonly description: string;
  private readonly tape: Uint8Array[] = [];
  private pos = 0;

  constructor(private readonly host: EntropySource) {
    this.description = `${host.description} (recorded)`;
  }

  fill(dst: Uint8Array): void {
    const saved = this.tape[this.pos];
    if (saved !== undefined && saved.length === dst.length) dst.set(saved);
    else {
      // A replay asking for another size has diverged already (the state check says so); draw fresh bytes.
      this.host.fill(dst);
      this.tape.length = this.pos;
      this.tape.push(dst.slice());
    }
    this.pos++;
  }

  saveState(): StateValue {
    return { tape: this.pos };
  }

  loadState(s: StateValue): boolean {
    const v = (s as { tape?: unknown } | null)?.tape;
    if (typeof v !== 'number' || v > this.tape.length) return false;
    this.pos = v;
    return true;
  }

  get draws(): number {
    return this.tape.length;
  }
}

export class RecordedInputs {
  private readonly events: Event[] = [];
  /** Next event a replay hands out; null while live. */
  private at: number | null = null;
  /** Whether the recorded run had a live back end (its idle guest waited for the host). */
  private wasLive: boolean;
  readonly tapes: EntropyTape[] = [];

  constructor(private readonly m: Machine) {
    this.wasLive = m.hostInputs.live;
    m.net.ports.forEach((port, card) => {
      port.tap = (at: InputPoint, item) => {
        if (this.at === null) this.events.push({ kind: 'net', t: at.instructions, card, item });
      };
    });
    for (const d of m.virtioDevices) {
      if (d.model instanceof VirtioRng && d.model.source.saveState === undefined) {
        const tape = new EntropyTape(d.model.source);
        d.model.source = tape;
        this.tapes.push(tape);
      }
    }
    const wait = Machine.prototype.waitIdle;
    m.waitIdle = async () => {
      await wait.call(m);
      this.wasLive = true;
      if (this.at === null) this.events.push({ kind: 'idle', t: m.instructions, ns: m.nowNs() });
    };
  }

  /** Whether replays stop where the recorded run waited for the host (it had a live back end). */
  get waitsForHost(): boolean {
    return this.wasLive;
  }

  get count(): number {
    return this.events.length;
  }

  /** Where a checkpoint taken now resumes in the input stream. */
  position(): number {
    return this.at ?? this.events.length;
  }

  /** A replay from a checkpoint at `position`: input comes from the recording from there. */
  replayFrom(position: number): void {
    this.at = position;
    for (const p of this.m.net.ports) p.muted = true;
    const m = this.m;
    m.hostInputs.override = {
      live: this.wasLive,
      due: () => this.nextNet() <= m.instructions,
      poll: (p: InputPoint) => {
        while (this.nextNet() <= p.instructions) {
          const e = this.events[this.at!] as Extract<Event, { kind: 'net' }>;
          this.at!++;
          m.net.ports[e.card]?.deliver(e.item);
        }
      },
    };
  }

  /** Instruction count of the next recorded frame, Infinity when an idle wait (or nothing) comes first. */
  private nextNet(): number {
    const e = this.at === null ? undefined : this.events[this.at];
    return e !== undefined && e.kind === 'net' ? e.t : Infinity;
  }

  /** A replay reached an idle point: repeats the recorded wait; false when the recording has none here. */
  replayIdle(): boolean {
    const e = this.at === null ? undefined : this.events[this.at];
    if (e === undefined || e.kind !== 'idle' || e.t !== this.m.instructions) return false;
    this.at!++;
    this.m.idleUntil(e.ns);
    return true;
  }

  /** Back at the live end: input comes from the back ends again. */
  live(): void {
    this.at = null;
    for (const p of this.m.net.ports) p.muted = false;
    this.m.hostInputs.override = null;
  }
}
