// virtio-blk benchmark: a guest (images/virtio, "bench N") reads a 100 MiB disk sequentially in
// N-byte requests through the legacy interface with MSI-X, one request in flight, as a simple
// driver would. Prints host wall-clock MB/s (emulator throughput; CPU-second figures are steadier on a
// busy host) and the guest's virtual MB/s (the modelled disk: 10 µs + 0.5 ns/byte per request).
import { mkdtempSync, rmSync, writeFileSync, openSync, ftruncateSync, closeSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { buildGuest } from '../src/cli/guest.js';
import { openDisk, parseDiskSpec } from '../src/devices/backends/disk-open.js';
import { Machine } from '../src/machine/machine.js';

const MIB = 1024 * 1024;
const SIZE = 100 * MIB;

function run(kernel: Uint8Array, path: string, chunk: number): void {
  let out = '';
  const disk = openDisk(parseDiskSpec(path));
  const m = new Machine({ kernel, cmdline: `bench ${chunk}`, memMiB: 64, disks: [disk], debugOut: (b) => (out += String.fromCharCode(b)) });
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const r = m.run({ maxInsns: 2_000_000_000, timeoutMs: 300_000 });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const cu = process.cpuUsage(c0);
  disk.close();
  const bytes = Number(/BENCH (\d+)/.exec(out)?.[1] ?? 0);
  if (r.cause !== 'debug-exit' || bytes !== SIZE) {
    console.log(`${path}: ${r.cause} ${r.message} ${out.slice(-200)}`);
    return;
  }
  const vs = r.virtualNs / 1e9;
  console.log(`${basename(path).padEnd(22)} ${String(chunk / 1024).padStart(5)} KiB requests: ` +
    `${(bytes / MIB / s).toFixed(1)} MB/s wall (${s.toFixed(2)} s), ${(bytes / MIB / ((cu.user + cu.system) / 1e6)).toFixed(1)} MB/s per CPU second, ` +
    `${(bytes / MIB / vs).toFixed(1)} MB/s virtual, ${(r.instructions / 1e6).toFixed(1)} M insns`);
}

function main(): void {
  const kernel = readFileSync(buildGuest('virtio'));
  const dir = mkdtempSync(join(tmpdir(), 'osvemu-bench-blk-'));
  try {
    // Raw: a file of distinct bytes (not sparse), so the host really copies data.
    const raw = join(dir, 'disk.raw');
    const block = new Uint8Array(MIB);
    for (let i = 0; i < block.length; i++) block[i] = (i * 31 + (i >> 12)) & 0xff;
    const fd = openSync(raw, 'w');
    closeSync(fd);
    for (let k = 0; k < SIZE / MIB; k++) writeFileSync(raw, block, { flag: 'a' });
    // A sparse raw file for comparison: reads are host page-cache zeros.
    const sparse = join(dir, 'sparse.raw');
    const fd2 = openSync(sparse, 'w');
    ftruncateSync(fd2, SIZE);
    closeSync(fd2);
    run(kernel, raw, 64 * 1024); // warm-up
    for (const chunk of [64 * 1024, 1024 * 1024]) run(kernel, raw, chunk);
    run(kernel, sparse, 1024 * 1024);
    // qcow2 (plain and compressed, as qemu-img writes them) when qemu-img is installed.
    for (const [name, extra] of [['disk.qcow2', []], ['disk-compressed.qcow2', ['-c']]] as const) {
      const q = join(dir, name);
      try {
        execFileSync('qemu-img', ['convert', ...extra, '-O', 'qcow2', raw, q], { stdio: 'ignore' });
      } catch {
        console.log(`${name}: skipped (no qemu-img)`);
        continue;
      }
      run(kernel, q, 64 * 1024);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
