// xAPIC (MMIO at the APIC_BASE address) and x2APIC (MSR 0x800 + reg/16).
#include "apic.hh"

namespace processor {

apic_driver* apic;

namespace {

void delay(unsigned n) {
    while (n--) pause();
}

class xapic final : public apic_driver {
public:
    explicit xapic(u64 base) : _base(base) {}
    const char* name() const override { return "xapic"; }
    void init_on_cpu() override {
        wrmsr(msr_apic_base, (rdmsr(msr_apic_base) & ~0xfffULL) | _base | (1 << 11) | (rdmsr(msr_apic_base) & (1 << 8)));
        write(apicreg::TPR, 0);
        write(apicreg::SPIV, 0x1ff);
    }
    u32 id() override { return read(apicreg::ID) >> 24; }
    void write(apicreg reg, u32 v) override { *reg_ptr(reg) = v; }
    u32 read(apicreg reg) override { return *reg_ptr(reg); }
    void ipi(u32 apic_id, u32 icr_lo) override {
        write(apicreg::ICR2, apic_id << 24);
        write(apicreg::ICR, icr_lo);
        wait_delivery();
    }
    void nmi_allbutself() override {
        write(apicreg::ICR2, 0);
        write(apicreg::ICR, 0xc0400);
        wait_delivery();
    }
private:
    volatile u32* reg_ptr(apicreg reg) { return reinterpret_cast<volatile u32*>(_base + u32(reg)); }
    void wait_delivery() {
        for (int i = 0; i < 100000 && (read(apicreg::ICR) & (1 << 12)); i++) pause();
    }
    u64 _base;
};

class x2apic final : public apic_driver {
public:
    const char* name() const override { return "x2apic"; }
    void init_on_cpu() override {
        wrmsr(msr_apic_base, rdmsr(msr_apic_base) | (1 << 10) | (1 << 11));
        write(apicreg::TPR, 0);
        write(apicreg::SPIV, 0x1ff);
    }
    u32 id() override { return read(apicreg::ID); }
    void write(apicreg reg, u32 v) override { wrmsr(0x800 + u32(reg) / 16, v); }
    u32 read(apicreg reg) override { return u32(rdmsr(0x800 + u32(reg) / 16)); }
    void ipi(u32 apic_id, u32 icr_lo) override { wrmsr(0x830, (u64(apic_id) << 32) | icr_lo); }
    void nmi_allbutself() override { wrmsr(0x830, 0xc4400); }
};

}

void apic_driver::set_lvt_timer(u8 vector) {
    write(apicreg::TDCR, 0xb);
    write(apicreg::LVTT, vector);
}

void apic_driver::arm_timer_ns(u64 ns) {
    write(apicreg::TMICT, u32(ns ? ns : 1));
}

void apic_driver::start_ap(u32 apic_id) {
    ipi(apic_id, 0x4500);
    delay(1000);
    ipi(apic_id, 0x4600);
    delay(1000);
    ipi(apic_id, 0x4600);
}

void apic_init_driver() {
    if (cpuid(1).c & (1 << 21)) {
        static x2apic x2;
        apic = &x2;
    } else {
        static xapic x(rdmsr(msr_apic_base) & 0xfffff000);
        apic = &x;
    }
}

}
