// Local APIC drivers: x2APIC through MSRs when CPUID has it, else xAPIC MMIO.
#pragma once
#include "arch.hh"

namespace processor {

enum class apicreg : u32 {
    ID = 0x20, TPR = 0x80, EOI = 0xb0, SPIV = 0xf0, ICR = 0x300, ICR2 = 0x310,
    LVTT = 0x320, LVT0 = 0x350, TMICT = 0x380, TMCCT = 0x390, TDCR = 0x3e0,
};

class apic_driver {
public:
    virtual ~apic_driver() {}
    virtual const char* name() const = 0;
    virtual void init_on_cpu() = 0;
    virtual u32 id() = 0;
    virtual void write(apicreg reg, u32 v) = 0;
    virtual u32 read(apicreg reg) = 0;
    virtual void ipi(u32 apic_id, u32 icr_lo) = 0;
    virtual void nmi_allbutself() = 0;
    void eoi() { write(apicreg::EOI, 0); }
    // One-shot timer, divide by 1: OSv writes nanoseconds (the timer counts at 1 GHz).
    void set_lvt_timer(u8 vector);
    void arm_timer_ns(u64 ns);
    // INIT, then STARTUP with vector 0 twice (the trampoline lives at 0000:0000).
    void start_ap(u32 apic_id);
};

extern apic_driver* apic;
void apic_init_driver();

}
