/* realmode: long mode -> compatibility mode -> paging off -> 16-bit
 * protected mode -> real mode, then back up from real mode at 0000:0000
 * the way OSv's SMP trampoline does (lgdt, PE, 32-bit, PAE/LME/PG, 64-bit).
 * Each step stores what it saw into the blob (copied to physical 0) for C
 * to check. */
#include "defs.h"

	.text
	.code64
	.globl realmode_roundtrip
realmode_roundtrip:
	push %rbx
	push %rbp
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, rm_saved_rsp(%rip)
	sidt rm_saved_idt(%rip)
	mov %cr3, %rax
	mov %eax, rm_saved_cr3(%rip)
	mov %cr4, %rax
	mov %eax, rm_saved_cr4(%rip)
	pushq $GDT_CODE32
	lea compat32(%rip), %rax
	push %rax
	lretq

	.code32
compat32:
	mov $GDT_DATA, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov %cr0, %eax
	and $~CR0_PG, %eax
	mov %eax, %cr0
	mov %cr0, %eax
	mov %eax, rm_res_cr0_prot - rm_blob
	mov $MSR_EFER, %ecx
	rdmsr
	and $~EFER_LME, %eax
	wrmsr
	rdmsr
	mov %eax, rm_res_efer_prot - rm_blob
	ljmp $GDT_CODE16, $(rm_pm16 - rm_blob)

back32:
	mov $GDT_DATA, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov %cr0, %eax
	mov %eax, rm_res_cr0_prot2 - rm_blob
	mov rm_saved_cr4, %eax
	mov %eax, %cr4
	mov rm_saved_cr3, %eax
	mov %eax, %cr3
	mov $MSR_EFER, %ecx
	rdmsr
	or $(EFER_LME | EFER_NXE), %eax
	wrmsr
	mov %cr0, %eax
	or $CR0_PG, %eax
	mov %eax, %cr0
	ljmp $GDT_CODE64, $back64

	.code64
back64:
	mov $GDT_DATA, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov rm_saved_rsp(%rip), %rsp
	lidt rm_saved_idt(%rip)
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbp
	pop %rbx
	ret

	.data
rm_saved_rsp: .quad 0
rm_saved_cr3: .long 0
rm_saved_cr4: .long 0
rm_saved_idt: .word 0
	.quad 0

/* The blob runs at physical 0; every address inside it is its offset. */
	.balign 16
	.globl rm_blob, rm_blob_end
	.globl rm_res_cr0_prot, rm_res_efer_prot, rm_res_cr0_real, rm_res_cs, rm_res_entered0
	.globl rm_res_cr0_prot2, rm_res_call
	.code16
rm_blob:
	/* 0000:0000 - the SMP-trampoline-shaped way up. */
	cli
	xor %ax, %ax
	mov %ax, %ds
	incl rm_res_entered0 - rm_blob
	lgdtl rm_gdt_desc - rm_blob
	mov %cr0, %eax
	or $CR0_PE, %eax
	mov %eax, %cr0
	ljmpl $GDT_CODE32, $back32

rm_pm16:
	/* 16-bit protected mode, CS base 0. */
	mov $GDT_DATA16, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov %cr0, %eax
	and $~CR0_PE, %eax
	mov %eax, %cr0
	ljmp $0, $(rm_real - rm_blob)
rm_real:
	xor %ax, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov $0x6000, %sp
	lidt rm_ivt_desc - rm_blob
	mov %cr0, %eax
	mov %eax, rm_res_cr0_real - rm_blob
	/* Segment arithmetic: ES=0x100 -> 0x1000 + 0x10. */
	mov $0x100, %ax
	mov %ax, %es
	movw $0xbeef, %es:0x10
	/* A 16-bit call/ret on the real-mode stack. */
	call rm_sub
	/* Print from real mode. */
	mov $(rm_msg - rm_blob), %si
	cld
1:	lodsb
	test %al, %al
	jz 2f
	out %al, $0xe9
	jmp 1b
2:	/* Far jump into segment 0x0001 (base 0x10). */
	ljmp $0x1, $(rm_seg_target - rm_blob - 0x10)
rm_seg_target:
	mov %cs, %ax
	mov %ax, rm_res_cs - rm_blob
	ljmp $0, $0

rm_sub:
	mov %sp, %ax
	mov %ax, rm_res_call - rm_blob
	ret

	.balign 8
rm_gdt_desc:
	.word 0x4f
	.long gdt
rm_ivt_desc:
	.word 0x3ff
	.long 0
rm_msg:	.asciz "realmode: hello from real mode\n"
	.balign 4
rm_res_cr0_prot:  .long 0
rm_res_efer_prot: .long 0
rm_res_cr0_real:  .long 0
rm_res_cs:        .long 0
rm_res_entered0:  .long 0
rm_res_cr0_prot2: .long 0
rm_res_call:      .long 0
rm_blob_end:
