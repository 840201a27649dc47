/* benchloop: the instruction loops of bench/interp.ts as a bootable guest, so that osvemu (interpreter and
 * block compiler) and QEMU TCG time the same instructions (bench/suite.ts). The command line says which loop
 * and how many iterations: "integer N" (7 instructions per iteration: add, xor, sub, inc, cmp, dec, jnz) or
 * "mixed N" (10: a load, an imul by an immediate, a shift, an add, a store, a lea, inc, and, dec, jnz — the
 * mix of a real kernel's hot code) or "idle N" (30: OSv's idle poll, sched::cpu::do_idle calling
 * handle_incoming_wakeups, copied from a real OSv build's code: six traces an iteration, with a call, a
 * prologue of pushes, two loads and tests, an epilogue of pops, ret, the runqueue check and the counter).
 * The guest then writes 0 to isa-debug-exit (port 0xf4). */
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

/* handle_incoming_wakeups with nothing incoming (OSv v0.57's code, offsets scaled to a small cpu struct):
 * 13 + 3 + 8 instructions; the taken branches (a wakeup mask set) never happen here. */
extern void bench_wakeups(void);
asm(".text\n.globl bench_wakeups\nbench_wakeups:\n"
	"push %rbp\n\tmov %rsp, %rbp\n\tpush %r15\n\tpush %r14\n\tpush %r13\n\tmov %rdi, %r13\n\t"
	"push %r12\n\tpush %rbx\n\tsub $0x18, %rsp\n\tmovq $0, -0x40(%rbp)\n\t"
	"mov 8(%rdi), %rax\n\ttest %rax, %rax\n\tjne 2f\n"
	"1: mov -0x40(%rbp), %rax\n\ttest %rax, %rax\n\tjne 3f\n\t"
	"add $0x18, %rsp\n\tpop %rbx\n\tpop %r12\n\tpop %r13\n\tpop %r14\n\tpop %r15\n\tpop %rbp\n\tret\n"
	"2: xor %eax, %eax\n\txchg %rax, 8(%rdi)\n\tmov %rax, -0x40(%rbp)\n\tjmp 1b\n"
	"3: movq $0, -0x40(%rbp)\n\tjmp 1b\n");

static uint64_t idle_cpu[4] __attribute__((aligned(64)));

/* do_idle's poll: mov %r12,%rdi; call; cmpq $0,runqueue; je; sub $1,%ebx; je (the count ends it). */
static void idle_loop(uint32_t n) {
	if (!n) return;
	asm volatile("mov %0, %%r12\n\t"
		"mov %1, %%ebx\n\t"
		"jmp 2f\n"
		"1: sub $1, %%ebx\n\t"
		"je 3f\n"
		"2: mov %%r12, %%rdi\n\t"
		"call bench_wakeups\n\t"
		"cmpq $0, 16(%%r12)\n\t"
		"je 1b\n"
		"3:"
		: : "r"(idle_cpu), "r"(n) : "rax", "rbx", "rdi", "r12", "r13", "r14", "r15", "cc", "memory");
}

void guest_main(void) {
	const char *c = boot_info.cmdline;
	if (!strncmp(c, "integer", 7)) integer_loop((uint32_t)parse_count(c + 7));
	else if (!strncmp(c, "mixed", 5)) mixed_loop((uint32_t)parse_count(c + 5));
	else if (!strncmp(c, "idle", 4)) idle_loop((uint32_t)parse_count(c + 4));
	else {
		fail("benchloop", "command line \"%s\": expected \"integer N\", \"mixed N\" or \"idle N\"", c);
		return;
	}
	pass("benchloop");
}
