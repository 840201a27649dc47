// `npm run bench`: the speed and memory figures of issue 12 in one run, as ratios to QEMU TCG where it is
// installed. Prints; asserts nothing (never a timed test).
//   1. the hot loops of bench/interp.ts, booted as a guest (images/bare/benchloop.c), interpreter and block
//      compiler (Machine option `jit`), guest MIPS per CPU-second;
//   2. a boot of the OSv-shaped guest (images/osvlike), cold CLI and warm in-process;
//   3. with qemu-system-x86_64: QEMU TCG on the same loop image (iteration-count difference, so its start-up
//      cancels out) and, with OSV_KERNEL, on the same OSv kernel from the command line, with the ratios;
//   4. peak RSS of a boot against guest memory touched + 150 MB.
// BENCH_QUICK=1 runs everything tiny (the smoke test); OSV_KERNEL / OSV_CMDLINE add a real OSv kernel.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildGuest } from '../src/cli/guest.js';
import { Machine, type MachineOptions } from '../src/machine/machine.js';
import { cliCold, coldPair, findQemu, median, qemuLoopMips, rssProbe, type ColdFigures } from './suite-host.js';
import { startupCost } from './startup.js';

const QUICK = process.env.BENCH_QUICK === '1';
const here = path.dirname(fileURLToPath(import.meta.url));
/** dist/src/cli/main.js beside this file's dist/bench. */
const CLI = path.resolve(here, '../src/cli/main.js');

export type LoopKind = 'integer' | 'mixed' | 'idle';
/** Instructions per iteration of each loop (images/bare/benchloop.c; idle: OSv's idle poll, six traces). */
export const LOOP_INSNS: Record<LoopKind, number> = { integer: 7, mixed: 10, idle: 30 };
const KINDS: LoopKind[] = ['integer', 'mixed', 'idle'];

const fmt = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');

/**
 * One boot of the loop image with `jit` passed through untyped options, so that this compiles whether or not
 * the Machine knows the option yet (an unknown option is ignored: the figures then match the interpreter's).
 */
function loopRun(kernel: Uint8Array, kind: LoopKind, iters: number, jit: boolean, loopSkip = false): { insns: number; cpuS: number } {
  // The engines' figures: the idle loop is the shape the loop fast-forward jumps over (printed on its own line).
  const extra: Record<string, unknown> = { jit, loopSkip };
  const m = new Machine({ kernel, cmdline: `${kind} ${iters}`, memMiB: 64, ...extra } as MachineOptions);
  const c0 = process.cpuUsage();
  const r = m.run({ maxInsns: 1e11 });
  const c = process.cpuUsage(c0);
  if (r.cause !== 'debug-exit' || m.exitStatus !== 1) throw new Error(`benchloop ${kind} ${iters}: ${r.message}`);
  return { insns: r.instructions, cpuS: (c.user + c.system) / 1e6 };
}

/** Guest MIPS per CPU-second of this process: median of 3 after a warm-up run. */
function loopMips(kernel: Uint8Array, kind: LoopKind, iters: number, jit: boolean, loopSkip = false): number {
  loopRun(kernel, kind, Math.max(1, Math.floor(iters / 10)), jit, loopSkip);
  const runs = [0, 1, 2].map(() => loopRun(kernel, kind, iters, jit, loopSkip));
  return median(runs.map((r) => r.insns / r.cpuS / 1e6));
}

/**
 * The loop's own speed once compiled, measured as QEMU's is (qemuLoopMips): the difference between runs of
 * `iters` and 5 x `iters` iterations, so that boot, interpreting until the trace is hot, compiling and V8's
 * optimising (tens of ms, the same in both) cancel out. Medians of 3.
 */
function loopSteadyMips(kernel: Uint8Array, kind: LoopKind, iters: number, jit: boolean): number {
  const one = [0, 1, 2].map(() => loopRun(kernel, kind, iters, jit));
  const five = [0, 1, 2].map(() => loopRun(kernel, kind, 5 * iters, jit));
  const dI = median(five.map((r) => r.insns)) - median(one.map((r) => r.insns));
  return dI / Math.max(median(five.map((r) => r.cpuS)) - median(one.map((r) => r.cpuS)), 1e-3) / 1e6;
}

function bootWarm(kernel: Uint8Array, cmdline: string, cpus: number): { cpuS: number; insns: number; cause: string } {
  const runs: { cpuS: number; insns: number; cause: string }[] = [];
  for (let k = 0; k < (QUICK ? 1 : 4); k++) {
    const c0 = process.cpuUsage();
    const m = new Machine({ kernel, cmdline, cpus, memMiB: 256 });
    const r = m.run({ maxInsns: 2e9, timeoutMs: 120_000 });
    const c = process.cpuUsage(c0);
    if (k > 0 || QUICK) runs.push({ cpuS: (c.user + c.system) / 1e6, insns: r.instructions, cause: r.cause });
  }
  runs.sort((a, b) => a.cpuS - b.cpuS);
  return runs[Math.floor(runs.length / 2)]!;
}

function coldLine(name: string, f: ColdFigures | null): string {
  if (!f) return `${name.padEnd(34)} (not run)`;
  const rss = Number.isFinite(f.rssMiB) ? `, peak RSS ${fmt(f.rssMiB, 0)} MiB` : '';
  return `${name.padEnd(34)} wall ${fmt(f.wallS, 3)} s, cpu ${fmt(f.cpuS, 3)} s${rss} (median of ${f.runs})${f.rc !== 0 ? `, exit status ${f.rc}` : ''}`;
}

const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${fmt(a / b, a / b < 0.1 ? 4 : 2)}x` : '-');

function main(): void {
  const loopElf = buildGuest('benchloop');
  const loopKernel = readFileSync(loopElf);
  const iters: Record<LoopKind, number> = QUICK ? { integer: 1000, mixed: 1000, idle: 1000 } : { integer: 3_000_000, mixed: 2_000_000, idle: 1_000_000 };

  console.log('== hot loops (images/bare/benchloop.c under the Machine; guest MIPS per CPU-second, median of 3)');
  if (QUICK) console.log('(BENCH_QUICK: tiny counts, the figures mean nothing)');
  const osvemu: Record<LoopKind, { interp: number; jit: number; steady: number; compiled: boolean }> = {} as never;
  for (const kind of KINDS) {
    const interp = loopMips(loopKernel, kind, iters[kind], false);
    const jit = loopMips(loopKernel, kind, iters[kind], true);
    const steady = QUICK ? NaN : loopSteadyMips(loopKernel, kind, iters[kind], true);
    // The option is ignored until the block compiler exists: both then run the interpreter at one speed.
    const compiled = !QUICK && Math.abs(jit - interp) / interp > 0.1;
    osvemu[kind] = { interp, jit, steady, compiled };
    console.log(`${`${kind} loop (${LOOP_INSNS[kind]} insns/iter)`.padEnd(34)} interpreter ${fmt(interp).padStart(7)} MIPS, ` +
      (compiled ? `compiled ${fmt(jit).padStart(7)} MIPS (${ratio(jit, interp)}; whole run), ${fmt(steady).padStart(7)} MIPS steady (5N - N runs)`
        : `compiler not available (jit: true ran ${fmt(jit)} MIPS)`));
  }
  const skipped = loopMips(loopKernel, 'idle', iters.idle, true, true);
  console.log(`${'idle loop, loop fast-forward on'.padEnd(34)} ${fmt(skipped).padStart(7)} MIPS retired (the default: iterations proven idle are skipped, charged exactly)`);

  console.log('== OSv-shaped guest (images/osvlike), power-off');
  const osvlikeElf = buildGuest('osvlike');
  const osvlike = readFileSync(osvlikeElf);
  for (const cpus of [1, 2]) {
    const w = bootWarm(osvlike, '', cpus);
    console.log(`${`osvlike -c ${cpus}, warm in-process`.padEnd(34)} cpu ${fmt(w.cpuS, 3)} s, ${fmt(w.insns / 1e6, 2)} M insns (${w.cause})`);
  }
  const runs = QUICK ? 1 : 5;
  const osvlikeCold = cliCold(CLI, osvlikeElf, '', runs);
  console.log(coldLine('osvlike -c 1, cold `osvemu run`', osvlikeCold));
  const startup = startupCost(CLI, QUICK ? 1 : 5);
  if (startup) {
    console.log(`${'osvemu start-up + exit (no guest)'.padEnd(34)} wall ${fmt(startup.osvemu.wallS, 3)} s, cpu ${fmt(startup.osvemu.cpuS, 3)} s; ` +
      `node -e 0: wall ${fmt(startup.node.wallS, 3)} s, cpu ${fmt(startup.node.cpuS, 3)} s (median of ${QUICK ? 1 : 5})`);
  }

  const real = process.env.OSV_KERNEL;
  const realCmd = process.env.OSV_CMDLINE ?? (real ? readCmdline(real) : '');
  const qemu = findQemu();
  let realCold: ColdFigures | null = null;
  let qemuRealCold: ColdFigures | null = null;
  if (real) {
    console.log(`== OSv kernel ${real} -e "${realCmd}"`);
    // Cold start-up is what the user waits for: with QEMU installed both are timed in turns, on the same load.
    const load0 = os.loadavg()[0]!;
    const coldRuns = QUICK ? 1 : 9;
    if (qemu) ({ osvemu: realCold, qemu: qemuRealCold } = coldPair(CLI, qemu, real, realCmd, coldRuns));
    else realCold = cliCold(CLI, real, realCmd, coldRuns);
    console.log(coldLine('osvemu run, cold', realCold));
    console.log(`${'host load (1-min average)'.padEnd(34)} ${fmt(load0, 2)} before, ${fmt(os.loadavg()[0]!, 2)} after, ${os.cpus().length} CPUs`);
  }

  console.log(`== QEMU TCG (${qemu ?? 'qemu-system-x86_64 not installed: skipped'})`);
  if (qemu) {
    const qIters: Record<LoopKind, number> = QUICK ? { integer: 1000, mixed: 1000, idle: 1000 }
      : { integer: 200_000_000, mixed: 150_000_000, idle: 50_000_000 };
    for (const kind of KINDS) {
      const q = qemuLoopMips(qemu, loopElf, kind, qIters[kind], LOOP_INSNS[kind], QUICK ? 1 : 3);
      const o = osvemu[kind];
      console.log(`${`${kind} loop`.padEnd(34)} QEMU ${fmt(q).padStart(7)} MIPS; osvemu/QEMU: interpreter ${ratio(o.interp, q)}` +
        (o.compiled ? `, compiled ${ratio(o.jit, q)} (whole run), ${ratio(o.steady, q)} (steady, measured as QEMU's)` : ', compiled -'));
    }
    if (real && realCold) {
      const q = qemuRealCold;
      console.log(coldLine('QEMU, same kernel, cold', q));
      if (q) console.log(`${'osvemu/QEMU cold'.padEnd(34)} wall ${ratio(realCold.wallS, q.wallS)}, cpu ${ratio(realCold.cpuS, q.cpuS)}`);
    }
  }

  console.log('== peak RSS of a boot vs guest memory touched + 150 MB (fresh process)');
  const probes: [string, string, string][] = [['osvlike -c 1', osvlikeElf, '']];
  if (real) probes.push(['OSv kernel', real, realCmd]);
  for (const [name, k, cmd] of probes) {
    const p = rssProbe(k, cmd);
    if (!p) { console.log(`${name.padEnd(34)} (probe failed)`); continue; }
    // Pages the guest wrote are resident in the RAM mapping even when it wrote zeros (a cleared heap).
    const touched = Number.isFinite(p.ramResidentMiB) ? Math.max(p.ramResidentMiB, p.touchedMiB) : p.touchedMiB;
    const budget = touched + 150;
    console.log(`${name.padEnd(34)} peak RSS ${fmt(p.maxRssMiB)} MiB, guest memory touched ${fmt(touched)} MiB ` +
      `(resident in the RAM mapping ${fmt(p.ramResidentMiB)}, not all-zero ${fmt(p.touchedMiB)}) -> ${p.maxRssMiB <= budget ? 'within' : 'OVER'} ${fmt(budget)} MiB`);
  }
}

/** OSv's build writes the command line beside the kernel (artifacts/<app>/cmdline); else run /hello. */
function readCmdline(kernel: string): string {
  try {
    return readFileSync(path.join(path.dirname(kernel), 'cmdline'), 'utf8').trim();
  } catch {
    return '/hello';
  }
}

main();
