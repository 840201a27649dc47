// kvmclock (pvclock_vcpu_time_info per CPU) and HPET (64-bit main counter).
#include "clock.hh"
#include "console.hh"
#include "acpi.hh"
#include "sched.hh"

using namespace processor;

class clock* clock::_c;

namespace {

struct pvclock_vcpu_time_info {
    u32 version;
    u32 pad0;
    u64 tsc_timestamp;
    u64 system_time;
    u32 tsc_to_system_mul;
    s8 tsc_shift;
    u8 flags;
    u8 pad[2];
} __attribute__((packed));

struct pvclock_wall_clock {
    u32 version;
    u32 sec;
    u32 nsec;
} __attribute__((packed));

class kvmclock final : public clock {
public:
    explicit kvmclock(bool new_msrs)
        : _system_time_msr(new_msrs ? 0x4b564d01 : 0x12), _wall_clock_msr(new_msrs ? 0x4b564d00 : 0x11) {}
    const char* name() const override { return "kvmclock"; }
    void init_on_cpu(unsigned cpu_id) override {
        wrmsr(_system_time_msr, virt_to_phys(&_pv[cpu_id]) | 1);
        if (cpu_id == 0) {
            wrmsr(_wall_clock_msr, virt_to_phys(&_wall));
            _boot = raw(0);
            kprintf("kvmclock: wall clock %u s, system time at boot %lu ns\n", _wall.sec, u64(_boot));
        }
    }
    s64 uptime() override {
        irq_save_lock_type irq;
        return raw(sched::cpu::current_id()) - _boot;
    }
private:
    s64 raw(unsigned cpu_id) {
        auto& pv = _pv[cpu_id];
        u32 v;
        u64 t;
        do {
            v = __atomic_load_n(&pv.version, __ATOMIC_ACQUIRE);
            u64 delta = rdtsc() - pv.tsc_timestamp;
            if (pv.tsc_shift >= 0) delta <<= pv.tsc_shift;
            else delta >>= -pv.tsc_shift;
            t = pv.system_time + u64((unsigned __int128)delta * pv.tsc_to_system_mul >> 32);
        } while ((v & 1) || v != __atomic_load_n(&pv.version, __ATOMIC_ACQUIRE));
        return s64(t);
    }
    u32 _system_time_msr, _wall_clock_msr;
    s64 _boot = 0;
    pvclock_wall_clock _wall = {};
    alignas(64) pvclock_vcpu_time_info _pv[sched::max_cpus] = {};
};

class hpetclock final : public clock {
public:
    explicit hpetclock(u64 base) : _base(reinterpret_cast<volatile u8*>(phys_to_virt(base))) {
        u64 period_fs = reg(0x0) >> 32;
        if (period_fs == 0 || period_fs % 1000000) {
            kprintf("hpet: period %lu fs is not a multiple of 1 ns\n", period_fs);
        }
        _ns_per_tick = period_fs / 1000000;
        if (!_ns_per_tick) _ns_per_tick = 1;
        set_reg(0x10, reg(0x10) | 1);   // ENABLE_CNF
        _boot = reg(0xf0);
        kprintf("hpet: base 0x%lx, %lu ns per tick\n", base, _ns_per_tick);
    }
    const char* name() const override { return "hpet"; }
    s64 uptime() override { return s64((reg(0xf0) - _boot) * _ns_per_tick); }
private:
    u64 reg(u32 off) { return *reinterpret_cast<volatile u64*>(_base + off); }
    void set_reg(u32 off, u64 v) { *reinterpret_cast<volatile u64*>(_base + off) = v; }
    volatile u8* _base;
    u64 _ns_per_tick;
    u64 _boot;
};

bool kvm_signature() {
    auto r = cpuid(0x40000000);
    return r.b == 0x4b4d564b && r.c == 0x564b4d56 && r.d == 0x0000004d;   // "KVMKVMKVM\0\0\0"
}

}

void clock::init() {
    if (kvm_signature()) {
        u32 features = cpuid(0x40000001).a;
        if (features & ((1 << 0) | (1 << 3))) {
            static kvmclock kc((features & (1 << 3)) != 0);
            _c = &kc;
            return;
        }
    }
    if (u64 hpet = acpi::hpet_address()) {
        static hpetclock hc(hpet);
        _c = &hc;
        return;
    }
    debug_early("Neither paravirtual clock nor HPET is available. Halting.\n");
    halt_no_interrupts();
}
