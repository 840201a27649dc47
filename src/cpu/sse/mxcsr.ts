// MXCSR layout (Intel SDM vol. 1, 10.2.3). Exception flag bits 0-5 line up with their mask bits 7-12.

export const MX_IE = 1 << 0; // invalid operation
export const MX_DE = 1 << 1; // denormal operand
export const MX_ZE = 1 << 2; // divide by zero
export const MX_OE = 1 << 3; // overflow
export const MX_UE = 1 << 4; // underflow
export const MX_PE = 1 << 5; // precision (inexact)
export const MX_FLAGS = 0x3f;
export const MX_DAZ = 1 << 6;
export const MX_MASK_SHIFT = 7;
export const MX_MASKS = 0x3f << MX_MASK_SHIFT;
export const MX_UM = MX_UE << MX_MASK_SHIFT;
export const MX_OM = MX_OE << MX_MASK_SHIFT;
export const MX_RC_SHIFT = 13;
export const MX_RC = 3 << MX_RC_SHIFT;
export const MX_FTZ = 1 << 15;
/** Power-on / after-reset value: all exceptions masked, round to nearest. */
export const MXCSR_DEFAULT = 0x1f80;

// Rounding-control values (MXCSR.RC).
export const RC_NEAREST = 0;
export const RC_DOWN = 1;
export const RC_UP = 2;
export const RC_ZERO = 3;

/** Exception flags among `flags` whose mask bit is clear in `mxcsr`: these raise #XM. */
export function unmaskedExceptions(mxcsr: number, flags: number): number {
  return flags & ~(mxcsr >>> MX_MASK_SHIFT) & MX_FLAGS;
}

/** Pre-computation exceptions (checked on all lanes before any result is produced). */
export const MX_PRE = MX_IE | MX_DE | MX_ZE;

/**
 * The flags an instruction records in MXCSR, given the union of what its lanes raised: if a pre-computation
 * exception (IE, DE, ZE) of any lane is unmasked the instruction faults before computing, so only the
 * pre-computation flags are recorded. If unmaskedExceptions(mxcsr, result) is then nonzero the instruction
 * raises #XM and writes no destination (verified against the host CPU).
 */
export function recordedExceptions(mxcsr: number, flags: number): number {
  const pre = flags & MX_PRE;
  return unmaskedExceptions(mxcsr, pre) !== 0 ? pre : flags;
}
