// The gdb session against real OSv kernels (OSv threads, -c 2), in stock gdb with no
// script. gdb finds the application's objects through qXfer:libraries-svr4 in a sysroot made of
// the image's usr.manifest (GUEST: HOST lines; relative HOST paths are taken from OSV_BUILD_DIR,
// OSv's build/release).
//
// - OSV_KERNEL + OSV_LOADER_ELF (e.g. hello-ramfs): a breakpoint in the application set before it
//   is loaded is hit (OSV_APP_BREAK, default hello.c:main); the app listed by `info sharedlibrary`;
//   threads by name; sched::preempt_counter per thread; bt of a waiting thread.
// - OSV_TESTS_KERNEL + OSV_TESTS_DISK + OSV_BUILD_DIR (tests-rofs; loader.elf beside the kernel):
//   /tests/tst-tls.so with libtls.so: the objects' __thread variables in the two threads that use
//   them, then stepi on the main thread while it waits in join(): the steps resume after the other
//   thread ran, and stay on it. /tests/tst-tls-pie.so: a PIE's local-exec __thread variable per thread.
// GDB_SHOW=1 prints gdb's output.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDisk, parseDiskSpec } from '../../src/devices/backends/disk-open.js';
import type { DiskBackend } from '../../src/devices/backends/disk.js';
import { ElfFile } from '../../src/machine/elf.js';
import { loadDebugInfoFile } from '../../src/osv/dwarf/dwarf-info.js';
import { OsvThreadProvider } from '../../src/osv/threads.js';
import { gdbScript, HAVE_GDB, mark, runGdb, section, serve, type Served } from '../gdb/helpers.js';

const env = (k: string) => process.env[k] ?? '';
const KERNEL = env('OSV_KERNEL');
const LOADER_ELF = env('OSV_LOADER_ELF');
const TESTS_KERNEL = env('OSV_TESTS_KERNEL');
const TESTS_DISK = env('OSV_TESTS_DISK');
const BUILD_DIR = env('OSV_BUILD_DIR');
const HELLO_READY = HAVE_GDB && existsSync(KERNEL) && existsSync(LOADER_ELF);
const TESTS_ELF = TESTS_KERNEL !== '' ? path.join(path.dirname(TESTS_KERNEL), 'loader.elf') : '';
const TESTS_READY = HAVE_GDB && existsSync(TESTS_KERNEL) && existsSync(TESTS_DISK) && existsSync(TESTS_ELF) && existsSync(BUILD_DIR);

const temps: string[] = [];
const served: Served[] = [];
const disks: DiskBackend[] = [];
afterAll(async () => {
  for (const s of served) await s.close();
  for (const d of disks) d.close();
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

/** A directory laid out like the guest's file system: GUEST path -> the HOST file of usr.manifest. */
function sysrootFrom(manifest: string): string {
  const root = mkdtempSync(path.join(tmpdir(), 'osvemu-sysroot-'));
  temps.push(root);
  for (const line of readFileSync(manifest, 'utf8').split('\n')) {
    const m = /^(\/[^:]+):\s+(\S.*)$/.exec(line.trim());
    if (m === null) continue;
    const host = path.isAbsolute(m[2]) ? m[2] : BUILD_DIR !== '' ? path.join(BUILD_DIR, m[2]) : '';
    if (host === '' || !existsSync(host) || !/\.so(\.[\d.]+)?$|^\/[^/.]+$/.test(m[1])) continue;
    const link = path.join(root, m[1]);
    mkdirSync(path.dirname(link), { recursive: true });
    if (!existsSync(link)) symlinkSync(host, link);
  }
  return root;
}

function cmdlineBeside(kernel: string, fallback: string): string {
  const f = path.join(path.dirname(kernel), 'cmdline');
  return existsSync(f) ? readFileSync(f, 'utf8').trim() : fallback;
}

async function serveOsv(kernel: string, loaderElf: string, cmdline: string, disk?: string): Promise<Served> {
  const debug = loadDebugInfoFile(loaderElf);
  const kernelElf = ElfFile.parse(readFileSync(kernel));
  const backends = disk !== undefined ? [openDisk(parseDiskSpec(disk))] : [];
  disks.push(...backends);
  const s = await serve(kernel, {
    cpus: 2, cmdline, memMiB: 512, disks: backends,
    threads: (target) => new OsvThreadProvider({ target, debug, kernelElf }),
  });
  served.push(s);
  return s;
}

describe.skipIf(!HELLO_READY)('gdb session against a real OSv kernel: application symbols and breakpoints', () => {
  it('a breakpoint in the app set before it loads is hit; threads, __thread per thread, bt of a waiting thread', async () => {
    const manifest = env('OSV_MANIFEST') || path.join(path.dirname(KERNEL), 'usr.manifest');
    const sysroot = existsSync(manifest) ? sysrootFrom(manifest) : null;
    const s = await serveOsv(KERNEL, LOADER_ELF, env('OSV_CMDLINE') || cmdlineBeside(KERNEL, '--rootfs=ramfs /hello'));
    const r = await runGdb(s.port, LOADER_ELF, [
      ...(sysroot !== null ? [`set sysroot ${sysroot}`] : []),
      'set breakpoint pending on',
      `break ${env('OSV_APP_BREAK') || 'hello.c:main'}`,
      'continue',
      mark('libs'), 'info sharedlibrary', 'monitor osv syms',
      mark('threads'), 'info threads',
      mark('tls'), 'thread apply all -s p sched::preempt_counter',
      mark('bt'), 'thread apply 1 bt',
      mark('end'), 'kill',
    ], { timeoutMs: 240_000 });
    if (process.env.GDB_SHOW) console.log(r.output);
    const libs = section(r.output, 'libs');
    expect(r.output).toMatch(/hit Breakpoint 1, main \(/);
    expect(libs).toMatch(/0x[0-9a-f]+\s+0x[0-9a-f]+\s+Yes\s+\S+/);
    const threads = section(r.output, 'threads');
    for (const name of ['reclaimer', 'idle0', 'idle1']) expect(threads).toMatch(new RegExp(`Thread \\d+ "${name}" \\(`));
    // The app's thread runs main; the stop is reported on it.
    expect(threads).toMatch(/^\* \d+\s+Thread \d+ "[^"]+" \(running on vCPU \d, in \S+\+0x[0-9a-f]+\)\s+main \(/m);
    // Preemption is on in the app and off in the threads that wait in the scheduler.
    const tls = section(r.output, 'tls');
    expect(tls).toMatch(/\(running on vCPU[^\n]*\n\$\d+ = 0\n/);
    expect(tls).toMatch(/\(waiting on cpu[^\n]*\n\$\d+ = 1\n/);
    expect(section(r.output, 'bt')).toMatch(/#0\s+(0x[0-9a-f]+ in )?sched::thread::switch_to[\s\S]*sched::thread::wait/);
  }, 300_000);
});

describe.skipIf(!TESTS_READY)('gdb session against a real OSv kernel: tst-tls.so', () => {
  it('__thread variables of the app and of its library per thread; stepi on a thread waiting in join()', async () => {
    const sysroot = sysrootFrom(path.join(path.dirname(TESTS_KERNEL), 'usr.manifest'));
    const s = await serveOsv(TESTS_KERNEL, TESTS_ELF, '--rootfs=rofs /tests/tst-tls.so', TESTS_DISK);
    const r = await runGdb(s.port, TESTS_ELF, [
      `set sysroot ${sysroot}`,
      'set breakpoint pending on',
      // libtls.so's function: first called by main, then by the thread main starts.
      'break external_library', 'continue', 'set $main = $_thread', 'continue',
      mark('tls'), 'info threads', 'thread apply all -s p v1', 'thread apply all -s p ex1',
      mark('steps'), 'delete', gdbScript([
        'eval "thread %d", $main', 'bt 12', 'set $i = 0', 'while $i < 40', 'stepi', 'printf "STEP %lx %d\\n", $pc, $_thread', 'set $i = $i + 1', 'end',
      ]),
      mark('after'), 'info threads',
      mark('end'), 'kill',
    ], { timeoutMs: 240_000 });
    if (process.env.GDB_SHOW) console.log(r.output);
    const tls = section(r.output, 'tls');
    expect(r.output).toMatch(/hit Breakpoint 1, (0x[0-9a-f]+ in )?external_library \(\)/);
    // The new thread has fresh copies (v1 123, ex1 321); main set v1 to 0 and called external_library (ex1 322).
    expect(tls).toMatch(/"\/tests\/tst-tls\.[^\n]*\n\$\d+ = 0\n/);
    expect(tls).toMatch(/">\/tests\/tst-tls"[^\n]*\n\$\d+ = 123\n/);
    expect(tls).toMatch(/"\/tests\/tst-tls\.[^\n]*\n\$\d+ = 322\n/);
    expect(tls).toMatch(/">\/tests\/tst-tls"[^\n]*\n\$\d+ = 321\n/);
    const steps = section(r.output, 'steps');
    expect(steps).toMatch(/#0\s+(0x[0-9a-f]+ in )?sched::thread::switch_to[\s\S]*join/);
    const stepped = steps.match(/^STEP .*$/gm) ?? [];
    expect(stepped.length).toBe(40);
    expect(new Set(stepped.map((l) => l.split(' ')[2])).size).toBe(1);
    // The thread main waited for ran meanwhile: it is gone (or terminated) after the steps.
    expect(section(r.output, 'after')).not.toMatch(/">\/tests\/tst-tls" \((running|queued|waiting)/);
  }, 300_000);

  it('tst-tls-pie.so: a PIE executable\'s local-exec __thread variable (its block at the end of the kernel\'s) per thread', async () => {
    const sysroot = sysrootFrom(path.join(path.dirname(TESTS_KERNEL), 'usr.manifest'));
    const s = await serveOsv(TESTS_KERNEL, TESTS_ELF, '--rootfs=rofs /tests/tst-tls-pie.so', TESTS_DISK);
    const r = await runGdb(s.port, TESTS_ELF, [
      `set sysroot ${sysroot}`, 'set breakpoint pending on', 'break external_library', 'continue', 'continue',
      mark('tls'), 'thread apply all -s p v7', 'thread apply all -s p ex1',
      mark('end'), 'kill',
    ], { timeoutMs: 240_000 });
    if (process.env.GDB_SHOW) console.log(r.output);
    const tls = section(r.output, 'tls');
    // main zeroed its v7 before starting the thread, whose copy still has the initial 987.
    expect(tls).toMatch(/">\/tests\/tst-tls"[^\n]*\n\$\d+ = 987\n/);
    expect(tls).toMatch(/"\/tests\/tst-tls-[^\n]*\n\$\d+ = 0\n/);
    expect(tls).toMatch(/">\/tests\/tst-tls"[^\n]*\n\$\d+ = 321\n/);
    expect(tls).toMatch(/"\/tests\/tst-tls-[^\n]*\n\$\d+ = 322\n/);
  }, 300_000);
});
