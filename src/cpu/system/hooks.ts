// What a vCPU asks of the board: port I/O, board-level MSRs (APIC, kvmclock), the virtual TSC and
// a deterministic random source. The defaults describe an empty board.

export interface CpuHooks {
  ioRead(port: number, size: 1 | 2 | 4): number;
  ioWrite(port: number, size: 1 | 2 | 4, value: number): void;
  /** Returns true when the board knows the MSR; the value goes in out[0] (low) and out[1] (high). */
  rdmsr(msr: number, out: Int32Array): boolean;
  /** Returns true when the board accepted the write. */
  wrmsr(msr: number, lo: number, hi: number): boolean;
  /** Virtual TSC (exact integer below 2^53), derived from retired instructions, never from the host clock. */
  tsc(): number;
  /** Next 32 bits of the machine's deterministic random stream (rdrand/rdseed). */
  random32(): number;
  /** PAUSE retired: the board charges its guest time (src/machine/wait-cost.ts); absent: a nop. */
  pause?(): void;
}

/** xorshift32: tiny, deterministic, good enough for a guest's entropy pool seed. */
export function makeRandom(seed: number): () => number {
  return new RandomStream(seed).next;
}

/** makeRandom's stream with its state in view (machine snapshots save it). */
export class RandomStream {
  state: number;
  constructor(seed: number) {
    this.state = seed | 0 || 0x2545f491;
  }
  readonly next = (): number => {
    let s = this.state;
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    this.state = s;
    return s | 0;
  };
}

export function defaultHooks(icount: () => number): CpuHooks {
  const rnd = makeRandom(0x6f73760a);
  return {
    ioRead: (_p, size) => (size === 1 ? 0xff : size === 2 ? 0xffff : -1),
    ioWrite: () => {},
    rdmsr: () => false,
    wrmsr: () => false,
    tsc: icount,
    random32: rnd,
  };
}
