// Network benchmark: one virtionet guest sends UDP frames as fast as its tx ring allows through an
// in-process hub to a second guest that counts them. Prints packets/s and MB/s (frames received by
// the second guest, wall time of the whole exchange); asserts nothing.
import { readFileSync } from 'node:fs';
import { buildGuest } from '../src/cli/guest.js';
import { NetHub } from '../src/devices/net/hub.js';
import { Machine } from '../src/machine/machine.js';

interface Result { wallMs: number; cpuMs: number; sent: number; received: number; bytes: number; insns: number; dropped: number }

async function exchange(kernel: Uint8Array, frames: number, payload: number): Promise<Result> {
  const hub = new NetHub();
  let out = '';
  const mk = (cmdline: string, mac: string, log: boolean) => new Machine({
    kernel, cmdline, memMiB: 64, net: [{ backend: hub.port(), mac }],
    debugOut: log ? (b) => (out += String.fromCharCode(b)) : undefined,
  });
  const rx = mk('bench-recv', '52:54:00:00:00:02', true);
  const tx = mk(`bench-send ${frames} ${payload}`, '52:54:00:00:00:01', false);
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  // The receiver starts first so its driver is up before the first frame.
  // Short slices interleave the two machines finely, so the sender does not overrun the receiver's queue.
  const rxRun = rx.runAsync({ timeoutMs: 300_000 }, 250_000);
  while (!out.includes('net: link')) await new Promise((r) => setImmediate(r));
  const txRun = tx.runAsync({ timeoutMs: 300_000 }, 250_000);
  await Promise.all([rxRun, txRun]);
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const cu = process.cpuUsage(c0);
  const cpuMs = (cu.user + cu.system) / 1000;
  const m = /received (\d+) frames, (\d+) bytes/.exec(out);
  const dev = rx.net.devices[0]!;
  const port = rx.net.ports[0]!;
  await Promise.all([rx.close(), tx.close()]);
  return {
    wallMs, cpuMs, sent: tx.net.devices[0]!.stats.txFrames - 1, received: m ? Number(m[1]) : 0, bytes: m ? Number(m[2]) : 0,
    insns: rx.instructions + tx.instructions, dropped: dev.stats.rxDropped + port.overrun,
  };
}

async function main(): Promise<void> {
  const kernel = readFileSync(buildGuest('virtionet'));
  const frames = Number(process.env.NET_BENCH_FRAMES ?? 20000);
  await exchange(kernel, 2000, 1000); // warm-up: JIT and decode caches
  for (const payload of [64, 1000, 1472]) {
    const r = await exchange(kernel, frames, payload);
    const s = r.wallMs / 1000, c = r.cpuMs / 1000;
    // Per CPU second too: on a shared host the wall figure mostly measures the neighbours.
    console.log(`hub UDP ${String(payload).padStart(4)} B payload: ${r.received}/${r.sent} frames received (${r.dropped} dropped), ` +
      `${s.toFixed(2)} s wall / ${c.toFixed(2)} s CPU: ${(r.received / s).toFixed(0)} packets/s, ${(r.bytes / s / 1e6).toFixed(2)} MB/s wall; ` +
      `${(r.received / c).toFixed(0)} packets/s, ${(r.bytes / c / 1e6).toFixed(2)} MB/s per CPU second; ` +
      `${(r.insns / r.received).toFixed(0)} guest insns/packet`);
  }
}

main().catch((e) => {
  console.error(`net-hub benchmark failed: ${(e as Error).message}`);
  process.exitCode = 1;
});
