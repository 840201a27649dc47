/* interrupts: IDT gates and IST stacks laid out as OSv does (vectors 0-19 on
 * IST1, 32-255 on IST2, even at CPL 0), exception frames for #DE #UD #BP #GP
 * #PF, int n, trap vs interrupt gates, and a #DF on its own IST when the #PF
 * handler's stack is unmapped (last: the #DF handler ends the run). */
#include "lib.h"

static uint8_t *ist1, *ist2, *ist3;
#define IST_SIZE 16384

static int on_stack(uint64_t addr, uint8_t *base) {
	return addr >= (uint64_t)base && addr < (uint64_t)base + IST_SIZE;
}

static void check_fault(const char *name, uint64_t vec, uint64_t err, uint64_t rip, uint8_t *stack) {
	if (!last_fault.taken) { fail(name, "no trap"); return; }
	if (last_fault.vector != vec || last_fault.error != err || last_fault.rip != rip) {
		fail(name, "expected vector %lu err 0x%lx rip 0x%lx got vector %lu err 0x%lx rip 0x%lx",
		     vec, err, rip, last_fault.vector, last_fault.error, last_fault.rip);
		return;
	}
	if (!on_stack(last_fault.frame, stack)) { fail(name, "handler frame 0x%lx not on its IST", last_fault.frame); return; }
	if (last_fault.cs != GDT_CODE64 || last_fault.ss != GDT_DATA) {
		fail(name, "frame cs 0x%lx ss 0x%lx", last_fault.cs, last_fault.ss);
		return;
	}
	pass(name);
}

/* Address of the instruction at local label 2 inside a TRY block. */
#define TRY_AT(insns, ripvar, ...) TRY("lea 2f(%%rip), %%r10\n\tmov %%r10, %0\n2:\t" insns, "=m"(ripvar), ##__VA_ARGS__)

static volatile uint64_t handler_rflags, handler_rsp, handler_count;
static void probe_handler(struct trap_frame *f) {
	handler_rflags = read_rflags();
	handler_rsp = (uint64_t)f;
	handler_count++;
}

#define LAPIC 0xfee00000UL
volatile uint64_t shadow_counter, shadow_seen, shadow_hits;
static void shadow_handler(struct trap_frame *f) {
	shadow_seen = shadow_counter;
	shadow_hits++;
	*(volatile uint32_t *)(LAPIC + 0xb0) = 0;   /* EOI */
}

static void df_handler(struct trap_frame *f) {
	kprintf("interrupts: #DF error 0x%lx frame 0x%lx\n", f->error, (uint64_t)f);
	check_eq("df-vector", 8, f->vector);
	check_eq("df-error-zero", 0, f->error);
	check(on_stack((uint64_t)f, ist3), "df-on-ist3");
	pass("interrupts");
	finish();
}

void guest_main(void) {
	ist1 = alloc_pages(IST_SIZE / 4096, 4096);
	ist2 = alloc_pages(IST_SIZE / 4096, 4096);
	ist3 = alloc_pages(IST_SIZE / 4096, 4096);
	tss.ist[0] = (uint64_t)ist1 + IST_SIZE;
	tss.ist[1] = (uint64_t)ist2 + IST_SIZE;
	tss.ist[2] = (uint64_t)ist3 + IST_SIZE;
	for (int v = 0; v < 20; v++) idt_set(v, 1, IDT_INT, 0);
	for (int v = 32; v < 256; v++) idt_set(v, 2, IDT_INT, 0);
	idt_set(8, 3, IDT_INT, 0);
	idt_set(0x41, 2, IDT_TRAP, 0);

	uint64_t rip, rsp_before;
	asm volatile("mov %%rsp, %0" : "=r"(rsp_before));

	/* #DE: fault, RIP = the div itself. */
	TRY_AT("divl %%ecx", rip, "a"(1), "d"(0), "c"(0));
	check_fault("de", 0, 0, rip, ist1);
	check(last_fault.taken && last_fault.rsp > rsp_before - 4096 && last_fault.rsp <= rsp_before, "de-frame-rsp-is-interrupted-stack");
	check(last_fault.taken && (last_fault.frame & 15) == 0, "ist-frame-16-aligned");

	/* #UD: fault at ud2. */
	TRY_AT("ud2", rip);
	check_fault("ud", 6, 0, rip, ist1);

	/* #BP: a trap, RIP = after int3 (one byte). */
	TRY_AT("int3", rip);
	check_fault("bp", 3, 0, rip + 1, ist1);

	/* #GP with a selector error code: a selector beyond the GDT limit. */
	TRY_AT("movw $0x1230, %%ax\n\tmov %%ax, %%ds", rip);
	check_fault("gp-selector-error", 13, 0x1230, rip + 4, ist1);
	asm volatile("mov %0, %%ds" :: "r"(GDT_DATA));
	/* #GP(0): a non-canonical address. */
	TRY_AT("movq (%%rcx), %%rax", rip, "c"(0x8000000000000000ULL));
	check_fault("gp-noncanonical", 13, 0, rip, ist1);

	/* #PF: error code, CR2, frame. PML4[1] is empty. */
	TRY_AT("movl $0x1, (%%rcx)", rip, "c"(0x8000000040ULL));
	check_fault("pf", 14, 2, rip, ist1);
	check_eq("pf-cr2", 0x8000000040ULL, last_fault.cr2);

	/* int n: vector 0x40 on IST2, RIP after the 2-byte instruction. */
	TRY_AT("int $0x40", rip);
	check_fault("int-0x40", 0x40, 0, rip + 2, ist2);
	TRY_AT("int $0xff", rip);
	check_fault("int-0xff", 0xff, 0, rip + 2, ist2);

	/* Interrupt gate clears IF in the handler; a trap gate keeps it. */
	trap_handlers[0x41] = probe_handler;
	trap_handlers[0x42] = probe_handler;
	asm volatile("sti; int $0x41; cli" ::: "memory");
	check_eq("trap-gate-keeps-if", 0x200, handler_rflags & 0x200);
	check(on_stack(handler_rsp, ist2), "trap-gate-on-ist2");
	asm volatile("sti; int $0x42; cli" ::: "memory");
	check_eq("interrupt-gate-clears-if", 0, handler_rflags & 0x200);
	check_eq("iretq-restores-if", 0, read_rflags() & 0x200);
	asm volatile("sti" ::: "memory");
	asm volatile("int $0x42" ::: "memory");
	check_eq("iretq-restores-if-set", 0x200, read_rflags() & 0x200);
	asm volatile("cli");
	check_eq("handler-count", 3, handler_count);

	/* Registers survive a trap round trip. */
	uint64_t r8v = 0, r15v = 0;
	asm volatile("mov $0x1111222233334444, %%r8\n\tmov $0x5555666677778888, %%r15\n\tint $0x42\n\t"
		     "mov %%r8, %0\n\tmov %%r15, %1" : "=r"(r8v), "=r"(r15v) :: "r8", "r15", "memory");
	check(r8v == 0x1111222233334444ULL && r15v == 0x5555666677778888ULL, "registers-preserved");

	/* The STI interrupt shadow: a self-IPI left pending while IF=0 is taken
	 * only after the instruction that follows sti. */
	*(volatile uint32_t *)(LAPIC + 0xf0) = 0x1ff;
	trap_handlers[0x50] = shadow_handler;
	*(volatile uint32_t *)(LAPIC + 0x310) = 0;
	*(volatile uint32_t *)(LAPIC + 0x300) = 0x50 | (1 << 18);   /* fixed, shorthand self */
	for (int i = 0; i < 1000; i++) asm volatile("pause");
	check_eq("self-ipi-pending-while-if-clear", 0, shadow_hits);
	asm volatile("sti\n\tincq shadow_counter(%%rip)\n\tincq shadow_counter(%%rip)\n\tcli" ::: "memory");
	check_eq("self-ipi-delivered", 1, shadow_hits);
	check_eq("sti-shadow-one-instruction", 1, shadow_seen);

	/* #DF: point IST1 (the #PF stack) at unmapped memory and fault. */
	trap_handlers[8] = df_handler;
	tss.ist[0] = 0x8000100000ULL;
	asm volatile("movl $0x1, (%%rcx)" :: "c"(0x8000000080ULL) : "memory");
	fail("df", "no double fault");
}
