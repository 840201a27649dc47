// The machine's own gdb against a Machine served in this process by the gdb stub.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GdbServer } from '../../src/gdbstub/server.js';
import type { ThreadProvider } from '../../src/gdbstub/target.js';
import { MachineGdbTarget } from '../../src/machine/gdb-target.js';
import { Machine, type MachineOptions } from '../../src/machine/machine.js';
import { HAVE_GDB, runGdbArgs, type GdbRun, type GdbRunOptions } from '../gdbstub/gdb-helpers.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export { HAVE_GDB, type GdbRun };

export const VITE_NODE = path.join(ROOT, 'node_modules', '.bin', 'vite-node');

/** Path of a guest image, built with the host toolchain if needed; null when it cannot be built. */
export function guestImage(name: string): string | null {
  const out = path.join(ROOT, 'build', 'images');
  const elf = path.join(out, `${name}.elf`);
  if (!existsSync(elf)) {
    const r = spawnSync('make', ['-s', '-C', path.join(ROOT, 'images'), `OUT=${out}`, elf], { stdio: 'ignore' });
    if (r.status !== 0) return null;
  }
  return existsSync(elf) ? elf : null;
}

export interface Served {
  machine: Machine;
  target: MachineGdbTarget;
  server: GdbServer;
  port: number;
  finished: boolean;
  close(): Promise<void>;
}

/** A machine behind a gdb server on a free port; stopped before its first instruction unless `run`. */
export async function serve(
  elf: string,
  opts: Partial<MachineOptions> & { run?: boolean; threads?: (target: MachineGdbTarget) => ThreadProvider } = {},
): Promise<Served> {
  const machine = new Machine({ kernel: readFileSync(elf), ...opts });
  const served = { finished: false } as Served;
  const target = new MachineGdbTarget(machine, { onFinish: () => { served.finished = true; } });
  const threads = opts.threads;
  const server = new GdbServer({ target, threads: threads && (() => threads(target)) });
  const { port } = await server.listen('127.0.0.1', 0);
  if (opts.run) target.resume(machine.cpus.map((_, cpu) => ({ cpu, kind: 'continue' as const, signal: 0 })), { stepIntoInterrupts: false });
  return Object.assign(served, {
    machine, target, server, port,
    close: async () => {
      await server.close();
      if (target.isRunning()) target.kill();
    },
  });
}

/**
 * Runs `gdb -batch -nx ELF` connected to 127.0.0.1:port with the given -ex commands. `interruptWhen`
 * is polled every 20 ms; when it returns true gdb gets SIGINT once (it then sends Ctrl-C to the stub).
 */
export function runGdb(port: number, elf: string | null, commands: string[], opts: GdbRunOptions = {}): Promise<GdbRun> {
  const args = ['-batch', '-nx', '-ex', 'set pagination off', '-ex', 'set confirm off',
    // gdb gives up on a reply after 2 s by default; a loaded CI machine can take longer than that.
    '-ex', 'set remotetimeout 60', '-ex', 'set width 0'];
  if (elf) args.push(elf);
  else args.push('-ex', 'set architecture i386:x86-64');
  args.push('-ex', `target remote 127.0.0.1:${port}`);
  for (const c of commands) args.push('-ex', c);
  return runGdbArgs(args, opts);
}

export interface Cli {
  /** stdout and stderr so far, in the order they came. */
  readonly output: string;
  /** The exit status, once the CLI has ended. */
  readonly exited: Promise<number | null>;
  /**
   * The gdb stub's port, once the output matches `ready` (group 1 is the port); rejects with `early` and the
   * output when the CLI ends first.
   */
  port(ready: RegExp, early: string): Promise<number>;
  kill(): void;
}

/** `osvemu ARGS` run from source through vite-node (VITE_NODE must exist), in the repository root. */
export function startCli(args: string[]): Cli {
  const cli = spawn(process.execPath, [VITE_NODE, 'src/cli/main.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  cli.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  cli.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | null>((resolve) => cli.on('close', resolve));
  return {
    get output() { return out; },
    exited,
    port: (ready, early) => new Promise<number>((resolve, reject) => {
      const poll = setInterval(() => {
        const m = ready.exec(out);
        if (m) { clearInterval(poll); resolve(Number(m[1])); }
      }, 50);
      exited.then(() => { clearInterval(poll); reject(new Error(`${early}:\n${out}`)); });
    }),
    kill: () => { cli.kill(); },
  };
}

/** The part of gdb's output after a marker printed with `mark(name)`, up to the next marker. */
export function section(output: string, name: string): string {
  const start = output.indexOf(`<<${name}>>`);
  if (start < 0) throw new Error(`no section ${name} in gdb output:\n${output}`);
  const end = output.indexOf('<<', start + name.length + 4);
  return output.slice(start, end < 0 ? undefined : end);
}

export const mark = (name: string): string => `echo <<${name}>>\\n`;

/** A `source FILE` command running `lines` (for gdb constructs -ex cannot carry, such as while loops). */
export function gdbScript(lines: string[]): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'osvemu-gdb-')), 'script.gdb');
  writeFileSync(file, lines.join('\n') + '\n');
  return `source ${file}`;
}
