/* benchloop: the instruction loops of bench/interp.ts as a bootable guest, so that osvemu (interpreter and
 * block compiler) and QEMU TCG time the same instructions (bench/suite.ts). The command line says which loop
 * and how many iterations: "integer N" (7 instructions per iteration: add, xor, sub, inc, cmp, dec, jnz) or
 * "mixed N" (10: a load, an imul by an immediate, a shift, an add, a store, a lea, inc, and, dec, jnz — the
 * mix of a real kernel's hot code). The guest then writes 0 to isa-debug-exit (port 0xf4). */
#include "lib.h"

static uint64_t data[1024 + 2] __attribute__((aligned(64)));

static uint64_t parse_count(const char *s) {
	uint64_t n = 0;
	while (*s == ' ') s++;
	for (; *s >= '0' && *s <= '9'; s++) n = n * 10 + (uint64_t)(*s - '0');
	return n;
}

static void integer_loop(uint32_t n) {
	uint64_t a = 1, b = 2, d = 3, si = 0, di = ~0ull;
	if (!n) return;
	asm volatile("1: add %%rbx, %%rax\n\t"
		"xor %%rax, %%rdx\n\t"
		"sub $1, %%rbx\n\t"
		"inc %%rsi\n\t"
		"cmp %%rdi, %%rsi\n\t"
		"dec %%ecx\n\t"
		"jnz 1b"
		: "+a"(a), "+b"(b), "+d"(d), "+S"(si), "+c"(n) : "D"(di) : "cc");
}

static void mixed_loop(uint32_t n) {
	uint64_t a, b, d = 0, di;
	if (!n) return;
	asm volatile("1: mov (%%rsi,%%rdx,8), %%rax\n\t"
		"imul $0x12345, %%rax, %%rbx\n\t"
		"shl $3, %%rbx\n\t"
		"add %%rdx, %%rbx\n\t"
		"mov %%rbx, 8(%%rsi,%%rdx,8)\n\t"
		"lea (%%rbx,%%rax,2), %%rdi\n\t"
		"inc %%edx\n\t"
		"and $1023, %%edx\n\t"
		"dec %%ecx\n\t"
		"jnz 1b"
		: "=&a"(a), "=&b"(b), "+d"(d), "=&D"(di), "+c"(n) : "S"(data) : "cc", "memory");
}

void guest_main(void) {
	const char *c = boot_info.cmdline;
	if (!strncmp(c, "integer", 7)) integer_loop((uint32_t)parse_count(c + 7));
	else if (!strncmp(c, "mixed", 5)) mixed_loop((uint32_t)parse_count(c + 5));
	else {
		fail("benchloop", "command line \"%s\": expected \"integer N\" or \"mixed N\"", c);
		return;
	}
	pass("benchloop");
}
