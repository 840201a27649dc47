// Stop reply packets: T (stopped, with thread and reason), W (exited), X (terminated).

import { formatThreadId } from './context.js';
import { addressToHex, hex8 } from './hex.js';
import type { StopReason, ThreadId } from './target.js';

export function stoppedReply(signal: number, thread: ThreadId, reason: StopReason | undefined, clientFeatures: ReadonlySet<string>): string {
  let s = `T${hex8(signal)}thread:${formatThreadId(thread)};`;
  if (reason === undefined) return s;
  switch (reason.type) {
    case 'swbreak':
    case 'hwbreak':
      // Only if gdb said it understands them; otherwise it would reject the whole reply.
      if (clientFeatures.has(reason.type)) s += `${reason.type}:;`;
      break;
    case 'watch':
    case 'rwatch':
    case 'awatch':
      s += `${reason.type}:${addressToHex(reason.addr)};`;
      break;
    case 'replaylog':
      s += `replaylog:${reason.at};`;
      break;
    case 'library':
      // gdb re-reads the library list (qXfer:libraries-svr4) and resumes by itself.
      s += 'library:;';
      break;
  }
  return s;
}

export function exitedReply(status: number): string {
  return `W${hex8(status & 0xff)}`;
}

export function terminatedReply(signal: number): string {
  return `X${hex8(signal & 0xff)}`;
}
