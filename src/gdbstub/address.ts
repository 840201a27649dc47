// Parsing of the `--gdb [HOST:]PORT` option (and `-s` = `--gdb 1234`).

export interface GdbAddress {
  host: string;
  port: number;
}

/** Loopback by default: a debugger port must never be open to the network unless asked for. */
export const DEFAULT_GDB_HOST = '127.0.0.1';
export const DEFAULT_GDB_PORT = 1234;

/**
 * Accepts "PORT", "HOST:PORT", "[v6addr]:PORT", and QEMU's "tcp::PORT" / "tcp:HOST:PORT".
 * Throws an Error with a one-line message when malformed.
 */
export function parseGdbAddress(spec: string): GdbAddress {
  let s = spec.trim();
  if (s.startsWith('tcp:')) s = s.slice(4);
  let host = DEFAULT_GDB_HOST;
  let portText = s;
  const bracket = /^\[([^\]]+)\]:(.*)$/.exec(s);
  if (bracket) {
    host = bracket[1];
    portText = bracket[2];
  } else {
    const colon = s.lastIndexOf(':');
    if (colon >= 0) {
      if (colon > 0) host = s.slice(0, colon);
      portText = s.slice(colon + 1);
    }
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    throw new Error(`--gdb: invalid port in '${spec}' (expected [HOST:]PORT)`);
  }
  if (host.includes(':') && !bracket) throw new Error(`--gdb: invalid host in '${spec}' (use [addr]:PORT for IPv6)`);
  return { host, port: Number(portText) };
}
