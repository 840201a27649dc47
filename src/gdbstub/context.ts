// What packet handlers see of a session. Handlers are plain functions (body) -> reply so each
// packet family can be tested on its own.

import type { BreakpointType, GdbTarget, ThreadAction, ThreadId, ThreadProvider } from './target.js';

/** A reply body, or NO_REPLY when the answer comes later (a stop reply) or never (kill). */
export type Reply = string | typeof NO_REPLY;
export const NO_REPLY = null;

/** Standard error replies. E14 = EFAULT (bad address), E22 = EINVAL (malformed), E01 = generic. */
export const E_GENERIC = 'E01';
export const E_FAULT = 'E14';
export const E_INVALID = 'E22';

export interface StubContext {
  readonly target: GdbTarget;
  readonly threads: ThreadProvider;
  /** Largest packet body we accept or send (advertised as PacketSize). */
  readonly packetSize: number;
  /** Features gdb announced in its qSupported (e.g. 'swbreak', 'hwbreak'). */
  readonly clientFeatures: ReadonlySet<string>;
  /** Thread for register/memory operations (Hg); always a real thread id. */
  gThread: ThreadId;
  /** Thread for legacy c/s (Hc); -1 = all. */
  cThread: ThreadId;
  /** Thread of the last stop. */
  readonly stopThread: ThreadId;
  /** Single-step into interrupt handlers (monitor / Qqemu.sstep); false by default, as QEMU. */
  stepIntoInterrupts: boolean;
  /** Resolves a protocol thread id (0 = any, -1 = all) to a live thread, or null. */
  resolveThread(id: ThreadId): ThreadId | null;
  /** Starts execution; the reply is the stop packet sent when the target stops. */
  resume(actions: ThreadAction[]): void;
  /** Sends console output to gdb as 'O' packets (used by monitor commands). */
  output(text: string): void;
  /** Records breakpoints so they can be removed when the client goes away. */
  noteBreakpoint(type: BreakpointType, addr: bigint, length: number, inserted: boolean): void;
}

/**
 * Parses a thread id as gdb sends it: hex, "-1", "0", or the multiprocess form "pPID.TID".
 * Returns null when malformed.
 */
export function parseThreadId(s: string): ThreadId | null {
  let t = s;
  if (t.startsWith('p')) {
    const dot = t.indexOf('.');
    t = dot < 0 ? '-1' : t.slice(dot + 1);
  }
  if (t === '-1') return -1;
  if (!/^[0-9a-fA-F]{1,8}$/.test(t)) return null;
  return parseInt(t, 16);
}

export function formatThreadId(id: ThreadId): string {
  return id < 0 ? '-1' : id.toString(16);
}
