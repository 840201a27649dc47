// Object shapes fixed before hot code sees them. V8 stores a number field as a small integer (Smi) until
// it first receives a value outside 31 bits or a non-integer (a kernel address above 1 GiB, a double result
// of address arithmetic); that widening deprecates the object's map and deoptimises every optimised
// function that saw the old one — during a cold boot, nearly every instruction handler, twice. Fields that
// will hold such values are widened here, once, while the object is being constructed.

/** Makes each named number field of `obj` a double field (its value is unchanged); private fields too. */
export function doubleFields(obj: object, ...names: string[]): void {
  const o = obj as Record<string, unknown>;
  for (const n of names) {
    const v = o[n];
    if (typeof v !== 'number') throw new Error(`doubleFields: ${n} is not a number field`);
    o[n] = 0.5;
    o[n] = v;
  }
}

/**
 * Makes each named boolean field of `obj` mutable in V8's eyes (its value is unchanged). A field that has kept
 * its first value is folded into optimised code as a constant; its first change then deoptimises every function
 * that folded it (the first interrupt request deoptimised the run loop, which reads Exec.eventPending).
 */
export function mutableFlags(obj: object, ...names: string[]): void {
  const o = obj as Record<string, unknown>;
  for (const n of names) {
    const v = o[n];
    if (typeof v !== 'boolean') throw new Error(`mutableFlags: ${n} is not a boolean field`);
    o[n] = !v;
    o[n] = v;
  }
}

/**
 * Makes each named number field of `obj` mutable in V8's eyes (its value is unchanged): as mutableFlags, for a
 * counter optimised code reads (CodeCache.gen: its first bump made V8 abort its first optimisation of the run loop,
 * "dependency change", ~30 ms of a cold boot in the baseline tier).
 */
export function mutableNumbers(obj: object, ...names: string[]): void {
  const o = obj as Record<string, unknown>;
  for (const n of names) {
    const v = o[n];
    if (typeof v !== 'number') throw new Error(`mutableNumbers: ${n} is not a number field`);
    o[n] = v + 1;
    o[n] = v;
  }
}
