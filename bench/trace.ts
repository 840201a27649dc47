// Trace buffer benchmark: the OSv-shaped guest (or a real OSv with OSV_KERNEL + OSV_LOADER_ELF) runs with
// every tracepoint enabled; prints the guest's run time with tracing on and off (the cost of OSv logging
// its records, in instructions), then the host time to read the rings from guest memory, write the OSVT
// dump, parse it back, list every sample as trace.py does and export the Perfetto JSON.
import { readFileSync } from 'node:fs';
import { buildGuest } from '../src/cli/guest.js';
import { readVirtual } from '../src/machine/debug-mem.js';
import { Machine } from '../src/machine/machine.js';
import { loadDebugInfoFile } from '../src/osv/dwarf/dwarf-info.js';
import { readGuestTrace } from '../src/osv/trace-buffers.js';
import { formatSample } from '../src/osv/trace-list.js';
import { mergeByTime } from '../src/osv/trace-model.js';
import { parseOsvt, writeOsvt } from '../src/osv/trace-osvt.js';
import { perfettoJson } from '../src/osv/trace-perfetto.js';

const REAL = process.env.OSV_KERNEL && process.env.OSV_LOADER_ELF;
const kernelPath = REAL ? process.env.OSV_KERNEL! : buildGuest('osvlike');
const symbols = REAL ? process.env.OSV_LOADER_ELF! : kernelPath;
const base = REAL ? (process.env.OSV_CMDLINE ?? '/hello') : '--threads=8 --lines=20';
const traceOpts = REAL ? '--trace=sched*' : '--trace=* --trace-pages=256';

function ms<T>(f: () => T): [T, number] {
  const t = performance.now();
  const v = f();
  return [v, performance.now() - t];
}

async function boot(cmdline: string): Promise<Machine> {
  const m = new Machine({ kernel: readFileSync(kernelPath), cpus: 2, cmdline, memMiB: REAL ? 256 : 64 });
  const r = await m.runAsync({ maxInsns: 2_000_000_000 });
  if (r.cause !== 'poweroff') throw new Error(`${cmdline}: ${r.cause} ${r.message}`);
  return m;
}

async function main(): Promise<void> {
  const off = await boot(base);
  const on = await boot(`${traceOpts} ${base}`);
  console.log(`${REAL ? 'OSv' : 'osvlike'} -c 2 "${base}": ${(off.instructions / 1e6).toFixed(2)} M instructions untraced, `
    + `${(on.instructions / 1e6).toFixed(2)} M with ${traceOpts} (+${(((on.instructions - off.instructions) / off.instructions) * 100).toFixed(1)} %)`);
  const [di, tLoad] = ms(() => loadDebugInfoFile(symbols));
  const [r, tRead] = ms(() => readGuestTrace(di, (a, n) => readVirtual(on.cpus[0]!, a, n), di.elf));
  const n = r.dump.cpus.reduce((a, c) => a + c.length, 0);
  const [bytes, tWrite] = ms(() => writeOsvt(r.dump));
  const [back, tParse] = ms(() => parseOsvt(bytes));
  const [lines, tList] = ms(() => mergeByTime(back.cpus).map(formatSample));
  const [json, tJson] = ms(() => perfettoJson(mergeByTime(back.cpus)));
  console.log(`${n} samples (${r.dump.cpus.map((c) => c.length).join('+')}), ${r.dump.tracepoints.length} tracepoints, `
    + `${r.dump.symbols.length} symbols, rings ${r.bufferSizes.map((s) => s / 1024).join('+')} KiB`);
  console.log(`DWARF load ${tLoad.toFixed(0)} ms (once per kernel); read rings ${tRead.toFixed(0)} ms; `
    + `write OSVT ${tWrite.toFixed(0)} ms (${(bytes.length / 1024).toFixed(0)} KiB); parse ${tParse.toFixed(0)} ms; `
    + `list ${tList.toFixed(0)} ms (${lines.length} lines, ${(n / (tList / 1000) / 1e3).toFixed(0)} k samples/s); `
    + `Perfetto JSON ${tJson.toFixed(0)} ms (${(json.length / 1024).toFixed(0)} KiB)`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
