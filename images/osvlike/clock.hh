// The clock: kvmclock when CPUID's KVM leaf advertises it, else the HPET
// from ACPI, else OSv's "Neither paravirtual clock nor HPET" halt.
#pragma once
#include "arch.hh"

class clock {
public:
    virtual ~clock() {}
    virtual const char* name() const = 0;
    // Nanoseconds since boot.
    virtual s64 uptime() = 0;
    // Per-CPU setup (kvmclock registers a time area per vCPU).
    virtual void init_on_cpu(unsigned cpu_id) {}
    static clock* get() { return _c; }
    static void init();
protected:
    static clock* _c;
};
