// Knowledge parsed once per kernel image (symbols, DWARF, call frame info), kept as long as the bytes are.

/** `load` memoised per kernel; a load that throws or returns null is remembered as null. */
export function perKernel<T>(load: (kernel: Uint8Array) => T | null): (kernel: Uint8Array) => T | null {
  const cache = new WeakMap<Uint8Array, T | null>();
  return (kernel) => {
    if (!cache.has(kernel)) {
      let v: T | null = null;
      try {
        v = load(kernel);
      } catch {
        v = null;
      }
      cache.set(kernel, v);
    }
    return cache.get(kernel)!;
  };
}
