// The package as a user gets it: `npm pack`, the tarball installed into an empty project with no registry,
// the `osvemu` command run through npx, and the Node API imported from TypeScript compiled with --strict.
import { execFile, type ExecFileOptions } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../src/cli/guest.js';
import { toolchainAvailable } from '../images/build.js';

const root = repoRoot();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'osvemu-pkg-'));
const app = path.join(tmp, 'app');
// An empty npm cache and offline mode: the install must not need anything from a registry.
const env = { ...process.env, npm_config_cache: path.join(tmp, 'npm-cache'), npm_config_offline: 'true',
  npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };

/** Asynchronous, so the test worker keeps answering vitest while npm, make and tsc run. */
function sh(cmd: string, args: string[], opts: ExecFileOptions = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8', env, timeout: 120_000, maxBuffer: 64 << 20, ...opts }, (err, stdout, stderr) => {
      const status = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ status, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

function ok(r: { status: number | null; stdout: string; stderr: string }, what: string): string {
  if (r.status !== 0) throw new Error(`${what} failed (status ${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

describe.skipIf(!toolchainAvailable())('the npm package', () => {
  beforeAll(async () => {
    if (!existsSync(path.join(root, 'dist', 'src', 'index.js'))) throw new Error('dist/ is missing: run "npm run build" first');
    // The suite runs after the build: pack what it built (`prepare` would build again).
    const packed = JSON.parse(ok(await sh('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], { cwd: root }), 'npm pack'));
    const tarball = path.join(tmp, packed[0].filename as string);
    mkdirSync(app);
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    ok(await sh('npm', ['install', '--offline', '--no-audit', '--no-fund', tarball], { cwd: app }), 'npm install of the tarball');
  });

  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('ships the built files, the guest sources and the README, and no tests', () => {
    const pkg = path.join(app, 'node_modules', 'osvemu');
    const manifest = JSON.parse(readFileSync(path.join(pkg, 'package.json'), 'utf8'));
    for (const f of [manifest.bin.osvemu, manifest.main, manifest.types, manifest.exports['.'].default, manifest.exports['.'].types]) {
      expect(existsSync(path.join(pkg, f)), f).toBe(true);
    }
    expect(existsSync(path.join(pkg, 'images', 'Makefile'))).toBe(true);
    expect(existsSync(path.join(pkg, 'images', 'osvlike', 'main.cc'))).toBe(true);
    expect(existsSync(path.join(pkg, 'README.md'))).toBe(true);
    expect(existsSync(path.join(pkg, 'test'))).toBe(false);
    expect(existsSync(path.join(pkg, 'dist', 'bench'))).toBe(false);
    expect(Object.keys(manifest.dependencies ?? {})).toEqual([]);
  });

  it('npx osvemu run boots the default guest (built from the shipped images/) and exits 0', async () => {
    const r = await sh('npx', ['osvemu', 'run'], { cwd: app });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('OSv-like v0.1');
    expect(r.stdout).toContain('osvlike: powering off');
    const help = await sh('npx', ['osvemu', 'run', '--help'], { cwd: app });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^usage: osvemu run /);
  });

  it('import { Machine } from "osvemu" compiles with tsc --strict and runs', async () => {
    writeFileSync(path.join(app, 'main.ts'), [
      "import { readFileSync } from 'node:fs';",
      "import { Machine, buildGuest, type RunResult } from 'osvemu';",
      "const m = new Machine({ kernel: readFileSync(buildGuest('osvlike')), memMiB: 64, cmdline: '--threads=1 --lines=1' });",
      'const r: RunResult = m.run({ maxInsns: 500_000_000 });',
      "console.log(r.cause, m.console.includes('osvlike: powering off'));",
    ].join('\n'));
    const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    ok(await sh(process.execPath, [tsc, '--strict', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext',
      '--typeRoots', path.join(root, 'node_modules', '@types'), '--types', 'node', '--outDir', 'out', 'main.ts'], { cwd: app }), 'tsc --strict');
    const r = await sh(process.execPath, [path.join('out', 'main.js')], { cwd: app });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('poweroff true');
  });
});
