/*
 * osvlike boot: the PVH entry (32-bit, paging off, EBX = hvm_start_info),
 * OSv's GDT layout (0x08 64-bit code, 0x10 data, 0x18 32-bit code, 0x20 TSS),
 * 2 MiB identity tables mapping 0-1 GiB at 0 and at 1 GiB (plus 3-4 GiB for
 * the APIC/HPET/IOAPIC), EFER.LME|NXE, long mode, then premain() and main().
 * Also the real-mode SMP trampoline (copied to physical 0) and the AP path,
 * and the 256 interrupt entry stubs.
 */
#define SHIFT 0x40000000
#define CR4_BOOT 0x7b8   /* DE PSE PAE PGE PCE OSFXSR OSXMMEXCPT */
#define CR0_BOOT 0x80010003 /* PE MP WP PG */

	.section .note.xen, "a", @note
	.balign 4
	.long 4, 8, 18                  /* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.balign 4
	.quad hvm_xen_start - SHIFT
	.balign 4

	.section .text.boot32, "ax"
	.code32
	.globl hvm_xen_start
hvm_xen_start:
	mov %ebx, xen_start_info_phys - SHIFT
	lgdt gdt32_desc - SHIFT
	ljmp $0x18, $(1f - SHIFT)
1:	mov $0x10, %eax
	mov %eax, %ss
	mov $(smpboot_stack32 - SHIFT), %esp
	call enter_long_mode32
	ljmp $0x08, $(start64 - SHIFT)

	/* From the SMP trampoline: flat 32-bit CS 0x18. DS still holds its
	 * real-mode descriptor (limit 64 KiB): load flat segments first. */
	.globl start32_ap
start32_ap:
	mov $0x10, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	lgdt gdt32_desc - SHIFT
	mov $(smpboot_stack32 - SHIFT), %esp
	call enter_long_mode32
	ljmp $0x08, $(start64_ap - SHIFT)

enter_long_mode32:
	mov $0x10, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %fs
	mov %eax, %gs
	mov %eax, %ss
	mov $CR4_BOOT, %eax
	mov %eax, %cr4
	mov $(ident_pml4 - SHIFT), %eax
	mov %eax, %cr3
	mov $0xc0000080, %ecx
	rdmsr
	or $((1 << 8) | (1 << 11)), %eax   /* LME NXE */
	wrmsr
	mov $CR0_BOOT, %eax
	mov %eax, %cr0
	ret

	.code64
start64:
	movabs $start64_high, %rax
	jmp *%rax
start64_high:
	lgdt gdt64_desc(%rip)
	mov $0x10, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	lea __bss_start(%rip), %rdi
	lea __bss_end(%rip), %rcx
	sub %rdi, %rcx
	xor %eax, %eax
	cld
	rep stosb
	lea init_stack_top(%rip), %rsp
	xor %ebp, %ebp
	mov xen_start_info_phys(%rip), %edi
	call premain
	call main
1:	cli
	hlt
	jmp 1b

start64_ap:
	movabs $start64_ap_high, %rax
	jmp *%rax
start64_ap_high:
	lgdt gdt64_desc(%rip)
	mov $0x10, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov smp_stack_free(%rip), %rsp
	xor %ebp, %ebp
	call smp_main
1:	cli
	hlt
	jmp 1b

/* Interrupt entry: 256 stubs, 16 bytes apart; vectors with a CPU error code
 * skip the dummy push. The frame is struct exception_frame (arch.hh). */
	.text
	.balign 16
	.globl interrupt_stubs
interrupt_stubs:
	.set vec, 0
	.rept 256
	.balign 16
	.if (vec == 8) || (vec >= 10 && vec <= 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
	.else
	pushq $0
	.endif
	pushq $vec
	jmp interrupt_common
	.set vec, vec + 1
	.endr

interrupt_common:
	push %rax
	push %rbx
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %rbp
	push %r8
	push %r9
	push %r10
	push %r11
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, %rdi
	/* A frame-pointer chain through the interrupted code, for backtraces. */
	mov 17*8(%rsp), %rax
	push %rax
	push %rbp
	mov %rsp, %rbp
	cld
	call interrupt_dispatch
	add $16, %rsp
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rbp
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rbx
	pop %rax
	add $16, %rsp
	iretq

	.data
/* The SMP trampoline: copied to physical 0; STARTUP vector 0 runs it at
 * 0000:0000 in real mode. */
	.globl smpboot, smpboot_end
	.code16
smpboot:
	cli
	xor %ax, %ax
	mov %ax, %ds
	lgdtl smpboot_gdt_desc - smpboot
	mov %cr0, %eax
	or $1, %eax
	mov %eax, %cr0
	ljmpl $0x18, $(start32_ap - SHIFT)
	.balign 8
smpboot_gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt - SHIFT
smpboot_end:
	.code64

	.balign 16
	.globl gdt
gdt:
	.quad 0
	.quad 0x00af9b000000ffff        /* 0x08 64-bit code */
	.quad 0x00cf93000000ffff        /* 0x10 data */
	.quad 0x00cf9b000000ffff        /* 0x18 32-bit code */
gdt_end:
gdt32_desc:
	.word gdt_end - gdt - 1
	.quad gdt - SHIFT
gdt64_desc:
	.word gdt_end - gdt - 1
	.quad gdt

	.globl xen_start_info_phys, smp_stack_free
xen_start_info_phys: .long 0
	.balign 8
smp_stack_free: .quad 0
	.balign 16
	.skip 64
smpboot_stack32:

/* Boot page tables, 2 MiB pages. Physical 0-1 GiB at 0 and at 1 GiB (the
 * kernel's own addresses), 3-4 GiB identity (LAPIC, IOAPIC, HPET), and all
 * of physical 0-4 GiB linearly at 0x400000000000, where the kernel reads
 * ACPI tables and other physical memory (phys_to_virt). */
	.balign 4096
	.globl ident_pml4
ident_pml4:
	.quad ident_pdpt - SHIFT + 3
	.fill 127, 8, 0
	.quad linear_pdpt - SHIFT + 3   /* PML4[0x80]: 0x400000000000 */
	.fill 383, 8, 0
ident_pdpt:
	.quad pd_0g - SHIFT + 3
	.quad pd_0g - SHIFT + 3
	.quad 0
	.quad pd_3g - SHIFT + 3
	.fill 508, 8, 0
linear_pdpt:
	.quad pd_0g - SHIFT + 3
	.quad pd_1g - SHIFT + 3
	.quad pd_2g - SHIFT + 3
	.quad pd_3g - SHIFT + 3
	.fill 508, 8, 0
.macro pd_2m base
	.set i, 0
	.rept 512
	.if (\base == 0xc0000000) && (i >= 496)
	.quad (\base + (i << 21)) | 0x9b        /* P RW PWT PCD PS: MMIO */
	.else
	.quad (\base + (i << 21)) | 0x83        /* P RW PS */
	.endif
	.set i, i + 1
	.endr
.endm
pd_0g:	pd_2m 0
pd_1g:	pd_2m 0x40000000
pd_2g:	pd_2m 0x80000000
pd_3g:	pd_2m 0xc0000000

	.bss
	.balign 16
	.globl init_stack_bottom, init_stack_top
init_stack_bottom:
	.skip 65536
init_stack_top:
