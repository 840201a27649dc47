// Runs images/virtio/virtio.c on the osvemu board with virtio devices attached.
import { readFileSync } from 'node:fs';
import { Machine, type MachineOptions } from '../../src/machine/machine.js';
import { buildImage } from '../images/build.js';

export interface GuestRun {
  m: Machine;
  out: string;
  log: string[];
  lines: (tag: string) => string[][];
  fails: string[];
}

export function runVirtioGuest(cmdline: string, opts: Partial<MachineOptions>, maxInsns = 200_000_000): GuestRun {
  let out = '';
  const log: string[] = [];
  const m = new Machine({
    kernel: readFileSync(buildImage('virtio')), cmdline, memMiB: 64,
    debugOut: (b) => (out += String.fromCharCode(b)),
    virtioLog: (l) => log.push(l),
    ...opts,
  });
  const r = m.run({ maxInsns });
  if (r.cause !== 'debug-exit') out += `\n[stopped: ${r.cause}: ${r.message}]\n`;
  const lines = (tag: string) => out.split('\n').filter((l) => l.startsWith(`${tag} `)).map((l) => l.split(' ').slice(1));
  return { m, out, log, lines, fails: out.split('\n').filter((l) => l.startsWith('FAIL') || l.startsWith('[stopped')) };
}

/** FNV-1a over 32-bit little-endian words, as the guest computes it, in hex without leading zeros. */
export function fnv(b: Uint8Array): string {
  const w = new Uint32Array(b.buffer.slice(b.byteOffset, b.byteOffset + (b.length & ~3)));
  let h = 2166136261;
  for (let i = 0; i < w.length; i++) h = Math.imul(h ^ w[i]!, 16777619) >>> 0;
  return h.toString(16);
}

/** The guest's write pattern for `n` bytes starting at `sector` (virtio.c fill()). */
export function pattern(sector: number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = ((sector + i * 7) ^ (i >> 9)) & 0xff;
  return b;
}
