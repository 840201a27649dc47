/**
 * Host input (network frames, link changes) folded into the guest at deterministic points.
 *
 * Back ends get input from the Node event loop at wall-clock moments. Sources hold it until the
 * board polls them, which it does only at the start of a run slice — a point fixed by the
 * instruction count, never by the host clock — and while every vCPU is idle. A recorded log of
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

  add(source: HostInputSource): void {
    this.sources.push(source);
  }

  get live(): boolean {
    for (const s of this.sources) if (s.live) return true;
    return false;
  }

  poll(at: InputPoint): void {
    this.woken = false;
    for (const s of this.sources) s.poll(at);
  }

  nextAt(): number {
    let t = Infinity;
    for (const s of this.sources) if (s.nextAt) t = Math.min(t, s.nextAt());
    return t;
  }

  /** A source got input (event loop): ends a pending `wait`. */
  readonly wake = (): void => {
    this.woken = true;
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
