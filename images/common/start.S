/*
 * Shared entry for the bare-metal guests: a PVH ELF note, the 32-bit PVH
 * entry (paging off, EBX = hvm_start_info), our own GDT, identity paging of
 * 0-4 GiB with 2 MiB pages, EFER.LME|NXE, then long mode and bare_entry().
 * Also the 32-bit entry the SMP guest's real-mode trampoline jumps to.
 */
#include "defs.h"

/* PVH: XEN_ELFNOTE_PHYS32_ENTRY (18), owner "Xen", 8-byte physical entry. */
	.section .note.xen, "a", @note
	.balign 4
	.long 4, 8, 18
	.asciz "Xen"
	.balign 4
	.quad pvh_entry32
	.balign 4

	.section .text.entry32, "ax"
	.code32
	.globl pvh_entry32
pvh_entry32:
	/* Record the CPU state the loader handed us, before changing anything
	 * but ESP: PVH leaves it undefined, and pushf needs a stack. */
	mov $boot_stack_top, %esp
	mov %ebx, boot_start_info
	mov %cr0, %eax
	mov %eax, boot_entry_cr0
	mov %cs, %eax
	mov %eax, boot_entry_cs
	pushf
	pop %eax
	mov %eax, boot_entry_eflags
	lgdt gdt_desc
	ljmp $GDT_CODE32, $1f
1:	movl $0, ap_mode
	jmp enter_long_mode

/* The SMP trampoline lands here (32-bit, flat CS 0x18) on an application
 * processor. DS still holds its real-mode descriptor (limit 64 KiB), so load
 * flat data segments before touching memory above 64 KiB. */
	.globl ap_entry32
ap_entry32:
	mov $GDT_DATA, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	lgdt gdt_desc
	movl $1, ap_mode

enter_long_mode:
	mov $GDT_DATA, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov %eax, %fs
	mov %eax, %gs
	mov %cr4, %eax
	or $(CR4_PAE | CR4_PSE | CR4_PGE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
	mov %eax, %cr4
	mov $pml4, %eax
	mov %eax, %cr3
	mov $MSR_EFER, %ecx
	rdmsr
	or $(EFER_LME | EFER_NXE), %eax
	wrmsr
	mov %cr0, %eax
	or $(CR0_PE | CR0_MP | CR0_NE | CR0_WP | CR0_PG), %eax
	/* An AP comes out of INIT with CD|NW set: clear them (and EM, TS). */
	and $~(CR0_EM | CR0_TS | CR0_NW | CR0_CD), %eax
	mov %eax, %cr0
	ljmp $GDT_CODE64, $entry64

	.code64
entry64:
	mov $GDT_DATA, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	xor %eax, %eax
	mov %eax, %fs
	mov %eax, %gs
	cmpl $0, ap_mode(%rip)
	jne ap64
	/* BSP: zero .bss (the loader may not), then the boot stack. */
	lea __bss_start(%rip), %rdi
	lea __bss_end(%rip), %rcx
	sub %rdi, %rcx
	xor %eax, %eax
	cld
	rep stosb
	lea boot_stack_top(%rip), %rsp
	mov boot_start_info(%rip), %edi
	call bare_entry
	jmp halt_forever

ap64:
	/* Each AP takes the next 16 KiB stack; ap_main(index) never returns. */
	mov $1, %eax
	lock xadd %eax, ap_next_index(%rip)
	mov %eax, %edi
	inc %eax
	shl $14, %rax
	lea ap_stacks(%rip), %rsp
	add %rax, %rsp
	call ap_main
	.globl halt_forever
halt_forever:
	cli
	hlt
	jmp halt_forever

	.data
	.balign 16
	.globl gdt
gdt:
	.quad 0                        /* 0x00 null */
	.quad 0x00af9b000000ffff       /* 0x08 64-bit code */
	.quad 0x00cf93000000ffff       /* 0x10 data */
	.quad 0x00cf9b000000ffff       /* 0x18 32-bit code */
	.quad 0x00009b000000ffff       /* 0x20 16-bit code, base 0, 64 KiB */
	.quad 0x000093000000ffff       /* 0x28 16-bit data, base 0, 64 KiB */
	.quad 0x00cff3000000ffff       /* 0x30 user data (DPL 3) */
	.quad 0x00affb000000ffff       /* 0x38 user 64-bit code (DPL 3) */
	.quad 0, 0                     /* 0x40 TSS (16 bytes), filled by tss_init() */
gdt_end:
	.globl gdt_desc
gdt_desc:
	.word gdt_end - gdt - 1
	.quad gdt

	.globl boot_start_info, boot_entry_cr0, boot_entry_cs, boot_entry_eflags
boot_start_info:   .long 0
boot_entry_cr0:    .long 0
boot_entry_cs:     .long 0
boot_entry_eflags: .long 0
ap_mode:           .long 0
	.globl ap_next_index
ap_next_index:     .long 0

/* Identity map of 0-4 GiB with 2 MiB pages; the top 32 MiB (APIC, HPET,
 * IOAPIC) uncached. PML4[1..] stay empty for the paging tests. */
	.balign 4096
	.globl pml4, pdpt_ident, pd_ident
pml4:
	.quad pdpt_ident + 0x3
	.fill 511, 8, 0
pdpt_ident:
	.quad pd_ident + 0x0000 + 0x3
	.quad pd_ident + 0x1000 + 0x3
	.quad pd_ident + 0x2000 + 0x3
	.quad pd_ident + 0x3000 + 0x3
	.fill 508, 8, 0
pd_ident:
	.set i, 0
	.rept 2048
	.if i >= 2032
	.quad (i << 21) | 0x9b          /* P RW PWT PCD PS */
	.else
	.quad (i << 21) | 0x83          /* P RW PS */
	.endif
	.set i, i + 1
	.endr

	.bss
	.balign 4096
boot_stack:
	.skip 32768
boot_stack_top:
	.globl ap_stacks
ap_stacks:
	.skip 16384 * MAX_CPUS
