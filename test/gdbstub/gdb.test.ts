// The machine's real gdb (gdb -batch -nx) against the stub and the mock target.

import { afterEach, describe, expect, it } from 'vitest';
import { GdbServer } from '../../src/gdbstub/server.js';
import { HAVE_GDB, runGdb } from './gdb-helpers.js';
import { MockTarget } from './mock-target.js';
import { REG } from '../../src/gdbstub/tdesc.js';

const servers: GdbServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function start() {
  const target = new MockTarget(2);
  const server = new GdbServer({ target });
  servers.push(server);
  const { port } = await server.listen('127.0.0.1', 0);
  return { target, server, port };
}

/** The part of gdb's output after a marker printed with `echo`. */
function section(output: string, name: string): string {
  const start = output.indexOf(`<<${name}>>`);
  expect(start, `section ${name} in:\n${output}`).toBeGreaterThanOrEqual(0);
  const end = output.indexOf('<<', start + name.length + 4);
  return output.slice(start, end < 0 ? undefined : end);
}

const mark = (name: string) => `echo <<${name}>>\\n`;

describe.skipIf(!HAVE_GDB)('real gdb against the mock target', () => {
  it('registers, threads, stepi, x/i, breakpoint, watchpoint, monitor, detach', async () => {
    const { port, target } = await start();
    const { output } = await runGdb(port, [
      mark('regs'), 'info registers',
      mark('p'), 'p/x $cr3', 'p/x $fs_base', 'p/x $efer', 'p $mxcsr', 'p $st0', 'p/x $xmm0.uint128',
      mark('threads'), 'info threads',
      mark('stepi'), 'stepi', 'p/x $pc',
      mark('x8i'), 'x/8i $pc',
      mark('break'), 'break *0x400010', 'continue', 'p/x $pc', 'bt',
      mark('watch'), 'delete', 'watch *(char*)0x601020', 'continue', 'p/x $pc',
      mark('rwatch'), 'delete', 'rwatch *(char*)0x600040', 'continue', 'p/x $pc',
      mark('thread2'), 'delete', 'thread 2', 'stepi', 'p/x $pc', 'info threads',
      mark('monitor'), 'monitor help', 'monitor info cpus', 'monitor icount', 'monitor system_reset', 'maintenance flush register-cache', 'p/x $pc',
      mark('detach'), 'detach',
    ]);
    if (process.env.GDBSTUB_SHOW) console.log(output);
    const regs = section(output, 'regs');
    expect(regs).toMatch(/^rip\s+0x400000\s/m);
    expect(regs).toMatch(/^fs_base\s+0x7f0000001000\s/m);
    expect(regs).toMatch(/^cr3\s+0x1000\s/m);
    expect(regs).toMatch(/^cr0\s+0x80050033\s+\[ PE MP ET NE WP AM PG \]/m);
    expect(regs).toMatch(/^efer\s+0xd01\s+\[ SCE LME LMA NXE \]/m);
    expect(regs).toMatch(/^k_gs_base\s+0x0\s/m);
    expect(regs).toMatch(/^eflags\s+0x2\s/m);
    const p = section(output, 'p');
    expect(p).toMatch(/\$1 = 0x1000/);
    expect(p).toMatch(/\$2 = 0x7f0000001000/);
    expect(p).toMatch(/\$3 = 0xd01/);
    expect(p).toMatch(/\$4 = \[ IM DM ZM OM UM PM \]/);
    expect(p).toMatch(/\$5 = 0/);
    expect(p).toMatch(/\$6 = 0x0/);
    const threads = section(output, 'threads');
    expect(threads).toMatch(/\* 1\s+Thread 1 "CPU#0"/);
    expect(threads).toMatch(/\n\s+2\s+Thread 2 "CPU#1"/);
    expect(section(output, 'stepi')).toMatch(/= 0x400001/);
    const x8i = section(output, 'x8i');
    expect(x8i.match(/0x40000[1-8]:\s+nop/g)?.length).toBe(8);
    const brk = section(output, 'break');
    expect(brk).toMatch(/Thread 1 "CPU#0" hit Breakpoint 1, 0x0000000000400010 in \?\? \(\)/);
    expect(brk).toMatch(/= 0x400010/);
    expect(brk).toMatch(/#0\s+0x0000000000400010 in \?\? \(\)/);
    const watch = section(output, 'watch');
    expect(watch).toMatch(/Hardware watchpoint 2: \*\(char\*\)0x601020/);
    expect(watch).toMatch(/hit Hardware watchpoint 2: \*\(char\*\)0x601020\s+Old value = 0 '\\000'\s+New value = /);
    expect(watch).toMatch(/= 0x400021/); // trap after the writing instruction, as x86 does
    const rwatch = section(output, 'rwatch');
    expect(rwatch).toMatch(/hit Hardware read watchpoint 3: \*\(char\*\)0x600040/);
    expect(rwatch).toMatch(/= 0x400041/);
    const t2 = section(output, 'thread2');
    expect(t2).toMatch(/Switching to thread 2/);
    expect(t2).toMatch(/= 0x400[89a-f][0-9a-f]{2}/);
    const mon = section(output, 'monitor');
    expect(mon).toMatch(/system_reset/);
    expect(mon).toMatch(/thread 2: halted rip=0x400/);
    expect(mon).toMatch(/icount: \d+/);
    expect(mon).toMatch(/machine reset/);
    expect(mon).toMatch(/= 0x400800/); // thread 2 is selected; its rip after the reset
    expect(section(output, 'detach')).toMatch(/\[Inferior 1 \(Remote target\) detached\]/);
    expect(target.resets).toBe(1);
    expect(target.breakpoints.size).toBe(0);
  });

  it('Ctrl-C stops a running guest; detach and re-attach', async () => {
    const { port, target } = await start();
    const first = await runGdb(port, [mark('cont'), 'continue', mark('after'), 'p/x $pc', 'info threads', 'detach'], {
      interruptWhen: () => target.icount > 50_000n,
    });
    expect(section(first.output, 'cont')).toMatch(/received signal SIGINT, Interrupt\./);
    expect(section(first.output, 'after')).toMatch(/\[Inferior 1 \(Remote target\) detached\]/);
    // Detached: the guest runs on without a debugger.
    const before = target.icount;
    await new Promise((r) => setTimeout(r, 50));
    expect(target.icount).toBeGreaterThan(before);
    const second = await runGdb(port, [mark('again'), 'info threads', 'stepi', 'p/x $pc', 'detach']);
    const again = section(second.output, 'again');
    expect(again).toMatch(/\* 1\s+Thread 1 "CPU#0"/);
    expect(again).toMatch(/2\s+Thread 2 "CPU#1"/);
    expect(again).toMatch(/\$1 = 0x4[0-9a-f]{5}/);
    expect(again).toMatch(/detached/);
  });

  it('unavailable registers, register and memory writes, unmapped memory', async () => {
    const { port, target } = await start();
    target.unavailable.add(`1:${REG.rbx}`);
    const { output } = await runGdb(port, [
      mark('unavail'), 'thread 2', 'info registers rbx', 'thread 1',
      mark('writes'), 'set var $rcx = 0x1234', 'p/x $rcx', 'set {int}0x601100 = 0x55aa55aa', 'x/4xb 0x601100',
      mark('fault'), 'p *(int*)0x10', 'x/2xg 0xffff800000000000',
      'detach',
    ]);
    expect(section(output, 'unavail')).toMatch(/rbx\s+<unavailable>/);
    const writes = section(output, 'writes');
    expect(writes).toMatch(/= 0x1234/);
    expect(writes).toMatch(/0x601100:\s+0xaa\s+0x55\s+0xaa\s+0x55/);
    expect(target.getReg(0, REG.rcx)).toBe(0x1234n);
    const fault = section(output, 'fault');
    expect(fault).toMatch(/Cannot access memory at address 0x10/);
    expect(fault).toMatch(/Cannot access memory at address 0xffff800000000000/);
  });
});
