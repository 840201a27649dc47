// Execution packets: c/s/C/S [addr] and vCont with per-thread actions. The reply to all of them
// is the stop packet the session sends when the target stops.

import { E_GENERIC, E_INVALID, NO_REPLY, parseThreadId, type Reply, type StubContext } from './context.js';
import { parseAddress, parseHexNumber } from './hex.js';
import type { StepRange, ThreadAction, ThreadId } from './target.js';
import { REG, REGISTERS } from './tdesc.js';

export const VCONT_ACTIONS = 'vCont;c;C;s;S;t;r';

function setPc(ctx: StubContext, thread: ThreadId, addrHex: string): boolean {
  const addr = parseAddress(addrHex);
  if (addr === null) return false;
  const bytes = new Uint8Array(REGISTERS[REG.rip].bytes);
  new DataView(bytes.buffer).setBigUint64(0, addr, true);
  return ctx.threads.writeRegister(thread, REG.rip, bytes);
}

/** Legacy c/s/C/S: continue all threads, or step the Hc thread alone. */
export function handleLegacyResume(ctx: StubContext, body: string): Reply {
  const cmd = body[0];
  const step = cmd === 's' || cmd === 'S';
  let signal = 0;
  let addr = body.slice(1);
  if (cmd === 'C' || cmd === 'S') {
    const semi = addr.indexOf(';');
    const sig = parseHexNumber(semi < 0 ? addr : addr.slice(0, semi), 0xff);
    if (sig === null) return E_INVALID;
    signal = sig;
    addr = semi < 0 ? '' : addr.slice(semi + 1);
  }
  const stepThread = ctx.resolveThread(ctx.cThread) ?? ctx.stopThread;
  if (addr !== '' && !setPc(ctx, stepThread, addr)) return E_INVALID;
  if (step) {
    ctx.resume([{ thread: stepThread, kind: 'step', signal }]);
  } else {
    ctx.resume(ctx.threads.threads().map((t) => ({ thread: t.id, kind: 'continue' as const, signal: t.id === stepThread ? signal : 0 })));
  }
  return NO_REPLY;
}

interface ParsedAction {
  kind: 'continue' | 'step' | 'stop';
  signal: number;
  thread: ThreadId; // -1 = all (also when absent)
  range?: StepRange;
}

function parseAction(s: string): ParsedAction | null {
  const colon = s.indexOf(':');
  const act = colon < 0 ? s : s.slice(0, colon);
  const thread = colon < 0 ? -1 : parseThreadId(s.slice(colon + 1));
  if (thread === null) return null;
  const tid = thread === 0 ? -1 : thread;
  switch (act[0]) {
    case 'r': {
      // rSTART,END: step while the pc stays in [START, END) (range stepping).
      const comma = act.indexOf(',');
      const start = comma < 0 ? null : parseAddress(act.slice(1, comma));
      const end = comma < 0 ? null : parseAddress(act.slice(comma + 1));
      if (start === null || end === null) return null;
      return { kind: 'step', signal: 0, thread: tid, range: { start, end } };
    }
    case 'c':
    case 's':
    case 't':
      if (act.length !== 1) return null;
      return { kind: act === 'c' ? 'continue' : act === 's' ? 'step' : 'stop', signal: 0, thread: tid };
    case 'C':
    case 'S': {
      const sig = parseHexNumber(act.slice(1), 0xff);
      if (sig === null) return null;
      return { kind: act[0] === 'C' ? 'continue' : 'step', signal: sig, thread: tid };
    }
  }
  return null;
}

/** vCont;ACTION[:TID];... — each thread takes the leftmost action that matches it. */
export function handleVCont(ctx: StubContext, body: string): Reply {
  if (body === 'vCont?') return VCONT_ACTIONS;
  if (!body.startsWith('vCont;')) return '';
  const parsed: ParsedAction[] = [];
  for (const part of body.slice(6).split(';')) {
    const a = parseAction(part);
    if (a === null) return E_INVALID;
    parsed.push(a);
  }
  const actions: ThreadAction[] = [];
  for (const t of ctx.threads.threads()) {
    const a = parsed.find((p) => p.thread === -1 || p.thread === t.id);
    if (a && a.kind !== 'stop') actions.push({ thread: t.id, kind: a.kind, signal: a.signal, range: a.range });
  }
  // Nothing would run: there would never be a stop reply, so refuse rather than hang gdb.
  if (actions.length === 0) return E_GENERIC;
  ctx.resume(actions);
  return NO_REPLY;
}
