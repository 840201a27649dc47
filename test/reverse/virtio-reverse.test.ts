// Reverse execution (--record) on machines with virtio devices, driven by the project's own guests:
// checkpoints hold the device state (queues, in-flight disk requests, the disk overlay, the rng
// position), and the host input the recording keeps (network frames, idle waits for a live back end,
// host entropy) makes replays repeat history; without it they diverge, and that is reported.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDisk } from '../../src/devices/backends/disk-open.js';
import { entropyFrom, SeededEntropy } from '../../src/devices/backends/entropy.js';
import { CallbackBackend } from '../../src/devices/net/callback.js';
import { DebugPoints, VcpuDebug } from '../../src/machine/debug-points.js';
import { Machine, type MachineOptions } from '../../src/machine/machine.js';
import { Recorder } from '../../src/machine/reverse.js';
import { stateHash } from '../../src/machine/snapshot-state.js';
import { buildImage, toolchainAvailable } from '../images/build.js';

const dir = mkdtempSync(join(tmpdir(), 'osvemu-vrev-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const PEER_MAC = Uint8Array.of(0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc);

function hubFrame(word: string, i: number, dst: Uint8Array): Uint8Array {
  const r = new Uint8Array(60);
  r.set(dst, 0);
  r.set(PEER_MAC, 6);
  r.set([0x88, 0xb5], 12);
  r.set(new TextEncoder().encode(word), 14);
  r[18] = i >> 8;
  r[19] = i & 0xff;
  return r;
}

/** The peer of `hub-ping`: answers every ping with its pong from onFrame. */
function pongPeer(): CallbackBackend {
  return new CallbackBackend((f, b) => {
    if (f.length >= 20 && f[12] === 0x88 && f[13] === 0xb5 && String.fromCharCode(...f.subarray(14, 18)) === 'ping') {
      b.inject(hubFrame('pong', (f[18]! << 8) | f[19]!, f.subarray(6, 12)));
    }
  });
}

function setup(image: string, cmdline: string, opts: Partial<MachineOptions>) {
  let out = '';
  const m = new Machine({
    kernel: readFileSync(buildImage(image)), cmdline, memMiB: 64, debugOut: (b) => (out += String.fromCharCode(b)), virtioLog: () => {},
    netLog: () => {}, ...opts,
  });
  const dbg = m.cpus.map(() => new VcpuDebug(new DebugPoints()));
  const apply = () => m.execs.forEach((e, k) => { e.debug = dbg[k]!; });
  apply();
  const rec = new Recorder({ machine: m, vcpuDebug: () => dbg, applyDebugMode: apply, log: () => {} }, { interval: 150_000 });
  rec.noteResume({ paused: [false], step: [false], stepIrq: [false], skipRip: [NaN] });
  return { m, rec, out: () => out };
}

/** Runs the recorded machine as the gdb target does: slices, checkpoints between them, idle waits for the host. */
async function record(m: Machine, rec: Recorder, insns: number): Promise<void> {
  while (m.instructions < insns) {
    const r = m.slice(50_000, true);
    if (r !== null) break;
    rec.afterSlice();
    if (m.idlePending) await m.waitIdle();
  }
  rec.noteStop(m.state === 'running' ? 'boundary' : 'final', 0);
}

/** reverse-continue to the beginning and continue back to the live end: every checkpoint and the end must match. */
function roundTrip(m: Machine, rec: Recorder): void {
  const end = m.instructions, hash = stateHash(m);
  expect(rec.reverseContinue(0)).toMatchObject({ reason: { type: 'replaylog', at: 'begin' } });
  expect(rec.forwardContinue(0)).toMatchObject({ reason: { type: 'replaylog', at: 'end' } });
  expect(rec.divergences).toEqual([]);
  expect(m.instructions).toBe(end);
  expect(stateHash(m)).toBe(hash);
}

describe.skipIf(!toolchainAvailable())('reverse execution with virtio devices', () => {
  it('virtio-blk: reverse-stepi x20 then stepi x20 returns to the same state; reverse-continue/continue replay without divergence', async () => {
    const raw = join(dir, 'disk.raw');
    writeFileSync(raw, Buffer.alloc(1 << 20, 0x5a));
    const { m, rec } = setup('virtio', 'blk', { disks: [openDisk({ path: raw, mode: 'snapshot' })], rng: new SeededEntropy(3) });
    await record(m, rec, 1_400_000);
    expect(m.state).toBe('running');
    // The guest has written to the disk by now: the overlay is in the checkpoints.
    const blk = m.virtioDevices[0]!.model as unknown as { saveState(): { disk: { index: Uint32Array } } };
    expect(blk.saveState().disk.index.length).toBeGreaterThan(0);
    const icount = m.cpus[0]!.icount, hash = stateHash(m);
    for (let i = 0; i < 20; i++) rec.reverseStep(0);
    expect(m.cpus[0]!.icount).toBe(icount - 20);
    for (let i = 0; i < 20; i++) rec.forwardStep(0);
    expect(rec.live).toBe(true);
    expect(m.cpus[0]!.icount).toBe(icount);
    expect(stateHash(m)).toBe(hash);
    roundTrip(m, rec);
    // Going on from the live end finishes the guest's checks.
    m.paused[0] = false;
    rec.noteResume({ paused: [false], step: [false], stepIrq: [false], skipRip: [NaN] });
    await record(m, rec, 100_000_000);
    expect(m.state).toBe('debug-exit');
  }, 120_000);

  it('network frames from the back end are part of the recording: the replay reproduces the same state (and diverges without them)', async () => {
    const { m, rec } = setup('virtionet', 'hub-ping 5000', { net: [{ backend: pongPeer() }] });
    await record(m, rec, 800_000);
    expect(m.net.ports[0]!.rxFrames).toBeGreaterThan(100);
    expect(rec.hostInput.count).toBe(m.net.ports[0]!.rxFrames);
    const sent = m.net.ports[0]!.txFrames;
    roundTrip(m, rec);
    // Replays sent nothing to the peer (it answered once, live).
    expect(m.net.ports[0]!.txFrames).toBe(sent);
    (rec.hostInput as unknown as { events: unknown[] }).events.length = 0;
    rec.reverseContinue(0);
    rec.forwardContinue(0);
    expect(rec.divergences.length).toBeGreaterThan(0);
  }, 120_000);

  it('a live back end: idle waits and frames injected from outside the run replay exactly', async () => {
    const peer = new CallbackBackend(() => {}, { live: true });
    const { m, rec, out } = setup('virtionet', 'hub-pong 3', { net: [{ backend: peer }] });
    const pinger = setInterval(() => {
      const n = (out().match(/PASS/g) ?? []).length; // ready once the link is up
      if (n > 0) for (let i = 0; i < 3; i++) peer.inject(hubFrame('ping', i, Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff)));
    }, 20);
    try {
      await record(m, rec, 50_000_000);
    } finally {
      clearInterval(pinger);
    }
    expect(out()).toMatch(/pings answered 3 of 3/);
    const events = (rec.hostInput as unknown as { events: { kind: string }[] }).events;
    expect(events.filter((e) => e.kind === 'idle').length).toBeGreaterThan(0);
    expect(events.filter((e) => e.kind === 'net').length).toBeGreaterThanOrEqual(3);
    roundTrip(m, rec);
  }, 120_000);

  it('host entropy drawn by virtio-rng is on a tape: replays hand out the same bytes', async () => {
    const { m, rec, out } = setup('virtio', 'rng', { rng: entropyFrom('host') });
    await record(m, rec, 50_000_000);
    expect(out()).toMatch(/RNG [0-9a-f]{64}/);
    expect(rec.hostInput.tapes[0]!.draws).toBeGreaterThan(0);
    expect(rec.status()).toMatch(/host entropy draw/);
    roundTrip(m, rec);
  }, 120_000);
});
