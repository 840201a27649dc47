// OSv's abort path: one CPU wins the race, prints the message and a
// backtrace, then osv::halt(): NMI to all-but-self when there is more than
// one CPU, and cli; hlt forever.
#include <atomic>
#include <stdarg.h>
#include "sched.hh"
#include "apic.hh"
#include "acpi.hh"
#include "console.hh"

bool opt_power_off_on_abort;
static std::atomic<bool> aborting;

namespace osv {

void halt() {
    processor::cli();
    if (sched::cpus.size() > 1 && processor::apic) {
        processor::apic->nmi_allbutself();
    }
    processor::halt_no_interrupts();
}

}

namespace {

bool plausible_frame(u64 rbp) {
    return rbp >= OSV_KERNEL_VM_SHIFT && rbp < 2 * OSV_KERNEL_VM_SHIFT && !(rbp & 7);
}

void print_backtrace() {
    debug_early("\n[backtrace]\n");
    u64 rbp;
    asm volatile("mov %%rbp, %0" : "=r"(rbp));
    for (int i = 0; i < 16 && plausible_frame(rbp); i++) {
        u64 ret = reinterpret_cast<u64*>(rbp)[1];
        if (!ret) break;
        debug_early_u64("", ret, " <\?\?\?>\n");
        rbp = reinterpret_cast<u64*>(rbp)[0];
    }
}

}


void abort(const char* fmt, ...) {
    bool expected = false;
    if (!aborting.compare_exchange_strong(expected, true)) {
        processor::halt_no_interrupts();
    }
    processor::cli();
    va_list ap;
    va_start(ap, fmt);
    vkprintf(fmt, ap);
    va_end(ap);
    print_backtrace();
    if (opt_power_off_on_abort) {
        acpi::poweroff();
    }
    osv::halt();
}

extern "C" void abort() {
    abort("Aborted\n");
}
