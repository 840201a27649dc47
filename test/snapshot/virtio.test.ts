// Snapshots of machines with virtio devices, driven by the project's own guests (images/virtio):
// taken during disk I/O (requests in flight, guest writes in the overlay) and during network traffic
// (a JS peer on a callback back end), restored through the file format, and run on: the restored
// machine equals the original run as far (report bytes, instruction counts, state hash).
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDisk } from '../../src/devices/backends/disk-open.js';
import { SeededEntropy } from '../../src/devices/backends/entropy.js';
import { CallbackBackend } from '../../src/devices/net/callback.js';
import { Machine, type MachineOptions } from '../../src/machine/machine.js';
import { decodeSnapshot, encodeSnapshot, SnapshotFileError } from '../../src/machine/snapshot-file.js';
import { captureMachine, machineFromSnapshot, stateHash, type MachineSnapshot } from '../../src/machine/snapshot-state.js';
import { buildImage, toolchainAvailable } from '../images/build.js';
import { testContent } from '../virtio/qcow2-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'osvemu-vsnap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const PEER_MAC = Uint8Array.of(0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc);

function guest(image: string, cmdline: string, opts: Partial<MachineOptions>): { m: Machine; out: () => string } {
  let out = '';
  const m = new Machine({
    kernel: readFileSync(buildImage(image)), cmdline, memMiB: 64, debugOut: (b) => (out += String.fromCharCode(b)),
    virtioLog: () => {}, ...opts,
  });
  return { m, out: () => out };
}

function restored(snap: MachineSnapshot, restore: Parameters<typeof machineFromSnapshot>[2] = {}): { m: Machine; out: () => string } {
  let out = '';
  const m = machineFromSnapshot(decodeSnapshot(encodeSnapshot(snap)), { debugOut: (b) => (out += String.fromCharCode(b)) }, restore);
  return { m, out: () => out };
}

/** The peer of `hub-ping`: answers every ping with its pong, from onFrame (deterministic). */
function pongPeer(): CallbackBackend {
  return new CallbackBackend((f, b) => {
    if (f.length < 20 || f[12] !== 0x88 || f[13] !== 0xb5 || String.fromCharCode(...f.subarray(14, 18)) !== 'ping') return;
    const r = new Uint8Array(60);
    r.set(f.subarray(6, 12), 0);
    r.set(PEER_MAC, 6);
    r.set([0x88, 0xb5], 12);
    r.set(new TextEncoder().encode('pong'), 14);
    r[18] = f[18]!;
    r[19] = f[19]!;
    b.inject(r);
  });
}

function same(a: { m: Machine; out: () => string }, b: { m: Machine; out: () => string }, fromOut: number): void {
  expect(b.out()).toBe(a.out().slice(fromOut));
  expect(b.m.cpus.map((c) => c.icount)).toEqual(a.m.cpus.map((c) => c.icount));
  expect(b.m.nowNs()).toBe(a.m.nowNs());
  expect(stateHash(b.m)).toBe(stateHash(a.m));
}

function blkState(snap: MachineSnapshot): { inflight: unknown[]; disk: { index: Uint32Array } } {
  const devs = (snap.state as { devices: Record<string, { model: unknown }> }).devices;
  return devs['pci-18']!.model as { inflight: unknown[]; disk: { index: Uint32Array } };
}

describe.skipIf(!toolchainAvailable())('snapshots of machines with virtio devices', () => {
  const raw = join(dir, 'disk.raw');
  writeFileSync(raw, testContent(1 << 20, 7));

  it('virtio-blk + virtio-rng: snapshots during disk I/O restore and run on equal to the original', () => {
    const opts = () => ({ disks: [openDisk({ path: raw, mode: 'snapshot' as const })], rng: new SeededEntropy(5) });
    // Reference run: where the guest is busy with the disk.
    const a = guest('virtio', 'blk', opts());
    const snaps: MachineSnapshot[] = [];
    const outs: number[] = [];
    let inflightSeen = false, overlaySeen = false;
    for (let at = 100_000; a.m.state === 'running' && !overlaySeen; at += 100_000) {
      a.m.run({ maxInsns: at });
      const s = captureMachine(a.m);
      const blk = blkState(s);
      if (blk.inflight.length > 0 && !inflightSeen) { inflightSeen = true; snaps.push(s); outs.push(a.out().length); }
      if (blk.disk.index.length > 0 && !overlaySeen) { overlaySeen = true; snaps.push(s); outs.push(a.out().length); }
    }
    expect(inflightSeen).toBe(true);
    expect(overlaySeen).toBe(true);
    a.m.run({ maxInsns: 400_000_000 });
    expect(a.out()).toMatch(/\nDONE \d+ passed 0 failed/);
    for (const [i, s] of snaps.entries()) {
      const b = restored(s);
      b.m.run({ maxInsns: 400_000_000 });
      same(a, b, outs[i]!);
    }
  });

  it('INTx (MSI-X off: ISR and the level line) and virtio-rng: snapshots every 1500 instructions restore and run on equal', () => {
    for (const cmd of ['intx', 'rng']) {
      // Two vCPUs (the second waits for a SIPI that never comes) so that quanta are 500 instructions.
      const a = guest('virtio', cmd, { disks: [openDisk({ path: raw, mode: 'snapshot' })], rng: new SeededEntropy(9), cpus: 2, quantum: 500 });
      const snaps: [MachineSnapshot, number][] = [];
      let last = -1;
      for (let at = 700; a.m.state === 'running' && snaps.length < 8; at += 1_500) {
        a.m.run({ maxInsns: at });
        if (a.m.state === 'running' && a.m.instructions !== last) snaps.push([captureMachine(a.m), a.out().length]);
        last = a.m.instructions;
      }
      a.m.run({ maxInsns: 100_000_000 });
      expect(a.out(), cmd).toMatch(/\nDONE \d+ passed 0 failed/);
      expect(snaps.length).toBeGreaterThan(2);
      for (const [snap, from] of snaps) {
        const b = restored(snap);
        b.m.run({ maxInsns: 100_000_000 });
        same(a, b, from);
      }
    }
  });

  it('virtio-net: a snapshot during ping/pong traffic restores with a new back end and runs on equal', () => {
    const a = guest('virtionet', 'hub-ping 5000', { net: [{ backend: pongPeer() }] });
    a.m.run({ maxInsns: 1_000_000 });
    expect(a.m.state).toBe('running');
    expect(a.m.net.ports[0]!.rxFrames).toBeGreaterThan(3);
    const snap = captureMachine(a.m);
    const from = a.out().length;
    a.m.run({ maxInsns: 400_000_000 });
    expect(a.out()).toMatch(/pongs 5000 of 5000/);
    const b = restored(snap, { net: [pongPeer()] });
    b.m.run({ maxInsns: 400_000_000 });
    same(a, b, from);
    // Without a back end the card comes back detached: link and queues intact, nothing answers.
    const c = restored(snap);
    expect(c.m.net.ports[0]!.backend.description).toBe('detached');
    expect(c.m.net.devices[0]!.link).toBe(true);
    c.m.run({ maxInsns: a.m.instructions });
    expect(c.out()).not.toMatch(/pongs 5000/);
  });

  it('a changed or missing disk image, damaged virtio state and a truncated file are one-line errors', () => {
    const path = join(dir, 'moved.raw');
    writeFileSync(path, testContent(1 << 20, 7));
    const a = guest('virtio', 'blk', { disks: [openDisk({ path, mode: 'snapshot' })] });
    a.m.run({ maxInsns: 2_000_000 });
    const snap = captureMachine(a.m);
    const errors: string[] = [];
    const attempt = (f: () => unknown) => {
      try { f(); errors.push('no error'); } catch (e) { errors.push((e as Error).message); }
    };
    // A moved image is found at its new path; a different file there is refused.
    const moved = join(dir, 'moved-again.raw');
    writeFileSync(moved, testContent(1 << 20, 7));
    expect(() => restored(snap, { disks: [moved] })).not.toThrow();
    writeFileSync(moved, testContent(1 << 20, 8));
    attempt(() => restored(snap, { disks: [moved] }));
    writeFileSync(moved, testContent(1 << 19, 7));
    attempt(() => restored(snap, { disks: [moved] }));
    attempt(() => restored(snap, { disks: [join(dir, 'nope.raw')] }));
    // Same bytes, other time: a small image is hashed whole, so that still fits.
    utimesSync(path, new Date(0), new Date(0));
    expect(() => restored(snap)).not.toThrow();
    const state = snap.state as { devices: Record<string, Record<string, unknown>> };
    const bad = { ...snap, state: { ...state, devices: { ...state.devices, 'pci-18': { ...state.devices['pci-18'], transport: null } } } };
    attempt(() => restored(bad));
    const file = encodeSnapshot(snap);
    attempt(() => decodeSnapshot(file.subarray(0, file.length - 1000)));
    expect(errors[0]).toMatch(/^disk .*moved-again\.raw changed since the snapshot \(contents differ\)$/);
    expect(errors[1]).toMatch(/changed since the snapshot \(524288 bytes, was 1048576\)$/);
    expect(errors[2]).toMatch(/^cannot open .*nope\.raw: ENOENT$/);
    expect(errors[3]).toMatch(/^virtio-blk 00:03\.0: virtio state missing from the snapshot$/);
    expect(errors[4]).toMatch(/^truncated snapshot/);
    for (const e of errors) expect(e).not.toContain('\n');
    let fileErr: unknown;
    try { decodeSnapshot(file.subarray(0, 30)); } catch (e) { fileErr = e; }
    expect(fileErr).toBeInstanceOf(SnapshotFileError);
  });
});
