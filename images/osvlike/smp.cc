// Starting the application processors: the real-mode trampoline (boot.S
// smpboot) is copied to physical 0, then INIT + STARTUP(0) + STARTUP(0) per
// AP, one at a time; each AP checks in from smp_main().
#include "sched.hh"
#include "apic.hh"
#include "clock.hh"
#include "console.hh"

extern "C" char smpboot[], smpboot_end[];
extern "C" u64 smp_stack_free;
extern "C" void* memcpy(void*, const void*, size_t);

static sched::cpu* smp_booting_cpu;
static constexpr size_t ap_stack_size = 65536;

static char idle_name[sched::max_cpus][16];

static const char* make_idle_name(unsigned id) {
    char* n = idle_name[id];
    const char* p = "idle";
    int i = 0;
    while (*p) n[i++] = *p++;
    if (id >= 10) n[i++] = char('0' + id / 10);
    n[i++] = char('0' + id % 10);
    n[i] = 0;
    return n;
}

extern "C" void smp_main() {
    auto c = smp_booting_cpu;
    c->arch.init_on_cpu();
    processor::wrmsr(processor::msr_gs_base, u64(c));
    processor::apic->init_on_cpu();
    clock::get()->init_on_cpu(c->id);
    auto stack_top = reinterpret_cast<char*>(smp_stack_free);
    sched::thread::attach_current(make_idle_name(c->id), stack_top - ap_stack_size, ap_stack_size, c);
    c->start_timer();
    c->online.store(true);
    c->idle();
}

void smp_launch() {
    memcpy(phys_to_virt(0), smpboot, smpboot_end - smpboot);
    for (auto c : sched::cpus) {
        if (c->id == 0) continue;
        smp_stack_free = u64(static_cast<char*>(operator new(ap_stack_size)) + ap_stack_size);
        smp_booting_cpu = c;
        processor::apic->start_ap(c->arch.apic_id);
        for (u64 spin = 0; spin < 100000000 && !c->online.load(); spin++) {
            processor::pause();
        }
        if (!c->online.load()) {
            kprintf("osvlike: cpu %u (apic id %u) did not come up\n", c->id, c->arch.apic_id);
        }
    }
}

const char* idle_thread_name(unsigned id) { return make_idle_name(id); }
