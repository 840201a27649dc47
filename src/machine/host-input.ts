/**
 * Host input (network frames, link changes) folded into the guest at deterministic points.
 *
 * Back ends get input from the Node event loop at wall-clock moments (or, for a JS peer answering
 * at once, while the guest runs). Sources hold it until the board polls them, which it does only
 * at quantum boundaries — points fixed by the instruction count and timer deadlines, never by
 * the host clock. A recorded log of
 * (instruction count, virtual time, input) therefore replays the same run exactly (see
 * src/devices/net/README.md).
 */
export interface InputPoint {
  /** Instructions retired by all vCPUs. */
  instructions: number;
  /** Virtual ns. */
  virtualNs: number;
}

export interface HostInputSource {
  /** Moves input that arrived from the host into the devices. Called only at deterministic points. */
  poll(at: InputPoint): void;
  /**
   * Input may come from the host while the guest does nothing: an idle guest then waits in
   * wall-clock time (virtual time keeping pace) instead of jumping ahead or being declared stuck.
   */
  readonly live: boolean;
  /** Virtual time of input already known to come (a replay log); Infinity when none. */
  nextAt?(): number;
}

export class HostInputs {
  private readonly sources: HostInputSource[] = [];
  private waiter: (() => void) | null = null;
  private woken = false;
  /** Input arrived since the last poll. */
  private arrived = false;

  /** While set (a replay of recorded history), input comes from it and the sources wait. */
  override: HostInputSource & { due(ns: number): boolean } | null = null;

  add(source: HostInputSource): void {
    this.sources.push(source);
  }

  get live(): boolean {
    if (this.override) return this.override.live;
    for (const s of this.sources) if (s.live) return true;
    return false;
  }

  /** Whether a poll at virtual time `ns` has anything to do (cheap: checked every quantum). */
  due(ns: number): boolean {
    if (this.override) return this.override.due(ns);
    if (this.arrived) return true;
    for (const s of this.sources) if (s.nextAt && s.nextAt() <= ns) return true;
    return false;
  }

  poll(at: InputPoint): void {
    if (this.override) {
      this.override.poll(at);
      return;
    }
    this.woken = false;
    this.arrived = false;
    for (const s of this.sources) s.poll(at);
  }

  nextAt(): number {
    if (this.override) return this.override.nextAt?.() ?? Infinity;
    let t = Infinity;
    for (const s of this.sources) if (s.nextAt) t = Math.min(t, s.nextAt());
    return t;
  }

  /** A source got input (event loop): ends a pending `wait`. */
  readonly wake = (): void => {
    this.woken = true;
    this.arrived = true;
    const w = this.waiter;
    this.waiter = null;
    w?.();
  };

  /** Waits up to `ms` of wall time, or less if input arrives. */
  wait(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        resolve();
      }, ms);
      this.waiter = () => {
        clearTimeout(timer);
        this.woken = false;
        resolve();
      };
    });
  }
}
