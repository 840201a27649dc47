// What spin-waiting costs in guest time. Guest time is the instruction count (2^shift ns each), so a
// guest that spins until its clock passes a deadline would pay for every nanosecond with an emulated
// instruction. Instructions that take far longer than one cycle on hardware are charged their real
// latency instead, so spin-waits reach their deadlines in far fewer instructions. The charge depends only
// on the instruction stream: runs stay deterministic and reversible (docs/waiting.md).
//
// PAUSE: 140 cycles on Intel Skylake-family and later client/server cores (Intel raised it from ~10 so
// that spinning hyper-threads yield more), ~40 on Cascade Lake, ~65 on AMD Zen 2-4. The default machine
// is a 1 GHz, one-instruction-per-cycle processor (1 ns per instruction), so 100 cycles is 100 ns.
//
// TSC reads (rdtsc, rdtscp, rdmsr of the TSC): ~25 cycles on Intel since Skylake, ~35-40 on AMD Zen. OSv reads
// its clock (kvmclock: pvclock + rdtsc, ~40 instructions) in tight loops (tst-clock's 15-s uptime loop), so the
// read's own latency is a large part of such a loop on hardware. The value returned is the time at the read;
// the latency is charged after it.
// `hlt` needs no charge: with every vCPU halted, time already jumps to the next timer deadline.

/** Default guest ns a PAUSE takes (--pause-cost). */
export const DEFAULT_PAUSE_NS = 100;
/** Default guest ns a TSC read takes (--rdtsc-cost). */
export const DEFAULT_TSC_READ_NS = 25;
/** Largest cost: 1 ms, far beyond any processor, still a deterministic charge. */
export const MAX_WAIT_COST_NS = 1_000_000;

/** Checks a cost (`what`: "pause", "rdtsc"): a whole number of ns in [0, MAX_WAIT_COST_NS]; an error message or null. */
export function waitCostError(what: string, ns: number): string | null {
  return Number.isInteger(ns) && ns >= 0 && ns <= MAX_WAIT_COST_NS ? null : `bad ${what} cost ${ns}: use 0 to ${MAX_WAIT_COST_NS} ns`;
}

/**
 * Guest ns an instruction costing `ns` adds beyond the time every instruction already gets: it lasts `ns`
 * in all, never less than an ordinary instruction (with --icount-shift, 2^shift ns).
 */
export function extraNs(ns: number, nsPerInsn: number): number {
  return Math.max(0, ns - nsPerInsn);
}
