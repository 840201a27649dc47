// `monitor` commands (qRcmd). Built-ins first; anything else goes to GdbTarget.monitor().

import type { StubContext } from './context.js';
import { bytesToHex } from './hex.js';
import { REG, REGISTERS } from './tdesc.js';

const HELP = [
  'help                         this text',
  'info registers               registers of the current thread',
  'info cpus                    vCPUs and their rip',
  'icount                       instructions executed so far',
  'system_reset                 reset the machine',
  'step-interrupts [on|off]     whether stepi enters interrupt handlers (default off)',
].join('\n');

/** Register value as a hex number, or null if unavailable. */
function regHex(ctx: StubContext, thread: number, reg: number): string | null {
  const r = REGISTERS[reg];
  const buf = new Uint8Array(r.bytes);
  if (!ctx.threads.readRegister(thread, reg, buf)) return null;
  const be = Array.from(buf).reverse();
  return '0x' + (bytesToHex(Uint8Array.from(be)).replace(/^0+(?=.)/, '') || '0');
}

function infoRegisters(ctx: StubContext): string {
  const lines: string[] = [];
  for (let i = 0; i < REGISTERS.length; i++) {
    const r = REGISTERS[i];
    if (r.group === 'float' || r.name.startsWith('st') || r.name.startsWith('xmm')) continue;
    lines.push(`${r.name.padEnd(10)} ${regHex(ctx, ctx.gThread, i) ?? '<unavailable>'}`);
  }
  return lines.join('\n');
}

function infoCpus(ctx: StubContext): string {
  return ctx.threads
    .threads()
    .map((t) => {
      const mark = t.id === ctx.gThread ? '*' : ' ';
      const rip = regHex(ctx, t.id, REG.rip) ?? '<unavailable>';
      return `${mark} thread ${t.id}: ${t.extra ?? t.name ?? ''} rip=${rip}`;
    })
    .join('\n');
}

/** Runs a monitor command and returns the text to print (a trailing newline is added). */
export function runMonitor(ctx: StubContext, command: string): string {
  const words = command.trim().split(/\s+/).filter((w) => w !== '');
  const cmd = words.join(' ');
  if (cmd === '' || cmd === 'help') return [HELP, ...(ctx.threads.monitorHelp ?? [])].join('\n');
  if (cmd === 'info registers') return infoRegisters(ctx);
  if (cmd === 'info cpus') return infoCpus(ctx);
  if (cmd === 'icount') {
    const n = ctx.target.instructionCount?.();
    return n === undefined ? 'icount: not available' : `icount: ${n}`;
  }
  if (cmd === 'system_reset') {
    ctx.target.reset();
    return 'machine reset';
  }
  if (words[0] === 'step-interrupts') {
    if (words.length === 2 && (words[1] === 'on' || words[1] === 'off')) ctx.stepIntoInterrupts = words[1] === 'on';
    else if (words.length !== 1) return 'usage: step-interrupts [on|off]';
    return `step-interrupts ${ctx.stepIntoInterrupts ? 'on' : 'off'}`;
  }
  const out = ctx.threads.monitor?.(cmd, ctx.gThread) ?? ctx.target.monitor?.(cmd);
  return out ?? `unknown command '${cmd}'; try 'monitor help'`;
}
