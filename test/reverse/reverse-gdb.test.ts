// Reverse execution (--record) with stock gdb against the OSv-shaped guest on 2 vCPUs: bs/bc through
// reverse-stepi, reverse-step, reverse-next, reverse-finish and reverse-continue back to a watchpoint,
// checked with the machine's own state hash (monitor state-hash) and by replay divergence checks.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { GdbServer } from '../../src/gdbstub/server.js';
import { MachineGdbTarget } from '../../src/machine/gdb-target.js';
import { Machine } from '../../src/machine/machine.js';
import { guestImage, HAVE_GDB, mark, runGdb, section } from '../gdb/helpers.js';

const ELF = HAVE_GDB ? guestImage('osvlike') : null;
const servers: GdbServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function recorded(): Promise<{ port: number; target: MachineGdbTarget }> {
  const machine = new Machine({ kernel: readFileSync(ELF!), cpus: 2, memMiB: 32 });
  const target = new MachineGdbTarget(machine, { record: { interval: 2_000_000 } });
  const server = new GdbServer({ target });
  servers.push(server);
  const { port } = await server.listen('127.0.0.1', 0);
  return { port, target };
}

const hash = (s: string) => /state hash ([0-9a-f]+) at (\d+) instructions/.exec(s)?.slice(1);
const TICKS = '(*sched::cpus._M_impl._M_start)->ticks';

describe.skipIf(!ELF)('reverse execution under gdb', () => {
  it('reverse-stepi x100 then stepi x100 is the same machine; reverse-continue stops at the last watchpoint hit', async () => {
    const { port, target } = await recorded();
    const r = await runGdb(port, ELF, [
      "break '(anonymous namespace)::worker'", 'continue', 'continue', 'delete', 'stepi 5',
      mark('before'), 'monitor state-hash', 'p $pc',
      'reverse-stepi 100', mark('back'), 'monitor state-hash',
      'stepi 100', mark('after'), 'monitor state-hash', 'p $pc',
      `watch -l ${TICKS}`, 'continue', 'continue', mark('w'), `p ${TICKS}`,
      'reverse-continue', mark('rc'), `p ${TICKS}`, 'p $pc',
      'reverse-continue', mark('rc2'), `p ${TICKS}`,
      'continue', mark('fwd'), `p ${TICKS}`,
      mark('status'), 'monitor record status', 'kill',
    ], { timeoutMs: 240_000 });
    if (process.env.GDB_SHOW) console.log(r.output);
    const before = hash(section(r.output, 'before'))!;
    const back = hash(section(r.output, 'back'))!;
    const after = hash(section(r.output, 'after'))!;
    expect(before).toBeDefined();
    expect(Number(back[1])).toBe(Number(before[1]) - 100);
    expect(back[0]).not.toBe(before[0]);
    expect(after).toEqual(before);
    expect(section(r.output, 'after')).toContain(/\$\d+ = .*/.exec(section(r.output, 'before'))![0].replace(/\$\d+/, '').trim());
    expect(section(r.output, 'w')).toMatch(/\$\d+ = 2\n/);
    // Back over the last write (1 -> 2): gdb sees the watchpoint and the value before it.
    const rc = section(r.output, 'rc');
    expect(r.output).toMatch(/Hardware watchpoint 2: -location .*ticks\s+Old value = 2\s+New value = 1/);
    expect(rc).toMatch(/\$\d+ = 1\n/);
    expect(rc).toMatch(/timer_tick/);
    expect(section(r.output, 'rc2')).toMatch(/\$\d+ = 0\n/);
    expect(section(r.output, 'fwd')).toMatch(/\$\d+ = 1\n/);
    expect(section(r.output, 'status')).toMatch(/no divergence/);
    expect(target.recorder!.divergences).toEqual([]);
  }, 300_000);

  it('reverse-step, reverse-next and reverse-finish in C++ source', async () => {
    const { port, target } = await recorded();
    const r = await runGdb(port, ELF, [
      "break '(anonymous namespace)::worker'", 'continue', 'delete', 'next', 'next', 'next',
      mark('fwd'), 'info line *$pc',
      'reverse-next', mark('rnext'), 'info line *$pc',
      'reverse-step', mark('rstep'), 'bt 1',
      'reverse-finish', mark('rfinish'), 'bt 1', 'kill',
    ], { timeoutMs: 240_000 });
    if (process.env.GDB_SHOW) console.log(r.output);
    // Each reverse command moves back in worker()'s source: the line number (or at least the pc) goes down.
    const lineIn = (name: string, re: RegExp) => Number(re.exec(section(r.output, name))?.[1]);
    const pcIn = (name: string) => /starts at address (0x[0-9a-f]+)/.exec(section(r.output, name))?.[1];
    const fwd = lineIn('fwd', /Line (\d+) of "osvlike\/main.cc"/);
    const rnext = lineIn('rnext', /Line (\d+) of "osvlike\/main.cc"/);
    expect(fwd).toBeGreaterThan(0);
    expect(rnext).toBeLessThanOrEqual(fwd);
    if (rnext === fwd) expect(pcIn('rnext')).not.toBe(pcIn('fwd'));
    expect(lineIn('rstep', /#0 +\(anonymous namespace\)::worker .* at osvlike\/main.cc:(\d+)/)).toBeLessThan(fwd);
    const rfinish = section(r.output, 'rfinish');
    expect(rfinish).toMatch(/#0 +0x[0-9a-f]+ in sched::thread::main_trampoline \(\) at osvlike\/sched.cc:\d+/);
    expect(target.recorder!.divergences).toEqual([]);
  }, 300_000);
});
