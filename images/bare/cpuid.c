/* cpuid: prints the leaves OSv reads (for eyeballing) and asserts the bits
 * any x86-64 machine that runs OSv must have. */
#include "lib.h"

static void show(uint32_t leaf, uint32_t sub) {
	uint32_t r[4];
	cpuid(leaf, sub, r);
	kprintf("cpuid %08x.%u: eax=%08x ebx=%08x ecx=%08x edx=%08x\n", leaf, sub, r[0], r[1], r[2], r[3]);
}

/* A 12-character signature held in three registers, in the order given. */
static void signature(char out[13], uint32_t a, uint32_t b, uint32_t c) {
	memcpy(out, &a, 4);
	memcpy(out + 4, &b, 4);
	memcpy(out + 8, &c, 4);
	out[12] = 0;
}

static void bit(const char *name, uint32_t reg, int b) { check_eq(name, 1u << b, reg & (1u << b)); }

void guest_main(void) {
	uint32_t r[4];
	cpuid(0, 0, r);
	char vendor[13];
	signature(vendor, r[1], r[3], r[2]);
	kprintf("cpuid: vendor \"%s\" max basic leaf 0x%x\n", vendor, r[0]);
	uint32_t max_basic = r[0];
	show(0, 0);
	show(1, 0);
	if (max_basic >= 7) show(7, 0);
	if (max_basic >= 0xd) { show(0xd, 0); show(0xd, 1); }
	cpuid(0x80000000, 0, r);
	uint32_t max_ext = r[0];
	show(0x80000000, 0);
	if (max_ext >= 0x80000001) show(0x80000001, 0);
	if (max_ext >= 0x80000007) show(0x80000007, 0);
	if (max_ext >= 0x80000008) show(0x80000008, 0);
	cpuid(0x40000000, 0, r);
	char hv[13];
	signature(hv, r[1], r[2], r[3]);
	for (int i = 0; i < 12; i++) if (hv[i] && (hv[i] < 32 || hv[i] > 126)) hv[i] = '?';
	kprintf("cpuid: hypervisor leaf 0x40000000 max 0x%x signature \"%s\"\n", r[0], hv);
	if (!memcmp(hv, "KVMKVMKVM\0\0\0", 12)) {
		show(0x40000001, 0);
		cpuid(0x40000001, 0, r);
		kprintf("cpuid: kvmclock %s, clocksource2 %s, pv-eoi %s, stable %s\n",
			r[0] & 1 ? "yes" : "no", r[0] & 8 ? "yes" : "no", r[0] & 64 ? "yes" : "no", r[0] & (1 << 24) ? "yes" : "no");
	}

	cpuid(1, 0, r);
	kprintf("cpuid: x2apic %s, xsave %s, avx %s, rdrand %s, tsc-deadline %s\n",
		r[2] & (1 << 21) ? "yes" : "no", r[2] & (1 << 26) ? "yes" : "no", r[2] & (1 << 28) ? "yes" : "no",
		r[2] & (1 << 30) ? "yes" : "no", r[2] & (1 << 24) ? "yes" : "no");
	/* The minimal leaf 1 EDX set OSv needs. */
	bit("cpuid-fpu", r[3], 0);
	bit("cpuid-pse", r[3], 3);
	bit("cpuid-tsc", r[3], 4);
	bit("cpuid-msr", r[3], 5);
	bit("cpuid-pae", r[3], 6);
	bit("cpuid-cx8", r[3], 8);
	bit("cpuid-apic", r[3], 9);
	bit("cpuid-pge", r[3], 13);
	bit("cpuid-cmov", r[3], 15);
	bit("cpuid-fxsr", r[3], 24);
	bit("cpuid-sse", r[3], 25);
	bit("cpuid-sse2", r[3], 26);
	check(max_ext >= 0x80000001, "cpuid-ext-leaves");
	cpuid(0x80000001, 0, r);
	bit("cpuid-lm", r[3], 29);
	bit("cpuid-nx", r[3], 20);
	bit("cpuid-syscall", r[3], 11);
	if (max_ext >= 0x80000008) {
		cpuid(0x80000008, 0, r);
		kprintf("cpuid: physical address bits %u, linear address bits %u\n", r[0] & 0xff, (r[0] >> 8) & 0xff);
		check((r[0] & 0xff) >= 36 && ((r[0] >> 8) & 0xff) >= 48, "cpuid-address-widths");
	}
	/* And we are in fact in long mode with NX on. */
	check_eq("efer-lma-nxe", EFER_LMA | EFER_NXE, rdmsr(MSR_EFER) & (EFER_LMA | EFER_NXE));
	pass("cpuid");
}
