// gdb stub figures with OSv threads (src/osv/threads.ts) on the OSv-shaped guest, -c 2: the round
// trip of a per-thread stepi as gdb does it (vCont;s:T;c, then g), and `info threads` with about
// 100 threads as gdb does it (qXfer:threads:read, then Hg + g per thread). Prints figures only.
import { readFileSync } from 'node:fs';
import { buildGuest } from '../src/cli/guest.js';
import { checksum } from '../src/gdbstub/packet.js';
import { hex8 } from '../src/gdbstub/hex.js';
import { GdbSession } from '../src/gdbstub/session.js';
import { ElfFile } from '../src/machine/elf.js';
import { MachineGdbTarget } from '../src/machine/gdb-target.js';
import { Machine } from '../src/machine/machine.js';
import { loadDebugInfoFile } from '../src/osv/dwarf/dwarf-info.js';
import { OsvThreadProvider } from '../src/osv/threads.js';

class Client {
  private buf = '';
  private readonly replies: string[] = [];
  readonly session: GdbSession;

  constructor(target: MachineGdbTarget, threads: OsvThreadProvider) {
    this.session = new GdbSession({
      target, threads, close: () => {},
      send: (d) => {
        this.buf += d.toString('latin1');
        for (;;) {
          const s = this.buf.indexOf('$');
          const e = this.buf.indexOf('#', s);
          if (s < 0 || e < 0 || e + 3 > this.buf.length) break;
          this.replies.push(this.buf.slice(s + 1, e));
          this.buf = this.buf.slice(e + 3);
        }
      },
    });
    this.session.start();
  }

  async request(body: string): Promise<string> {
    this.session.feed(Buffer.from(`$${body}#${hex8(checksum(body))}`, 'latin1'));
    while (this.replies.length === 0) await new Promise((r) => setImmediate(r));
    return this.replies.shift()!;
  }
}

function stats(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
  return `mean ${mean.toFixed(3)} ms, median ${s[s.length >> 1].toFixed(3)} ms, max ${s[s.length - 1].toFixed(3)} ms (n=${ms.length})`;
}

async function main(): Promise<void> {
  const elfPath = buildGuest('osvlike');
  const kernel = readFileSync(elfPath);
  const t0 = Date.now();
  const debug = loadDebugInfoFile(elfPath);
  console.log(`DWARF of osvlike.elf: ${Date.now() - t0} ms`);
  const machine = new Machine({ kernel, cpus: 2, cmdline: '--demo --sleepers=96' });
  const target = new MachineGdbTarget(machine);
  const threads = new OsvThreadProvider({ target, debug, kernelElf: ElfFile.parse(kernel) });
  const c = new Client(target, threads);
  await c.request('QStartNoAckMode');
  const sym = ElfFile.parse(kernel).symbols('.symtab').find((s) => s.name.includes('demo_checkpoint'))!;
  await c.request(`Z1,${sym.value.toString(16)},1`);
  const stop = await c.request('vCont;c');
  await c.request(`z1,${sym.value.toString(16)},1`);
  const tid = /thread:([0-9a-f]+);/.exec(stop)![1];
  const steps: number[] = [];
  // Steps that had to run an interrupt handler or a switch out through are reported apart: they
  // run guest code until the thread is back, which is not the stub's round trip.
  const plain: number[] = [];
  let cpu0 = process.cpuUsage();
  for (let i = 0; i < 300; i++) {
    const before = threads.stepStats.interrupts + threads.stepStats.switches;
    const s = process.hrtime.bigint();
    await c.request(`vCont;s:${tid};c`);
    await c.request('g');
    const ms = Number(process.hrtime.bigint() - s) / 1e6;
    steps.push(ms);
    if (threads.stepStats.interrupts + threads.stepStats.switches === before) plain.push(ms);
  }
  let cpu = process.cpuUsage(cpu0);
  console.log(`stepi round trip (vCont;s:T;c + g), thread ${parseInt(tid, 16)}: ${stats(steps)}; ` +
    `CPU ${((cpu.user + cpu.system) / 1000 / steps.length).toFixed(3)} ms per step`);
  console.log(`  of which plain steps (no interrupt or switch run through): ${stats(plain)}`);
  const lists: number[] = [];
  let count = 0;
  let listCpu = 0;
  for (let i = 0; i < 20; i++) {
    await c.request(`vCont;s:${tid};c`); // a stop: the thread list is read afresh
    const s = process.hrtime.bigint();
    cpu0 = process.cpuUsage();
    let xml = '';
    for (let off = 0; ; ) {
      const r = await c.request(`qXfer:threads:read::${off.toString(16)},fff`);
      xml += r.slice(1);
      off += r.length - 1;
      if (r[0] === 'l') break;
    }
    const ids = [...xml.matchAll(/<thread id="([0-9a-f]+)"/g)].map((m) => m[1]);
    for (const id of ids) {
      await c.request(`Hg${id}`);
      await c.request('g');
    }
    lists.push(Number(process.hrtime.bigint() - s) / 1e6);
    cpu = process.cpuUsage(cpu0);
    listCpu += (cpu.user + cpu.system) / 1000;
    count = ids.length;
  }
  console.log(`info threads with ${count} threads (qXfer:threads:read + Hg/g each): ${stats(lists)}; ` +
    `CPU ${(listCpu / lists.length).toFixed(3)} ms each`);
  target.kill();
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
