// The CPU vendor model: every place where Intel and AMD processors observably differ for code osvemu runs,
// named once. A vCPU carries one model (Cpu.vendor); CPUID advertises the same vendor, so a guest that
// checks the vendor string sees behaviour to match. docs/cpu-vendors.md lists each behaviour, the forms it
// affects and the evidence (SDM/APM section, host observation). Every check of these fields sits in a rare
// path (a fault, an unusual encoding, an instruction OSv does not use in its loops), never in the common
// path of an ordinary instruction.

export type CpuVendorName = 'intel' | 'amd';

export const CPU_VENDOR_NAMES: readonly CpuVendorName[] = ['intel', 'amd'];

export interface CpuVendor {
  readonly name: CpuVendorName;
  /** CPUID leaf 0 EBX:EDX:ECX. */
  readonly vendorString: string;
  /** CPUID leaf 1 EAX: stepping, model, family (with the extended fields). */
  readonly signature: number;
  /** F3 REX.B 90: Intel executes PAUSE (the REX prefix is ignored), AMD XCHG r8d/r8, rAX. */
  readonly pauseIgnoresRexB: boolean;
  /**
   * CALL to a non-canonical 64-bit target: Intel writes the return address below RSP, then raises #GP(0)
   * with RSP unchanged; AMD raises #GP(0) before the write.
   */
  readonly callNonCanonicalWritesReturn: boolean;
  /**
   * A fault in a later iteration of REPE/REPNE CMPS/SCAS: Intel's fault frame holds the status flags the
   * instruction started with (RCX/RSI/RDI do show the completed iterations); AMD's the flags of the last
   * completed comparison.
   */
  readonly repCompareFaultKeepsFlags: boolean;
  /**
   * 10-byte x87 stores (FSTP m80, FBSTP): Intel writes the 8-byte significand and then the 2-byte exponent,
   * each checked on its own, so a page fault on the second part leaves the first written; AMD checks all
   * ten bytes first.
   */
  readonly x87TenByteStoreSplit: boolean;
  /**
   * x87 stores whose conversion raises an unmasked exception that suppresses the store (invalid operation,
   * stack fault, ...): Intel signals it without touching memory (no #PF); AMD checks the destination
   * first, so an unwritable destination gives #PF.
   */
  readonly x87StoreExceptionBeforePageFault: boolean;
  /** MOVD/MOVQ/MOVNTQ from an MMX register to memory that page-faults: Intel has already set TOP = 0. */
  readonly mmxStoreFaultTopZero: boolean;
  /**
   * MASKMOVDQU to an unwritable destination: Intel checks the high eight bytes first and reports CR2 at the
   * first selected byte of the faulting half; AMD checks all sixteen bytes and reports their first faulting
   * byte.
   */
  readonly maskmovHalves: boolean;
  /**
   * DPPS: lane k of the result is (p[k^1] + p[k]) + (p[k^3] + p[k^2]) on Intel (which NaN propagates depends
   * on the lane), (p0 + p1) + (p2 + p3) in every lane on AMD. Finite results are the same.
   */
  readonly dppsLaneOrder: boolean;
  /**
   * What the SDM/APM call undefined (flags after mul/div/bit scans/shifts, 16-bit bswap, ...): osvemu
   * produces what an AMD Zen host produces (src/cpu/ops/undef.ts) for both models; 'measured' says the
   * values were checked against a host of this vendor.
   */
  readonly undefinedResults: 'measured' | 'amd-values';
}

export const INTEL: CpuVendor = Object.freeze({
  name: 'intel',
  vendorString: 'GenuineIntel',
  signature: 0x000506e3, // family 6, model 0x5e (Skylake), stepping 3
  pauseIgnoresRexB: true,
  callNonCanonicalWritesReturn: true,
  repCompareFaultKeepsFlags: true,
  x87TenByteStoreSplit: true,
  x87StoreExceptionBeforePageFault: true,
  mmxStoreFaultTopZero: true,
  maskmovHalves: true,
  dppsLaneOrder: true,
  undefinedResults: 'amd-values',
});

export const AMD: CpuVendor = Object.freeze({
  name: 'amd',
  vendorString: 'AuthenticAMD',
  signature: 0x00a00f11, // family 0x19 (0xf + 0xa), model 1, stepping 1: EPYC (Zen 3)
  pauseIgnoresRexB: false,
  callNonCanonicalWritesReturn: false,
  repCompareFaultKeepsFlags: false,
  x87TenByteStoreSplit: false,
  x87StoreExceptionBeforePageFault: false,
  mmxStoreFaultTopZero: false,
  maskmovHalves: false,
  dppsLaneOrder: false,
  undefinedResults: 'measured',
});

export const DEFAULT_VENDOR: CpuVendor = INTEL;

export function cpuVendor(name: CpuVendorName): CpuVendor {
  return name === 'amd' ? AMD : INTEL;
}

/** Parses a user's vendor name (intel, amd, GenuineIntel, AuthenticAMD; any case); null when unknown. */
export function parseCpuVendor(s: string): CpuVendorName | null {
  const v = s.trim().toLowerCase();
  if (v === 'intel' || v === 'genuineintel') return 'intel';
  if (v === 'amd' || v === 'authenticamd') return 'amd';
  return null;
}
