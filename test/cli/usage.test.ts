// The command line: help for every subcommand, --debugcon as QEMU spells it, and the isa-debug-exit status.
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { osvemu, pvhKernel } from './kernels.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'osvemu-usage-'));

describe('osvemu help', () => {
  it('osvemu, osvemu help and osvemu --help list the subcommands', () => {
    for (const args of [[], ['help'], ['--help'], ['-h']]) {
      const r = osvemu(...args);
      expect(r.status, args.join(' ')).toBe(args.length === 0 ? 2 : 0);
      expect(r.stdout).toMatch(/^usage: osvemu COMMAND/);
      expect(r.stdout).toMatch(/^ {2}run +boot a PVH kernel/m);
      expect(r.stdout).toMatch(/^ {2}help +/m);
    }
  });

  it('osvemu help run and --help / -h after the subcommand print its usage, whatever else is on the line', () => {
    for (const args of [['help', 'run'], ['run', '--help'], ['run', '-h'], ['run', 'k.elf', '-m', '1G', '--no-such-option', '--help']]) {
      const r = osvemu(...args);
      expect(r.status, args.join(' ')).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^usage: osvemu run \[KERNEL\]/);
      expect(r.stdout).toContain('--debugcon stdio|null|file:PATH|PATH');
      expect(r.stdout).toContain('(V << 1) | 1');
    }
  });

  it('debug and core are listed and print their usage with --help or osvemu help', () => {
    expect(osvemu('help').stdout).toMatch(/^ {2}debug +serve the gdb stub/m);
    expect(osvemu('help').stdout).toMatch(/^ {2}core +write an ELF core/m);
    for (const [cmd, re] of [['debug', /^usage: osvemu debug SNAPSHOT/], ['core', /^usage: osvemu core SNAPSHOT FILE/]] as const) {
      for (const args of [['help', cmd], [cmd, '--help'], [cmd, 'x.snap', '-h']]) {
        const r = osvemu(...args);
        expect(r.status, args.join(' ')).toBe(0);
        expect(r.stdout).toMatch(re);
      }
    }
  });

  it('an option value that reads "--help" is a value, not a request for help', () => {
    const r = osvemu('run', path.join(tmp, 'missing.elf'), '-e', '--help');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^osvemu: cannot read kernel .*missing\.elf: ENOENT\n$/);
  });

  it('unknown subcommands are a one-line error with status 2', () => {
    for (const args of [['frobnicate'], ['help', 'frobnicate']]) {
      const r = osvemu(...args);
      expect(r.status).toBe(2);
      expect(r.stderr).toBe('osvemu: unknown command "frobnicate": try "osvemu help"\n');
    }
  });
});

// Writes "hi\n" to the debug console (port 0xE9), "S" to COM1, then `value` to isa-debug-exit (port 0xF4).
function debugKernel(name: string, value: number): string {
  return pvhKernel(name, `
  mov $0xe9, %dx
  mov $'h', %al; out %al, %dx
  mov $'i', %al; out %al, %dx
  mov $'\\n', %al; out %al, %dx
  mov $0x3f8, %dx; mov $'S', %al; out %al, %dx
  mov $${value}, %al; out %al, $0xf4
  hlt`);
}

describe('osvemu run --debugcon and isa-debug-exit', () => {
  const k0 = debugKernel('dbg0', 0);

  it('port 0xE9 output is discarded unless asked for', () => {
    const r = osvemu('run', k0);
    expect(r.stdout).toBe('S');
  });

  it('--debugcon stdio writes it to stdout, between the serial bytes in guest order', () => {
    const r = osvemu('run', k0, '--debugcon', 'stdio');
    expect(r.stdout).toBe('hi\nS');
  });

  it('-debugcon file:PATH and --debugcon PATH write it to a file (created or truncated)', () => {
    const a = path.join(tmp, 'a.log'), b = path.join(tmp, 'b.log');
    expect(osvemu('run', k0, '-debugcon', `file:${a}`).stdout).toBe('S');
    expect(readFileSync(a, 'utf8')).toBe('hi\n');
    osvemu('run', k0, '--debugcon', b);
    osvemu('run', k0, '--debugcon', b);
    expect(readFileSync(b, 'utf8')).toBe('hi\n');
    expect(osvemu('run', k0, '--debugcon', 'null').stdout).toBe('S');
  });

  it('a file that cannot be created is a one-line error before the guest starts', () => {
    const r = osvemu('run', k0, '--debugcon', path.join(tmp, 'no', 'such', 'dir', 'x.log'));
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^osvemu: cannot open debugcon file .*x\.log: ENOENT\n$/);
  });

  it.each([[0, 1], [1, 3], [0x10, 33]])('a guest write of %i to port 0xF4 exits with QEMU\'s status %i and says so in one line', (value, status) => {
    const r = osvemu('run', debugKernel(`dbg${value}`, value));
    expect(r.status).toBe(status);
    expect(r.stderr).toBe(`osvemu: guest wrote ${value} (0x${value.toString(16)}) to the isa-debug-exit port 0xf4: ` +
      `exit status ${status} = (${value} << 1) | 1, as QEMU\n`);
  });
});
