/* Runtime for the bare-metal guests (see lib.h). */
#include <stdarg.h>
#include "lib.h"

struct boot_info boot_info;
static int n_pass, n_fail;

/* rep stos/movs: one instruction per call for an emulator, and it exercises them. */
void *memset(void *d, int c, size_t n) {
	void *p = d;
	asm volatile("cld; rep stosb" : "+D"(p), "+c"(n) : "a"(c) : "memory");
	return d;
}
void *memcpy(void *d, const void *s, size_t n) {
	void *p = d;
	asm volatile("cld; rep movsb" : "+D"(p), "+S"(s), "+c"(n) :: "memory");
	return d;
}
int memcmp(const void *a, const void *b, size_t n) {
	const uint8_t *p = a, *q = b;
	for (; n; n--, p++, q++) if (*p != *q) return *p - *q;
	return 0;
}
size_t strlen(const char *s) { size_t n = 0; while (s[n]) n++; return n; }
int strncmp(const char *a, const char *b, size_t n) {
	for (; n; n--, a++, b++) { if (*a != *b) return (uint8_t)*a - (uint8_t)*b; if (!*a) return 0; }
	return 0;
}

void putc_e9(char c) { outb(0xe9, (uint8_t)c); }
void puts_e9(const char *s) { while (*s) putc_e9(*s++); }

void serial_puts(const char *s) {
	for (; *s; s++) {
		while (!(inb(0x3f8 + 5) & 0x20)) {}
		outb(0x3f8, (uint8_t)*s);
	}
}

static void put_num(uint64_t v, int base, int width, char pad, int neg) {
	char buf[24];
	int n = 0;
	do { buf[n++] = "0123456789abcdef"[v % base]; v /= base; } while (v);
	if (neg) buf[n++] = '-';
	while (n < width) { putc_e9(pad); width--; }
	while (n) putc_e9(buf[--n]);
}

static void vkprintf(const char *fmt, va_list ap) {
	for (; *fmt; fmt++) {
		if (*fmt != '%') { putc_e9(*fmt); continue; }
		fmt++;
		char pad = ' ';
		int width = 0, lng = 0;
		if (*fmt == '0') { pad = '0'; fmt++; }
		while (*fmt >= '0' && *fmt <= '9') width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l') { lng = 1; fmt++; }
		switch (*fmt) {
		case 's': { const char *s = va_arg(ap, const char *); puts_e9(s ? s : "(null)"); break; }
		case 'c': putc_e9((char)va_arg(ap, int)); break;
		case 'd': {
			int64_t v = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
			put_num(v < 0 ? -(uint64_t)v : (uint64_t)v, 10, width, pad, v < 0);
			break;
		}
		case 'u': put_num(lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 10, width, pad, 0); break;
		case 'x': put_num(lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 16, width, pad, 0); break;
		case 'p': puts_e9("0x"); put_num((uintptr_t)va_arg(ap, void *), 16, width, pad, 0); break;
		case '%': putc_e9('%'); break;
		default: putc_e9('%'); putc_e9(*fmt); break;
		}
	}
}

void kprintf(const char *fmt, ...) { va_list ap; va_start(ap, fmt); vkprintf(fmt, ap); va_end(ap); }

void pass(const char *name) { n_pass++; kprintf("PASS %s\n", name); }
void fail(const char *name, const char *fmt, ...) {
	n_fail++;
	kprintf("FAIL %s ", name);
	va_list ap; va_start(ap, fmt); vkprintf(fmt, ap); va_end(ap);
	putc_e9('\n');
}
int check(int ok, const char *name) {
	if (ok) pass(name); else fail(name, "condition false");
	return ok;
}
int check_eq(const char *name, uint64_t expected, uint64_t got) {
	if (expected == got) { pass(name); return 1; }
	fail(name, "expected 0x%lx got 0x%lx", expected, got);
	return 0;
}

void finish(void) {
	kprintf("DONE %d passed %d failed\n", n_pass, n_fail);
	/* isa-debug-exit (QEMU) / osvemu: 0 = success. */
	outb(0xf4, n_fail ? 1 : 0);
	halt_forever();
}

extern char _end[];
static uintptr_t heap_next;
void *alloc_pages(size_t count, size_t align) {
	if (!heap_next) heap_next = (uintptr_t)_end;
	heap_next = (heap_next + align - 1) & ~(uintptr_t)(align - 1);
	void *p = (void *)heap_next;
	heap_next += count * 4096;
	memset(p, 0, count * 4096);
	return p;
}

/* --- traps --- */
trap_handler_t trap_handlers[256];
volatile struct fault_record last_fault;
volatile uint64_t fixup_rip, fixup_rsp;
extern char trap_stubs[];

struct idt_entry { uint16_t off0, sel; uint8_t ist, type; uint16_t off1; uint32_t off2, zero; } __attribute__((packed));
static struct idt_entry idt[256] __attribute__((aligned(16)));

void idt_set(int vec, int ist, int type, int dpl) {
	uint64_t a = (uint64_t)(trap_stubs + vec * 16);
	idt[vec].off0 = (uint16_t)a;
	idt[vec].sel = GDT_CODE64;
	idt[vec].ist = (uint8_t)ist;
	idt[vec].type = (uint8_t)(0x80 | (dpl << 5) | type);
	idt[vec].off1 = (uint16_t)(a >> 16);
	idt[vec].off2 = (uint32_t)(a >> 32);
	idt[vec].zero = 0;
}

void idt_load(void) {
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) d = { sizeof(idt) - 1, (uint64_t)idt };
	asm volatile("lidt %0" :: "m"(d));
}

void idt_init(void) {
	for (int v = 0; v < 256; v++) idt_set(v, 0, IDT_INT, 0);
	idt_load();
}

void trap_dispatch(struct trap_frame *f) {
	if (trap_handlers[f->vector]) { trap_handlers[f->vector](f); return; }
	if (fixup_rip) {
		last_fault.taken = 1;
		last_fault.vector = f->vector;
		last_fault.error = f->error;
		last_fault.rip = f->rip;
		last_fault.cs = f->cs;
		last_fault.ss = f->ss;
		last_fault.rflags = f->rflags;
		last_fault.rsp = f->rsp;
		last_fault.cr2 = READ_CR(2);
		last_fault.frame = (uint64_t)f;
		f->rip = fixup_rip;
		fixup_rip = 0;
		if (fixup_rsp) {
			f->rsp = fixup_rsp;
			f->cs = GDT_CODE64;
			f->ss = GDT_DATA;
			fixup_rsp = 0;
		}
		return;
	}
	fail("unexpected-trap", "vector %lu error 0x%lx rip 0x%lx cr2 0x%lx", f->vector, f->error, f->rip, READ_CR(2));
	finish();
}

extern uint64_t gdt[];
struct tss64 tss __attribute__((aligned(16)));
void tss_init(void) {
	uint64_t base = (uint64_t)&tss, limit = sizeof(tss) - 1;
	tss.iomap_base = sizeof(tss);
	gdt[GDT_TSS / 8] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ULL << 40) |
		(((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	gdt[GDT_TSS / 8 + 1] = base >> 32;
	asm volatile("ltr %w0" :: "r"(GDT_TSS));
}

/* --- ACPI --- */
static int acpi_sum_ok(const uint8_t *p, size_t n) { uint8_t s = 0; while (n--) s += *p++; return s == 0; }

uint64_t acpi_rsdp(void) {
	if (boot_info.rsdp_paddr) return boot_info.rsdp_paddr;
	for (uintptr_t a = 0xe0000; a < 0x100000; a += 16)
		if (!memcmp((void *)a, "RSD PTR ", 8) && acpi_sum_ok((void *)a, 20)) return a;
	return 0;
}

void *acpi_find_table(const char *sig) {
	uint8_t *rsdp = (uint8_t *)acpi_rsdp();
	if (!rsdp) return 0;
	uint8_t *root;
	int xsdt = rsdp[15] >= 2 && *(uint64_t *)(rsdp + 24);
	root = xsdt ? (uint8_t *)*(uint64_t *)(rsdp + 24) : (uint8_t *)(uintptr_t)*(uint32_t *)(rsdp + 16);
	uint32_t len = *(uint32_t *)(root + 4);
	int esz = xsdt ? 8 : 4;
	for (uint32_t off = 36; off + esz <= len; off += esz) {
		uint8_t *t = xsdt ? (uint8_t *)*(uint64_t *)(root + off) : (uint8_t *)(uintptr_t)*(uint32_t *)(root + off);
		if (!memcmp(t, sig, 4)) return t;
	}
	return 0;
}

/* --- entry from start.S --- */
void bare_entry(uint32_t si) {
	boot_info.start_info_paddr = si;
	if (si) {
		const uint8_t *p = (const uint8_t *)(uintptr_t)si;
		boot_info.magic = *(const uint32_t *)p;
		boot_info.cmdline_paddr = *(const uint64_t *)(p + 0x18);
		boot_info.rsdp_paddr = *(const uint64_t *)(p + 0x20);
		boot_info.memmap_paddr = *(const uint64_t *)(p + 0x28);
		boot_info.memmap_entries = *(const uint32_t *)(p + 0x30);
		if (boot_info.cmdline_paddr) {
			const char *c = (const char *)boot_info.cmdline_paddr;
			size_t i = 0;
			for (; c[i] && i < sizeof(boot_info.cmdline) - 1; i++) boot_info.cmdline[i] = c[i];
		}
		uint32_t n = boot_info.memmap_entries;
		if (n > 32) n = 32;
		if (boot_info.memmap_paddr)
			memcpy(boot_info.memmap, (void *)boot_info.memmap_paddr, n * sizeof(struct memmap_entry));
	}
	/* Mask the legacy PICs: firmware may have left the PIT running on vector 8. */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	idt_init();
	tss_init();
	guest_main();
	finish();
}

/* Guests without SMP never start APs; smp.c overrides this. */
__attribute__((weak)) void ap_main(int index) { halt_forever(); }

static void lapic_reg(uint32_t reg, uint32_t v) { *(volatile uint32_t *)(0xfee00000UL + reg) = v; }

void lapic_oneshot_setup(uint8_t vec, trap_handler_t h) {
	trap_handlers[vec] = h;
	lapic_reg(0xf0, 0x1ff);
	lapic_reg(0x80, 0);
	lapic_reg(0x3e0, 0xb);
	lapic_reg(0x320, vec);
}
