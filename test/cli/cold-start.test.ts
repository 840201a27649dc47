// Cold start (issue 12): what a plain `osvemu run` loads, and object shapes that stay put while a kernel runs.
import { isAscii } from 'node:buffer';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../src/cli/guest.js';
import { CLI, pvhKernel } from './kernels.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'osvemu-cold-'));
const distCli = path.dirname(CLI);
/** tsc's CLI modules: what main.js runs when the build made no bundle (src/cli/bundle.ts). */
const MODULES = existsSync(path.join(distCli, 'main.modules.js')) ? path.join(distCli, 'main.modules.js') : CLI;
const BUNDLED = readFileSync(CLI, 'utf8').includes('osvemu CLI stub');
const ESBUILD = (() => {
  try {
    createRequire(import.meta.url).resolve('esbuild');
    return true;
  } catch {
    return false;
  }
})();
const exitKernel = () => pvhKernel('cold-exit', 'mov $0, %al\n  out %al, $0xf4\n1: hlt\n  jmp 1b');

function runCli(cacheHome: string) {
  return spawnSync(process.execPath, [CLI, 'run', exitKernel()], {
    encoding: 'utf8', timeout: 60_000, env: { ...process.env, XDG_CACHE_HOME: cacheHome, OSVEMU_CODE_CACHE: 'verbose' },
  });
}

describe('cold start', () => {
  it('osvemu run without --net, disks, snapshots, --profile or a debugger loads none of their modules', () => {
    const hooks = path.join(tmp, 'hooks.mjs'), reg = path.join(tmp, 'register.mjs');
    writeFileSync(hooks, `export async function load(url, ctx, next) {
  if (url.includes('/dist/src/')) process.stderr.write('LOADED ' + url.replace(/.*\\/dist\\/src\\//, '') + '\\n');
  return next(url, ctx);
}\n`);
    writeFileSync(reg, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
    const r = spawnSync(process.execPath, ['--import', pathToFileURL(reg).href, MODULES, 'run', exitKernel()], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(1);
    const loaded = r.stderr.split('\n').filter((l) => l.startsWith('LOADED ')).map((l) => l.slice(7));
    expect(loaded).toContain('cpu/exec.js');
    const cold = loaded.filter((m) => /^osv\/(dwarf|test-runner|core-file|abort|thread-source|debug-symbols)|snapshot-(file|state)|net\/(passt|stream)|disk-(qcow2|open)|gdbstub\/server|cli\/(profile|snapshot-commands|gdb)\.js/.test(m));
    expect(cold).toEqual([]);
  });

  it('osvemu run of a kernel loads none of the Node built-ins a plain boot does not use (child_process, zlib, crypto)', () => {
    const list = path.join(tmp, 'builtins.cjs');
    writeFileSync(list, `process.on('exit', () => process.stderr.write('BUILTINS ' + process.moduleLoadList.join(',') + '\\n'));\n`);
    const r = spawnSync(process.execPath, ['-r', list, CLI, 'run', exitKernel()], { encoding: 'utf8', timeout: 60_000, stdio: ['pipe', 'pipe', 'pipe'] });
    expect(r.status, r.stderr).toBe(1);
    const builtins = r.stderr.split('\n').find((l) => l.startsWith('BUILTINS '))!.slice(9).split(',');
    expect(builtins).toContain('NativeModule fs');
    expect(builtins.filter((m) => /^NativeModule (child_process|zlib|crypto|dgram)$/.test(m))).toEqual([]);
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

  it.skipIf(!ESBUILD)('with esbuild installed, the build bundles the CLI (main.js is the stub that runs main.bundle.cjs)', () => {
    expect(BUNDLED).toBe(true);
    expect(existsSync(path.join(distCli, 'main.bundle.cjs'))).toBe(true);
    // launch.ts reads an ASCII bundle as Latin-1, without UTF-8 decoding.
    expect(isAscii(readFileSync(path.join(distCli, 'main.bundle.cjs')))).toBe(true);
  });

  it.skipIf(!BUNDLED)('the bundled CLI writes its code cache once, then uses it', () => {
    const home = mkdtempSync(path.join(tmp, 'cache-'));
    const first = runCli(home);
    expect(first.status, first.stderr).toBe(1);
    expect(first.stderr).toMatch(/code cache: none yet/);
    expect(first.stderr).toMatch(/code cache: written \(.*\/osvemu\/code-cache\/cli-[^/]*\.v8\)/);
    const files = readdirSync(path.join(home, 'osvemu', 'code-cache'));
    expect(files.filter((f) => f.endsWith('.v8'))).toHaveLength(1);
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const second = runCli(home);
    expect(second.status).toBe(1);
    expect(second.stderr).toMatch(/code cache: used/);
    expect(second.stderr).not.toMatch(/written/);
  });

  it.skipIf(!BUNDLED)('a run that boots no guest leaves a partial cache, which the first complete guest run replaces', () => {
    const home = mkdtempSync(path.join(tmp, 'cache-'));
    const dir = path.join(home, 'osvemu', 'code-cache');
    const env = { ...process.env, XDG_CACHE_HOME: home, OSVEMU_CODE_CACHE: 'verbose' };
    const help = spawnSync(process.execPath, [CLI, 'help'], { encoding: 'utf8', timeout: 60_000, env });
    expect(help.status, help.stderr).toBe(0);
    expect(help.stderr).toMatch(/code cache: written \(.*\.partial\.v8\)/);
    const partialSize = readFileSync(path.join(dir, readdirSync(dir)[0]!)).length;
    // Another run without a guest keeps the partial cache as it is.
    const bad = spawnSync(process.execPath, [CLI, 'run', path.join(tmp, 'no-such-kernel')], { encoding: 'utf8', timeout: 60_000, env });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/code cache: used \(.*\.partial\.v8\)/);
    expect(bad.stderr).not.toMatch(/written/);
    const first = runCli(home);
    expect(first.status, first.stderr).toBe(1);
    expect(first.stderr).toMatch(/code cache: used \(.*\.partial\.v8\)/);
    expect(first.stderr).toMatch(/code cache: written \(.*\/cli-[^/]*[^l]\.v8\)/);
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    expect(files[0]).not.toMatch(/partial/);
    expect(readFileSync(path.join(dir, files[0]!)).length).toBeGreaterThan(partialSize);
    const second = runCli(home);
    expect(second.stderr).toMatch(/code cache: used \(.*\/cli-[^/]*[^l]\.v8\)/);
    expect(second.stderr).not.toMatch(/written/);
  });

  it.skipIf(!BUNDLED)('a corrupt cache is rejected and replaced; an unwritable cache folder only costs speed', () => {
    const home = mkdtempSync(path.join(tmp, 'cache-'));
    runCli(home);
    const dir = path.join(home, 'osvemu', 'code-cache');
    const file = path.join(dir, readdirSync(dir)[0]!);
    writeFileSync(file, 'not a code cache');
    const bad = runCli(home);
    expect(bad.status, bad.stderr).toBe(1);
    expect(bad.stderr).toMatch(/code cache: rejected/);
    expect(bad.stderr).toMatch(/code cache: written/);
    expect(runCli(home).stderr).toMatch(/code cache: used/);
    // XDG_CACHE_HOME names a file: no folder can be made under it.
    const blocked = path.join(tmp, 'a-file');
    writeFileSync(blocked, '');
    const r = runCli(blocked);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/code cache: not written: ENOTDIR/);
  });
});
