/* virtio: a small driver for osvemu's virtio-pci devices, the way OSv drives them (legacy I/O
 * BAR, MSI-X, split rings). The command line picks the test:
 *   blk       read the whole disk in 64 KiB requests (one "READ offset hash" line each), write and
 *             read back sectors, flush, GET_ID, indirect descriptors, an out-of-range read
 *   intx      a few reads with MSI-X left off: INTx through the IOAPIC, ISR bit 0
 *   rng       two 32-byte requests to virtio-rng, printed as "RNG hex"
 *   hostile   bad descriptor chains: each must leave the device in needs-reset, a reset revives it
 *   bench N   read the disk sequentially in N-byte requests, "BENCH bytes" at the end
 * Output goes to port 0xE9 (PASS/FAIL lines, DONE). */
#include "lib.h"

#define VEC 0x40
#define LAPIC 0xfee00000UL
#define SECTOR 512

static inline uint16_t inw(uint16_t p) { uint16_t v; asm volatile("inw %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint32_t inl(uint16_t p) { uint32_t v; asm volatile("inl %1, %0" : "=a"(v) : "Nd"(p)); return v; }

static uint32_t pci_read(int slot, int off) {
	outl(0xcf8, 0x80000000u | (slot << 11) | (off & 0xfc));
	return inl(0xcfc);
}
static void pci_write(int slot, int off, uint32_t v) {
	outl(0xcf8, 0x80000000u | (slot << 11) | (off & 0xfc));
	outl(0xcfc, v);
}

struct desc { uint64_t addr; uint32_t len; uint16_t flags, next; };
#define F_NEXT 1
#define F_WRITE 2
#define F_INDIRECT 4

struct vdev {
	int slot;
	uint16_t io;
	uint16_t qsize;
	struct desc *desc;
	volatile uint16_t *avail; /* flags, idx, ring[], used_event */
	volatile uint8_t *used;   /* flags, idx, ring[] of {id, len} */
	uint16_t avail_idx, used_seen;
	uint32_t features;
};

static int no_msix;
static volatile uint64_t irqs, isr_bits;
static uint16_t intx_io;
static void irq_handler(struct trap_frame *f) {
	irqs++;
	if (no_msix) isr_bits |= inb(intx_io + 0x13); /* reading the ISR lowers INTx */
	*(volatile uint32_t *)(LAPIC + 0xb0) = 0;
}

/* INTx: the interrupt line the firmware wrote at 0x3c, routed level-triggered through the IOAPIC. */
static void intx_setup(int slot, uint16_t io) {
	uint32_t gsi = pci_read(slot, 0x3c) & 0xff;
	volatile uint32_t *ioapic = (volatile uint32_t *)0xfec00000UL;
	ioapic[0] = 0x10 + 2 * gsi + 1;
	ioapic[4] = 0;
	ioapic[0] = 0x10 + 2 * gsi;
	ioapic[4] = VEC | (1 << 15);
	intx_io = io;
	kprintf("INTX gsi %u\n", gsi);
}

static int find(int subsystem) {
	for (int s = 0; s < 32; s++) {
		uint32_t id = pci_read(s, 0);
		if ((id & 0xffff) == 0x1af4 && (pci_read(s, 0x2c) >> 16) == (uint32_t)subsystem) return s;
	}
	return -1;
}

/* MSI-X on, table entry `entry` -> LAPIC 0 vector VEC. */
static void msix_setup(int slot, int nentries) {
	int cap = pci_read(slot, 0x34) & 0xff;
	while (cap && (pci_read(slot, cap) & 0xff) != 0x11) cap = (pci_read(slot, cap) >> 8) & 0xff;
	if (!check(cap != 0, "msix-capability")) return;
	uint32_t table = pci_read(slot, cap + 4);
	uint64_t bar = pci_read(slot, 0x10 + 4 * (table & 7)) & ~0xfu;
	volatile uint32_t *t = (volatile uint32_t *)(bar + (table & ~7u));
	for (int e = 0; e < nentries; e++) {
		t[4 * e] = 0xfee00000u;
		t[4 * e + 1] = 0;
		t[4 * e + 2] = VEC;
		t[4 * e + 3] = 0;
	}
	pci_write(slot, cap, pci_read(slot, cap) | 0x80000000u);
}

/* Legacy bring-up of queue 0 with the given driver features; MSI-X vector 0 for the queue unless
 * the device runs on INTx (no_msix). */
static int vinit(struct vdev *d, uint32_t want) {
	uint16_t io = d->io;
	outb(io + 0x12, 0);
	outb(io + 0x12, 1);
	outb(io + 0x12, 3);
	d->features = inl(io) & want;
	outl(io + 0x04, d->features);
	outw(io + 0x0e, 0);
	d->qsize = inw(io + 0x0c);
	if (!no_msix) {
		outw(io + 0x16, 0);
		if (inw(io + 0x16) != 0) return 0;
	}
	size_t used_off = ((16 * d->qsize + 6 + 2 * d->qsize) + 4095) & ~4095ul;
	uint8_t *ring = alloc_pages((used_off + 6 + 8 * d->qsize + 4095) / 4096, 4096);
	d->desc = (struct desc *)ring;
	d->avail = (volatile uint16_t *)(ring + 16 * d->qsize);
	d->used = ring + used_off;
	d->avail_idx = d->used_seen = 0;
	outl(io + 0x08, (uint32_t)((uintptr_t)ring >> 12));
	outb(io + 0x12, 7);
	return 1;
}

static uint8_t dev_status(struct vdev *d) { return inb(d->io + 0x12); }

/* Offers chain `head`, kicks, and waits (sti; hlt) for the used ring; returns the used length. */
static uint32_t submit(struct vdev *d, uint16_t head) {
	d->avail[2 + (d->avail_idx % d->qsize)] = head;
	d->avail[2 + d->qsize] = d->used_seen; /* used_event (EVENT_IDX): interrupt for the next entry */
	asm volatile("" ::: "memory");
	d->avail[1] = ++d->avail_idx;
	outw(d->io + 0x10, 0);
	volatile uint16_t *uidx = (volatile uint16_t *)(d->used + 2);
	while (*uidx == d->used_seen) {
		if (dev_status(d) & 0x40) return 0xffffffff;
		asm volatile("sti; hlt; cli" ::: "memory");
	}
	uint32_t len = *(volatile uint32_t *)(d->used + 4 + 8 * (d->used_seen % d->qsize) + 4);
	d->used_seen++;
	return len;
}

/* FNV-1a over 32-bit little-endian words (n is a multiple of 4): cheap for the emulator. */
static uint32_t fnv(const uint8_t *p, size_t n) {
	uint32_t h = 2166136261u;
	const uint32_t *w = (const uint32_t *)p;
	for (size_t i = 0; i < n / 4; i++) h = (h ^ w[i]) * 16777619u;
	return h;
}

struct blk_hdr { uint32_t type, reserved; uint64_t sector; };
static struct blk_hdr *hdr;
static volatile uint8_t *status;

/* One blk request: header, `len` bytes at `buf` (device-writable for reads), status. */
static uint8_t blk_rw(struct vdev *d, uint32_t type, uint64_t sector, void *buf, uint32_t len) {
	hdr->type = type;
	hdr->reserved = 0;
	hdr->sector = sector;
	*status = 0xff;
	int write = type == 0 || type == 8;
	d->desc[0] = (struct desc){ (uintptr_t)hdr, 16, F_NEXT, 1 };
	if (len) {
		d->desc[1] = (struct desc){ (uintptr_t)buf, len, F_NEXT | (write ? F_WRITE : 0), 2 };
		d->desc[2] = (struct desc){ (uintptr_t)status, 1, F_WRITE, 0 };
	} else d->desc[0].next = 2, d->desc[2] = (struct desc){ (uintptr_t)status, 1, F_WRITE, 0 };
	submit(d, 0);
	return *status;
}

static int blk_device(struct vdev *d, uint32_t features) {
	int slot = find(2);
	if (!check(slot >= 0, "blk-found")) return 0;
	d->slot = slot;
	d->io = pci_read(slot, 0x10) & ~3u;
	trap_handlers[VEC] = irq_handler;
	*(volatile uint32_t *)(LAPIC + 0xf0) = 0x1ff;
	if (no_msix) intx_setup(slot, d->io);
	else msix_setup(slot, 1);
	if (!check(vinit(d, features), "blk-msix-queue-vector")) return 0;
	hdr = alloc_page();
	status = (volatile uint8_t *)hdr + 64;
	return 1;
}

static uint64_t capacity(struct vdev *d) {
	/* Device config at 0x18 while MSI-X is on, else at 0x14. */
	uint16_t c = d->io + (no_msix ? 0x14 : 0x18);
	return inl(c) | ((uint64_t)inl(c + 4) << 32);
}

/* INTx instead of MSI-X: a few reads, each completion an interrupt with ISR bit 0. */
static void test_intx(void) {
	no_msix = 1;
	struct vdev d;
	if (!blk_device(&d, 0)) return;
	uint8_t *buf = alloc_pages(1, 4096);
	for (int k = 0; k < 4; k++) check_eq("intx-read-status", 0, blk_rw(&d, 0, k, buf, 512));
	kprintf("CAPACITY %lu\n", capacity(&d));
	check(irqs >= 4, "intx-interrupts");
	check_eq("intx-isr-queue-bit", 1, isr_bits);
}

static void fill(uint8_t *p, size_t n, uint32_t seed) {
	for (size_t i = 0; i < n; i++) p[i] = (uint8_t)((seed + i * 7) ^ (i >> 9));
}

static void test_blk(void) {
	struct vdev d;
	if (!blk_device(&d, (1u << 28) | (1u << 29) | (1u << 9))) return;
	uint64_t sectors = capacity(&d);
	kprintf("CAPACITY %lu\n", sectors);
	check(d.features & (1u << 28), "blk-indirect-offered");
	uint8_t *buf = alloc_pages(16, 4096);
	uint32_t chunk = 65536;
	uint64_t irq0 = irqs;
	for (uint64_t off = 0; off < sectors * SECTOR; off += chunk) {
		uint32_t n = sectors * SECTOR - off < chunk ? (uint32_t)(sectors * SECTOR - off) : chunk;
		uint8_t st = blk_rw(&d, 0, off / SECTOR, buf, n);
		if (st != 0) fail("blk-read", "status %u at %lu", st, off);
		kprintf("READ %lu %x\n", off, fnv(buf, n));
	}
	check(irqs > irq0, "blk-msix-interrupts");

	/* Writes: 8 sectors at 4096, 3 sectors at sector 1001 (inside a cluster), read back. */
	static const struct { uint64_t sector; uint32_t count; } w[] = { { 8, 8 }, { 1001, 3 } };
	for (int k = 0; k < 2; k++) {
		uint32_t n = w[k].count * SECTOR;
		fill(buf, n, (uint32_t)w[k].sector);
		check_eq("blk-write-status", 0, blk_rw(&d, 1, w[k].sector, buf, n));
		memset(buf, 0, n);
		check_eq("blk-read-back-status", 0, blk_rw(&d, 0, w[k].sector, buf, n));
		uint8_t *want = buf + 32768;
		fill(want, n, (uint32_t)w[k].sector);
		check(memcmp(buf, want, n) == 0, "blk-read-back");
		kprintf("WROTE %lu %u %x\n", w[k].sector, w[k].count, fnv(want, n));
	}
	check_eq("blk-flush", 0, blk_rw(&d, 4, 0, 0, 0));
	memset(buf, 0, 20);
	check_eq("blk-get-id", 0, blk_rw(&d, 8, 0, buf, 20));
	kprintf("SERIAL %s\n", (char *)buf);
	check_eq("blk-read-beyond-end-ioerr", 1, blk_rw(&d, 0, sectors, buf, 512));

	/* Indirect: header, 4 x 512-byte buffers, status in one table. */
	struct desc *tab = alloc_page();
	tab[0] = (struct desc){ (uintptr_t)hdr, 16, F_NEXT, 1 };
	for (int i = 0; i < 4; i++) tab[1 + i] = (struct desc){ (uintptr_t)(buf + 1024 * i), 512, F_NEXT | F_WRITE, (uint16_t)(2 + i) };
	tab[5] = (struct desc){ (uintptr_t)status, 1, F_WRITE, 0 };
	hdr->type = 0;
	hdr->sector = 0;
	*status = 0xff;
	d.desc[7] = (struct desc){ (uintptr_t)tab, 6 * 16, F_INDIRECT, 0 };
	uint32_t len = submit(&d, 7);
	check_eq("blk-indirect-status", 0, *status);
	check_eq("blk-indirect-len", 2049, len);
	uint8_t *flat = buf + 8192;
	for (int i = 0; i < 4; i++) memcpy(flat + 512 * i, buf + 1024 * i, 512);
	kprintf("INDIRECT %x\n", fnv(flat, 2048));
	pass("blk-done");
}

static void test_rng(void) {
	int slot = find(4);
	if (!check(slot >= 0, "rng-found")) return;
	struct vdev d = { .slot = slot, .io = pci_read(slot, 0x10) & ~3u };
	trap_handlers[VEC] = irq_handler;
	*(volatile uint32_t *)(LAPIC + 0xf0) = 0x1ff;
	msix_setup(slot, 1);
	if (!check(vinit(&d, 0), "rng-init")) return;
	uint8_t *buf = alloc_page();
	for (int r = 0; r < 2; r++) {
		d.desc[0] = (struct desc){ (uintptr_t)buf, 32, F_WRITE, 0 };
		check_eq("rng-len", 32, submit(&d, 0));
		kprintf("RNG ");
		for (int i = 0; i < 32; i++) kprintf("%02x", buf[i]);
		kprintf("\n");
	}
}

/* Each bad chain must set DEVICE_NEEDS_RESET; after a reset and re-init a good read works. */
static void test_hostile(void) {
	struct vdev d;
	if (!blk_device(&d, 1u << 28)) return;
	uint8_t *buf = alloc_page();
	struct desc *tab = alloc_page();
	for (int k = 0; k < 5; k++) {
		hdr->type = 0;
		hdr->sector = 0;
		switch (k) {
		case 0: /* data buffer far outside RAM */
			d.desc[0] = (struct desc){ (uintptr_t)hdr, 16, F_NEXT, 1 };
			d.desc[1] = (struct desc){ 0x7ff000000000ull, 512, F_NEXT | F_WRITE, 2 };
			d.desc[2] = (struct desc){ (uintptr_t)status, 1, F_WRITE, 0 };
			break;
		case 1: /* loop 0 -> 1 -> 0 */
			d.desc[0] = (struct desc){ (uintptr_t)hdr, 16, F_NEXT, 1 };
			d.desc[1] = (struct desc){ (uintptr_t)buf, 512, F_NEXT | F_WRITE, 0 };
			break;
		case 2: /* indirect table length not a multiple of 16 */
			d.desc[0] = (struct desc){ (uintptr_t)tab, 40, F_INDIRECT, 0 };
			break;
		case 3: /* over-long chain inside an indirect table (each entry links to the next, the last to 0) */
			for (int i = 0; i < 8; i++) tab[i] = (struct desc){ (uintptr_t)buf, 1, F_NEXT | F_WRITE, (uint16_t)((i + 1) % 8) };
			d.desc[0] = (struct desc){ (uintptr_t)tab, 8 * 16, F_INDIRECT, 0 };
			break;
		case 4: /* request without a status byte (bad length) */
			d.desc[0] = (struct desc){ (uintptr_t)hdr, 8, 0, 0 };
			break;
		}
		uint32_t r = submit(&d, 0);
		check_eq("hostile-no-completion", 0xffffffff, r);
		check_eq("hostile-needs-reset", 0x40, dev_status(&d) & 0x40);
		/* Reset and bring the device back. */
		vinit(&d, 1u << 28);
		check_eq("hostile-reset-clears", 7, dev_status(&d));
		check_eq("hostile-then-good-read", 0, blk_rw(&d, 0, 0, buf, 512));
	}
}

static void bench(const char *arg) {
	uint32_t chunk = 0;
	while (*arg >= '0' && *arg <= '9') chunk = chunk * 10 + (*arg++ - '0');
	if (chunk == 0 || chunk > (1u << 22)) chunk = 65536;
	struct vdev d;
	if (!blk_device(&d, 1u << 29)) return;
	uint64_t bytes = capacity(&d) * SECTOR;
	uint8_t *buf = alloc_pages(chunk / 4096 + 1, 4096);
	uint64_t done = 0;
	for (uint64_t off = 0; off + chunk <= bytes; off += chunk) {
		if (blk_rw(&d, 0, off / SECTOR, buf, chunk) != 0) {
			fail("bench-read", "at %lu", off);
			return;
		}
		done += chunk;
	}
	kprintf("BENCH %lu\n", done);
}

void guest_main(void) {
	const char *c = boot_info.cmdline;
	if (strncmp(c, "blk", 3) == 0) test_blk();
	else if (strncmp(c, "rng", 3) == 0) test_rng();
	else if (strncmp(c, "intx", 4) == 0) test_intx();
	else if (strncmp(c, "hostile", 7) == 0) test_hostile();
	else if (strncmp(c, "bench", 5) == 0) bench(c + 6);
	else fail("cmdline", "unknown test \"%s\"", c);
}
