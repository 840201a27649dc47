// The snapshot, abort and core-file commands end to end: the built CLI, the OSv-shaped guest with
// 2 vCPUs, and stock gdb reading the core file and the stub on an aborted or restored machine.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../src/cli/guest.js';
import { guestImage, HAVE_GDB, mark, runGdb, section, startCli, VITE_NODE } from '../gdb/helpers.js';
import { runGdbArgs } from '../gdbstub/gdb-helpers.js';

const CLI = path.join(repoRoot(), 'dist', 'src', 'cli', 'main.js');
const ELF = existsSync(CLI) ? guestImage('osvlike') : null;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'osvemu-snap-'));

function osvemu(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000, cwd: tmp });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(!ELF)('snapshots, aborts and core files from the CLI', () => {
  const snap = path.join(tmp, 'abort.snap');
  const core = path.join(tmp, 'abort.core');

  it('an abort with -c 2: one summary naming vCPU 1 with a symbolized backtrace, then the --on-abort files', () => {
    const r = osvemu('run', ELF!, '-c', '2', '-e', '--abort', '--on-abort', `snapshot=${snap},core=${core}`);
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/^osvemu: OSv abort on vCPU 1, thread \d+ "aborter" \(sent the NMI to all-but-self \(osv::halt\)\): Assertion failed: osvlike --abort \(thread aborter\)$/m);
    expect(r.stderr).toMatch(/^osvemu: {3}#0 0x[0-9a-f]{16} _ZN3osv4haltEv\+\d+$/m);
    expect(r.stderr).toMatch(/^osvemu: {3}#1 0x[0-9a-f]{16} _Z5abortPKcz\+\d+$/m);
    expect(r.stderr).toMatch(/^osvemu: {3}#2 0x[0-9a-f]{16} _ZN12_GLOBAL__N_17aborterEPv\+\d+$/m);
    expect(r.stderr).toMatch(/--on-abort: snapshot of \d+ instructions written/);
    expect(r.stderr).toMatch(/--on-abort: core file with \d+ thread\(s\) written/);
    expect(existsSync(snap) && existsSync(core)).toBe(true);
  });

  it('a stripped kernel names the aborting OSv thread from --symbols (and only vCPUs without it)', () => {
    const stripped = guestImage('osvlike-stripped')!; // built here: no other test may have made it yet
    const bare = osvemu('run', stripped, '-c', '2', '-e', '--abort');
    expect(bare.stderr).toMatch(/^osvemu: OSv abort on vCPU 1, thread unknown/m);
    const named = osvemu('run', stripped, '-c', '2', '-e', '--abort', '--symbols', ELF!);
    expect(named.status).toBe(3);
    expect(named.stderr).toMatch(/^osvemu: OSv abort on vCPU 1, thread \d+ "aborter"/m);
    // A snapshot of the stripped kernel: `osvemu core --symbols` names every OSv thread, without it only vCPUs.
    const s = path.join(tmp, 'stripped.snap'), c1 = path.join(tmp, 'stripped-bare.core'), c2 = path.join(tmp, 'stripped-named.core');
    expect(osvemu('run', stripped, '-c', '2', '-e', '--abort', '--on-abort', `snapshot=${s}`).status).toBe(3);
    const plain = osvemu('core', s, c1);
    const withSyms = osvemu('core', s, c2, '--symbols', ELF!);
    expect(plain.stderr).toMatch(/core file with 2 thread\(s\)/);
    expect(withSyms.status, withSyms.stderr).toBe(0);
    expect(Number(/core file with (\d+) thread/.exec(withSyms.stderr)?.[1])).toBeGreaterThan(2);
    const missing = osvemu('core', s, c2, '--symbols', path.join(tmp, 'no-such.elf'));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^osvemu: --symbols \S+no-such\.elf: no such file\n$/);
  });

  it.skipIf(!HAVE_GDB)('stock gdb opens the core (written at the abort, and again from the snapshot) with every OSv thread and the abort backtrace', async () => {
    const again = path.join(tmp, 'again.core');
    const w = osvemu('core', snap, again);
    expect(w.status, w.stderr).toBe(0);
    expect(readFileSync(again).equals(readFileSync(core))).toBe(true);
    const r = await runGdbArgs(['-batch', '-nx', ELF!, again, '-ex', mark('threads'), '-ex', 'info threads', '-ex', mark('bt'), '-ex', 'bt',
      '-ex', mark('other'), '-ex', 'thread apply all bt 3']);
    // Threads are OSv's (LWP = thread id), the aborting one first: osvlike's DWARF gives the thread list.
    const threads = section(r.output, 'threads');
    expect(threads).toMatch(/\* 1 +LWP \d+ +processor::halt_no_interrupts/);
    expect(threads.match(/^\*? +\d+ +LWP \d+ /gm)?.length).toBeGreaterThanOrEqual(3);
    expect(threads).toMatch(/LWP \d+ +0x[0-9a-f]+ in sched::thread::switch_to/);
    const bt = section(r.output, 'bt');
    expect(bt).toMatch(/#1\s+osv::halt \(\)/);
    expect(bt).toMatch(/#2\s+0x[0-9a-f]+ in abort \(fmt=.*"Assertion failed: osvlike --abort/);
    expect(bt).toMatch(/#3\s+0x[0-9a-f]+ in \(anonymous namespace\)::aborter \(\)/);
    const other = section(r.output, 'other');
    expect(other).toMatch(/#1 +nmi \(/);
    expect(other).toMatch(/#1 +0x[0-9a-f]+ in sched::cpu::schedule/);
  }, 60_000);

  it('run --from a --snapshot-at snapshot prints the rest of the console and ends after the same instruction count', () => {
    const at = path.join(tmp, 'at.snap');
    const full = osvemu('run', ELF!, '-c', '2', '--verbose', '--snapshot-at', '2000000', '--snapshot-file', at);
    expect(full.status).toBe(0);
    expect(full.stderr).toMatch(/--snapshot-at 2000000: snapshot of 20\d{5} instructions written/);
    const rest = osvemu('run', '--from', at, '--verbose');
    expect(rest.status).toBe(0);
    expect(rest.stdout.length).toBeGreaterThan(50);
    expect(full.stdout.endsWith(rest.stdout)).toBe(true);
    const count = (s: string) => /osvemu: (\d+) instructions, [\d.]+ ms virtual time/.exec(s)?.[1];
    expect(count(rest.stderr)).toBeDefined();
    expect(count(rest.stderr)).toBe(count(full.stderr));
  });

  it('a truncated, corrupted or foreign snapshot is one line and exit 1 for run --from, debug and core', () => {
    const bytes = readFileSync(snap);
    const bad: [string, Uint8Array, RegExp][] = [
      ['trunc.snap', bytes.subarray(0, bytes.length - 1), /truncated snapshot \(\d+ of \d+ bytes\)/],
      ['flip.snap', (() => { const b = Buffer.from(bytes); b[b.length >> 1] ^= 1; return b; })(), /corrupt snapshot \(checksum mismatch\)/],
      ['text.snap', Buffer.from('not a snapshot\n'), /not an osvemu snapshot/],
    ];
    for (const [name, content, msg] of bad) {
      const f = path.join(tmp, name);
      writeFileSync(f, content);
      for (const args of [['run', '--from', f], ['debug', f, '--gdb', '127.0.0.1:0'], ['core', f, path.join(tmp, 'x.core')]]) {
        const r = osvemu(...args);
        expect(r.status, args.join(' ')).toBe(1);
        const lines = r.stderr.trim().split('\n');
        expect(lines, r.stderr).toHaveLength(1);
        expect(lines[0]).toMatch(/^osvemu: /);
        expect(lines[0]).toMatch(msg);
      }
    }
    expect(existsSync(path.join(tmp, 'x.core'))).toBe(false);
  });

  it.skipIf(!HAVE_GDB || !existsSync(VITE_NODE))('gdb on an abort under --gdb and on the saved snapshot (osvemu debug): SIGABRT, the aborting vCPU selected, bt', async () => {
    for (const args of [['run', ELF!, '-c', '2', '-e', '--abort', '-S', '--gdb', '127.0.0.1:0'], ['debug', snap, '--gdb', '127.0.0.1:0']]) {
      const cli = startCli(args);
      try {
        const port = await cli.port(/gdb stub on 127\.0\.0\.1:(\d+)/, 'CLI ended before gdb attached');
        const live = args[0] === 'run';
        const resaved = path.join(tmp, 'resaved.snap');
        const r = await runGdb(port, ELF, [...(live ? ['continue'] : []), mark('threads'), 'info threads', mark('bt'), 'bt',
          ...(live ? [] : [mark('save'), `monitor snapshot save ${resaved}`]), 'kill']);
        if (live) expect(r.output).toMatch(/received signal SIGABRT/);
        // vCPU 1 (thread 2) offline; the aborting OSv thread when the run's gdb shows OSv threads.
        expect(section(r.output, 'threads')).toMatch(live ? /^\* +\d+ +Thread \d+ .*aborter/m : /^\* 2 +Thread 2 /m);
        const bt = section(r.output, 'bt');
        expect(bt).toMatch(/osv::halt \(\)/);
        expect(bt).toMatch(/in abort \(fmt=/);
        expect(bt).toMatch(/\(anonymous namespace\)::aborter \(\)/);
        if (!live) {
          expect(cli.output).toMatch(/OSv abort on vCPU 1/);
          // The machine served offline saves to the same snapshot it was loaded from (nothing ran).
          expect(section(r.output, 'save')).toMatch(/snapshot of \d+ instructions written to /);
          expect(readFileSync(resaved).equals(readFileSync(snap))).toBe(true);
        }
      } finally {
        cli.kill();
      }
    }
  }, 120_000);
});
