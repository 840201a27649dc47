// Breakpoint packets: Z/z type,addr,kind[;cond...]. Types 0 sw, 1 hw, 2 write, 3 read, 4 access
// watchpoints. All are kept by the target; no int3 is written into guest memory, so breakpoints
// work before the kernel is loaded and survive the guest rewriting its code.

import { E_GENERIC, E_INVALID, type Reply, type StubContext } from './context.js';
import { parseAddress, parseHexNumber } from './hex.js';
import type { BreakpointType } from './target.js';

const TYPES: readonly BreakpointType[] = ['sw', 'hw', 'write', 'read', 'access'];

export function handleBreakpoint(ctx: StubContext, body: string): Reply {
  const insert = body[0] === 'Z';
  // Conditions and commands (after ';') were not advertised; ignore them.
  const parts = body.slice(1).split(';')[0].split(',');
  if (parts.length !== 3) return E_INVALID;
  const typeNo = parseHexNumber(parts[0], 0xff);
  const addr = parseAddress(parts[1]);
  const kind = parseHexNumber(parts[2]);
  if (typeNo === null || addr === null || kind === null) return E_INVALID;
  // Unknown types get the empty reply: "not supported", so gdb falls back.
  if (typeNo >= TYPES.length) return '';
  const type = TYPES[typeNo];
  // For breakpoints, `kind` is the instruction length gdb would patch (1 on x86): not a range.
  const length = typeNo <= 1 ? 1 : kind;
  if (length === 0) return E_INVALID;
  const ok = insert ? ctx.target.insertBreakpoint(type, addr, length) : ctx.target.removeBreakpoint(type, addr, length);
  if (ok) ctx.noteBreakpoint(type, addr, length, insert);
  // Removing something that is not there is harmless for gdb; report success.
  return ok || !insert ? 'OK' : E_GENERIC;
}
