// Running the real gdb against a stub in this process (shared with test/gdb, which serves a whole Machine).

import { spawn, spawnSync } from 'node:child_process';

export const HAVE_GDB = (() => {
  try {
    return spawnSync('gdb', ['--version'], { stdio: 'ignore' }).status === 0;
  } catch {
    return false;
  }
})();

export interface GdbRun {
  output: string;
  code: number | null;
}

export interface GdbRunOptions {
  /**
   * Polled every 20 ms; return true to send SIGINT to gdb once (gdb then sends Ctrl-C to the
   * stub). gdb's stdout is a pipe and block-buffered, so poll the target rather than the output.
   */
  interruptWhen?: () => boolean;
  timeoutMs?: number;
}

/** Runs `gdb -batch -nx` with the given -ex commands, after connecting to 127.0.0.1:port. */
export function runGdb(port: number, commands: string[], opts: GdbRunOptions = {}): Promise<GdbRun> {
  const args = ['-batch', '-nx', '-ex', 'set pagination off', '-ex', 'set confirm off',
    // gdb gives up on a reply after 2 s by default; a loaded CI machine can take longer than that.
    '-ex', 'set remotetimeout 60', '-ex', 'set architecture i386:x86-64', '-ex', `target remote 127.0.0.1:${port}`];
  for (const c of commands) args.push('-ex', c);
  return runGdbArgs(args, { ...opts, timeoutMs: opts.timeoutMs ?? 30_000 });
}

/**
 * Runs gdb with exactly `args` and collects stdout and stderr together. On timeout (default 60 s) gdb is
 * killed and the output ends with `<<gdb timed out>>`.
 */
export function runGdbArgs(args: string[], opts: GdbRunOptions = {}): Promise<GdbRun> {
  return new Promise((resolve) => {
    const child = spawn('gdb', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let interrupted = false;
    const onData = (d: Buffer) => {
      output += d.toString();
    };
    const poll = setInterval(() => {
      if (!interrupted && opts.interruptWhen?.()) {
        interrupted = true;
        child.kill('SIGINT');
      }
    }, 20);
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => {
      output += '\n<<gdb timed out>>';
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      clearInterval(poll);
      resolve({ output, code });
    });
  });
}
