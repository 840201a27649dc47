/* clockspin: loops bound by the clock alone, as OSv's tst-pin, tst-pthread-clock and tst-clock spin: a kvmclock
 * (pvclock) read - lfence; rdtsc; minus tsc_timestamp; shifted by tsc_shift; times tsc_to_system_mul, >> 32; plus
 * system_time - until a deadline. osvemu's loop fast-forward (src/cpu/loop-skip-clock.ts) jumps over those whose
 * scale is exact (mul 2^31, shift 1: the TSC in ns, as osvemu's kvmclock publishes it), including one that also
 * checks every read against the previous one (tst-clock's `now >= prev`). It must run in full the one with an
 * inexact scale (0.8), one that folds every read into a running XOR, and a bare rdtsc loop whose flags come from
 * the TSC at every trace boundary. "unskippable" on the command line runs only the inexact and XOR loops;
 * "tsc-wrap" runs only an rdtsc loop across the TSC's 2^32 (meant for --icount-shift 10: 4 M instructions).
 * Each loop reports its own figures, so runs with the fast-forward on and off print the same lines; the checks
 * hold on hardware. */
#include "lib.h"

struct pvclock_vcpu_time_info {
	uint32_t version;
	uint32_t pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time;
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags;
	uint8_t pad[2];
};

static uint64_t rdtsc(void) { uint32_t lo, hi; asm volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) :: "memory"); return ((uint64_t)hi << 32) | lo; }

static inline uint64_t scale_delta(uint64_t delta, uint32_t mul_frac, int shift) {
	if (shift < 0)
		delta >>= -shift;
	else
		delta <<= shift;
	return (uint64_t)(((unsigned __int128)delta * mul_frac) >> 32);
}

/* OSv's pvclock::system_time (arch/x64/pvclock-abi.hh, core/pvclock.cc). */
__attribute__((noipa)) uint64_t system_time(volatile struct pvclock_vcpu_time_info *ti) {
	uint32_t v;
	uint64_t r;
	do {
		v = ti->version;
		asm volatile("" ::: "memory");
		uint64_t tsc = rdtsc();
		r = ti->system_time + scale_delta(tsc - ti->tsc_timestamp, ti->tsc_to_system_mul, ti->tsc_shift);
		asm volatile("" ::: "memory");
	} while ((v & 1) || v != ti->version);
	return r;
}

static volatile struct pvclock_vcpu_time_info exact, inexact;
static uint64_t boot_time;

/* osv::clock::uptime::now(): through a call, as the kernel's clock object is. */
__attribute__((noipa)) uint64_t uptime(volatile struct pvclock_vcpu_time_info *ti) { return system_time(ti) - boot_time; }

static int has(const char *word) {
	size_t n = 0;
	while (word[n])
		n++;
	for (const char *c = boot_info.cmdline; *c; c++)
		if (!strncmp(c, word, n))
			return 1;
	return 0;
}

void guest_main(void) {
	uint64_t t0, t;
	if (has("tsc-wrap")) {
		/* eax wraps and edx moves on at 2^32: the jump must stop short of it and the crossing run for real. The
		 * flags are set before the rdtsc from a constant, so the jump is made right after it, with eax live; the
		 * previous value is kept and compared (a jump across the wrap would leave a value 2^32 short). */
		uint64_t back = 0;
		t0 = t = rdtsc();
		asm volatile("1: mov %%rdx, %%r8\n\t"
			     "test %%ecx, %%ecx\n\t"
			     "lfence\n\t"
			     "rdtsc\n\t"
			     "shl $32, %%rdx\n\t"
			     "mov %%eax, %%eax\n\t"
			     "or %%rax, %%rdx\n\t"
			     "cmp %%r8, %%rdx\n\t"
			     "adc $0, %1\n\t"
			     "cmp %2, %%rdx\n\t"
			     "jb 1b"
			     : "+d"(t), "+r"(back) : "r"((1ul << 32) + 100000000), "c"(0) : "rax", "r8", "cc");
		kprintf("INFO clockspin: tsc-wrap loop from %lu to %lu\n", t0, t);
		check(t >= (1ul << 32) + 100000000, "tsc-wrap-loop-reaches-deadline");
		check_eq("tsc-wrap-loop-never-goes-back", 0, back);
		pass("clockspin");
		return;
	}
	int all = !has("unskippable");
	exact.version = inexact.version = 2;
	exact.tsc_timestamp = inexact.tsc_timestamp = rdtsc();
	exact.system_time = inexact.system_time = 1000000;
	exact.tsc_to_system_mul = 1u << 31;
	exact.tsc_shift = 1;
	inexact.tsc_to_system_mul = 0xcccccccdu; /* 0.8: TSC ticks to ns on a 1.25-GHz TSC */
	inexact.tsc_shift = 0;
	boot_time = 1000000;

	if (all) {
		/* tst-pin's loop: `while (uptime::now() < now + 1000ms);` (3 ms here). */
		t0 = uptime(&exact);
		while ((t = uptime(&exact)) < t0 + 3000000)
			;
		kprintf("INFO clockspin: exact-scale loop from %lu to %lu ns\n", t0, t);
		check(t >= t0 + 3000000, "exact-loop-reaches-deadline");

		/* tst-clock's loop: every read checked against the previous one. */
		uint64_t prev = uptime(&exact), back = 0;
		t0 = prev;
		while ((t = uptime(&exact)) < t0 + 2000000) {
			if (t < prev)
				back++;
			prev = t;
		}
		kprintf("INFO clockspin: monotonic loop from %lu to %lu ns, prev %lu\n", t0, t, prev);
		check_eq("monotonic-loop-never-goes-back", 0, back);

		/* The bare TSC. */
		t0 = rdtsc();
		while ((t = rdtsc()) - t0 < 1000000)
			;
		kprintf("INFO clockspin: rdtsc loop from %lu to %lu\n", t0, t);
		check(t - t0 >= 1000000, "rdtsc-loop-reaches-deadline");
	}

	/* An inexact scale: floor(delta * 0.8) does not move by the same amount every iteration. */
	t0 = uptime(&inexact);
	while ((t = uptime(&inexact)) < t0 + 400000)
		;
	kprintf("INFO clockspin: inexact-scale loop from %lu to %lu\n", t0, t);
	check(t >= t0 + 400000, "inexact-loop-reaches-deadline");

	/* Every read folded into a value the loop keeps: not affine in the TSC. */
	uint64_t mix = 0;
	t0 = uptime(&exact);
	while ((t = uptime(&exact)) < t0 + 400000)
		mix ^= t;
	kprintf("INFO clockspin: xor loop from %lu to %lu, mix %lx\n", t0, t, mix);
	check(t >= t0 + 400000, "xor-loop-reaches-deadline");
	pass("clockspin");

}
