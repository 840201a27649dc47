// Stock gdb (`gdb -batch -nx`) debugging the OSv-shaped guest (images/osvlike, with DWARF) booted
// by the machine, with the gdb stub served from this process.
import { afterEach, describe, expect, it } from 'vitest';
import { guestImage, HAVE_GDB, mark, runGdb, section, serve, type Served } from './helpers.js';

const ELF = HAVE_GDB ? guestImage('osvlike') : null;
const served: Served[] = [];
afterEach(async () => {
  for (const s of served.splice(0)) await s.close();
});

async function start(opts: Parameters<typeof serve>[1] = {}): Promise<Served> {
  const s = await serve(ELF!, { cpus: 2, ...opts });
  served.push(s);
  return s;
}

describe.skipIf(!ELF)('gdb against osvlike', () => {
  it('break before the first instruction, continue, bt, registers, stepi, x/8i, watch, threads, monitor, detach and re-attach, system_reset', async () => {
    const s = await start();
    const first = await runGdb(s.port, ELF, [
      mark('start'), 'p (long)$pc == (long)&hvm_xen_start - 0x40000000',
      'break kprintf', 'continue',
      mark('bt'), 'bt',
      mark('regs'), 'info registers',
      mark('p'), 'p/x $cr3', 'p/x $efer', 'p $mxcsr', 'p $st0', 'p/x $xmm0.uint128', 'p/x $fctrl',
      mark('stepi'), 'stepi', 'p $pc',
      mark('x8i'), 'x/8i $pc',
      mark('watch'), 'delete', 'watch memory::heap_used', 'continue', 'p/x $pc',
      mark('threads'), 'delete', "break '(anonymous namespace)::worker'", 'continue', 'p/x $fs_base', 'info threads',
      mark('monitor'), 'delete', 'monitor help', 'monitor icount', 'monitor info cpus',
      mark('detach'), 'detach',
    ]);
    if (process.env.GDB_SHOW) console.log(first.output);
    expect(section(first.output, 'start')).toMatch(/\$1 = (1|true)\n/); // at the PVH entry (physical): nothing ran yet
    expect(section(first.output, 'start')).toMatch(/hit Breakpoint 1, kprintf \(fmt=.*"Cmdline: /);
    const bt = section(first.output, 'bt');
    expect(bt).toMatch(/#0\s+kprintf \(fmt=/);
    expect(bt).toMatch(/#1\s+0x[0-9a-f]+ in (premain|main) \(\)/);
    const regs = section(first.output, 'regs');
    expect(regs).toMatch(/^rip\s+0x4020[0-9a-f]{4}\s+0x4020[0-9a-f]{4} <kprintf\(char const\*, \.\.\.\)>/m);
    expect(regs).toMatch(/^cr3\s+0x[0-9a-f]+\s+\[ PCID=0 PDBR=\d+ \]/m);
    expect(regs).toMatch(/^fs_base\s+0x[0-9a-f]+\s/m);
    expect(regs).toMatch(/^cr0\s+0x8001[0-9a-f]{4}\s+\[ PE .*PG \]/m);
    expect(regs).toMatch(/^efer\s+0xd00\s+\[ LME LMA NXE \]/m);
    expect(regs).toMatch(/^cs\s+0x8\s/m);
    const p = section(first.output, 'p');
    expect(p).toMatch(/\$\d+ = 0x[1-9a-f][0-9a-f]*000\n/); // cr3: page aligned, not 0
    expect(p).toMatch(/\[ IM DM ZM OM UM PM \]/);
    expect(p).toMatch(/= 0x37f/);
    const stepi = section(first.output, 'stepi');
    expect(stepi).toMatch(/= \(void \(\*\)\(void\)\) 0x4020[0-9a-f]{4} <kprintf\(char const\*, \.\.\.\)\+1>/);
    const x8i = section(first.output, 'x8i');
    expect(x8i).toMatch(/=> 0x4020[0-9a-f]{4} <_Z7kprintfPKcz\+1>:\s+mov\s+%rsp,%rbp/);
    expect(x8i.match(/^(=>| ) +0x4020[0-9a-f]+ </gm)?.length).toBe(8);
    const watch = section(first.output, 'watch');
    expect(watch).toMatch(/hit Hardware watchpoint 2: memory::heap_used\s+Old value = 0\s+New value = [1-9]/);
    expect(watch).toMatch(/memory::alloc/);
    const threads = section(first.output, 'threads');
    expect(threads).toMatch(/hit Breakpoint 3, \(anonymous namespace\)::worker/);
    expect(threads).toMatch(/= 0x[1-9a-f][0-9a-f]+\n/); // fs_base: the thread's TCB
    expect(threads).toMatch(/\s1\s+Thread 1 "CPU#0"/);
    expect(threads).toMatch(/\s2\s+Thread 2 "CPU#1"/);
    const monitor = section(first.output, 'monitor');
    expect(monitor).toMatch(/system_reset/);
    expect(monitor).toMatch(/icount: [1-9]\d+/);
    expect(monitor).toMatch(/thread 2: (running|halted) rip=0x/);
    expect(section(first.output, 'detach')).toMatch(/Inferior 1 \(Remote target\) detached/);
    // Detached: the guest runs on without a debugger.
    expect(s.target.isRunning()).toBe(true);
    const before = s.machine.instructions;
    await new Promise((r) => setTimeout(r, 300));
    expect(s.machine.instructions).toBeGreaterThan(before);

    const second = await runGdb(s.port, ELF, [
      mark('attach'), 'p/x $pc',
      mark('reset'), 'monitor system_reset', 'maintenance flush register-cache', 'p (long)$pc == (long)&hvm_xen_start - 0x40000000', 'p/x $cr0',
      'break kprintf', 'continue', 'p $pc',
      mark('end'), 'delete', 'detach',
    ]);
    if (process.env.GDB_SHOW) console.log(second.output);
    expect(section(second.output, 'attach')).toMatch(/\$1 = 0x[0-9a-f]+/);
    const reset = section(second.output, 'reset');
    expect(reset).toMatch(/machine reset/);
    expect(reset).toMatch(/\$2 = (1|true)\n/);
    expect(reset).toMatch(/\$3 = 0x1\n/); // PVH entry: protected mode, no paging
    expect(reset).toMatch(/hit Breakpoint 1, kprintf \(fmt=.*"Cmdline: /);
    expect(reset).toMatch(/\$4 = \(void \(\*\)\(void\)\) 0x4020[0-9a-f]{4} <kprintf\(char const\*, \.\.\.\)>/);
    expect(section(second.output, 'end')).toMatch(/detached/);
  }, 90_000);

  it('Ctrl-C stops a running guest; gdb attaches to a running machine', async () => {
    // Without the PAUSE/TSC-read costs osvlike spins ~9 M instructions: room to interrupt it before it powers off.
    const s = await start({ run: true, pauseNs: 0, tscReadNs: 0 });
    // Ctrl-C once gdb's `continue` has run the guest for a while (not before gdb attached).
    let continuedAt = -1;
    const resume = s.target.resume.bind(s.target);
    s.target.resume = (actions, options) => {
      if (continuedAt < 0) continuedAt = s.machine.instructions;
      resume(actions, options);
    };
    const r = await runGdb(s.port, ELF, [
      mark('attach'), 'p/x $pc',
      mark('run'), 'continue',
      mark('stopped'), 'p/x $pc', 'info threads',
      'detach',
    ], { interruptWhen: () => continuedAt >= 0 && s.target.isRunning() && s.machine.instructions > continuedAt + 2_000_000 });
    if (process.env.GDB_SHOW) console.log(r.output);
    expect(section(r.output, 'run')).toMatch(/received signal SIGINT/);
    const stopped = section(r.output, 'stopped');
    expect(stopped).toMatch(/\$2 = 0x[0-9a-f]+/);
    expect(stopped).toMatch(/Thread 2 "CPU#1"/);
    expect(s.machine.instructions).toBeGreaterThan(continuedAt + 2_000_000);
  }, 90_000);
});
