/* Runtime for the bare-metal guests: port I/O, output, test reporting, traps. */
#ifndef LIB_H
#define LIB_H

#include <stdint.h>
#include <stddef.h>
#include "defs.h"

static inline void outb(uint16_t port, uint8_t v) { asm volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { asm volatile("outw %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { asm volatile("outl %0, %1" :: "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static inline uint64_t rdmsr(uint32_t msr) {
	uint32_t lo, hi;
	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v) {
	asm volatile("wrmsr" :: "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}
static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
	asm volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}
#define READ_CR(n) ({ uint64_t _v; asm volatile("mov %%cr" #n ", %0" : "=r"(_v)); _v; })
#define WRITE_CR(n, v) asm volatile("mov %0, %%cr" #n :: "r"((uint64_t)(v)) : "memory")
static inline void invlpg(uintptr_t va) { asm volatile("invlpg (%0)" :: "r"(va) : "memory"); }
static inline uint64_t read_rflags(void) { uint64_t f; asm volatile("pushfq; pop %0" : "=r"(f)); return f; }

/* Output goes to the debug console, port 0xE9 (one byte per character). */
void putc_e9(char c);
void puts_e9(const char *s);
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void serial_puts(const char *s);

/* Test reporting: "PASS name" / "FAIL name detail", and "DONE n passed m failed". */
void pass(const char *name);
void fail(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int check(int ok, const char *name);
int check_eq(const char *name, uint64_t expected, uint64_t got);
void finish(void) __attribute__((noreturn));
void halt_forever(void) __attribute__((noreturn));

/* What the loader handed over in hvm_start_info, copied at entry. */
struct memmap_entry { uint64_t addr, size; uint32_t type, reserved; };
struct boot_info {
	uint32_t start_info_paddr;
	uint32_t magic;
	uint64_t cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries;
	char cmdline[512];
	struct memmap_entry memmap[32];
};
extern struct boot_info boot_info;
extern uint32_t boot_entry_cr0, boot_entry_cs, boot_entry_eflags;
extern uint64_t pml4[512];

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);

/* Zeroed 4 KiB pages (or 2 MiB-aligned runs) above the image. */
void *alloc_pages(size_t count, size_t align);
static inline void *alloc_page(void) { return alloc_pages(1, 4096); }

/* Traps: every vector has a stub; the frame is what trap_common pushed. */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error, rip, cs, rflags, rsp, ss;
};
typedef void (*trap_handler_t)(struct trap_frame *f);
extern trap_handler_t trap_handlers[256];

/* Software-enables the xAPIC (default base) and sets its timer to one-shot, divide by 1 (1 count per ns in osvemu), vector
 * `vec` handled by `h`; writing the count (register 0x380, in ns) starts it. */
void lapic_oneshot_setup(uint8_t vec, trap_handler_t h);

/* An expected fault: TRY() (which may use r10 as scratch) arms fixup_rip with the label after the
 * instructions; the dispatcher records the fault and resumes there. */
struct fault_record {
	int taken;
	uint64_t vector, error, rip, cs, ss, rflags, rsp, cr2, frame;
};
extern volatile struct fault_record last_fault;
extern volatile uint64_t fixup_rip;
#define TRY(insns, outs, ...) do { \
	last_fault.taken = 0; \
	asm volatile("lea 1f(%%rip), %%r11\n\tmov %%r11, fixup_rip(%%rip)\n\t" insns "\n1:\n\t" \
		: outs : __VA_ARGS__ : "r10", "r11", "memory"); \
	fixup_rip = 0; \
} while (0)
/* Set by code that leaves CPL 0: the fixup also returns to CPL 0 on this stack. */
extern volatile uint64_t fixup_rsp;

#define IDT_INT 0xe
#define IDT_TRAP 0xf
void idt_init(void);
void idt_load(void);
void idt_set(int vec, int ist, int type, int dpl);

struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3, iomap_base;
} __attribute__((packed));
extern struct tss64 tss;
void tss_init(void);

/* ACPI: the RSDP from start info or the BIOS area, then tables by signature. */
uint64_t acpi_rsdp(void);
void *acpi_find_table(const char *sig);

/* Each guest provides this; it returns to finish(). */
void guest_main(void);

#endif
