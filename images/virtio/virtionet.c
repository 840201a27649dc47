/* virtionet: drives a transitional virtio-net PCI function through the legacy I/O BAR, as OSv
 * does (MAC, STATUS and MRG_RXBUF negotiated, 12-byte header, INTx through the IOAPIC, rx buffers
 * of one descriptor, tx as header + frame). What it does comes from the command line:
 *   dhcp                    DHCPDISCOVER until an offer arrives (passt's DHCP server); prints it
 *   udp-echo PORT           DHCP, then answers ARP for its address and echoes UDP datagrams sent to
 *                           PORT ("quit" ends the run)
 *   hub-ping N | hub-pong N N raw frames (ethertype 0x88b5) each way between two machines
 *   bench-send N LEN | bench-recv   UDP frames as fast as the ring allows; the receiver counts
 *   bad-desc                tx chains pointing outside RAM / looping: the device must ask for a
 *                           reset (status bit 0x40); then a reset and a good frame
 * Output: PASS/FAIL lines and "net: ..." lines on port 0xE9, exit through port 0xF4. */
#include "lib.h"

#define LAPIC 0xfee00000UL
#define IOAPIC 0xfec00000UL
#define NET_VEC 0x50
#define TIMER_VEC 0x51

/* Legacy virtio-pci registers (I/O BAR 0). */
#define VP_HOST_FEATURES 0x00
#define VP_GUEST_FEATURES 0x04
#define VP_QUEUE_PFN 0x08
#define VP_QUEUE_NUM 0x0c
#define VP_QUEUE_SEL 0x0e
#define VP_QUEUE_NOTIFY 0x10
#define VP_STATUS 0x12
#define VP_ISR 0x13
#define VP_CONFIG 0x14 /* without MSI-X */

#define S_ACK 1
#define S_DRIVER 2
#define S_DRIVER_OK 4
#define S_FEATURES_OK 8
#define S_NEEDS_RESET 0x40
#define S_FAILED 0x80

#define F_MAC (1u << 5)
#define F_MRG_RXBUF (1u << 15)
#define F_STATUS (1u << 16)

#define D_NEXT 1
#define D_WRITE 2

struct vdesc { uint64_t addr; uint32_t len; uint16_t flags, next; };
struct vring {
	uint16_t num, last_used, free_head, nfree;
	struct vdesc *desc;
	volatile uint16_t *avail; /* flags, idx, ring[num], used_event */
	volatile uint8_t *used;   /* flags, idx, {id, len}[num], avail_event */
};

static uint16_t io;
static uint32_t features;
static uint8_t mac[6];
static struct vring rxq, txq;
static volatile uint64_t irqs, timer_fired;
static uint8_t *rxbuf[256];
#define RXBUF_SIZE 2048
#define HDR_LEN 12

static void pci_w32(int dev, int reg, uint32_t v) { outl(0xcf8, 0x80000000u | dev << 11 | reg); outl(0xcfc, v); }
static uint32_t pci_r32(int dev, int reg) {
	outl(0xcf8, 0x80000000u | dev << 11 | reg);
	uint32_t v; asm volatile("inl %1, %0" : "=a"(v) : "Nd"((uint16_t)0xcfc)); return v;
}
static uint32_t inl_(uint16_t p) { uint32_t v; asm volatile("inl %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static uint16_t inw_(uint16_t p) { uint16_t v; asm volatile("inw %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static void lapic_write(uint32_t reg, uint32_t v) { *(volatile uint32_t *)(LAPIC + reg) = v; }
static void ioapic_write(uint32_t reg, uint32_t v) {
	*(volatile uint32_t *)IOAPIC = reg;
	*(volatile uint32_t *)(IOAPIC + 0x10) = v;
}

static void net_irq(struct trap_frame *f) {
	(void)inb(io + VP_ISR); /* reading ISR lowers the INTx line */
	irqs++;
	lapic_write(0xb0, 0);
}
static void timer_irq(struct trap_frame *f) { timer_fired = 1; lapic_write(0xb0, 0); }
static void arm_timer(uint64_t ns) {
	timer_fired = 0;
	lapic_write(0x3e0, 0xb);
	lapic_write(0x320, TIMER_VEC);
	lapic_write(0x380, ns > 0xffffffffu ? 0xffffffffu : (uint32_t)ns);
}

static int find_device(void) {
	for (int dev = 0; dev < 32; dev++) {
		uint32_t id = pci_r32(dev, 0);
		if ((id & 0xffff) != 0x1af4 || (id >> 16) != 0x1000) continue;
		uint32_t bar0 = pci_r32(dev, 0x10);
		io = (uint16_t)(bar0 & ~3u);
		pci_w32(dev, 4, pci_r32(dev, 4) | 5); /* I/O decode, bus master */
		int gsi = pci_r32(dev, 0x3c) & 0xff;
		kprintf("net: virtio-net at 00:%02x.0, I/O 0x%x, subsystem %u, GSI %d\n", dev, io, pci_r32(dev, 0x2c) >> 16, gsi);
		ioapic_write(0x10 + 2 * gsi + 1, 0);
		ioapic_write(0x10 + 2 * gsi, NET_VEC | (1 << 15)); /* level, active high, fixed, CPU 0 */
		return 1;
	}
	return 0;
}

static void setup_queue(struct vring *q, int index) {
	outw(io + VP_QUEUE_SEL, (uint16_t)index);
	uint16_t num = inw_(io + VP_QUEUE_NUM);
	if (num > 256) num = 256;
	size_t avail_end = 16 * (size_t)num + 6 + 2 * (size_t)num;
	size_t used_off = (avail_end + 4095) & ~(size_t)4095;
	size_t total = used_off + 6 + 8 * (size_t)num;
	uint8_t *mem = alloc_pages((total + 4095) / 4096, 4096);
	q->num = num;
	q->desc = (struct vdesc *)mem;
	q->avail = (volatile uint16_t *)(mem + 16 * num);
	q->used = mem + used_off;
	q->last_used = 0;
	q->free_head = 0;
	q->nfree = num;
	for (int i = 0; i < num; i++) q->desc[i].next = (uint16_t)(i + 1);
	outl(io + VP_QUEUE_PFN, (uint32_t)((uintptr_t)mem >> 12));
}

static uint16_t used_idx(struct vring *q) { return *(volatile uint16_t *)(q->used + 2); }
static void used_elem(struct vring *q, uint16_t slot, uint32_t *id, uint32_t *len) {
	volatile uint32_t *e = (volatile uint32_t *)(q->used + 4 + 8 * (slot % q->num));
	*id = e[0];
	*len = e[1];
}
static void publish(struct vring *q, uint16_t head) {
	uint16_t idx = q->avail[1];
	q->avail[2 + idx % q->num] = head;
	asm volatile("" ::: "memory");
	q->avail[1] = (uint16_t)(idx + 1);
}

static void post_rx(uint16_t d) {
	rxq.desc[d].addr = (uintptr_t)rxbuf[d];
	rxq.desc[d].len = RXBUF_SIZE;
	rxq.desc[d].flags = D_WRITE;
	publish(&rxq, d);
}

static int net_init(uint32_t want) {
	outb(io + VP_STATUS, 0);
	outb(io + VP_STATUS, S_ACK);
	outb(io + VP_STATUS, S_ACK | S_DRIVER);
	uint32_t host = inl_(io + VP_HOST_FEATURES);
	features = host & want;
	outl(io + VP_GUEST_FEATURES, features);
	for (int i = 0; i < 6; i++) mac[i] = inb(io + VP_CONFIG + i);
	setup_queue(&rxq, 0);
	setup_queue(&txq, 1);
	for (uint16_t d = 0; d < rxq.num; d++) {
		if (!rxbuf[d]) rxbuf[d] = alloc_pages(1, 4096);
		post_rx(d);
	}
	rxq.nfree = 0;
	outb(io + VP_STATUS, S_ACK | S_DRIVER | S_DRIVER_OK);
	outw(io + VP_QUEUE_NOTIFY, 0);
	kprintf("net: host features 0x%x, using 0x%x, mac %02x:%02x:%02x:%02x:%02x:%02x, rx %u tx %u\n", host, features,
		mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], rxq.num, txq.num);
	return host;
}

static uint16_t link_status(void) { return inw_(io + VP_CONFIG + 6); }

/* Frees the tx chains the device is done with. */
static void reclaim_tx(void) {
	while (txq.last_used != used_idx(&txq)) {
		uint32_t id, len;
		used_elem(&txq, txq.last_used++, &id, &len);
		uint16_t d = (uint16_t)id, n = 1;
		while (txq.desc[d].flags & D_NEXT) { d = txq.desc[d].next; n++; }
		txq.desc[d].next = txq.free_head;
		txq.free_head = (uint16_t)id;
		txq.nfree += n;
	}
}

static uint8_t *txbufs;
/* Sends a frame as header + data (two descriptors); 0 when the ring is full. */
static int send_frame(const uint8_t *frame, uint32_t len) {
	reclaim_tx();
	if (txq.nfree < 2) return 0;
	if (!txbufs) txbufs = alloc_pages(txq.num, 4096); /* 2 KiB per descriptor pair slot */
	uint16_t h = txq.free_head, d = txq.desc[h].next;
	txq.free_head = txq.desc[d].next;
	txq.nfree -= 2;
	uint8_t *buf = txbufs + (size_t)h * 2048;
	memset(buf, 0, HDR_LEN);
	memcpy(buf + HDR_LEN, frame, len);
	txq.desc[h].addr = (uintptr_t)buf;
	txq.desc[h].len = (features & F_MRG_RXBUF) ? 12 : 10;
	txq.desc[h].flags = D_NEXT;
	txq.desc[h].next = d;
	txq.desc[d].addr = (uintptr_t)(buf + HDR_LEN);
	txq.desc[d].len = len;
	txq.desc[d].flags = 0;
	publish(&txq, h);
	outw(io + VP_QUEUE_NOTIFY, 1);
	return 1;
}

/* The next received frame (without the virtio header) into out; its length, or -1 on timeout.
 * timeout_ns 0 = wait for ever (no timer: an idle guest the host must wake). */
static int recv_frame(uint8_t *out, uint64_t timeout_ns) {
	if (timeout_ns) arm_timer(timeout_ns);
	for (;;) {
		asm volatile("cli");
		if (rxq.last_used != used_idx(&rxq)) break;
		if (timeout_ns && timer_fired) { asm volatile("sti"); return -1; }
		asm volatile("sti; hlt" ::: "memory");
	}
	asm volatile("sti");
	if (timeout_ns) lapic_write(0x380, 0);
	uint32_t id, len;
	used_elem(&rxq, rxq.last_used++, &id, &len);
	uint8_t *b = rxbuf[id];
	uint16_t nbufs = (features & F_MRG_RXBUF) ? *(uint16_t *)(b + 10) : 1;
	uint32_t hdr = (features & F_MRG_RXBUF) ? 12 : 10;
	int n = (int)(len - hdr);
	memcpy(out, b + hdr, (size_t)n);
	post_rx((uint16_t)id);
	/* Mergeable buffers: the rest of the frame is in the next nbufs - 1 used entries, no header. */
	for (uint16_t k = 1; k < nbufs; k++) {
		while (rxq.last_used == used_idx(&rxq)) asm volatile("pause");
		used_elem(&rxq, rxq.last_used++, &id, &len);
		memcpy(out + n, rxbuf[id], len);
		n += (int)len;
		post_rx((uint16_t)id);
	}
	if (nbufs != 1) kprintf("net: frame of %d bytes over %u buffers\n", n, nbufs);
	outw(io + VP_QUEUE_NOTIFY, 0);
	return n;
}

/* ---- IPv4 / UDP / DHCP ---- */
static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s) {
	for (size_t i = 0; i + 1 < n; i += 2) s += be16(p + i);
	if (n & 1) s += (uint32_t)p[n - 1] << 8;
	return s;
}
static uint16_t fold(uint32_t s) { while (s >> 16) s = (s & 0xffff) + (s >> 16); return (uint16_t)~s; }

/* Ethernet + IPv4 + UDP around payload; returns the frame length. */
static int build_udp(uint8_t *f, const uint8_t *dmac, const uint8_t sip[4], const uint8_t dip[4],
		uint16_t sport, uint16_t dport, const uint8_t *payload, uint32_t plen) {
	memcpy(f, dmac, 6);
	memcpy(f + 6, mac, 6);
	put16(f + 12, 0x0800);
	uint8_t *ip = f + 14;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(20 + 8 + plen));
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, sip, 4);
	memcpy(ip + 16, dip, 4);
	put16(ip + 10, fold(sum16(ip, 20, 0)));
	uint8_t *u = ip + 20;
	put16(u, sport);
	put16(u + 2, dport);
	put16(u + 4, (uint16_t)(8 + plen));
	put16(u + 6, 0);
	memcpy(u + 8, payload, plen);
	uint32_t s = sum16(ip + 12, 8, 17 + 8 + plen);
	uint16_t c = fold(sum16(u, 8 + plen, s));
	put16(u + 6, c ? c : 0xffff);
	return (int)(14 + 20 + 8 + plen);
}

static const uint8_t BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static uint8_t my_ip[4], server_ip[4];
static uint8_t frame[65536 + 64];

static int dhcp_discover(void) {
	static uint8_t b[300];
	memset(b, 0, sizeof(b));
	b[0] = 1; b[1] = 1; b[2] = 6;
	b[4] = 0x4f; b[5] = 0x53; b[6] = 0x56; b[7] = 0x31; /* xid "OSV1" */
	put16(b + 10, 0x8000);
	memcpy(b + 28, mac, 6);
	b[236] = 0x63; b[237] = 0x82; b[238] = 0x53; b[239] = 0x63;
	uint8_t *o = b + 240;
	*o++ = 53; *o++ = 1; *o++ = 1;           /* DHCPDISCOVER */
	*o++ = 55; *o++ = 3; *o++ = 1; *o++ = 3; *o++ = 6;
	*o++ = 255;
	static const uint8_t zero[4] = { 0, 0, 0, 0 }, all[4] = { 255, 255, 255, 255 };
	static uint8_t f[400];
	int n = build_udp(f, BCAST, zero, all, 68, 67, b, sizeof(b));
	return send_frame(f, (uint32_t)n);
}

/* A DHCPOFFER for our xid: fills my_ip / server_ip. */
static int is_offer(const uint8_t *f, int n) {
	if (n < 14 + 20 + 8 + 240 || be16(f + 12) != 0x0800 || f[14 + 9] != 17) return 0;
	const uint8_t *u = f + 14 + (f[14] & 15) * 4;
	if (be16(u + 2) != 68) return 0;
	const uint8_t *b = u + 8;
	if (b[0] != 2 || memcmp(b + 4, "OSV1", 4) != 0) return 0;
	int type = 0;
	for (const uint8_t *o = b + 240; o < f + n && *o != 255;) {
		if (*o == 0) { o++; continue; }
		if (o[0] == 53) type = o[2];
		if (o[0] == 54 && o[1] == 4) memcpy(server_ip, o + 2, 4);
		o += 2 + o[1];
	}
	if (type != 2) return 0;
	memcpy(my_ip, b + 16, 4);
	return 1;
}

static int do_dhcp(void) {
	for (int attempt = 0; attempt < 5; attempt++) {
		dhcp_discover();
		for (;;) {
			int n = recv_frame(frame, 1000000000ull);
			if (n < 0) break;
			if (is_offer(frame, n)) {
				kprintf("net: DHCP offer %u.%u.%u.%u from %u.%u.%u.%u\n", my_ip[0], my_ip[1], my_ip[2], my_ip[3],
					server_ip[0], server_ip[1], server_ip[2], server_ip[3]);
				return 1;
			}
		}
	}
	return 0;
}

static void answer_arp(const uint8_t *f, int n) {
	const uint8_t *a = f + 14;
	if (n < 42 || be16(a + 6) != 1 || memcmp(a + 24, my_ip, 4) != 0) return;
	static uint8_t r[42];
	memcpy(r, f + 6, 6);
	memcpy(r + 6, mac, 6);
	put16(r + 12, 0x0806);
	memcpy(r + 14, a, 6);
	put16(r + 20, 2);
	memcpy(r + 22, mac, 6);
	memcpy(r + 28, my_ip, 4);
	memcpy(r + 32, a + 8, 10);
	send_frame(r, 42);
}

static void udp_echo(uint16_t port) {
	static uint8_t reply[2048];
	int echoed = 0;
	for (;;) {
		int n = recv_frame(frame, 0);
		uint16_t type = be16(frame + 12);
		if (type == 0x0806) { answer_arp(frame, n); continue; }
		if (type != 0x0800 || frame[14 + 9] != 17 || memcmp(frame + 14 + 16, my_ip, 4) != 0) continue;
		const uint8_t *ip = frame + 14, *u = ip + (ip[0] & 15) * 4;
		if (be16(u + 2) != port) continue;
		uint32_t plen = be16(u + 4) - 8;
		static uint8_t payload[1500];
		if (plen > 1400) plen = 1400;
		memcpy(payload, "echo:", 5);
		memcpy(payload + 5, u + 8, plen);
		int quit = plen == 4 && memcmp(u + 8, "quit", 4) == 0;
		int m = build_udp(reply, frame + 6, my_ip, ip + 12, port, be16(u), payload, plen + 5);
		send_frame(reply, (uint32_t)m);
		echoed++;
		kprintf("net: echoed %u bytes to %u.%u.%u.%u:%u\n", plen, ip[12], ip[13], ip[14], ip[15], be16(u));
		if (quit) break;
	}
	check(echoed >= 2, "udp-echo");
}

#define HUB_TYPE 0x88b5
static int hub_frame(uint8_t *f, const uint8_t *dst, const char *word, unsigned i) {
	memcpy(f, dst, 6);
	memcpy(f + 6, mac, 6);
	put16(f + 12, HUB_TYPE);
	memset(f + 14, 0, 46);
	memcpy(f + 14, word, 4);
	f[18] = (uint8_t)(i >> 8);
	f[19] = (uint8_t)i;
	return 60;
}

static void hub(int ping, unsigned n) {
	static uint8_t f[64];
	unsigned ok = 0;
	for (unsigned i = 0; i < n; i++) {
		if (ping) {
			/* Resent every 10 ms: the peer's driver may not be up yet (frames before that are lost). */
			int got = 0;
			while (!got) {
				send_frame(f, (uint32_t)hub_frame(f, BCAST, "ping", i));
				for (;;) {
					int m = recv_frame(frame, 10000000ull);
					if (m < 0) break;
					if (m >= 20 && be16(frame + 12) == HUB_TYPE && !memcmp(frame + 14, "pong", 4) && be16(frame + 18) == i) { got = 1; break; }
				}
			}
			ok++;
		} else {
			for (;;) {
				int m = recv_frame(frame, 0);
				if (m >= 20 && be16(frame + 12) == HUB_TYPE && !memcmp(frame + 14, "ping", 4) && be16(frame + 18) == i) break;
			}
			send_frame(f, (uint32_t)hub_frame(f, frame + 6, "pong", i));
			ok++;
		}
	}
	kprintf("net: %s %u of %u\n", ping ? "pongs" : "pings answered", ok, n);
	check(ok == n, ping ? "hub-ping" : "hub-pong");
}

static void bench_send(unsigned n, unsigned len) {
	static uint8_t payload[1500];
	static uint8_t f[1600];
	static const uint8_t a[4] = { 10, 0, 0, 1 }, b[4] = { 10, 0, 0, 2 };
	if (len > 1472) len = 1472;
	unsigned sent = 0, full = 0;
	while (sent < n) {
		put16(payload, (uint16_t)sent);
		int m = build_udp(f, BCAST, a, b, 9, 9, payload, len);
		if (send_frame(f, (uint32_t)m)) sent++;
		else full++;
	}
	memcpy(payload, "end!", 4);
	int m = build_udp(f, BCAST, a, b, 9, 10, payload, 4);
	while (!send_frame(f, (uint32_t)m)) {}
	kprintf("net: sent %u frames of %u payload bytes (ring full %u times)\n", sent, len, full);
	check(1, "bench-send");
}

static void bench_recv(void) {
	unsigned frames = 0;
	uint64_t bytes = 0;
	for (;;) {
		/* Ends at the sender's end marker, or 50 ms after the last frame if the marker was lost. */
		int m = recv_frame(frame, frames ? 50000000ull : 0);
		if (m < 0) break;
		if (m >= 42 && be16(frame + 12) == 0x0800 && be16(frame + 14 + 20 + 2) == 10) break;
		frames++;
		bytes += (unsigned)m;
	}
	kprintf("net: received %u frames, %lu bytes\n", frames, bytes);
	check(frames > 0, "bench-recv");
}

static void bad_desc(void) {
	/* A two-descriptor chain whose data lies beyond RAM. */
	reclaim_tx();
	uint16_t h = txq.free_head, d = txq.desc[h].next;
	static uint8_t hdr[12];
	txq.desc[h].addr = (uintptr_t)hdr;
	txq.desc[h].len = 12;
	txq.desc[h].flags = D_NEXT;
	txq.desc[h].next = d;
	txq.desc[d].addr = 0x7ff000000000ull;
	txq.desc[d].len = 64;
	txq.desc[d].flags = 0;
	publish(&txq, h);
	outw(io + VP_QUEUE_NOTIFY, 1);
	uint8_t st = inb(io + VP_STATUS);
	kprintf("net: status after a descriptor outside RAM: 0x%x\n", st);
	check(st & S_NEEDS_RESET, "bad-desc-outside-ram-needs-reset");

	/* Reset, then a chain that loops on itself. */
	net_init(F_MAC | F_STATUS | F_MRG_RXBUF);
	txq.desc[0].addr = (uintptr_t)hdr;
	txq.desc[0].len = 12;
	txq.desc[0].flags = D_NEXT;
	txq.desc[0].next = 1;
	txq.desc[1].addr = (uintptr_t)hdr;
	txq.desc[1].len = 12;
	txq.desc[1].flags = D_NEXT;
	txq.desc[1].next = 0;
	publish(&txq, 0);
	outw(io + VP_QUEUE_NOTIFY, 1);
	st = inb(io + VP_STATUS);
	kprintf("net: status after a looping chain: 0x%x\n", st);
	check(st & S_NEEDS_RESET, "bad-desc-loop-needs-reset");

	/* Reset again: the device works. */
	net_init(F_MAC | F_STATUS | F_MRG_RXBUF);
	static uint8_t f[64];
	check(send_frame(f, (uint32_t)hub_frame(f, BCAST, "good", 1)), "bad-desc-recovered-send");
	for (int i = 0; i < 1000 && txq.last_used == used_idx(&txq); i++) asm volatile("pause");
	check(txq.last_used != used_idx(&txq), "bad-desc-recovered-used");
	check((inb(io + VP_STATUS) & S_NEEDS_RESET) == 0, "bad-desc-recovered-status");
}

static const char *arg(const char *cmd, int index) {
	const char *p = cmd;
	for (int i = 0; i < index; i++) {
		while (*p && *p != ' ') p++;
		while (*p == ' ') p++;
	}
	return p;
}
static unsigned num(const char *p, unsigned dflt) {
	if (*p < '0' || *p > '9') return dflt;
	unsigned v = 0;
	while (*p >= '0' && *p <= '9') v = v * 10 + (unsigned)(*p++ - '0');
	return v;
}
static int is(const char *p, const char *word) {
	size_t n = strlen(word);
	return strncmp(p, word, n) == 0 && (p[n] == 0 || p[n] == ' ');
}

void guest_main(void) {
	trap_handlers[NET_VEC] = net_irq;
	trap_handlers[TIMER_VEC] = timer_irq;
	lapic_write(0xf0, 0x1ff);
	/* Interrupts on, as in OSv: a completion interrupt left pending under cli would be re-examined
	 * after every instruction block. */
	asm volatile("sti");
	const char *cmd = boot_info.cmdline;
	while (cmd[0] == '-' && cmd[1] == '-') cmd = arg(cmd, 1); /* kernel options (--verbose) */
	if (!check(find_device(), "virtio-net-found")) return;
	uint32_t host = (uint32_t)net_init(F_MAC | F_STATUS | F_MRG_RXBUF);
	check((host & (F_MAC | F_STATUS | F_MRG_RXBUF)) == (F_MAC | F_STATUS | F_MRG_RXBUF), "features-mac-status-mrg-rxbuf");
	kprintf("net: link %s\n", link_status() & 1 ? "up" : "down");
	if (is(cmd, "dhcp")) check(do_dhcp(), "dhcp-offer");
	else if (is(cmd, "udp-echo")) {
		if (check(do_dhcp(), "dhcp-offer")) {
			kprintf("net: ready\n");
			udp_echo((uint16_t)num(arg(cmd, 1), 7));
		}
	} else if (is(cmd, "hub-ping")) hub(1, num(arg(cmd, 1), 3));
	else if (is(cmd, "hub-pong")) hub(0, num(arg(cmd, 1), 3));
	else if (is(cmd, "bench-send")) bench_send(num(arg(cmd, 1), 10000), num(arg(cmd, 2), 1000));
	else if (is(cmd, "bench-recv")) bench_recv();
	else if (is(cmd, "bad-desc")) bad_desc();
	else if (is(cmd, "link")) check(1, "link");
	else fail("command", "unknown command line \"%s\"", cmd);
	pass("virtionet");
}
