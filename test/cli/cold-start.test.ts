// Cold start (issue 12): what a plain `osvemu run` loads, and object shapes that stay put while a kernel runs.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../src/cli/guest.js';
import { CLI, pvhKernel } from './kernels.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'osvemu-cold-'));

describe('cold start', () => {
  it('osvemu run without --net, disks, snapshots, --profile or a debugger loads none of their modules', () => {
    const hooks = path.join(tmp, 'hooks.mjs'), reg = path.join(tmp, 'register.mjs');
    writeFileSync(hooks, `export async function load(url, ctx, next) {
  if (url.includes('/dist/src/')) process.stderr.write('LOADED ' + url.replace(/.*\\/dist\\/src\\//, '') + '\\n');
  return next(url, ctx);
}\n`);
    writeFileSync(reg, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
    const kernel = pvhKernel('cold-exit', 'mov $0, %al\n  out %al, $0xf4\n1: hlt\n  jmp 1b');
    const r = spawnSync(process.execPath, ['--import', pathToFileURL(reg).href, CLI, 'run', kernel], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(1);
    const loaded = r.stderr.split('\n').filter((l) => l.startsWith('LOADED ')).map((l) => l.slice(7));
    expect(loaded).toContain('cpu/exec.js');
    const cold = loaded.filter((m) => /^osv\/(dwarf|test-runner|core-file|abort|thread-source|debug-symbols)|snapshot-(file|state)|net\/(passt|stream)|disk-(qcow2|open)|gdbstub\/server|cli\/(profile|snapshot-commands|gdb)\.js/.test(m));
    expect(cold).toEqual([]);
  });

  it('a vCPU keeps its object shape when RIP, CR3 and the descriptor bases take 64-bit values', () => {
    const dist = path.join(repoRoot(), 'dist', 'src', 'cpu');
    const script = `
const { Cpu } = await import(${JSON.stringify(pathToFileURL(path.join(dist, 'cpu.js')).href)});
const { PhysMem } = await import(${JSON.stringify(pathToFileURL(path.join(dist, 'physmem.js')).href)});
const mem = new PhysMem(1 << 20);
const a = new Cpu(mem), b = new Cpu(mem);
a.rip = 0xffffffff80001000; a.cr3 = 2 ** 33; a.gdtBase = 0x40001000; a.icount = 2 ** 40; a.mmu.fetchPhys = 2 ** 31;
process.stdout.write(String(%HaveSameMap(a, b) && %HaveSameMap(a.mmu, b.mmu)));
`;
    const r = spawnSync(process.execPath, ['--allow-natives-syntax', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('true');
  });
});
