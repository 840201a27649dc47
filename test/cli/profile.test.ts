// `osvemu run --profile FILE` (speedscope JSON, or pprof for .pb.gz) and `--icount-shift N` from the command line.
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { buildGuest } from '../../src/cli/guest.js';
import { osvemu, pvhKernel } from './kernels.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'osvemu-profile-'));
// A named busy loop, then power-off through the debug-exit port.
const spin = pvhKernel('spin', `
  mov $200000, %ecx
  .globl busy_loop
  .type busy_loop, @function
busy_loop:
  dec %ecx
  jnz busy_loop
  mov $0, %al
  out %al, $0xf4
  hlt`);

// 10,000 PAUSEs and 1,000 rdtscs.
const pauses = pvhKernel('pauses', `
  mov $10000, %ecx
1:
  pause
  dec %ecx
  jnz 1b
  mov $1000, %ecx
2:
  rdtsc
  dec %ecx
  jnz 2b
  mov $0, %al
  out %al, $0xf4
  hlt`);

describe('osvemu run --profile / --icount-shift', () => {
  it('writes speedscope JSON whose samples name the guest function', () => {
    const out = path.join(tmp, 'p.json');
    const r = osvemu('run', spin, '--profile', out, '--profile-interval', '1000');
    expect(r.status, r.stderr).toBe(1); // debug-exit 0 -> (0 << 1) | 1
    expect(r.stderr).toMatch(/profile: \d+ samples every 1000 instructions written to/);
    const doc = JSON.parse(readFileSync(out, 'utf8'));
    const names = doc.shared.frames.map((f: { name: string }) => f.name);
    expect(names).toContain('busy_loop');
    expect(doc.profiles[0].weights.reduce((a: number, b: number) => a + b, 0)).toBeGreaterThanOrEqual(390_000);
  });

  it('an OSv kernel with DWARF gets a track per OSv thread besides the vCPUs', () => {
    const out = path.join(tmp, 'osv.json');
    const r = osvemu('run', buildGuest('osvlike'), '-c', '2', '--profile', out);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/profile: \d+ samples every 10000 instructions in \d+ OSv threads written to/);
    const names: string[] = JSON.parse(readFileSync(out, 'utf8')).profiles.map((p: { name: string }) => p.name);
    expect(names.slice(0, 2)).toEqual(['vCPU 0', 'vCPU 1']);
    expect(names).toEqual(expect.arrayContaining([expect.stringMatching(/^thread \d+ worker0$/)]));
  });

  it('names frames of an application object from its own symbols, and demangles C++ names', () => {
    const out = path.join(tmp, 'app.json');
    const r = osvemu('run', buildGuest('osvlike'), '-c', '2', '-e', '--app=100000', '--profile', out);
    expect(r.status, r.stderr).toBe(0);
    const frames: string[] = JSON.parse(readFileSync(out, 'utf8')).shared.frames.map((f: { name: string }) => f.name);
    // hello_app is in libhello.so's .dynsym; its static helper square() is not, so it is the object plus offset.
    expect(frames).toContain('hello_app');
    expect(frames).toEqual(expect.arrayContaining([expect.stringMatching(/^libhello\.so\+0x[0-9a-f]+$/)]));
    expect(frames).toContain('processor::apic_driver::start_ap(unsigned int)');
    expect(frames.filter((f) => f.startsWith('_Z'))).toEqual([]);
  });

  it('writes gzipped pprof for a .pb.gz file', () => {
    const out = path.join(tmp, 'p.pb.gz');
    const r = osvemu('run', spin, '--profile', out);
    expect(r.status, r.stderr).toBe(1);
    expect(gunzipSync(readFileSync(out)).includes(Buffer.from('busy_loop'))).toBe(true);
  });

  it('--icount-shift scales guest time; bad values are one-line usage errors', () => {
    const t = (shift: string) => /([\d.]+) ms virtual time/.exec(osvemu('run', spin, '-V', '--icount-shift', shift).stderr)?.[1];
    expect(Number(t('4'))).toBeCloseTo(Number(t('0')) * 16, 3);
    for (const args of [['--icount-shift', '11'], ['--icount-shift', 'x'], ['--profile-interval', '10']]) {
      const r = osvemu('run', spin, ...args);
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it('--pause-cost and --rdtsc-cost charge guest time per PAUSE and TSC read; bad values are usage errors', () => {
    const ns = (...args: string[]) => Math.round(Number(/([\d.]+) ms virtual time/.exec(osvemu('run', pauses, '-V', ...args).stderr)?.[1]) * 1e6);
    const none = ns('--pause-cost', '0', '--rdtsc-cost', '0');
    expect(ns() - none).toBe(10_000 * 99 + 1000 * 24);
    expect(ns('--pause-cost', '41', '--rdtsc-cost', '0') - none).toBe(10_000 * 40);
    expect(ns('--pause-cost', '0', '--rdtsc-cost', '40') - none).toBe(1000 * 39);
    for (const args of [['--pause-cost', '-1'], ['--pause-cost', 'x'], ['--rdtsc-cost', '1000001']]) {
      const r = osvemu('run', pauses, ...args);
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});
