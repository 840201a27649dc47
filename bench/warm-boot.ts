// Warm-boot benchmark: the test runner's situation, several fresh machines booting the same kernel one after
// another in one thread (OSV_TESTS_KERNEL, a tests-ramfs image; OSV_CMDLINE; BOOTS). Prints CPU
// seconds, wall and instructions per boot: the first is the cold boot, the 3rd+ are what a warm runner
// worker pays per test. Prints figures; asserts nothing.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { Machine } from '../src/machine/machine.js';
import * as region from '../src/cpu/jit/region.js';
import { Relay } from '../src/machine/relay.js';

const path = process.env.OSV_TESTS_KERNEL ?? '';
if (!existsSync(path)) {
  console.log(`warm-boot: no kernel${path ? ` at ${path}` : ''} (set OSV_TESTS_KERNEL to a tests-ramfs loader-stripped.elf)`);
  process.exit(0);
}
const kernel = readFileSync(path);
const cmdline = process.env.OSV_CMDLINE ?? '--rootfs=ramfs --power-off-on-abort /tests/tst-hello.so';
const boots = Number(process.env.BOOTS ?? 5);
const jit = process.env.OSVEMU_NO_JIT ? false : undefined;
const noSkip = process.env.OSVEMU_NO_LOOP_SKIP ? { loopSkip: false } : {};
let cpuSum = 0;
// WARM_PROFILE=FILE: a V8 CPU profile of the warm boots only (3rd+), for node's --cpu-prof viewers.
const warmProfile = process.env.WARM_PROFILE;
const session = warmProfile ? new Session() : null;
const post = (method: string, params?: object): Promise<unknown> =>
  new Promise((res, rej) => session!.post(method, params ?? {}, (e, r) => (e ? rej(e) : res(r))));
// As the test runner's workers do: each machine is made while the last is reachable (src/machine/relay.ts).
const relay = new Relay<Machine>();
for (let b = 0; b < boots; b++) {
  if (session !== null && b === Number(process.env.WARM_FROM ?? 2)) { session.connect(); await post('Profiler.enable'); await post('Profiler.start'); }
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const m = relay.next(() => new Machine({ kernel, cmdline, cpus: 2, memMiB: 2048, ...(jit === false ? { jit } : {}), ...noSkip }));
  const r = m.run({ maxInsns: 2_000_000_000, timeoutMs: 120_000 });
  const cu = process.cpuUsage(c0);
  const cpu = (cu.user + cu.system) / 1e6;
  if (b >= 2) cpuSum += cpu;
  console.log(`boot ${b + 1}: ${cpu.toFixed(3)} s CPU, ${((performance.now() - t0) / 1000).toFixed(3)} s wall, ` +
    `${(r.instructions / 1e6).toFixed(3)} M insns (${r.instructions}), ${r.cause}, exit ${m.exitStatus}, console ${m.console.length} B` +
    (m.jit ? `; jit: ${m.jit.compiled} compiled, ${m.jit.preheated} of them preheated, ${m.jit.adopted} adopted, ${m.jit.regions} regions (${m.jit.regionsDropped} dropped), ${region.factoryHits} region factories reused so far` : ''));
}
if (session !== null) {
  const r = await post('Profiler.stop') as { profile: unknown };
  writeFileSync(warmProfile!, JSON.stringify(r.profile));
}
if (boots > 2) console.log(`warm (3rd+) mean: ${(cpuSum / (boots - 2)).toFixed(3)} s CPU`);
