// Memory packets: m (read, hex), M (write, hex), X (write, binary).

import { E_FAULT, E_INVALID, type Reply, type StubContext } from './context.js';
import { bytesToHex, hexToBytes, parseAddress, parseHexNumber } from './hex.js';

const ADDRESS_END = 1n << 64n;

/** Splits "ADDR,LEN" (the part before ':' for writes); null when malformed. */
function addrLen(s: string): { addr: bigint; len: number } | null {
  const comma = s.indexOf(',');
  if (comma < 0) return null;
  const addr = parseAddress(s.slice(0, comma));
  const len = parseHexNumber(s.slice(comma + 1));
  if (addr === null || len === null) return null;
  return { addr, len };
}

export function handleMemory(ctx: StubContext, body: string): Reply {
  const cpu = ctx.threads.memoryCpu(ctx.gThread);
  switch (body[0]) {
    case 'm': {
      const a = addrLen(body.slice(1));
      if (a === null) return E_INVALID;
      if (a.len === 0) return '';
      // An absurd length is clamped to what fits in one reply; gdb asks again for the rest.
      let len = Math.min(a.len, Math.floor((ctx.packetSize - 4) / 2));
      if (a.addr + BigInt(len) > ADDRESS_END) len = Number(ADDRESS_END - a.addr);
      const data = ctx.target.readMemory(cpu, a.addr, len);
      if (data === null || data.length === 0) return E_FAULT;
      return bytesToHex(data.length > len ? data.subarray(0, len) : data);
    }
    case 'M':
    case 'X': {
      const colon = body.indexOf(':');
      if (colon < 0) return E_INVALID;
      const a = addrLen(body.slice(1, colon));
      if (a === null) return E_INVALID;
      const payload = body.slice(colon + 1);
      const data = body[0] === 'M' ? hexToBytes(payload) : Buffer.from(payload, 'latin1');
      if (data === null || data.length !== a.len) return E_INVALID;
      // gdb probes for X support with a zero-length write.
      if (a.len === 0) return 'OK';
      if (a.addr + BigInt(a.len) > ADDRESS_END) return E_FAULT;
      return ctx.target.writeMemory(cpu, a.addr, data) ? 'OK' : E_FAULT;
    }
  }
  return '';
}
