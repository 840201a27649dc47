/* boot64: the PVH entry path (common/start.S) reached long mode; check the
 * state the loader handed over and print the hvm_start_info fields. */
#include "lib.h"

void guest_main(void) {
	kprintf("boot64: start_info at 0x%x magic 0x%x\n", boot_info.start_info_paddr, boot_info.magic);
	check_eq("pvh-magic", 0x336ec578, boot_info.magic);
	/* PVH contract: 32-bit protected mode, paging off, interrupts off. */
	check_eq("entry-cr0-pe", CR0_PE, boot_entry_cr0 & CR0_PE);
	check_eq("entry-cr0-pg-off", 0, boot_entry_cr0 & CR0_PG);
	check_eq("entry-if-off", 0, boot_entry_eflags & 0x200);
	kprintf("boot64: entry cr0=0x%x cs=0x%x eflags=0x%x\n", boot_entry_cr0, boot_entry_cs, boot_entry_eflags);

	kprintf("boot64: cmdline_paddr=0x%lx cmdline=\"%s\"\n", boot_info.cmdline_paddr, boot_info.cmdline);
	kprintf("boot64: rsdp_paddr=0x%lx\n", boot_info.rsdp_paddr);
	kprintf("boot64: memmap_paddr=0x%lx entries=%u\n", boot_info.memmap_paddr, boot_info.memmap_entries);
	uint64_t ram = 0;
	for (uint32_t i = 0; i < boot_info.memmap_entries && i < 32; i++) {
		struct memmap_entry *e = &boot_info.memmap[i];
		kprintf("boot64: memmap[%u] addr=0x%016lx size=0x%016lx type=%u\n", i, e->addr, e->size, e->type);
		if (e->type == 1) ram += e->size;
	}
	check(boot_info.memmap_entries > 0 && ram > 0, "memmap-has-ram");
	/* The loaded segment includes the ELF header at its physical base (OSv parses it there). */
	check(!memcmp((void *)0x200000, "\x7f" "ELF", 4), "elf-header-at-0x200000");

	uint64_t cr0 = READ_CR(0), cr4 = READ_CR(4), efer = rdmsr(MSR_EFER);
	kprintf("boot64: cr0=0x%lx cr3=0x%lx cr4=0x%lx efer=0x%lx\n", cr0, READ_CR(3), cr4, efer);
	check_eq("cr0-pe-pg-wp", CR0_PE | CR0_PG | CR0_WP, cr0 & (CR0_PE | CR0_PG | CR0_WP));
	check_eq("cr4-pae", CR4_PAE, cr4 & CR4_PAE);
	check_eq("efer-lme-lma-nxe", EFER_LME | EFER_LMA | EFER_NXE, efer & (EFER_LME | EFER_LMA | EFER_NXE));
	uint16_t cs;
	asm volatile("mov %%cs, %0" : "=r"(cs));
	check_eq("cs-64bit", GDT_CODE64, cs);
	/* A 64-bit-only operation: a 64-bit immediate round trip through a register. */
	uint64_t big;
	asm volatile("movabs $0x123456789abcdef0, %0" : "=r"(big));
	check_eq("64bit-register", 0x123456789abcdef0ULL, big);
	/* The tables CR3 points at: 4 levels, 2 MiB pages, identity. */
	uint64_t *l4 = (uint64_t *)(READ_CR(3) & ~0xfffULL);
	uint64_t *l3 = (uint64_t *)(l4[0] & 0x000ffffffffff000ULL);
	uint64_t *l2 = (uint64_t *)(l3[0] & 0x000ffffffffff000ULL);
	check_eq("pd-entry-2m-page", 0x200000 | 0x80 | 0x1, l2[1] & (0x000ffffffffff000ULL | 0x81));
	/* 2 MiB identity mapping reaches well above the image. */
	volatile uint64_t *far = (volatile uint64_t *)0x3000000;
	*far = 0x5a5a5a5a12345678ULL;
	check_eq("identity-map-48m", 0x5a5a5a5a12345678ULL, *far);

	serial_puts("boot64: hello from COM1\n");
	pass("boot64");
}
