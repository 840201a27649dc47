/* smp: CPUs from the ACPI MADT, APs started with INIT + STARTUP(vector 0)
 * through the xAPIC ICR into a real-mode trampoline at physical 0; each AP
 * reaches long mode and counts itself in with lock xadd. */
#include "lib.h"

#define LAPIC 0xfee00000UL
#define LAPIC_ID 0x20
#define LAPIC_SVR 0xf0
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310

extern char smp_blob[], smp_blob_end[];
static volatile uint32_t ap_count, ap_ids[MAX_CPUS];
static volatile uint64_t shared_counter;
static volatile int go;

static uint32_t lapic_read(uint32_t reg) { return *(volatile uint32_t *)(LAPIC + reg); }
static void lapic_write(uint32_t reg, uint32_t v) { *(volatile uint32_t *)(LAPIC + reg) = v; }

static void locked_add(volatile uint64_t *p, uint64_t v) {
	asm volatile("lock xaddq %0, %1" : "+r"(v), "+m"(*p) :: "memory");
}

static void delay(unsigned n) { while (n--) asm volatile("pause"); }

void ap_main(int index) {
	idt_load();
	uint32_t id = lapic_read(LAPIC_ID) >> 24;
	uint32_t one = 1;
	asm volatile("lock xaddl %0, %1" : "+r"(one), "+m"(ap_count) :: "memory");
	if (one < MAX_CPUS) ap_ids[one] = id;
	while (!go) asm volatile("pause");
	for (int i = 0; i < 1000; i++) locked_add(&shared_counter, 1);
	halt_forever();
}

static void send_ipi(uint32_t apic_id, uint32_t lo) {
	lapic_write(LAPIC_ICR_HI, apic_id << 24);
	lapic_write(LAPIC_ICR_LO, lo);
	for (int i = 0; i < 100000 && (lapic_read(LAPIC_ICR_LO) & (1 << 12)); i++) asm volatile("pause");
}

void guest_main(void) {
	uint8_t *madt = acpi_find_table("APIC");
	if (!check(madt != 0, "madt-found")) return;
	uint32_t len = *(uint32_t *)(madt + 4);
	kprintf("smp: MADT at %p, local APIC 0x%x\n", madt, *(uint32_t *)(madt + 36));
	uint32_t ids[MAX_CPUS], n = 0;
	for (uint32_t off = 44; off + 2 <= len && n < MAX_CPUS;) {
		uint8_t type = madt[off], elen = madt[off + 1];
		if (elen < 2) break;
		if (type == 0 && (*(uint32_t *)(madt + off + 4) & 1)) ids[n++] = madt[off + 3];
		else if (type == 9 && (*(uint32_t *)(madt + off + 8) & 1)) ids[n++] = *(uint32_t *)(madt + off + 4);
		off += elen;
	}
	for (uint32_t i = 0; i < n; i++) kprintf("smp: cpu %u apic id %u\n", i, ids[i]);
	if (!check(n > 0, "madt-has-cpus")) return;

	uint64_t apic_base = rdmsr(MSR_APIC_BASE);
	kprintf("smp: APIC_BASE msr 0x%lx\n", apic_base);
	check_eq("apic-base-bsp-enabled", (1 << 8) | (1 << 11), apic_base & ((1 << 8) | (1 << 11)));
	lapic_write(LAPIC_SVR, 0x1ff);
	uint32_t bsp = lapic_read(LAPIC_ID) >> 24;
	check_eq("bsp-is-first-madt-cpu", ids[0], bsp);

	memcpy((void *)0, smp_blob, smp_blob_end - smp_blob);
	for (uint32_t i = 0; i < n; i++) {
		if (ids[i] == bsp) continue;
		send_ipi(ids[i], 0x4500);          /* INIT */
		delay(1000);
		send_ipi(ids[i], 0x4600);          /* STARTUP, vector 0 -> 0000:0000 */
		delay(1000);
		send_ipi(ids[i], 0x4600);
	}
	for (uint64_t spin = 0; spin < 50000000 && ap_count < n - 1; spin++) asm volatile("pause");
	check_eq("smp-aps-checked-in", n - 1, ap_count);
	int ids_ok = 1;
	for (uint32_t i = 0; i < ap_count && i < MAX_CPUS; i++) {
		int found = 0;
		for (uint32_t j = 0; j < n; j++) if (ids[j] == ap_ids[i] && ap_ids[i] != bsp) found = 1;
		if (!found) ids_ok = 0;
	}
	check(ids_ok, "smp-ap-ids-from-madt");
	go = 1;
	for (int i = 0; i < 1000; i++) locked_add(&shared_counter, 1);
	for (uint64_t spin = 0; spin < 50000000 && shared_counter < (uint64_t)n * 1000; spin++) asm volatile("pause");
	check_eq("smp-lock-xadd-counter", (uint64_t)n * 1000, shared_counter);
	if (ap_count == n - 1) kprintf("PASS smp %u cpus\n", n);
	else fail("smp", "%u of %u cpus", ap_count + 1, n);
}
