// Boots a guest image under qemu-system-x86_64 (TCG) the way the images are
// meant to be booted: PVH through -kernel, port 0xE9 debug console, COM1 on
// stdio, isa-debug-exit at 0xF4. Development aid and optional test only.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const QEMU = 'qemu-system-x86_64';

export function qemuAvailable(): boolean {
  try {
    execFileSync(QEMU, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface QemuOptions {
  kernel: string;
  append?: string;
  smp?: number;
  memoryMiB?: number;
  timeoutMs?: number;
  /** Stop QEMU as soon as the serial or debugcon output matches (for guests that halt). */
  stopWhen?: RegExp;
  /** Runs after stopWhen matched, while the guest is still there (e.g. to attach gdb). */
  onMatch?: () => Promise<void>;
  extraArgs?: string[];
}

export interface QemuResult {
  /** Port 0xE9 output. */
  debugcon: string;
  /** COM1 output (SeaBIOS's banner included). */
  serial: string;
  /** QEMU's exit code; isa-debug-exit makes it (value << 1) | 1, ACPI power-off makes it 0. */
  exitCode: number | null;
  timedOut: boolean;
  stoppedByMatch: boolean;
}

export function runQemu(opts: QemuOptions): Promise<QemuResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'osvemu-qemu-'));
  const debugFile = path.join(dir, 'debugcon.txt');
  const args = [
    '-M', 'pc', '-nodefaults', '-nographic', '-no-reboot',
    '-m', `${opts.memoryMiB ?? 128}M`,
    '-smp', String(opts.smp ?? 1),
    '-kernel', opts.kernel,
    '-device', 'isa-debugcon,iobase=0xe9,chardev=dbg',
    '-chardev', `file,id=dbg,path=${debugFile}`,
    '-device', 'isa-debug-exit,iobase=0xf4,iosize=4',
    '-serial', 'stdio',
  ];
  if (opts.append !== undefined) args.push('-append', opts.append);
  if (opts.extraArgs) args.push(...opts.extraArgs);
  return new Promise((resolve, reject) => {
    const child = spawn(QEMU, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let serial = '';
    let stderr = '';
    let timedOut = false;
    let stoppedByMatch = false;
    const readDebug = () => {
      try {
        return readFileSync(debugFile, 'latin1');
      } catch {
        return '';
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 20_000);
    let matched = false;
    const poll = opts.stopWhen
      ? setInterval(() => {
          if (matched) return;
          if (opts.stopWhen!.test(serial.replace(/\r/g, '')) || opts.stopWhen!.test(readDebug())) {
            matched = true;
            stoppedByMatch = true;
            const hook = opts.onMatch ? opts.onMatch() : Promise.resolve();
            hook.catch(() => undefined).finally(() => child.kill('SIGKILL'));
          }
        }, 100)
      : undefined;
    child.stdout.setEncoding('latin1');
    child.stdout.on('data', (d: string) => (serial += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (e) => {
      clearTimeout(timer);
      if (poll) clearInterval(poll);
      rmSync(dir, { recursive: true, force: true });
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (poll) clearInterval(poll);
      const debugcon = readDebug();
      rmSync(dir, { recursive: true, force: true });
      if (code !== 0 && code !== null && !debugcon && !serial.includes('Booting')) {
        reject(new Error(`qemu failed (exit ${code}): ${stderr.trim()}`));
        return;
      }
      resolve({ debugcon, serial: serial.replace(/\r/g, ''), exitCode: code, timedOut, stoppedByMatch });
    });
  });
}
