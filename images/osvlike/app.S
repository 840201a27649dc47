/* The application object osvlike loads at run time (built from osvlike-app/hello.c by the
 * Makefile), kept as bytes in the kernel image as if it had been read from a file system. */
	.section .rodata
	.balign 4096
	.globl libhello_image, libhello_image_end
libhello_image:
	.incbin LIBHELLO
libhello_image_end:
