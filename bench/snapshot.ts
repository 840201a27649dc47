// Snapshot figures with virtio devices: the size of the file and the time to save (capture + encode)
// and to restore (decode + rebuild the machine and its devices), plus what a --record checkpoint costs
// (capture + state hash). A real OSv kernel when OSV_KERNEL (and OSV_DISK for its usr.img) are set,
// snapshotted halfway through its boot; else the project's virtio guest reading its disk.
//   npm run build && node dist/bench/snapshot.js
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { openDisk } from '../src/devices/backends/disk-open.js';
import { SeededEntropy } from '../src/devices/backends/entropy.js';
import { Machine, type MachineOptions } from '../src/machine/machine.js';
import { decodeSnapshot, encodeSnapshot } from '../src/machine/snapshot-file.js';
import { captureMachine, machineFromSnapshot, stateHash } from '../src/machine/snapshot-state.js';
import { buildGuest } from '../src/cli/guest.js';

const ROUNDS = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function time(f: () => void): number {
  const t = performance.now();
  f();
  return performance.now() - t;
}

const kernel = process.env.OSV_KERNEL ?? '';
const disk = process.env.OSV_DISK ?? '';
const tmp = mkdtempSync(join(tmpdir(), 'osvemu-bench-snap-'));
let name: string;
let make: () => Machine;
if (kernel !== '' && existsSync(kernel)) {
  const withDisk = disk !== '' && existsSync(disk);
  const f = join(dirname(withDisk ? disk : kernel), 'cmdline');
  const cmdline = existsSync(f) ? readFileSync(f, 'utf8').trim() : withDisk ? '--rootfs=rofs /hello' : '/hello';
  name = `real OSv ${kernel}${withDisk ? ` + ${disk}` : ''} (256 MiB)`;
  const opts: MachineOptions = { kernel: readFileSync(kernel), cmdline, memMiB: 256, rng: new SeededEntropy(0) };
  make = () => new Machine({ ...opts, ...(withDisk ? { disks: [openDisk({ path: disk, mode: 'snapshot' })] } : {}) });
} else {
  const raw = join(tmp, 'disk.raw');
  writeFileSync(raw, Buffer.alloc(1 << 20, 0x33));
  name = 'virtio guest "blk" (64 MiB)';
  const k = readFileSync(buildGuest('virtio'));
  make = () => new Machine({ kernel: k, cmdline: 'blk', memMiB: 64, rng: new SeededEntropy(0), disks: [openDisk({ path: raw, mode: 'snapshot' })] });
}

const whole = make();
const total = whole.run({ maxInsns: 2e9 }).instructions;
const m = make();
m.run({ maxInsns: Math.floor(total / 2) });
captureMachine(m); // disk identities are hashed once
const save: number[] = [], restore: number[] = [], checkpoint: number[] = [];
let bytes = 0;
for (let i = 0; i < ROUNDS; i++) {
  let file!: Buffer;
  save.push(time(() => { file = encodeSnapshot(captureMachine(m)); }));
  bytes = file.length;
  restore.push(time(() => { machineFromSnapshot(decodeSnapshot(file)); }));
  checkpoint.push(time(() => { captureMachine(m); stateHash(m); }));
}
rmSync(tmp, { recursive: true, force: true });
console.log(`snapshot of ${name} at ${m.instructions} of ${total} instructions`);
console.log(`  file size        ${(bytes / 1048576).toFixed(2)} MiB`);
console.log(`  save             ${median(save).toFixed(0)} ms (median of ${ROUNDS}: capture + encode)`);
console.log(`  restore          ${median(restore).toFixed(0)} ms (decode + new machine + devices)`);
console.log(`  --record checkpoint ${median(checkpoint).toFixed(0)} ms (capture + state hash)`);
