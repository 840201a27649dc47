// DWARF loading benchmark: time and peak RSS to load a kernel's debug information (OSV_LOADER_ELF,
// else the project's osvlike.elf; or a path given as argument) and the time of a few lookups the
// OSv thread provider makes. Prints figures; asserts nothing.
import { statSync } from 'node:fs';
import { buildGuest } from '../src/cli/guest.js';
import { loadDebugInfoFile } from '../src/osv/dwarf/dwarf-info.js';
import { CallFrameInfo } from '../src/osv/dwarf/cfi.js';

const file = process.argv[2] ?? process.env.OSV_LOADER_ELF ?? buildGuest('osvlike');
const mb = (n: number) => (n / 1048576).toFixed(1);

let peak = process.memoryUsage().rss;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
const rss0 = process.memoryUsage().rss;

const c0 = process.cpuUsage();
const t0 = performance.now();
const di = loadDebugInfoFile(file);
const tLoad = performance.now() - t0;
const cu = process.cpuUsage(c0);
const cpuLoad = (cu.user + cu.system) / 1e6;
peak = Math.max(peak, process.memoryUsage().rss);

const secs = ['.debug_info', '.debug_abbrev', '.debug_str'].map((n) => `${n} ${mb(di.elf.section(n)?.size ?? 0)} MB`).join(', ');
console.log(`file            ${file} (${mb(statSync(file).size)} MB; ${secs})`);
// Wall time suffers on a shared machine; the CPU time (all threads: GC helpers included) is the steadier figure.
console.log(`load            ${(tLoad / 1000).toFixed(3)} s wall, ${cpuLoad.toFixed(3)} s cpu: ${di.stats.units} units, ${di.stats.dies} DIEs scanned, ${di.stats.typeNames} type names, ${di.stats.varNames} variable names`);

function time(label: string, f: () => unknown): void {
  const t = performance.now();
  const v = f();
  const ms = performance.now() - t;
  const t2 = performance.now();
  f();
  const ms2 = performance.now() - t2;
  const shown = v === undefined ? 'undefined' : typeof v === 'object' ? JSON.stringify(v).slice(0, 70) : String(v);
  console.log(`${label.padEnd(40)} ${ms.toFixed(2)} ms (again ${ms2.toFixed(3)} ms)  ${shown}`);
}

time("type('sched::thread')", () => di.type('sched::thread')?.size);
time("member('sched::thread', '_attr._name')", () => di.member('sched::thread', '_attr._name')?.offset);
time("member('sched::thread', '_detached_state')", () => di.member('sched::thread', '_detached_state')?.offset);
time("type('sched::cpu')", () => di.type('sched::cpu')?.size);
time("variable('sched::thread_map')", () => di.variable('sched::thread_map')?.location);
time("variable('sched::cpus')", () => di.variable('sched::cpus')?.location);
time("type('elf::object')", () => di.type('elf::object')?.size);
time("variable('sched::preempt_counter')", () => di.variable('sched::preempt_counter')?.location);
const fnName = ['_ZN5sched6thread9switch_toEPS0_', '_ZN5sched3cpu8scheduleEv', 'main'].find((n) => di.elf.findSymbol(n));
const sym = fnName ? di.elf.findSymbol(fnName) : undefined;
if (sym) time(`functionAt(${fnName} + 4)`, () => di.functionAt(sym.value + 4)?.name);
time('CallFrameInfo (all FDEs)', () => CallFrameInfo.fromElf(di.elf).size);

clearInterval(sampler);
peak = Math.max(peak, process.memoryUsage().rss);
console.log(`peak RSS        ${mb(peak)} MB (process start ${mb(rss0)} MB)`);
