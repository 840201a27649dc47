/* mmxspin: counted loops that osvemu's loop fast-forward (src/cpu/loop-skip.ts) jumps over although their
 * only trace boundary carries the counter's flags (`sub $1; jne` closes the loop: loop-skip-flags.ts), one of
 * them with MMX instructions in it as OSv's tst-mmx-fpu spins (loop-skip-mmx.ts), one calling through a PLT
 * stub as tst-condvar calls condvar::wake_all() on a condvar nobody waits on; and two it must run in full:
 * one whose MMX register accumulates, one that reads the carry at its head. Each reports its result and how
 * long it took, so runs with the fast-forward on and off print the same lines; the checks hold on hardware. */
#include "lib.h"

#define N 500000ul

static uint64_t rdtsc(void) { uint32_t lo, hi; asm volatile("rdtsc" : "=a"(lo), "=d"(hi)); return ((uint64_t)hi << 32) | lo; }

/* condvar::wake_all() with no waiter: one load, nothing to do. Reached through a PLT-style stub (jmp *slot). */
struct cv { void *oldest; } cv;
static unsigned long woken;
__attribute__((noipa, used)) static void wake_all(struct cv *c) {
	if (!c->oldest)
		return;
	c->oldest = 0;
	woken++;
}
void (*volatile wake_all_slot)(struct cv *) = wake_all;
asm(".pushsection .text\n"
    "wake_all_plt: jmp *wake_all_slot(%rip)\n"
    ".popsection");

void guest_main(void) {
	uint64_t left = N, out = 0, acc = 0, t0, t1;

	/* tst-mmx-fpu's loop: the same MMX values every iteration. */
	t0 = rdtsc();
	asm volatile("1: mov $0x0fffffff, %%rdx\n\t"
		     "movq %%rdx, %%mm0\n\t"
		     "movq %%rdx, %%mm1\n\t"
		     "paddsb %%mm0, %%mm1\n\t"
		     "sub $1, %0\n\t"
		     "jne 1b\n\t"
		     "movq %%mm1, %1\n\t"
		     "emms"
		     : "+r"(left), "=r"(out) :: "rdx", "memory", "cc");
	t1 = rdtsc();
	kprintf("INFO mmxspin: mmx loop of %lu in %lu ns\n", N, t1 - t0);
	check_eq("mmx-loop-runs-out", 0, left);
	check_eq("mmx-paddsb-saturates", 0x1efefefeul, out);

	/* The plainest counted loop: its one instruction before the branch writes every flag. */
	left = N;
	t0 = rdtsc();
	asm volatile("1: sub $1, %0\n\tjne 1b" : "+r"(left) :: "cc");
	t1 = rdtsc();
	kprintf("INFO mmxspin: empty loop of %lu in %lu ns\n", N, t1 - t0);
	check_eq("empty-loop-runs-out", 0, left);

	/* tst-condvar's unwaited wake_all() loop. */
	left = N;
	t0 = rdtsc();
	asm volatile("1: mov %1, %%rdi\n\t"
		     "call wake_all_plt\n\t"
		     "sub $1, %k0\n\t"
		     "jne 1b"
		     : "+r"(left) : "r"(&cv)
		     : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory", "cc");
	t1 = rdtsc();
	kprintf("INFO mmxspin: wake_all loop of %lu in %lu ns\n", N, t1 - t0);
	check_eq("wake-all-loop-runs-out", 0, left);
	check_eq("wake-all-woke-nobody", 0, woken);

	/* The same calls counted up to a bound in memory, as tst-condvar's threads loop (`cmp bound,%ebx; jl`). */
	static volatile int bound = N;
	uint32_t up = 0;
	t0 = rdtsc();
	asm volatile("1: mov %2, %%rdi\n\t"
		     "add $1, %0\n\t"
		     "call wake_all_plt\n\t"
		     "cmp (%3), %0\n\t"
		     "jl 1b"
		     : "+b"(up), "+m"(bound) : "r"(&cv), "r"(&bound)
		     : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory", "cc");
	t1 = rdtsc();
	kprintf("INFO mmxspin: counted wake_all loop of %lu in %lu ns\n", N, t1 - t0);
	check_eq("counted-loop-reaches-bound", N, up);

	/* A signed test that flips where the counter crosses 2^31, not where it meets the bound. */
	up = 0x7fff0000u;
	asm volatile("1: add $1, %0\n\t"
		     "cmp $16, %0\n\t"
		     "jg 1b"
		     : "+r"(up) :: "cc");
	check_eq("signed-loop-stops-at-2^31", 0x80000000u, up);

	/* An MMX register that grows: not skippable, every iteration counts. */
	left = N / 8;
	asm volatile("mov $0x0101010101010101, %%rdx\n\t"
		     "movq %%rdx, %%mm0\n\t"
		     "pxor %%mm1, %%mm1\n\t"
		     "1: paddb %%mm0, %%mm1\n\t"
		     "sub $1, %0\n\t"
		     "jne 1b\n\t"
		     "movq %%mm1, %1\n\t"
		     "emms"
		     : "+r"(left), "=r"(out) :: "rdx", "memory", "cc");
	check_eq("mmx-accumulates", 0x2424242424242424ul, out); /* 62500 mod 256 = 0x24 in each byte */

	/* adc reads the carry the previous iteration's sub left: the flags at the head are live. */
	left = N / 8;
	asm volatile("clc\n"
		     "1: adc $0, %1\n\t"
		     "sub $1, %0\n\t"
		     "jne 1b"
		     : "+r"(left), "+r"(acc) :: "cc");
	check_eq("adc-loop-counts-no-carry", 0, acc);
	pass("mmxspin");
}
