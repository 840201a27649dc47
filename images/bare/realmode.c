/* realmode: see realmode.S. Copies the blob to physical 0 and checks what
 * each step of the round trip recorded; does it twice. */
#include "lib.h"

extern char rm_blob[], rm_blob_end[];
extern uint32_t rm_res_cr0_prot, rm_res_efer_prot, rm_res_cr0_real, rm_res_cs, rm_res_entered0;
extern uint32_t rm_res_cr0_prot2, rm_res_call;
void realmode_roundtrip(void);

static uint32_t res(uint32_t *sym) { return *(volatile uint32_t *)((uintptr_t)sym - (uintptr_t)rm_blob); }

void guest_main(void) {
	size_t size = rm_blob_end - rm_blob;
	kprintf("realmode: trampoline blob %lu bytes at physical 0\n", (uint64_t)size);
	for (int round = 1; round <= 2; round++) {
		memcpy((void *)0, rm_blob, size);
		*(volatile uint16_t *)0x1010 = 0;
		realmode_roundtrip();
		kprintf("realmode: round %d back in long mode\n", round);
		check_eq("compat-paging-off", CR0_PE, res(&rm_res_cr0_prot) & (CR0_PE | CR0_PG));
		check_eq("efer-lme-lma-clear", 0, res(&rm_res_efer_prot) & (EFER_LME | EFER_LMA));
		check_eq("real-mode-cr0-pe-clear", 0, res(&rm_res_cr0_real) & CR0_PE);
		check_eq("real-mode-segment-address", 0xbeef, *(volatile uint16_t *)0x1010);
		check_eq("real-mode-call-stack", 0x6000 - 2, res(&rm_res_call));
		check_eq("real-mode-far-jump-cs", 1, res(&rm_res_cs));
		check_eq("real-mode-entry-0000-0000", 1, res(&rm_res_entered0));
		check_eq("protected-again-paging-off", CR0_PE, res(&rm_res_cr0_prot2) & (CR0_PE | CR0_PG));
		check_eq("long-mode-again", EFER_LMA | EFER_LME, rdmsr(MSR_EFER) & (EFER_LMA | EFER_LME));
		uint16_t cs;
		asm volatile("mov %%cs, %0" : "=r"(cs));
		check_eq("cs-64bit-again", GDT_CODE64, cs);
		/* Traps still work with the restored IDT. */
		TRY("ud2", , );
		check(last_fault.taken && last_fault.vector == 6, "idt-after-roundtrip");
	}
	pass("realmode");
}
