/* fpu: x87 and SSE state through fxsave/fxrstor (layout and round trip),
 * XSAVE with XCR0 when CPUID has it, CR0.TS -> #NM, CR0.EM, and CR4.OSFXSR
 * gating SSE (#UD without it). The C code itself uses no SSE registers. */
#include "lib.h"

static uint8_t area1[512] __attribute__((aligned(64)));
static uint8_t area2[512] __attribute__((aligned(64)));
static uint8_t xarea1[8192] __attribute__((aligned(64)));
static uint8_t xarea2[8192] __attribute__((aligned(64)));
static const uint64_t pat_a[4] __attribute__((aligned(32))) = { 0x0123456789abcdefULL, 0xfedcba9876543210ULL, 0x1111111122222222ULL, 0x3333333344444444ULL };
static const uint64_t pat_b[4] __attribute__((aligned(32))) = { 0xa5a5a5a5a5a5a5a5ULL, 0x5a5a5a5a5a5a5a5aULL, 0x7777777788888888ULL, 0x99999999aaaaaaaaULL };
static uint64_t out[4] __attribute__((aligned(32)));

static void fxsave(void *p) { asm volatile("fxsave64 (%0)" :: "r"(p) : "memory"); }
static void fxrstor(void *p) { asm volatile("fxrstor64 (%0)" :: "r"(p) : "memory"); }
static uint16_t u16(const uint8_t *p) { return *(const uint16_t *)p; }
static uint32_t u32(const uint8_t *p) { return *(const uint32_t *)p; }
static uint64_t u64(const uint8_t *p) { return *(const uint64_t *)p; }

static void xsetbv(uint32_t idx, uint64_t v) { asm volatile("xsetbv" :: "c"(idx), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))); }
static uint64_t xgetbv(uint32_t idx) { uint32_t lo, hi; asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(idx)); return ((uint64_t)hi << 32) | lo; }

static void test_fxsave(void) {
	check_eq("cr4-osfxsr", CR4_OSFXSR, READ_CR(4) & CR4_OSFXSR);
	memset(area1, 0, sizeof(area1));
	asm volatile("fninit\n\tfld1\n\tfldpi" ::: "memory");
	asm volatile("movdqu (%0), %%xmm0\n\tmovdqu 16(%0), %%xmm7\n\tmovdqu (%1), %%xmm15" :: "r"(pat_a), "r"(pat_b) : "memory");
	uint32_t mxcsr = 0x1f80 | 0x6000;  /* round toward zero */
	asm volatile("ldmxcsr %0" :: "m"(mxcsr));
	fxsave(area1);
	check_eq("fxsave-fcw", 0x037f, u16(area1 + 0));
	check_eq("fxsave-fsw-top", 6, (u16(area1 + 2) >> 11) & 7);
	check_eq("fxsave-ftw-abridged", 0xc0, area1[4]);
	check_eq("fxsave-mxcsr", 0x7f80, u32(area1 + 24));
	check_eq("fxsave-st0-pi-mantissa", 0xc90fdaa22168c235ULL, u64(area1 + 32));
	check_eq("fxsave-st0-pi-exponent", 0x4000, u16(area1 + 40));
	check_eq("fxsave-st1-one", 0x8000000000000000ULL, u64(area1 + 48));
	check_eq("fxsave-xmm0", pat_a[0], u64(area1 + 160));
	check_eq("fxsave-xmm0-high", pat_a[1], u64(area1 + 168));
	check_eq("fxsave-xmm7", pat_a[2], u64(area1 + 160 + 7 * 16));
	check_eq("fxsave-xmm15", pat_b[0], u64(area1 + 160 + 15 * 16));

	/* Clobber everything, restore, and save again: identical state. */
	uint32_t def = 0x1f80;
	asm volatile("fninit\n\tpxor %%xmm0, %%xmm0\n\tpxor %%xmm15, %%xmm15\n\tldmxcsr %0" :: "m"(def) : "memory");
	fxrstor(area1);
	memset(area2, 0, sizeof(area2));  /* reserved bytes are left untouched */
	fxsave(area2);
	check(!memcmp(area1, area2, 416), "fxrstor-fxsave-roundtrip");
	asm volatile("movdqu %%xmm0, (%0)" :: "r"(out) : "memory");
	check(out[0] == pat_a[0] && out[1] == pat_a[1], "fxrstor-xmm0");
	uint8_t st0[10];
	asm volatile("fstpt (%0)" :: "r"(st0) : "memory");
	check_eq("fxrstor-x87-st0-pi", 0xc90fdaa22168c235ULL, u64(st0));

	/* x87 and SSE arithmetic still work after the round trip. */
	int32_t a = 3, b = 4, r = 0;
	asm volatile("fildl %1\n\tfimull %2\n\tfistpl %0" : "=m"(r) : "m"(a), "m"(b));
	check_eq("x87-arith", 12, (uint64_t)r);
	asm volatile("movdqu (%0), %%xmm1\n\tmovdqu (%1), %%xmm2\n\tpaddq %%xmm2, %%xmm1\n\tmovdqu %%xmm1, (%2)"
		     :: "r"(pat_a), "r"(pat_b), "r"(out) : "memory");
	check_eq("sse-paddq", pat_a[0] + pat_b[0], out[0]);
	asm volatile("ldmxcsr %0" :: "m"(def));
}

static void test_xsave(void) {
	uint32_t r[4];
	cpuid(1, 0, r);
	if (!(r[2] & (1 << 26))) { kprintf("SKIP xsave (CPUID.1:ECX bit 26 clear)\n"); return; }
	WRITE_CR(4, READ_CR(4) | CR4_OSXSAVE);
	cpuid(1, 0, r);
	check_eq("cpuid-osxsave-reflects-cr4", 1u << 27, r[2] & (1u << 27));
	check_eq("xcr0-reset-value", 1, xgetbv(0));
	cpuid(0xd, 0, r);
	uint64_t supported = ((uint64_t)r[3] << 32) | r[0];
	kprintf("fpu: xsave supported xcr0 mask 0x%lx, max size %u\n", supported, r[2]);
	/* AVX without SSE is never a valid XCR0. */
	TRY("xsetbv", , "c"(0), "a"(5), "d"(0));
	check(last_fault.taken && last_fault.vector == 13, "xsetbv-invalid-gp");
	uint64_t xcr0 = (supported & 4) ? 7 : 3;
	xsetbv(0, xcr0);
	check_eq("xsetbv-xgetbv", xcr0, xgetbv(0));
	cpuid(0xd, 0, r);
	kprintf("fpu: xsave size for xcr0 0x%lx: %u\n", xcr0, r[1]);
	check(r[1] >= 576 && r[1] <= sizeof(xarea1), "xsave-size");

	asm volatile("movdqu (%0), %%xmm0" :: "r"(pat_a) : "memory");
	if (xcr0 & 4) asm volatile("vmovdqu (%0), %%ymm3" :: "r"(pat_b) : "memory");
	memset(xarea1, 0, sizeof(xarea1));
	asm volatile("xsave (%0)" :: "r"(xarea1), "a"(0xffffffff), "d"(0xffffffff) : "memory");
	check_eq("xsave-xmm0", pat_a[0], u64(xarea1 + 160));
	check_eq("xsave-xstate-bv-sse", 2, u64(xarea1 + 512) & 2);
	if (xcr0 & 4) {
		cpuid(0xd, 2, r);
		check_eq("xsave-ymm3-high", pat_b[2], u64(xarea1 + r[1] + 3 * 16));
	}
	asm volatile("pxor %%xmm0, %%xmm0" ::: "memory");
	if (xcr0 & 4) asm volatile("vzeroall" ::: "memory");
	asm volatile("xrstor (%0)" :: "r"(xarea1), "a"(0xffffffff), "d"(0xffffffff) : "memory");
	asm volatile("movdqu %%xmm0, (%0)" :: "r"(out) : "memory");
	check(out[0] == pat_a[0] && out[1] == pat_a[1], "xrstor-xmm0");
	if (xcr0 & 4) {
		asm volatile("vmovdqu %%ymm3, (%0)" :: "r"(out) : "memory");
		check(!memcmp(out, pat_b, 32), "xrstor-ymm3");
		asm volatile("vzeroupper" ::: "memory");
	}
	memset(xarea2, 0, sizeof(xarea2));
	asm volatile("xsave (%0)" :: "r"(xarea2), "a"(0xffffffff), "d"(0xffffffff) : "memory");
	check(!memcmp(xarea1 + 160, xarea2 + 160, 256), "xsave-roundtrip-xmm");
}

static void test_traps(void) {
	/* CR0.TS: the first x87/SSE instruction raises #NM; clts clears it. */
	WRITE_CR(0, READ_CR(0) | CR0_TS);
	TRY("movdqu (%0), %%xmm0", , "r"(pat_a));
	check(last_fault.taken && last_fault.vector == 7, "ts-sse-nm");
	TRY("fld1", , );
	check(last_fault.taken && last_fault.vector == 7, "ts-x87-nm");
	TRY("fxsave64 (%0)", , "r"(area2));
	check(last_fault.taken && last_fault.vector == 7, "ts-fxsave-nm");
	asm volatile("clts");
	TRY("movdqu (%0), %%xmm0", , "r"(pat_a));
	check(!last_fault.taken, "clts-sse-ok");

	/* CR0.EM: x87 -> #NM, SSE -> #UD. */
	WRITE_CR(0, READ_CR(0) | CR0_EM);
	TRY("fld1", , );
	check(last_fault.taken && last_fault.vector == 7, "em-x87-nm");
	TRY("movdqu (%0), %%xmm0", , "r"(pat_a));
	check(last_fault.taken && last_fault.vector == 6, "em-sse-ud");
	WRITE_CR(0, READ_CR(0) & ~(uint64_t)CR0_EM);

	/* CR4.OSFXSR clear: SSE is #UD; x87 unaffected. */
	WRITE_CR(4, READ_CR(4) & ~(uint64_t)CR4_OSFXSR);
	TRY("movdqu (%0), %%xmm0", , "r"(pat_a));
	check(last_fault.taken && last_fault.vector == 6, "no-osfxsr-sse-ud");
	TRY("fninit\n\tfld1\n\tfstp %%st(0)", , );
	check(!last_fault.taken, "no-osfxsr-x87-ok");
	WRITE_CR(4, READ_CR(4) | CR4_OSFXSR);
	TRY("movdqu (%0), %%xmm0", , "r"(pat_a));
	check(!last_fault.taken, "osfxsr-sse-ok");
}

void guest_main(void) {
	test_fxsave();
	test_xsave();
	test_traps();
	pass("fpu");
}
