// General queries and thread selection: q*/Q* packets (except qXfer), H and T.

import { E_GENERIC, E_INVALID, formatThreadId, parseThreadId, type Reply, type StubContext } from './context.js';
import { hexToString, parseAddress, parseHexNumber, stringToHex } from './hex.js';
import { runMonitor } from './monitor.js';
import { handleQXfer } from './qxfer.js';

/** QEMU's single-step flags (qqemu.sstep): ENABLE | NOIRQ | NOTIMER. */
const SSTEP_ENABLE = 1;
const SSTEP_NOIRQ = 2;
const SSTEP_NOTIMER = 4;

export function supportedReply(ctx: StubContext): string {
  const features = [
    `PacketSize=${ctx.packetSize.toString(16)}`,
    'QStartNoAckMode+',
    'qXfer:features:read+',
    'qXfer:threads:read+',
    'swbreak+',
    'hwbreak+',
    'vContSupported+',
  ];
  if (ctx.threads.librariesSvr4 !== undefined) features.push('qXfer:libraries-svr4:read+');
  if (ctx.target.canReverse?.()) features.push('ReverseStep+', 'ReverseContinue+');
  return features.join(';');
}

/** qGetTLSAddr:TID,OFFSET,LM -> the variable's address (hex), as the thread provider computes it. */
function tlsAddress(ctx: StubContext, args: string): Reply {
  const [tidHex, offHex, lmHex] = args.split(',');
  const tid = parseThreadId(tidHex ?? '');
  const offset = parseAddress(offHex ?? '');
  const lm = parseAddress(lmHex ?? '');
  if (tid === null || offset === null || lm === null) return E_INVALID;
  if (ctx.threads.tlsAddress === undefined) return '';
  const thread = ctx.resolveThread(tid);
  if (thread === null) return E_GENERIC;
  const r = ctx.threads.tlsAddress(thread, offset, lm);
  // gdb only says the request failed; the provider's reason is not something the packet can carry.
  return typeof r === 'bigint' ? r.toString(16) : E_GENERIC;
}

/** Parses gdb's qSupported feature list into the set of features it claims ('swbreak', ...). */
export function parseClientFeatures(body: string): Set<string> {
  const set = new Set<string>();
  const colon = body.indexOf(':');
  if (colon < 0) return set;
  for (const f of body.slice(colon + 1).split(';')) {
    if (f.endsWith('+')) set.add(f.slice(0, -1));
    else if (f.includes('=')) set.add(f.slice(0, f.indexOf('=')));
  }
  return set;
}

export function handleQuery(ctx: StubContext, body: string): Reply {
  if (body.startsWith('qXfer:')) return handleQXfer(ctx, body);
  if (body.startsWith('qGetTLSAddr:')) return tlsAddress(ctx, body.slice(12));
  if (body.startsWith('qRcmd,')) {
    const cmd = hexToString(body.slice(6));
    if (cmd === null) return E_INVALID;
    const out = runMonitor(ctx, cmd);
    if (out !== '') ctx.output(out.endsWith('\n') ? out : out + '\n');
    return 'OK';
  }
  if (body.startsWith('qThreadExtraInfo,')) {
    const id = parseThreadId(body.slice(17));
    const t = id === null ? undefined : ctx.threads.threads().find((x) => x.id === id);
    return t === undefined ? E_GENERIC : stringToHex(t.extra ?? t.name ?? '');
  }
  switch (body) {
    case 'qC':
      return 'QC' + formatThreadId(ctx.stopThread);
    case 'qAttached':
    case 'qAttached:1':
      // We are attached to an existing machine: detach must not kill it.
      return '1';
    case 'qfThreadInfo':
      return 'm' + ctx.threads.threads().map((t) => formatThreadId(t.id)).join(',');
    case 'qsThreadInfo':
      return 'l';
    case 'qSymbol::':
      return 'OK';
    case 'qqemu.sstep':
      return '0x' + (SSTEP_ENABLE | (ctx.stepIntoInterrupts ? 0 : SSTEP_NOIRQ | SSTEP_NOTIMER)).toString(16);
    case 'qqemu.supported':
      return 'sstepbits;sstep';
    case 'qqemu.sstepbits':
      return `ENABLE=${SSTEP_ENABLE},NOIRQ=${SSTEP_NOIRQ},NOTIMER=${SSTEP_NOTIMER}`;
  }
  if (body.startsWith('Qqemu.sstep=')) {
    const v = body.slice(12).replace(/^0x/, '');
    const n = parseHexNumber(v, 0xff);
    if (n === null) return E_INVALID;
    ctx.stepIntoInterrupts = (n & SSTEP_NOIRQ) === 0;
    return 'OK';
  }
  return '';
}

/** Hg/Hc select the thread for register/memory and for legacy resume operations. */
export function handleSetThread(ctx: StubContext, body: string): Reply {
  const op = body[1];
  const id = parseThreadId(body.slice(2));
  if ((op !== 'g' && op !== 'c') || id === null) return E_INVALID;
  if (op === 'c') {
    if (id !== -1 && id !== 0 && ctx.resolveThread(id) === null) return E_GENERIC;
    ctx.cThread = id;
    return 'OK';
  }
  const t = ctx.resolveThread(id);
  if (t === null) return E_GENERIC;
  ctx.gThread = t;
  return 'OK';
}

/** T<tid>: is the thread alive? */
export function handleThreadAlive(ctx: StubContext, body: string): Reply {
  const id = parseThreadId(body.slice(1));
  if (id === null || id <= 0) return E_INVALID;
  return ctx.threads.threads().some((t) => t.id === id) ? 'OK' : E_GENERIC;
}
