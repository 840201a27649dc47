// Malformed or unsupported debug information: one readable line, never a stack of RangeErrors.

export class DwarfError extends Error {
  override name = 'DwarfError';
}

/** Anything thrown while walking untrusted bytes becomes a DwarfError. */
export function asDwarfError(e: unknown): DwarfError {
  if (e instanceof DwarfError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new DwarfError(`bad DWARF: ${msg.split('\n')[0]}`);
}
