/* highmem: RAM above 4 GiB (QEMU pc with -m 4G or more: 3 GiB below the PCI hole, the rest
 * from 4 GiB). Prints the memory map, maps the RAM above 4 GiB with 2 MiB pages, and writes and
 * reads it: plain stores at its first and last bytes and every 64 MiB, string copies between low
 * and high RAM, and code run from there. Without RAM above 4 GiB it says SKIP and passes. */
#include "lib.h"

#define GiB (1ULL << 30)
#define MiB (1ULL << 20)
#define PTE_P 1
#define PTE_W 2
#define PTE_PS 0x80

static uint64_t pattern(uint64_t a) { return a * 0x9e3779b97f4a7c15ULL ^ 0x0123456789abcdefULL; }

/* Identity-maps [lo, hi) (2 MiB aligned, below 512 GiB) with 2 MiB pages in PML4[0]'s PDPT. */
static void map_identity(uint64_t lo, uint64_t hi) {
	uint64_t *pdpt = (uint64_t *)(pml4[0] & 0x000ffffffffff000ULL);
	for (uint64_t a = lo; a < hi; a += 2 * MiB) {
		uint64_t *pde = &pdpt[a >> 30];
		if (!(*pde & PTE_P)) *pde = (uint64_t)alloc_page() | PTE_P | PTE_W;
		uint64_t *pd = (uint64_t *)(*pde & 0x000ffffffffff000ULL);
		pd[(a >> 21) & 511] = a | PTE_P | PTE_W | PTE_PS;
	}
	WRITE_CR(3, READ_CR(3));
}

void guest_main(void) {
	uint64_t ram = 0, high_lo = 0, high_hi = 0, low_top = 0;
	for (uint32_t i = 0; i < boot_info.memmap_entries && i < 32; i++) {
		struct memmap_entry *e = &boot_info.memmap[i];
		kprintf("highmem: memmap[%u] addr=0x%016lx size=0x%016lx type=%u\n", i, e->addr, e->size, e->type);
		if (e->type != 1) continue;
		ram += e->size;
		if (e->addr >= 4 * GiB) { high_lo = e->addr; high_hi = e->addr + e->size; }
		else if (e->addr + e->size > low_top) low_top = e->addr + e->size;
	}
	kprintf("highmem: %lu MiB of RAM, below 4 GiB up to 0x%lx\n", ram >> 20, low_top);
	if (!high_hi) {
		kprintf("SKIP highmem: no RAM above 4 GiB (boot with 4 GiB or more)\n");
		pass("highmem");
		return;
	}
	kprintf("highmem: RAM above 4 GiB 0x%lx-0x%lx\n", high_lo, high_hi);
	check_eq("high-ram-at-4g", 4 * GiB, high_lo);
	/* 3 GiB, less what firmware keeps at the top (SeaBIOS under QEMU reserves 128 KiB there). */
	check(low_top <= 3 * GiB && low_top >= 3 * GiB - MiB, "low-ram-ends-at-3g");
	map_identity(high_lo, high_hi);

	/* Plain 64-bit stores: first and last qwords, and one every 64 MiB, each with its own value. */
	volatile uint64_t *first = (volatile uint64_t *)high_lo, *last = (volatile uint64_t *)(high_hi - 8);
	*first = pattern(high_lo);
	*last = pattern(high_hi - 8);
	for (uint64_t a = high_lo + 64 * MiB; a < high_hi; a += 64 * MiB) *(volatile uint64_t *)a = pattern(a);
	int bad = 0;
	for (uint64_t a = high_lo + 64 * MiB; a < high_hi; a += 64 * MiB) bad += *(volatile uint64_t *)a != pattern(a);
	check_eq("high-first-qword", pattern(high_lo), *first);
	check_eq("high-last-qword", pattern(high_hi - 8), *last);
	check_eq("high-every-64m", 0, bad);
	/* Byte, word and unaligned accesses, including one across a 4 KiB page. */
	volatile uint8_t *b = (volatile uint8_t *)(high_lo + 5 * MiB);
	b[0] = 0xa5; b[4095] = 0x5a;
	*(volatile uint32_t *)(b + 4094) = 0xdeadbeef;
	check_eq("high-byte", 0xa5, b[0]);
	check_eq("high-dword-across-page", 0xdeadbeef, *(volatile uint32_t *)(b + 4094));
	check_eq("high-bytes-of-dword", 0xbe, b[4095]);

	/* RAM at 4 GiB + x is not RAM at x: the buffers behind them must be different. */
	volatile uint64_t *low = (volatile uint64_t *)(16 * MiB), *alias = (volatile uint64_t *)(4 * GiB + 16 * MiB);
	*low = 0x1111111111111111ULL;
	*alias = 0x2222222222222222ULL;
	check_eq("no-alias-low", 0x1111111111111111ULL, *low);
	check_eq("no-alias-high", 0x2222222222222222ULL, *alias);

	/* String instructions between low and high RAM (rep movsb / stosq / cmpsb). */
	uint8_t *src = alloc_pages(4, 4096);
	for (int i = 0; i < 4 * 4096; i++) src[i] = (uint8_t)(i * 7 + 3);
	uint8_t *dst = (uint8_t *)(high_hi - 3 * 4096 - 100); /* runs up to 100 bytes below the top */
	size_t n = 3 * 4096 + 92;
	asm volatile("rep movsb" : "+S"(src), "+D"(dst), "+c"(n) :: "memory");
	src -= 3 * 4096 + 92; dst -= 3 * 4096 + 92;
	int same = 1;
	for (int i = 0; i < 3 * 4096 + 92; i++) same &= dst[i] == src[i];
	check(same, "rep-movsb-low-to-high");
	uint8_t *back = alloc_pages(4, 4096);
	uint8_t *s2 = dst, *d2 = back;
	n = 3 * 4096 + 92;
	asm volatile("rep movsb" : "+S"(s2), "+D"(d2), "+c"(n) :: "memory");
	check(!memcmp(back, src, 3 * 4096 + 92), "rep-movsb-high-to-low");
	uint64_t *fill = (uint64_t *)(high_lo + 7 * MiB), *f = fill;
	uint64_t v = 0x0102030405060708ULL;
	n = 1024;
	asm volatile("rep stosq" : "+D"(f), "+c"(n) : "a"(v) : "memory");
	check(fill[0] == v && fill[1023] == v && fill[1024] == 0, "rep-stosq-high");
	/* Code above 4 GiB: mov $0x2a, %eax; ret */
	uint8_t *code = (uint8_t *)(high_lo + 9 * MiB);
	static const uint8_t fn[] = { 0xb8, 0x2a, 0x00, 0x00, 0x00, 0xc3 };
	memcpy(code, fn, sizeof fn);
	int r = ((int (*)(void))code)();
	check_eq("code-above-4g", 0x2a, r);
	code[1] = 0x2b; /* self-modifying: the decoded copy must go */
	r = ((int (*)(void))code)();
	check_eq("code-above-4g-rewritten", 0x2b, r);
	pass("highmem");
}
