// Stock gdb (no script) against the OSv-shaped guest with OSv threads as gdb threads
// (src/osv/threads.ts), -c 2, running `--demo`: demo_a and demo_b share cpu 0 and a `__thread`
// variable; demo_a yields to demo_b, migrates to cpu 1 and loads libhello.so at run time.
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ElfFile } from '../../src/machine/elf.js';
import { loadDebugInfoFile } from '../../src/osv/dwarf/dwarf-info.js';
import { OsvThreadProvider } from '../../src/osv/threads.js';
import { gdbScript, guestImage, HAVE_GDB, mark, runGdb, section, serve, type Served } from './helpers.js';

const ELF = HAVE_GDB ? guestImage('osvlike') : null;
const served: Served[] = [];
afterEach(async () => {
  for (const s of served.splice(0)) await s.close();
});

async function start(): Promise<Served> {
  const debug = loadDebugInfoFile(ELF!);
  const kernelElf = ElfFile.parse(readFileSync(ELF!));
  const s = await serve(ELF!, { cpus: 2, cmdline: '--demo', threads: (target) => new OsvThreadProvider({ target, debug, kernelElf }) });
  served.push(s);
  return s;
}

/** gdb commands that stepi `n` times on the selected thread, printing one STEP line per stop. */
function stepLoop(n: number): string[] {
  return [gdbScript([
    'set $me = ((sched::thread_control_block*)$fs_base)->t',
    'set $sb = (long)$me->_attr._stack.begin',
    'set $se = $sb + (long)$me->_attr._stack.size',
    'set $i = 0',
    `while $i < ${n}`,
    'stepi',
    'printf "STEP %lx %d %d\\n", $pc, $_thread, ($rsp >= $sb && $rsp < $se)',
    'set $i = $i + 1',
    'end',
  ])];
}

describe.skipIf(!ELF)('gdb with OSv threads against osvlike -c 2', () => {
  it('lists threads by name, bt of a waiting thread, __thread values per thread, next across a switch, monitor osv, a run-time loaded object', async () => {
    const s = await start();
    const r = await runGdb(s.port, ELF, [
      'set breakpoint pending on',
      `set solib-search-path ${path.dirname(ELF!)}`,
      'break hello_app',
      'break demo_checkpoint',
      'continue',
      mark('next'), 'finish', 'next', 'next', 'info line *$pc',
      mark('threads'), 'continue', 'info threads',
      mark('tls'), "thread apply all -s p 'main.cc'::demo_tls",
      mark('bt'), 'thread apply all bt',
      mark('monitor'), 'monitor osv threads', 'monitor osv syms', 'monitor osv memory', 'monitor osv runqueue',
      'monitor osv pagetable walk 0x40200000',
      mark('lib'), 'delete 2', 'continue', 'bt 1', 'info sharedlibrary', 'monitor osv syms',
      mark('locked'), 'set scheduler-locking step', 'monitor icount', 'stepi 30', 'monitor icount', 'set scheduler-locking off',
      mark('apptls'), 'delete 1', 'tbreak demo_checkpoint if n == 3', 'continue', 'thread apply all -s p app_tls',
      mark('end'), 'kill',
    ], { timeoutMs: 120_000 });
    if (process.env.GDB_SHOW) console.log(r.output);
    const next = section(r.output, 'next');
    // `next` over yield(): demo_b ran in between, the stop is back in demo_a on its next line.
    expect(next).toMatch(/sched::thread::yield\(\);/);
    expect(next).toMatch(/x \+= demo_tls;/);
    expect(next).not.toMatch(/demo_b|switching to/i);
    const threads = section(r.output, 'threads');
    expect(threads).toMatch(/hit Breakpoint 2, .*demo_checkpoint \(n=n@entry=2\)/);
    for (const name of ['idle0', 'idle1', 'main', 'demo_a', 'demo_b']) expect(threads).toMatch(new RegExp(`Thread \\d+ "${name}" \\(`));
    expect(threads).toMatch(/"demo_a" \(running on vCPU 1, in \(anonymous namespace\)::demo_checkpoint\)/);
    expect(threads).toMatch(/"main" \(waiting on cpu 0, in sched::thread::sleep\)/);
    const tls = section(r.output, 'tls');
    expect(tls).toMatch(/"demo_a"[^\n]*\n\$\d+ = 659918\n/); // 0xa11ce, running
    expect(tls).toMatch(/"demo_b"[^\n]*\n\$\d+ = 2827\n/); // 0xb0b
    expect(tls).toMatch(/"main"[^\n]*\n\$\d+ = 7\n/); // waiting, the initial value
    const bt = section(r.output, 'bt');
    // main waits in join(): its frames come from the saved context.
    expect(bt).toMatch(/"main"[\s\S]*?#0\s+0x[0-9a-f]+ in sched::thread::switch_to[\s\S]*?sched::thread::sleep[\s\S]*?sched::thread::join[\s\S]*?main_thread/);
    // Monitor output reaches gdb's stderr, so it may interleave with the section markers.
    const monitor = r.output;
    expect(monitor).toMatch(/^\s+\d+\s+0x[0-9a-f]{16}\s+demo_a\s+cpu1 running\s+running on vCPU 1/m);
    expect(monitor).toMatch(/^\s+\d+\s+0x[0-9a-f]{16}\s+main\s+cpu0 waiting\s+sched::thread::sleep/m);
    expect(monitor).toMatch(/0x0000000040200000 0x[0-9a-f]{16} libosv.so/);
    expect(monitor).toMatch(/Total Memory: \d+ Bytes/);
    expect(monitor).toMatch(/CPU 0:/);
    expect(monitor).toMatch(/PD  \[  1\] at physical 0x[0-9a-f]+: 0x00000000002000e3 .*PS/);
    expect(monitor).toMatch(/physical 0x0000000000200000 \(2 MiB page\)/);
    const lib = section(r.output, 'lib');
    expect(lib).toMatch(/hit Breakpoint 1, (0x[0-9a-f]+ in )?hello_app \(/);
    expect(lib).toMatch(/0x[0-9a-f]+\s+0x[0-9a-f]+\s+Yes\s+\S*libhello\.so/);
    expect(r.output).toMatch(/0x0000[0-9a-f]{12} 0x[0-9a-f]{16} libhello.so/);
    // scheduler-locking: the other vCPU is frozen and no interrupt runs under the steps, so 30
    // stepi are exactly 30 instructions of the machine.
    // (Monitor output goes to gdb's stderr: it may land outside the section's markers.)
    const icounts = [...r.output.matchAll(/^icount: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(icounts.length).toBe(2);
    expect(icounts[1] - icounts[0]).toBe(30);
    // libhello.so's __thread variable: demo_a (running) stored hello_app(10), demo_b (waiting or
    // running on the other vCPU) hello_app(3); threads that never used it have no block (errors, hidden by -s).
    const apptls = section(r.output, 'apptls');
    expect(apptls).toMatch(/"demo_a"[^\n]*\n\$\d+ = 385\n/);
    expect(apptls).toMatch(/"demo_b"[^\n]*\n\$\d+ = 14\n/);
    expect(apptls).not.toMatch(/"main"[^\n]*\n\$\d+ =/);
  }, 180_000);

  it('stepi on one thread across a forced switch and a migration shows only that thread, identically in two runs', async () => {
    const session = [
      'break demo_checkpoint', 'continue', 'delete',
      mark('before'), 'info threads',
      mark('yield'), ...stepLoop(170),
      'tbreak sched::thread::pin', 'continue',
      mark('pin'), ...stepLoop(200),
      mark('after'), 'info threads',
      mark('end'), 'kill',
    ];
    const runs: string[] = [];
    for (let k = 0; k < 2; k++) {
      const s = await start();
      const r = await runGdb(s.port, ELF, session, { timeoutMs: 150_000 });
      if (process.env.GDB_SHOW) console.log(r.output);
      runs.push(r.output);
      await s.close();
    }
    const steps = runs.map((o) => o.match(/^STEP .*$/gm) ?? []);
    expect(steps[0].length).toBe(370);
    expect(steps[1]).toEqual(steps[0]);
    const thread = steps[0][0].split(' ')[2];
    for (const line of steps[0]) {
      const [, , t, inStack] = line.split(' ');
      expect(t).toBe(thread);
      expect(inStack).toBe('1'); // the stack pointer is the thread's own: no other thread's code
    }
    // The sequence passed the resume point inside switch_to after yield() and after the migration.
    const elf = ElfFile.parse(readFileSync(ELF!));
    const switchTo = elf.symbols('.symtab').find((x) => x.name === '_ZN5sched6thread9switch_toEPS0_')!;
    const inSwitch = steps[0].filter((l) => {
      const pc = parseInt(l.split(' ')[1], 16);
      return pc >= switchTo.value && pc < switchTo.value + switchTo.size;
    });
    expect(inSwitch.length).toBeGreaterThan(20);
    expect(section(runs[0], 'before')).toMatch(/"demo_a" \(running on vCPU 0/);
    expect(section(runs[0], 'after')).toMatch(/"demo_a" \(running on vCPU 1/);
  }, 400_000);
});
