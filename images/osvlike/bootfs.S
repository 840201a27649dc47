// The boot file system, in the layout of OSv's bootfs (what scripts/mkbootfs.py packs into a
// ramfs kernel and unpack_bootfs() reads): 128-byte records {u64 size, u64 offset from
// bootfs_start, u8 type, char name[111]}, an all-zero record, then the contents. osvemu's test
// runner finds /tests/tst-*.so here as it does in a real ramfs kernel. Each "program" is a
// word naming what apps.cc does for it, the way a real image holds the test's ELF.
	.pushsection .data
	.global bootfs_start
bootfs_start:
	.macro record id, name
.Lrec\id:
	.quad .Lend\id - .Ldata\id
	.quad .Ldata\id - bootfs_start
	.byte 0
	.asciz "\name"
	.org .Lrec\id + 128
	.endm
	.macro content id, text
.Ldata\id:
	.ascii "\text"
.Lend\id:
	.endm

	record 1, "/hello.so"
	record 2, "/tests/tst-pass.so"
	record 3, "/tests/tst-fail.so"
	record 4, "/tests/tst-status.so"
	record 5, "/tests/tst-abort.so"
	record 6, "/tests/tst-hang.so"
	record 7, "/tests/tst-triple.so"
	.fill 128, 1, 0
	content 1, "hello"
	content 2, "pass"
	content 3, "fail"
	content 4, "status"
	content 5, "abort"
	content 6, "hang"
	content 7, "triple"
	.popsection
