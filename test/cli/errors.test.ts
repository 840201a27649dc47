// Bad input gets one clear line on stderr and a distinct non-zero exit status, never a stack trace.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildGuest, repoRoot } from '../../src/cli/guest.js';

const CLI = path.join(repoRoot(), 'dist', 'src', 'cli', 'main.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'osvemu-cli-'));

function osvemu(...args: string[]) {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first`);
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function expectOneLineError(r: { stderr: string }, pattern: RegExp) {
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^osvemu: /);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('osvemu run: bad input', () => {
  it('a text file', () => {
    const f = path.join(tmp, 'notes.txt');
    writeFileSync(f, 'hello, not a kernel\n');
    const r = osvemu('run', f);
    expect(r.status).toBe(1);
    expectOneLineError(r, /not an ELF file/);
  });

  it('a 32-bit ELF', () => {
    const bytes = Buffer.from(readFileSync(buildGuest('osvlike')));
    bytes[4] = 1; // EI_CLASS = ELFCLASS32
    const f = path.join(tmp, 'k32.elf');
    writeFileSync(f, bytes);
    const r = osvemu('run', f);
    expect(r.status).toBe(1);
    expectOneLineError(r, /32-bit ELF/);
  });

  it('an x86-64 ELF without the PVH note', () => {
    const r = osvemu('run', process.execPath);
    expect(r.status).toBe(1);
    expectOneLineError(r, /PVH/);
  });

  it('a truncated kernel', () => {
    const bytes = readFileSync(buildGuest('osvlike'));
    const f = path.join(tmp, 'short.elf');
    writeFileSync(f, bytes.subarray(0, 3000));
    const r = osvemu('run', f);
    expect(r.status).toBe(1);
    expectOneLineError(r, /truncated|past the end|ends past/i);
  });

  it('a missing file', () => {
    const r = osvemu('run', path.join(tmp, 'nope.elf'));
    expect(r.status).toBe(1);
    expectOneLineError(r, /cannot read kernel .*ENOENT/);
  });

  it('-m 0, --smp 0, an unknown option', () => {
    for (const args of [['-m', '0'], ['--smp', '0'], ['--frobnicate']]) {
      const r = osvemu('run', ...args, process.execPath);
      expect(r.status, args.join(' ')).toBe(2);
      expectOneLineError(r, /memory size|--smp|Unknown option/);
    }
  });

  it('--gdb-threads other than osv|vcpu; --symbols that is not an ELF with DWARF', () => {
    const bad = osvemu('run', '--gdb-threads', 'posix', process.execPath);
    expect(bad.status).toBe(2);
    expectOneLineError(bad, /--gdb-threads is osv or vcpu, got "posix"/);
    const text = path.join(tmp, 'symbols.txt');
    writeFileSync(text, 'not an ELF\n');
    const sym = osvemu('run', buildGuest('osvlike'), '--gdb', '127.0.0.1:0', '--symbols', text);
    expect(sym.status).toBe(1);
    expectOneLineError(sym, /symbols\.txt: /);
  });

  it('the default guest boots and powers off with status 0; an instruction limit gives status 5', () => {
    const ok = osvemu('run', '-c', '2');
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('osvlike: all threads done');
    const lim = osvemu('run', '--max-insns', '100000');
    expect(lim.status).toBe(5);
    expectOneLineError(lim, /instruction limit/);
  });

  it('a wall-clock timeout gives status 6 with one line', () => {
    const r = osvemu('run', '--timeout', '0.001');
    expect(r.status).toBe(6);
    expectOneLineError(r, /timed out after 1 ms/);
  });

  it('a guest abort exits with status 3', () => {
    const r = osvemu('run', '-c', '2', '-e', '--abort');
    expect(r.status).toBe(3);
    expect(r.stdout).toContain('[backtrace]');
  });
});
