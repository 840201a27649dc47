// Whole-system: OSv's own gdb script (scripts/loader.py, the `osv ...` commands) in stock gdb against
// osvemu's gdb stub, with a real OSv kernel served from this process. Skipped unless gdb runs and
//   OSV_KERNEL      the kernel osvemu boots (loader-stripped.elf)
//   OSV_LOADER_ELF  the matching unstripped loader.elf (DWARF, and the .debug_gdb_scripts entry
//                   "scripts/loader.py" through which gdb loads the script)
//   OSV_SOURCE      the OSv tree whose scripts/ holds loader.py and the modules it imports
// are set (and gdb has Python). Optional: OSV_CMDLINE (default "/hello"), GDB_SHOW=1 prints gdb's whole output.
//
// loader.py finds everything from the path of the loader.elf objfile: the build directory is its
// folder, the architecture is what follows the folder's last '.', and scripts/ is two levels up. So
// the test lays out <tmp>/osv/build/release.x64/loader.elf (a hard link, or a copy: gdb resolves
// symlinks in objfile names) and <tmp>/osv/scripts -> $OSV_SOURCE/scripts, and starts gdb there.
//
// The stop point works whether the boot powers off (break osv::poweroff) or aborts (break osv::halt).
// Commands that fail here for reasons of loader.py or of the guest, not of the stub, are left out
// of the assertions (pagetable walk and trace fail under QEMU too):
//   osv pagetable walk  casts &mmu::page_table_root (a kernel virtual address) as a physical one
//   osv trace           no tracepoints enabled on the command line
//   osv info virtio     null hw::driver_manager::_instance when the boot stops before drivers load
//   osv leak show / osv zfs  need symbols this kernel does not have
// `osv percpu` needs an existing PERCPU variable (its help text names one that no longer exists).
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GdbServer } from '../../src/gdbstub/server.js';
import { MachineGdbTarget } from '../../src/machine/gdb-target.js';
import { Machine } from '../../src/machine/machine.js';
import { ElfFile } from '../../src/machine/elf.js';
import { loadDebugInfoFile } from '../../src/osv/dwarf/dwarf-info.js';
import { OsvThreadProvider } from '../../src/osv/threads.js';

const KERNEL = process.env.OSV_KERNEL ?? '';
const LOADER_ELF = process.env.OSV_LOADER_ELF ?? '';
const SOURCE = process.env.OSV_SOURCE ?? '';
const CMDLINE = process.env.OSV_CMDLINE ?? '/hello';
const CPUS = 2;

/** gdb with Python (loader.py is a Python script). */
const HAVE_GDB = (() => {
  try {
    const r = spawnSync('gdb', ['-batch', '-nx', '-ex', 'python print("py-" + "ok")'], { encoding: 'utf8' });
    return r.status === 0 && r.stdout.includes('py-ok');
  } catch {
    return false;
  }
})();
const READY = HAVE_GDB && existsSync(KERNEL) && existsSync(LOADER_ELF) && existsSync(path.join(SOURCE, 'scripts', 'loader.py'));

/** The OSv build-tree shape loader.py expects, in a fresh temporary directory. */
function buildTree(): { root: string; osv: string; elf: string } {
  const root = mkdtempSync(path.join(tmpdir(), 'osvemu-loader-py-'));
  const osv = path.join(root, 'osv');
  const build = path.join(osv, 'build', 'release.x64');
  mkdirSync(build, { recursive: true });
  const elf = path.join(build, 'loader.elf');
  try {
    linkSync(LOADER_ELF, elf);
  } catch {
    copyFileSync(LOADER_ELF, elf);
  }
  symlinkSync(path.join(path.resolve(SOURCE), 'scripts'), path.join(osv, 'scripts'));
  const manifest = path.join(path.dirname(LOADER_ELF), 'usr.manifest');
  if (existsSync(manifest)) symlinkSync(path.resolve(manifest), path.join(build, 'usr.manifest'));
  return { root, osv, elf };
}

const mark = (name: string): string => `echo <<${name}>>\\n`;

function section(output: string, name: string): string {
  const start = output.indexOf(`<<${name}>>`);
  if (start < 0) throw new Error(`no section ${name} in gdb output:\n${output}`);
  const end = output.indexOf('<<', start + name.length + 4);
  return output.slice(start, end < 0 ? undefined : end);
}

/** Runs gdb in the build tree so that the .debug_gdb_scripts entry finds scripts/loader.py. */
function runGdb(tree: { osv: string; elf: string }, commands: string[], timeoutMs: number): Promise<string> {
  const args = [
    '-batch', '-nx',
    '-iex', `add-auto-load-safe-path ${tree.osv}`,
    '-iex', `add-auto-load-safe-path ${path.join(path.resolve(SOURCE), 'scripts')}`,
    '-iex', 'set python print-stack full',
    '-ex', 'set pagination off', '-ex', 'set confirm off', '-ex', 'set width 0',
    tree.elf,
  ];
  for (const c of commands) args.push('-ex', c);
  return new Promise((resolve) => {
    const child = spawn('gdb', args, { cwd: tree.osv, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
    const timer = setTimeout(() => {
      output += '\n<<gdb timed out>>';
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(output);
    });
  });
}

/** No Python exception, no refused memory read, no unavailable register. */
function clean(text: string): void {
  expect(text).not.toMatch(/Traceback|Error occurred in Python|Cannot access memory|<unavailable>|Remote failure/);
}

describe.skipIf(!READY)('OSv scripts/loader.py against the gdb stub (real kernel)', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const f of cleanup.reverse()) await f();
  });

  it('osv info threads / thread / thread apply all / memory / heap / mmap / runqueue / callouts / percpu / linear_mmap, and plain gdb', async () => {
    const tree = buildTree();
    cleanup.push(() => rmSync(tree.root, { recursive: true, force: true }));
    const machine = new Machine({ kernel: readFileSync(KERNEL), cpus: CPUS, cmdline: CMDLINE, memMiB: 256 });
    const target = new MachineGdbTarget(machine);
    const server = new GdbServer({ target });
    const { port } = await server.listen('127.0.0.1', 0);
    cleanup.push(async () => {
      await server.close();
      if (target.isRunning()) target.kill();
    });

    const out = await runGdb(tree, [
      mark('loaded'), 'info auto-load python-scripts',
      // loader.py's own `connect`: target remote, then it reads the thread-status enum.
      mark('connect'), `connect 127.0.0.1:${port}`,
      'break osv::halt', 'break osv::poweroff', 'continue',
      mark('threads'), 'info threads',
      mark('bt'), 'bt',
      mark('regs'), 'info registers',
      mark('x8i'), 'x/8i $pc',
      mark('pc-before'), 'p/x $pc', 'p/x $rsp', 'p/x $rbp',
      mark('osv-threads'), 'osv info threads',
      mark('apply-all'), 'osv thread apply all where',
      mark('pc-after'), 'p/x $pc', 'p/x $rsp', 'p/x $rbp',
      // `osv thread N` leaves thread N's rsp/rip/rbp in vCPU 0 for good (loader.py assigns its
      // active_thread_context to a local, so nothing restores them): hence last, and `kill` at the end.
      mark('osv-thread'), 'osv thread 1', 'where',
      mark('syms'), 'osv syms',
      mark('memory'), 'osv memory',
      mark('heap'), 'osv heap',
      mark('mmap'), 'osv mmap',
      mark('runqueue'), 'osv runqueue',
      mark('callouts'), 'osv info callouts',
      mark('percpu'), 'osv percpu workman::_work_sheriff',
      mark('linear'), 'osv linear_mmap',
      mark('thread2'), 'thread 2', 'bt', 'p/x $pc',
      mark('end'), 'kill',
    ], 150_000);
    if (process.env.GDB_SHOW) console.log(out);

    expect(section(out, 'loaded')).toMatch(/Yes\s+scripts\/loader\.py/);
    const connect = section(out, 'connect');
    clean(connect);
    expect(connect).toMatch(/hit Breakpoint \d+, (0x[0-9a-f]+ in )?(osv::halt|osv::poweroff|processor::cli_hlt|arch::halt_no_interrupts)/);

    const threads = section(out, 'threads');
    for (let k = 1; k <= CPUS; k++) expect(threads).toMatch(new RegExp(`^\\*?\\s+${k}\\s+Thread ${k} "CPU#${k - 1}"`, 'm'));

    const bt = section(out, 'bt');
    expect(bt).toMatch(/osv::(halt|poweroff) \(\)/);
    expect(bt).toMatch(/in thread_main \(\) at arch\/x64\/entry\.S/); // unwound to the bottom of the thread

    const regs = section(out, 'regs');
    for (const r of ['rip', 'rsp', 'rbp', 'eflags', 'cs', 'fs_base', 'gs_base', 'cr0', 'cr3', 'cr4', 'efer']) {
      expect(regs).toMatch(new RegExp(`^${r}\\s+0x[0-9a-f]+`, 'm'));
    }
    expect(regs).toMatch(/^efer\s+0xd01\s/m);
    expect(section(out, 'x8i').match(/^(=>| ) +0x[0-9a-f]+( <[^>]+>)?:\t/gm)?.length).toBe(8);

    // `osv info threads` walks sched::thread_map and, for each thread, writes its saved rsp/rip/rbp
    // into the vCPU (P packets) to unwind it, then puts the vCPU's own values back.
    const osvThreads = section(out, 'osv-threads');
    clean(osvThreads);
    const n = Number(/Number of threads: (\d+)/.exec(osvThreads)?.[1] ?? 0);
    expect(n).toBeGreaterThanOrEqual(15);
    for (const name of ['reclaimer', 'idle0', 'idle1', 'rcu0', 'rcu1', 'page_pool_l2']) {
      expect(osvThreads).toMatch(new RegExp(`^\\s+\\d+ \\(0x[0-9a-f]+\\) ${name}\\s+cpu\\d\\s+(waiting|queued|running)`, 'm'));
    }
    expect(osvThreads).not.toMatch(/\?\? at \?\?/);
    // Each thread unwound from its own saved registers, not all from the vCPU's current ones.
    const locations = new Set(osvThreads.split('\n').filter((l) => /^\s+\d+ \(0x/.test(l)).map((l) => l.replace(/^.*\d+\s+/, '')));
    expect(locations.size).toBeGreaterThanOrEqual(5);

    const one = section(out, 'osv-thread');
    clean(one);
    expect(one).toMatch(/#0\s+sched::thread::switch_to/);
    expect(one).toMatch(/sched::thread_main_c \(t=0x[0-9a-f]+\)/);

    const all = section(out, 'apply-all');
    clean(all);
    expect(all.match(/^thread 0x[0-9a-f]+ \S+/gm)?.length).toBe(n);
    expect(all.match(/in thread_main \(\) at arch\/x64\/entry\.S/g)?.length ?? 0).toBeGreaterThanOrEqual(n - 4);
    // The vCPU got its own registers back.
    expect(section(out, 'pc-after').replace(/\$\d+/g, '').replace(/<<pc-after>>/, ''))
      .toBe(section(out, 'pc-before').replace(/\$\d+/g, '').replace(/<<pc-before>>/, ''));

    clean(section(out, 'syms'));
    const memory = section(out, 'memory');
    clean(memory);
    expect(memory).toMatch(/Total Memory: \d{8,} Bytes/);
    expect(memory).toMatch(/Free Memory: +\d+ Bytes \(\d+\.\d+%\)/);
    const heap = section(out, 'heap');
    clean(heap);
    expect(heap).toMatch(/^0x[0-9a-f]{12} 0x[0-9a-f]{16}$/m);
    const mmap = section(out, 'mmap');
    clean(mmap);
    expect(mmap).toMatch(/^0x[0-9a-f]{16} 0x[0-9a-f]{16} \[[\d.]+ kB\]\s+flags=\S+\s+perm=\S+/m);
    const runqueue = section(out, 'runqueue');
    clean(runqueue);
    expect(runqueue).toMatch(/CPU 0:[\s\S]*CPU 1:/);
    const callouts = section(out, 'callouts');
    clean(callouts);
    expect(callouts).toMatch(/^id\s+addr\s+function/m);
    const percpu = section(out, 'percpu');
    clean(percpu);
    for (let k = 0; k < CPUS; k++) expect(percpu).toMatch(new RegExp(`CPU ${k}:\\n0x[0-9a-f]+\\n`));
    const linear = section(out, 'linear');
    clean(linear);
    expect(linear).toMatch(/^\s+40200000\s+200000\s+[0-9a-f]+ rwxp\s+normal kernel$/m);
    expect(linear).toMatch(/^\s+400000000000\s+0\s+[0-9a-f]+ rwxp\s+normal main$/m);

    const t2 = section(out, 'thread2');
    clean(t2);
    expect(t2).toMatch(/Switching to thread 2/);
    expect(t2).toMatch(/^#0 /m);
    expect(section(out, 'end')).toMatch(/\[Inferior 1 \(Remote target\) killed\]/);
  }, 240_000);

  // With OSv threads as gdb threads, loader.py's commands that walk the kernel's own structures
  // work; those that take gdb thread N for CPU N-1 (`osv percpu`, `osv trace`) do not.
  it('with OSv threads: osv info threads / thread apply all / syms / memory / heap / mmap / runqueue / callouts / linear_mmap / thread N', async () => {
    const tree = buildTree();
    cleanup.push(() => rmSync(tree.root, { recursive: true, force: true }));
    const kernel = readFileSync(KERNEL);
    const machine = new Machine({ kernel, cpus: CPUS, cmdline: CMDLINE, memMiB: 256 });
    const target = new MachineGdbTarget(machine);
    const debug = loadDebugInfoFile(LOADER_ELF);
    const kernelElf = ElfFile.parse(kernel);
    const server = new GdbServer({ target, threads: () => new OsvThreadProvider({ target, debug, kernelElf }) });
    const { port } = await server.listen('127.0.0.1', 0);
    cleanup.push(async () => {
      await server.close();
      if (target.isRunning()) target.kill();
    });
    const out = await runGdb(tree, [
      'set remotetimeout 60', `connect 127.0.0.1:${port}`, 'break osv::halt', 'break osv::poweroff', 'continue',
      mark('osv-threads'), 'osv info threads',
      mark('apply-all'), 'osv thread apply all where',
      ...['syms', 'memory', 'heap', 'mmap', 'runqueue', 'info callouts', 'linear_mmap'].flatMap((c) => [mark(c), `osv ${c}`]),
      mark('percpu'), 'osv percpu workman::_work_sheriff',
      mark('osv-thread'), 'osv thread 1', 'where 2',
      mark('end'), 'kill',
    ], 150_000);
    if (process.env.GDB_SHOW) console.log(out);
    const osvThreads = section(out, 'osv-threads');
    expect(osvThreads).not.toMatch(/Traceback|Error occurred in Python/);
    expect(Number(/Number of threads: (\d+)/.exec(osvThreads)?.[1] ?? 0)).toBeGreaterThanOrEqual(15);
    expect(osvThreads).toMatch(/^\s+\d+ \(0x[0-9a-f]+\) reclaimer\s+cpu0\s+waiting/m);
    expect(section(out, 'apply-all')).toMatch(/^thread 0x[0-9a-f]+ reclaimer\n+#0\s+sched::thread::switch_to/m);
    for (const c of ['syms', 'memory', 'heap', 'mmap', 'runqueue', 'info callouts', 'linear_mmap']) {
      expect(section(out, c), c).not.toMatch(/Traceback|Error occurred in Python|Cannot access memory/);
    }
    expect(section(out, 'memory')).toMatch(/Total Memory: \d{8,} Bytes/);
    expect(section(out, 'runqueue')).toMatch(/CPU 0:[\s\S]*CPU 1:/);
    expect(section(out, 'percpu')).toMatch(/Error occurred in Python|Cannot access memory/);
    expect(section(out, 'osv-thread')).toMatch(/#0\s+sched::thread::switch_to/);
  }, 240_000);
});
