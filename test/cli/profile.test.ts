// `osvemu run --profile FILE` (speedscope JSON, or pprof for .pb.gz) and `--icount-shift N` from the command line.
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
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
});
