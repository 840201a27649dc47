// osvlike: an OSv-shaped guest kernel for testing osvemu. premain() sets up
// the console and runs constructors; main() brings up ACPI, the APIC, the
// clock, the CPUs and the scheduler, then the "main" thread does what the
// command line asks: worker threads (default) or an abort from "aborter".
#include "sched.hh"
#include "apic.hh"
#include "acpi.hh"
#include "clock.hh"
#include "console.hh"
#include "apps.hh"
#include "elf.hh"
#include "trace.hh"

extern "C" const u8 libhello_image[], libhello_image_end[];

namespace memory {
extern size_t phys_mem_size;
}

extern "C" void (*__init_array_start[])();
extern "C" void (*__init_array_end[])();
extern "C" char init_stack_bottom[], init_stack_top[];
void smp_launch();
const char* idle_thread_name(unsigned id);

namespace {

char cmdline[1024];
u64 rsdp_paddr;

struct options {
    bool abort = false;
    bool fault = false;
    bool demo = false;
    unsigned sleepers = 0;
    unsigned threads = 3;
    unsigned app = 0;
    unsigned lines = 3;
    unsigned busy_us = 1000;
    // As in OSv, the first word that is not an option starts the command: a program path.
    const char* command = nullptr;
} opts;

bool starts_with(const char* s, const char* p) {
    while (*p) {
        if (*s++ != *p++) return false;
    }
    return true;
}

unsigned parse_uint(const char* s) {
    unsigned v = 0;
    while (*s >= '0' && *s <= '9') v = v * 10 + unsigned(*s++ - '0');
    return v;
}

void parse_cmdline() {
    const char* p = cmdline;
    while (*p) {
        while (*p == ' ') p++;
        if (!*p) break;
        const char* w = p;
        if (*w != '-') {
            opts.command = w;
            return;
        }
        while (*p && *p != ' ') p++;
        if (starts_with(w, "--abort")) {
            opts.abort = true;
        } else if (starts_with(w, "--fault")) {
            opts.fault = true;
        } else if (starts_with(w, "--demo")) {
            opts.demo = true;
        } else if (starts_with(w, "--sleepers=")) {
            opts.sleepers = parse_uint(w + 11);
            if (opts.sleepers > 128) opts.sleepers = 128;
        } else if (starts_with(w, "--power-off-on-abort")) {
            opt_power_off_on_abort = true;
        } else if (starts_with(w, "--threads=")) {
            opts.threads = parse_uint(w + 10);
            if (opts.threads > 32) opts.threads = 32;
        } else if (starts_with(w, "--app=")) {
            opts.app = parse_uint(w + 6);
        } else if (starts_with(w, "--lines=")) {
            opts.lines = parse_uint(w + 8);
        } else if (starts_with(w, "--busy-us=")) {
            opts.busy_us = parse_uint(w + 10);
        } else if (starts_with(w, "--trace=")) {
            trace::set_options(w + 8, false, 0);
        } else if (starts_with(w, "--trace-backtrace")) {
            trace::set_options(nullptr, true, 0);
        } else if (starts_with(w, "--trace-pages=")) {
            trace::set_options(nullptr, false, parse_uint(w + 14));
        }
    }
}

// Every argument kind osvlike can log (no floats: the kernel is built without SSE).
TRACEPOINT(trace_osvlike_joined, "%s index %d byte 0x%02x half %u last %d big %lu", const char*, int, u8, u16, bool, u64);

struct worker_arg {
    unsigned index;
};

void worker(void* a) {
    auto arg = static_cast<worker_arg*>(a);
    auto self = sched::thread::current();
    for (unsigned line = 1; line <= opts.lines; line++) {
        // Busy for 1 ms (--busy-us) so threads sharing a CPU get preempted, then sleep.
        s64 until = sched::uptime() + s64(opts.busy_us) * 1000;
        while (sched::uptime() < until) processor::pause();
        kprintf("%s: line %u at %ld ns on cpu %u\n", self->name(), line, sched::uptime(),
                sched::cpu::current_id());
        sched::thread::sleep(2000000 + 500000 * arg->index);
    }
}

void aborter(void*) {
    kprintf("aborter: running on cpu %u, aborting\n", sched::cpu::current_id());
    sched::thread::sleep(1000000);
    abort("Assertion failed: osvlike --abort (thread aborter)\n");
}

// A page fault in a thread: taken on the thread's IST1 stack, reported, aborts.
void faulter(void*) {
    kprintf("faulter: touching unmapped address 0x%lx\n", u64(0x7fff00000000));
    *reinterpret_cast<volatile u64*>(0x7fff00000000) = 1;
}

void name_with_index(sched::thread::attr& a, const char* base, unsigned i) {
    char n[16];
    int k = 0;
    while (*base && k < 10) n[k++] = *base++;
    if (i >= 100) n[k++] = char('0' + i / 100);
    if (i >= 10) n[k++] = char('0' + i / 10 % 10);
    n[k++] = char('0' + i % 10);
    n[k] = 0;
    a.name(n);
}

// The command's program, then power-off as OSv does. A non-zero exit status goes to the
// isa-debug-exit port (0xf4), so a machine that has one reports it; OSv itself only logs it.
[[noreturn]] void run_command() {
    static char path[256];
    unsigned n = 0;
    while (opts.command[n] && opts.command[n] != ' ' && n < sizeof(path) - 1) {
        path[n] = opts.command[n];
        n++;
    }
    path[n] = 0;
    int status = run_program(path);
    if (status == program_not_found) {
        kprintf("Failed to load object: %s. Powering off.\n", path);
    } else if (status != 0) {
        processor::outb(u8(status), 0xf4);
    }
    acpi::poweroff();
    kprintf("osvlike: power off failed, halting\n");
    osv::halt();
}

// --demo: what the debugger tests step through. demo_a and demo_b share cpu 0 and each keep a
// value in the same `__thread` variable; demo_a yields to demo_b (a context switch it forces
// itself), migrates to the last cpu, then loads libhello.so and calls into it; demo_b then calls
// it too, so both threads have their own copy of the object's __thread variable app_tls.
__thread long demo_tls = 7;
volatile bool demo_done;
int (*volatile demo_hello)(int);
volatile bool demo_b_called;

__attribute__((noinline)) void demo_checkpoint(int n) {
    asm volatile("" ::: "memory");
}

void demo_a(void*) {
    demo_tls = 0xa11ce;
    demo_checkpoint(1);
    long x = demo_tls;
    for (int i = 0; i < 3; i++) x += i;
    sched::thread::yield();
    x += demo_tls;
    sched::thread::pin(sched::cpus[sched::cpus.size() - 1]);
    demo_checkpoint(2);
    auto obj = elf::get_program()->load_object("libhello.so", libhello_image, libhello_image_end - libhello_image);
    auto hello = reinterpret_cast<int (*)(int)>(obj->_entry);
    int r = hello(10);
    kprintf("demo_a: hello_app(10) = %d on cpu %u, x = %ld\n", r, sched::cpu::current_id(), x);
    demo_hello = hello;
    while (!demo_b_called) sched::thread::yield();
    demo_checkpoint(3);
    demo_done = true;
}

void demo_b(void*) {
    demo_tls = 0xb0b;
    while (!demo_done) {
        for (int i = 0; i < 200; i++) processor::pause();
        if (demo_hello && !demo_b_called) {
            demo_hello(3);
            demo_b_called = true;
        }
        sched::thread::yield();
    }
}

void sleeper(void*) {
    for (;;) sched::thread::sleep(1000000000);
}

void run_demo() {
    sched::thread::attr a, b;
    a.name("demo_a").pin(sched::cpus[0]);
    b.name("demo_b").pin(sched::cpus[0]);
    auto ta = new sched::thread(demo_a, nullptr, a);
    auto tb = new sched::thread(demo_b, nullptr, b);
    tb->start();
    ta->start();
    ta->join();
    tb->join();
    kprintf("osvlike: demo done\n");
}

void main_thread(void*) {
    kprintf("Booted up in %lu ms\n", u64(sched::uptime() / 1000000));
    if (opts.command) run_command();
    unsigned ncpus = sched::cpus.size();
    elf::get_program();
    for (unsigned i = 0; i < opts.sleepers; i++) {
        sched::thread::attr a;
        name_with_index(a, "sleeper", i);
        a.pin(sched::cpus[i % ncpus]);
        a._stack.size = 16384;
        a._stack.begin = operator new(a._stack.size);
        (new sched::thread(sleeper, nullptr, a))->start();
    }
    if (opts.demo) {
        run_demo();
        acpi::poweroff();
        osv::halt();
    }
    if (opts.app) {
        // Application code long enough for the profiler to sample it (test/cli/profile.test.ts).
        auto obj = elf::get_program()->load_object("libhello.so", libhello_image, libhello_image_end - libhello_image);
        int r = reinterpret_cast<int (*)(int)>(obj->_entry)(int(opts.app));
        kprintf("osvlike: hello_app(%u) = %d\n", opts.app, r);
        acpi::poweroff();
        osv::halt();
    }
    if (opts.abort || opts.fault) {
        sched::thread::attr a;
        a.name(opts.abort ? "aborter" : "faulter").pin(sched::cpus[ncpus - 1]);
        auto t = new sched::thread(opts.abort ? aborter : faulter, nullptr, a);
        t->start();
        t->join();
        return;
    }
    std::vector<sched::thread*> workers;
    for (unsigned i = 0; i < opts.threads; i++) {
        sched::thread::attr a;
        name_with_index(a, "worker", i);
        a.pin(sched::cpus[i % ncpus]);
        auto t = new sched::thread(worker, new worker_arg{i}, a);
        kprintf("osvlike: thread %s (id %u) on cpu %u\n", t->name(), t->id(), i % ncpus);
        workers.push_back(t);
    }
    for (auto t : workers) t->start();
    for (auto t : workers) t->join();
    for (unsigned i = 0; i < workers.size(); i++) {
        trace_osvlike_joined(workers[i]->name(), int(i), u8(0xa0 + i), u16(1000 * i), i + 1 == workers.size(),
                             0xfedcba9876543210ull + i);
    }
    u64 preemptions = 0;
    for (auto c : sched::cpus) preemptions += c->preemptions;
    kprintf("osvlike: %u threads joined, %lu preemptions\n", unsigned(workers.size()), preemptions);
    kprintf("osvlike: all threads done\n");
    kprintf("osvlike: powering off\n");
    acpi::poweroff();
    kprintf("osvlike: power off failed, halting\n");
    osv::halt();
}

}

extern "C" void premain(u32 start_info_phys) {
    console::init();
    for (auto f = __init_array_start; f != __init_array_end; f++) (*f)();
    debug_early("OSv-like v0.1\n");
    if (start_info_phys) {
        auto si = static_cast<const u8*>(phys_to_virt(start_info_phys));
        u64 cmd = *reinterpret_cast<const u64*>(si + 0x18);
        rsdp_paddr = *reinterpret_cast<const u64*>(si + 0x20);
        u64 memmap = *reinterpret_cast<const u64*>(si + 0x28);
        u32 entries = *reinterpret_cast<const u32*>(si + 0x30);
        for (u32 i = 0; memmap && i < entries; i++) {
            auto e = static_cast<const u8*>(phys_to_virt(memmap + 24 * i));
            if (*reinterpret_cast<const u32*>(e + 16) == 1) {
                memory::phys_mem_size += *reinterpret_cast<const u64*>(e + 8);
            }
        }
        if (cmd) {
            auto c = static_cast<const char*>(phys_to_virt(cmd));
            for (size_t i = 0; c[i] && i < sizeof(cmdline) - 1; i++) cmdline[i] = c[i];
        }
    }
    // Mask the legacy PICs: only the local APIC delivers interrupts.
    processor::outb(0xff, 0x21);
    processor::outb(0xff, 0xa1);
}

extern "C" void main() {
    kprintf("Cmdline: %s\n", cmdline);
    kprintf("osvlike: %lu MiB of RAM in the memory map\n", u64(memory::phys_mem_size >> 20));
    parse_cmdline();
    // Descriptor tables first, so a fault from here on is reported, not a triple fault.
    auto boot = new sched::cpu(0);
    sched::cpus.push_back(boot);
    sched::init_idt();
    boot->arch.init_on_cpu();
    processor::wrmsr(processor::msr_gs_base, u64(boot));
    std::vector<acpi::madt_cpu> madt;
    if (acpi::init(rsdp_paddr)) {
        madt = acpi::madt_cpus();
    } else {
        kprintf("osvlike: no ACPI RSDP found\n");
    }
    processor::apic_init_driver();
    processor::apic->init_on_cpu();   // x2APIC MSRs #GP until x2APIC mode is on
    u32 bsp_apic = processor::apic->id();
    if (madt.empty()) madt.push_back({0, bsp_apic});
    // CPU 0 is the boot CPU; the others keep MADT order.
    boot->arch.apic_id = bsp_apic;
    for (auto& m : madt) {
        if (m.apic_id == bsp_apic) {
            boot->arch.acpi_id = m.acpi_id;
            continue;
        }
        if (sched::cpus.size() >= sched::max_cpus) break;
        auto c = new sched::cpu(sched::cpus.size());
        c->arch.apic_id = m.apic_id;
        c->arch.acpi_id = m.acpi_id;
        sched::cpus.push_back(c);
    }
    clock::init();
    clock::get()->init_on_cpu(0);
    kprintf("osvlike: %u cpus, %s, clock %s\n", unsigned(sched::cpus.size()), processor::apic->name(),
            clock::get()->name());
    sched::thread::attach_current(idle_thread_name(0), init_stack_bottom, init_stack_top - init_stack_bottom, boot);
    trace::init();
    boot->online.store(true);
    smp_launch();
    sched::thread::attr a;
    a.name("main").pin(boot);
    auto t = new sched::thread(main_thread, nullptr, a);
    t->start();
    boot->start_timer();
    boot->idle();
}
