// Software x87 80-bit extended-precision arithmetic (exact, allocation-free, no BigInt).
// See f80-core.ts for the value/flag conventions: inputs are (se, hi, lo) numbers, results land
// in OUT, and every function returns FSW-positioned flags (IE DE ZE OE UE PE, C0-C3) plus
// FL_NORESULT when an unmasked exception means the destination must not be written.
export * from './f80-core.js';
export * from './f80-arith.js';
export * from './f80-convert.js';
export * from './f80-misc.js';
