/* smp: the real-mode trampoline copied to physical 0, where STARTUP with
 * vector 0 starts each AP (CS=0000, IP=0000): lgdt, CR0.PE, far jump to the
 * shared 32-bit AP entry in common/start.S. */
#include "defs.h"
	.data
	.globl smp_blob, smp_blob_end
	.code16
smp_blob:
	cli
	xor %ax, %ax
	mov %ax, %ds
	lgdtl smp_gdt_desc - smp_blob
	mov %cr0, %eax
	or $CR0_PE, %eax
	mov %eax, %cr0
	ljmpl $GDT_CODE32, $ap_entry32
	.balign 8
smp_gdt_desc:
	.word 0x4f
	.long gdt
smp_blob_end:
	.code64
