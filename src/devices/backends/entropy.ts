/**
 * Entropy sources for virtio-rng: a deterministic stream from a seed (the default, so runs
 * repeat), or the host's CSPRNG when the user asks for real randomness.
 */
import type { StateValue } from '../snapshottable.js';
import { crypto } from '../../node-lazy.js';

export interface EntropySource {
  readonly description: string;
  /** Fills `dst` with random bytes. */
  fill(dst: Uint8Array): void;
  /** Position in the stream, for snapshots (none: host entropy, which cannot be replayed). */
  saveState?(): StateValue;
  /** False when `s` is not this kind of source's state (it is then left as it is). */
  loadState?(s: StateValue): boolean;
}

/** xoshiro128** seeded through splitmix32: the same seed gives the same bytes on every host. */
export class SeededEntropy implements EntropySource {
  readonly description: string;
  private readonly s = new Uint32Array(4);

  constructor(seed: number) {
    this.description = `seed ${seed}`;
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if ((this.s[0]! | this.s[1]! | this.s[2]! | this.s[3]!) === 0) this.s[0] = 1;
  }

  next32(): number {
    const s = this.s;
    const r = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return r;
  }

  fill(dst: Uint8Array): void {
    for (let i = 0; i < dst.length; i += 4) {
      const v = this.next32();
      for (let k = 0; k < 4 && i + k < dst.length; k++) dst[i + k] = (v >>> (8 * k)) & 0xff;
    }
  }

  saveState(): StateValue {
    return { seeded: this.s.slice() };
  }

  loadState(st: StateValue): boolean {
    const v = (st as { seeded?: unknown } | null)?.seeded;
    if (!(v instanceof Uint32Array) || v.length !== 4) return false;
    this.s.set(v);
    return true;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

export class HostEntropy implements EntropySource {
  readonly description = 'host entropy';
  fill(dst: Uint8Array): void {
    crypto().randomFillSync(dst);
  }
}

/** `--rng-seed` values: a whole number (deterministic) or "host". */
export function entropyFrom(seed: number | 'host'): EntropySource {
  return seed === 'host' ? new HostEntropy() : new SeededEntropy(seed);
}
