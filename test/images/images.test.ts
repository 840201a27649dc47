// The guest images build on this machine, have the PVH note and layout
// osvemu expects, and (when qemu-system-x86_64 is installed) pass their own
// checks under QEMU.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { BARE_IMAGES, buildAllImages, buildImage, readElf, toolchainAvailable } from './build.js';
import { qemuAvailable, runQemu } from './qemu.js';
import { parseReport, reportProblems } from './report.js';

const haveToolchain = toolchainAvailable();
const haveQemu = haveToolchain && qemuAvailable();
const haveGdb = (() => {
  try {
    execFileSync('gdb', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!haveToolchain)('guest image builds', () => {
  let images: Map<string, string>;
  beforeAll(() => {
    images = buildAllImages();
  }, 180_000);

  it.each([...BARE_IMAGES])('%s: one PT_LOAD at 0x200000 and a PVH entry inside it', (name) => {
    const elf = readElf(images.get(name)!);
    expect(elf.loads).toHaveLength(1);
    const load = elf.loads[0]!;
    expect(load.vaddr).toBe(0x200000n);
    expect(load.paddr).toBe(0x200000n);
    expect(load.offset).toBe(0n);
    expect(elf.pvhEntry).toBeDefined();
    expect(elf.pvhEntry! > load.paddr && elf.pvhEntry! < load.paddr + load.filesz).toBe(true);
  });

  it('osvlike: loaded like OSv (vaddr 0x40200000 at paddr 0x200000), note is physical', () => {
    const elf = readElf(images.get('osvlike')!);
    expect(elf.loads).toHaveLength(1);
    const load = elf.loads[0]!;
    expect(load.vaddr).toBe(0x40200000n);
    expect(load.paddr).toBe(0x200000n);
    expect(load.memsz > load.filesz).toBe(true);
    expect(elf.pvhEntry! >= 0x200000n && elf.pvhEntry! < 0x200000n + load.filesz).toBe(true);
    expect(elf.entry - 0x40000000n).toBe(elf.pvhEntry);
  });

  it('osvlike.elf carries DWARF and symbols; the stripped copy does not', () => {
    const full = readElf(images.get('osvlike')!);
    expect(full.sections).toContain('.debug_info');
    expect(full.sections).toContain('.symtab');
    const stripped = readElf(images.get('osvlike-stripped')!);
    expect(stripped.sections).not.toContain('.debug_info');
    expect(stripped.sections).not.toContain('.symtab');
    expect(stripped.pvhEntry).toBe(full.pvhEntry);
  });

  it('buildImage returns the cached path and rejects unknown names', () => {
    expect(buildImage('boot64')).toBe(images.get('boot64'));
    expect(() => buildImage('nope')).toThrow(/unknown image "nope"/);
  });
});

function expectAllPassed(name: string, out: string) {
  expect(reportProblems(name, out)).toEqual([]);
  expect(parseReport(out).passed.length).toBeGreaterThan(5);
}

describe('guest report parsing', () => {
  it('collects PASS, FAIL and DONE lines', () => {
    const r = parseReport('x\r\nPASS a\nFAIL b expected 0x1 got 0x2\nPASS smp 4 cpus\nDONE 2 passed 1 failed\n');
    expect(r.passed).toEqual(['a', 'smp 4 cpus']);
    expect(r.failed).toEqual([{ check: 'b', detail: 'expected 0x1 got 0x2' }]);
    expect(r.done).toEqual({ passed: 2, failed: 1 });
  });

  it('reports failures, a missing DONE and a missing final PASS', () => {
    expect(reportProblems('smp', 'PASS smp 2 cpus\nDONE 1 passed 0 failed\n')).toEqual([]);
    expect(reportProblems('fpu', 'PASS x\nFAIL y z\n')).toEqual([
      'FAIL y z',
      'fpu: no DONE line (the guest did not finish)',
      'fpu: no "PASS fpu" line',
    ]);
  });
});

describe.skipIf(!haveQemu)('guest images under QEMU (TCG)', () => {
  beforeAll(() => {
    buildAllImages();
  }, 180_000);

  it.each(BARE_IMAGES.filter((n) => n !== 'smp'))('%s passes its checks', async (name) => {
    // TCG's timers follow the (busy) host clock: timers only reports its rate checks there.
    // highmem needs RAM above 4 GiB (QEMU maps 1 GiB there with -m 4G).
    const r = await runQemu({ kernel: buildImage(name), append: name === 'timers' || name === 'spinwait' || name === 'idlepoll' ? 'loose-timing' : 'console=test',
      ...(name === 'highmem' ? { memoryMiB: 4096 } : {}) });
    expectAllPassed(name, r.debugcon);
    expect(r.exitCode).toBe(1); // isa-debug-exit: (0 << 1) | 1
  });

  it('boot64 sees the command line and a memory map', async () => {
    const r = await runQemu({ kernel: buildImage('boot64'), append: 'hello pvh' });
    expect(r.debugcon).toContain('cmdline="hello pvh"');
    expect(r.debugcon).toMatch(/memmap\[0\] addr=0x0000000000000000/);
    expect(r.serial).toContain('boot64: hello from COM1');
  });

  it('realmode prints from real mode', async () => {
    const r = await runQemu({ kernel: buildImage('realmode') });
    expect(r.debugcon.match(/realmode: hello from real mode/g)).toHaveLength(2);
  });

  it.each([1, 2, 4])('smp starts %i cpus', async (n) => {
    const r = await runQemu({ kernel: buildImage('smp'), smp: n });
    expect(reportProblems('smp', r.debugcon)).toEqual([]);
    expect(r.debugcon).toContain(`PASS smp ${n} cpus`);
  });

  it.each([1, 2, 4])('osvlike boots with -smp %i, runs its threads and powers off', async (n) => {
    const r = await runQemu({ kernel: buildImage('osvlike-stripped'), smp: n, append: '--threads=4' });
    const out = r.serial;
    expect(out.indexOf('OSv-like v0.1')).toBeGreaterThanOrEqual(0);
    expect(out.indexOf('OSv-like v0.1')).toBeLessThan(out.indexOf('Cmdline: --threads=4'));
    expect(out).toContain(`osvlike: ${n} cpus`);
    for (let w = 0; w < 4; w++) {
      expect(out).toMatch(new RegExp(`^worker${w}: line 3 at \\d+ ns on cpu ${w % n}$`, 'm'));
    }
    expect(out).toContain('osvlike: all threads done');
    expect(out).toContain('osvlike: ACPI S5: PM1a_CNT 0x604');
    expect(r.timedOut).toBe(false);
    expect(r.exitCode).toBe(0); // QEMU exits on ACPI S5
  });

  it('osvlike default command line: three workers, then power-off', async () => {
    const r = await runQemu({ kernel: buildImage('osvlike'), smp: 2 });
    expect(r.serial).toContain('Cmdline: \n');
    for (let w = 0; w < 3; w++) {
      for (let line = 1; line <= 3; line++) {
        expect(r.serial).toMatch(new RegExp(`^worker${w}: line ${line} at \\d+ ns on cpu ${w % 2}$`, 'm'));
      }
    }
    expect(r.serial).not.toContain('worker3');
    expect(r.serial).toContain('osvlike: 3 threads joined');
    expect(r.exitCode).toBe(0);
  });

  it('osvlike --abort aborts from thread "aborter" and halts', async () => {
    const r = await runQemu({
      kernel: buildImage('osvlike'),
      smp: 2,
      append: '--abort',
      stopWhen: /\[backtrace\]\n(0x[0-9a-f]{16} .*\n)+/,
      timeoutMs: 20_000,
    });
    expect(r.serial).toContain('aborter: running on cpu 1, aborting');
    expect(r.serial).toContain('Assertion failed: osvlike --abort (thread aborter)');
    expect(r.serial).toMatch(/\[backtrace\]\n0x[0-9a-f]{16} /);
    expect(r.serial).not.toContain('all threads done');
  });

  it('osvlike --fault reports the page fault, aborts and powers off with --power-off-on-abort', async () => {
    const r = await runQemu({ kernel: buildImage('osvlike'), smp: 2, append: '--fault --power-off-on-abort' });
    expect(r.serial).toContain('faulter: touching unmapped address 0x7fff00000000');
    expect(r.serial).toMatch(/unexpected exception 14 at rip 0x[0-9a-f]+, error 0x2, cr2 0x7fff00000000/);
    expect(r.serial).toContain('[backtrace]');
    expect(r.timedOut).toBe(false);
    expect(r.exitCode).toBe(0);
  });

  it('osvlike boots with 2 GiB of RAM (ACPI tables above 1 GiB)', async () => {
    const r = await runQemu({ kernel: buildImage('osvlike-stripped'), smp: 2, memoryMiB: 2048, append: '--threads=2' });
    expect(r.serial).toContain('osvlike: all threads done');
    expect(r.exitCode).toBe(0);
  });
});

describe.skipIf(!haveQemu || !haveGdb)('osvlike DWARF against a live guest (QEMU gdbstub + gdb)', () => {
  it('gdb finds sched::cpus, sched::thread_map and the aborting thread through FS_BASE', async () => {
    buildAllImages();
    const port = 20000 + Math.floor(Math.random() * 20000);
    let gdbOut = '';
    const tcb = '((sched::thread_control_block*)$fs_base)->t';
    await runQemu({
      kernel: buildImage('osvlike-stripped'),
      smp: 2,
      append: '--abort',
      extraArgs: ['-gdb', `tcp:127.0.0.1:${port}`],
      stopWhen: /\[backtrace\]\n(0x[0-9a-f]{16} .*\n)+/,
      timeoutMs: 30_000,
      onMatch: async () => {
        // Give the NMI a moment to reach the other CPU.
        await new Promise((r) => setTimeout(r, 300));
        const cmds = [
          'set pagination off',
          `target remote 127.0.0.1:${port}`,
          'p sched::cpus._M_impl._M_finish - sched::cpus._M_impl._M_start',
          'p sched::thread_map._M_h._M_element_count',
          'p sched::cpus._M_impl._M_start[1]->idle_thread->_attr._name',
          'thread 2',
          'info symbol $pc',
          `p ${tcb}->_attr._name`,
          // unique_ptr<detached_state>: its first word is the pointer (GCC 12 layout).
          `p (*(sched::thread::detached_state**)&${tcb}->_detached_state)->st._M_i`,
          `p (*(sched::thread::detached_state**)&${tcb}->_detached_state)->_cpu->id`,
          'thread 1',
          'info symbol $pc',
        ];
        const args = ['-batch', '-nx', ...cmds.flatMap((c) => ['-ex', c]), buildImage('osvlike')];
        const r = await promisify(execFile)('gdb', args, { timeout: 20_000 });
        gdbOut = r.stdout + r.stderr;
      },
    });
    expect(gdbOut).toMatch(/\$1 = 2\n/);
    expect(gdbOut).toMatch(/\$2 = 4\n/); // idle0, idle1, main, aborter
    expect(gdbOut).toMatch(/\$3 = "idle1\\000/);
    expect(gdbOut).toMatch(/\$4 = "aborter\\000/);
    expect(gdbOut).toMatch(/\$5 = sched::thread::status::running/);
    expect(gdbOut).toMatch(/\$6 = 1\n/);
    // CPU 1 aborted (it is in osv::halt, possibly inlined); CPU 0 took the NMI.
    expect(gdbOut).toMatch(/osv::halt\(\) \+ \d+ in section \.text\n\$4 = "aborter/);
    expect(gdbOut).toMatch(/nmi\(exception_frame\*\) \+ \d+ in section \.text/);
  }, 60_000);
});
