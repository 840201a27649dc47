// Threads, per-CPU run queues, the preemption tick, the IDT and per-CPU
// GDT/TSS. A switch saves rsp/rbp/rip in the old thread's _state, points
// the TSS IST entries at the new thread's stacks and FS_BASE at its TCB.
#include <stddef.h>
#include "sched.hh"
#include "apic.hh"
#include "clock.hh"
#include "console.hh"
#include "trace.hh"

extern "C" char interrupt_stubs[];
extern "C" char __tls_start[], __tdata_end[], __tls_end[];
extern "C" char _percpu_start[], _percpu_end[];
extern "C" void* memcpy(void*, const void*, size_t);
namespace memory {
void* alloc(size_t size, size_t align);
}

namespace sched {

std::vector<cpu*> cpus;
std::unordered_map<unsigned, thread*> thread_map;
std::atomic<unsigned> thread::_s_idgen;
__thread unsigned preempt_counter = 1;
// Keeps the TLS segment's alignment at 64, which setup_tcb assumes.
alignas(64) __thread char tls_cacheline[64];
constexpr size_t tls_align = 64;
static spinlock thread_map_lock;
static bool have_fsgsbase;

// OSv's names; sched_switch has no run-time floats here (the kernel is built without SSE).
TRACEPOINT(trace_sched_switch, "to %p", thread*);
TRACEPOINT(trace_sched_preempt, "");
TRACEPOINT(trace_sched_idle, "");
TRACEPOINT(trace_sched_idle_ret, "");
TRACEPOINT(trace_sched_queue, "thread=%p", thread*);
TRACEPOINT(trace_sched_migrate, "thread=%p cpu=%d", thread*, unsigned);
TRACEPOINT(trace_sched_ipi, "cpu %d", unsigned);
TRACEPOINT(trace_sched_wait, "");
TRACEPOINT(trace_sched_wait_ret, "");

s64 uptime() { return clock::get() ? clock::get()->uptime() : 0; }

// --- IDT: vectors 0-19 on IST1, 32-255 on IST2, #DF on IST3 (all interrupt gates) ---

struct idt_entry {
    u16 off0, sel;
    u8 ist, type;
    u16 off1;
    u32 off2, zero;
} __attribute__((packed));
alignas(16) static idt_entry idt[256];

static void load_idt() {
    struct {
        u16 limit;
        u64 base;
    } __attribute__((packed)) d = {sizeof(idt) - 1, u64(idt)};
    asm volatile("lidt %0" :: "m"(d));
}

void init_idt() {
    for (int v = 0; v < 256; v++) {
        u64 a = u64(interrupt_stubs + v * 16);
        u8 ist = v < 20 ? 1 : (v >= 32 ? 2 : 0);
        if (v == 8) ist = 3;
        idt[v] = {u16(a), 0x08, ist, 0x8e, u16(a >> 16), u32(a >> 32), 0};
    }
    if (processor::cpuid(7).b & 1) {
        have_fsgsbase = true;
        processor::write_cr4(processor::read_cr4() | (1 << 16));
    }
}

// --- per-CPU descriptor tables ---

void arch_cpu::init_on_cpu() {
    gdt[0] = 0;
    gdt[1] = 0x00af9b000000ffff;
    gdt[2] = 0x00cf93000000ffff;
    gdt[3] = 0x00cf9b000000ffff;
    u64 base = u64(&atss), limit = sizeof(atss) - 1;
    atss.io_bitmap_base = sizeof(atss);
    atss.ist[2] = u64(double_fault_stack + sizeof(double_fault_stack));
    if (!atss.ist[0]) {
        atss.ist[0] = atss.ist[1] = u64(boot_exception_stack + sizeof(boot_exception_stack));
    }
    gdt[4] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ULL << 40) | (((limit >> 16) & 0xf) << 48) |
             (((base >> 24) & 0xff) << 56);
    gdt[5] = base >> 32;
    struct {
        u16 limit;
        u64 base;
    } __attribute__((packed)) d = {sizeof(gdt) - 1, u64(gdt)};
    asm volatile("lgdt %0\n\t"
                 "pushq $0x08\n\t"
                 "lea 1f(%%rip), %%rax\n\t"
                 "pushq %%rax\n\t"
                 "lretq\n"
                 "1:\n\t"
                 "mov $0x10, %%eax\n\t"
                 "mov %%eax, %%ds\n\t"
                 "mov %%eax, %%es\n\t"
                 "mov %%eax, %%ss\n\t"
                 "ltr %w1"
                 :: "m"(d), "r"(0x20) : "rax", "memory");
    load_idt();
    if (have_fsgsbase) processor::write_cr4(processor::read_cr4() | (1 << 16));
}

void arch_cpu::set_exception_stacks(const thread_state& s) {
    atss.ist[0] = u64(s.exception_stack);
    atss.ist[1] = u64(s.interrupt_stack);
}

static void set_fsbase(void* tcb) {
    if (have_fsgsbase) {
        asm volatile("wrfsbase %0" :: "r"(tcb) : "memory");
    } else {
        processor::wrmsr(processor::msr_fs_base, u64(tcb));
    }
}

// --- cpu ---

cpu::cpu(unsigned id)
    : self(this), id(id), arch{}, idle_thread(nullptr), rq_head(nullptr), ticks(0), preemptions(0), online(false),
      migrating(nullptr) {
    size_t size = _percpu_end - _percpu_start;
    auto copy = static_cast<char*>(memory::alloc(size ? size : 1, 64));
    memcpy(copy, _percpu_start, size);
    percpu_base = reinterpret_cast<char*>(u64(copy) - u64(_percpu_start));
}

void cpu::enqueue(thread* t) {
    trace_sched_queue(t);
    lock_guard_irq<spinlock> guard(rq_lock);
    t->_rq_next = rq_head;
    rq_head = t;
}

void cpu::dequeue(thread* t) {
    lock_guard_irq<spinlock> guard(rq_lock);
    for (thread** p = &rq_head; *p; p = &(*p)->_rq_next) {
        if (*p == t) {
            *p = t->_rq_next;
            break;
        }
    }
    t->_rq_next = nullptr;
}

void cpu::finish_switch() {
    cpu* c = current();
    thread* t = c->migrating;
    if (!t) return;
    c->migrating = nullptr;
    cpu* target = t->_detached_state->_cpu;
    t->_detached_state->st.store(thread::status::queued);
    target->enqueue(t);
    trace_sched_ipi(target->id);
    processor::apic->ipi(target->arch.apic_id, wakeup_vector);
}

thread* cpu::pick(thread* cur, s64 now) {
    // Round robin: the list is walked starting after the current thread.
    thread* start = (cur && cur != idle_thread && cur->_rq_next) ? cur->_rq_next : rq_head;
    thread* t = start;
    if (!t) return nullptr;
    do {
        auto st = t->_detached_state->st.load();
        if (st == thread::status::queued) return t;
        if (st == thread::status::waiting && t->_wake_time <= now) {
            t->_detached_state->st.store(thread::status::queued);
            return t;
        }
        t = t->_rq_next ? t->_rq_next : rq_head;
    } while (t != start);
    return nullptr;
}

void cpu::schedule() {
    thread* cur = thread::current();
    s64 now = uptime();
    thread* next;
    {
        rq_lock.lock();
        auto& st = cur->_detached_state->st;
        bool preempted = st.load() == thread::status::running && cur != idle_thread;
        if (preempted) st.store(thread::status::queued);
        next = pick(cur, now);
        rq_lock.unlock();
        if (!next) next = (cur->_detached_state->st.load() == thread::status::queued) ? cur : idle_thread;
        if (next == cur) {
            st.store(thread::status::running);
            return;
        }
        if (preempted) {
            preemptions++;
            trace_sched_preempt();
        }
    }
    if (cur == idle_thread) cur->_detached_state->st.store(thread::status::queued);
    next->_detached_state->st.store(thread::status::running);
    trace_sched_switch(next);
    cur->switch_to(next);
    // Back in `cur`, possibly on another cpu: `this` is stale here.
    finish_switch();
}

void cpu::start_timer() {
    processor::apic->set_lvt_timer(timer_vector);
    processor::apic->arm_timer_ns(tick_ns);
}

void cpu::timer_tick() {
    ticks++;
    thread::current()->_runtime._Rtt++;
    processor::apic->arm_timer_ns(tick_ns);
    schedule();
}

void cpu::idle() {
    for (;;) {
        processor::cli();
        schedule();
        trace_sched_idle();
        processor::sti_hlt();
        trace_sched_idle_ret();
    }
}

// --- thread ---

thread::attr& thread::attr::name(const char* n) {
    size_t i = 0;
    for (; n[i] && i < sizeof(_name) - 1; i++) _name[i] = n[i];
    _name[i] = 0;
    return *this;
}

thread::thread(const attr& a)
    : _func(nullptr), _arg(nullptr), _state{}, _attr(a), _id(++_s_idgen),
      _detached_state(new detached_state(this)), _tcb(nullptr), _runtime{0}, _wake_time(0), _rq_next(nullptr) {
    constexpr size_t ist_size = 16384;
    _state.exception_stack = static_cast<char*>(operator new(ist_size)) + ist_size;
    _state.interrupt_stack = static_cast<char*>(operator new(ist_size)) + ist_size;
    setup_tcb();
}

thread::thread(void (*func)(void*), void* arg, const attr& a) : thread(a) {
    _func = func;
    _arg = arg;
    if (!_attr._stack.begin) {
        _attr._stack.size = 65536;
        _attr._stack.begin = operator new(_attr._stack.size);
    }
    // The first switch_to "returns" into main_trampoline on a fresh stack
    // (rsp as if a call had pushed a return address).
    _state.rsp = static_cast<char*>(_attr._stack.begin) + _attr._stack.size - 8;
    _state.rbp = nullptr;
    _state.rip = reinterpret_cast<void*>(&thread::main_trampoline);
    _detached_state->_cpu = _attr._pinned_cpu ? _attr._pinned_cpu : cpus[0];
    _detached_state->st.store(status::prestarted);
    register_thread();
}

void thread::setup_tcb() {
    size_t block = (size_t(__tls_end - __tls_start) + tls_align - 1) & ~(tls_align - 1);
    auto p = static_cast<char*>(memory::alloc(block + sizeof(thread_control_block), tls_align));
    memcpy(p, __tls_start, __tdata_end - __tls_start);
    _tcb = reinterpret_cast<thread_control_block*>(p + block);
    _tcb->self = _tcb;
    _tcb->t = this;
    _tls.push_back(p);
}

char* thread::setup_tls(unsigned long module, const void* tls_template, size_t init_size, size_t uninit_size) {
    if (_tls.size() <= module) _tls.resize(module + 1);
    auto p = static_cast<char*>(memory::alloc(init_size + uninit_size, 64));
    memcpy(p, tls_template, init_size);
    _tls[module] = p;
    return p;
}

void thread::register_thread() {
    lock_guard_irq<spinlock> guard(thread_map_lock);
    thread_map.emplace(_id, this);
}

thread* thread::attach_current(const char* name, void* stack_begin, size_t stack_size, cpu* c) {
    attr a;
    a.name(name).pin(c);
    a._stack = {stack_begin, stack_size};
    auto t = new thread(a);
    t->_detached_state->_cpu = c;
    t->_detached_state->st.store(status::running);
    t->register_thread();
    c->idle_thread = t;
    c->arch.set_exception_stacks(t->_state);
    set_fsbase(t->_tcb);
    return t;
}

void thread::start() {
    _detached_state->st.store(status::queued);
    _detached_state->_cpu->enqueue(this);
}

void thread::main_trampoline() {
    cpu::finish_switch();
    processor::sti();
    thread* t = current();
    t->_func(t->_arg);
    exit();
}

void thread::exit() {
    processor::cli();
    current()->_detached_state->st.store(status::terminated);
    cpu::current()->schedule();
    abort("a terminated thread was scheduled\n");
}

void thread::sleep(s64 ns) {
    irq_save_lock_type irq;
    thread* t = current();
    t->_wake_time = uptime() + ns;
    t->_detached_state->st.store(status::waiting);
    trace_sched_wait();
    cpu::current()->schedule();
    trace_sched_wait_ret();
}

void thread::yield() {
    irq_save_lock_type irq;
    cpu::current()->schedule();
}

void thread::pin(cpu* target) {
    irq_save_lock_type irq;
    thread* t = current();
    cpu* c = cpu::current();
    if (target == c) return;
    c->dequeue(t);
    trace_sched_migrate(t, target->id);
    t->_attr._pinned_cpu = target;
    t->_detached_state->_cpu = target;
    // Not runnable anywhere until its state is saved: finish_switch queues it on `target`.
    t->_detached_state->st.store(status::waking);
    c->migrating = t;
    c->schedule();
}

void thread::join() {
    while (_detached_state->st.load() != status::terminated) {
        sleep(1000000);
    }
}

void thread::switch_to(thread* next) {
    cpu* c = cpu::current();
    c->arch.set_exception_stacks(next->_state);
    set_fsbase(next->_tcb);
    asm volatile("mov %%rbp, %c[rbp](%[old])\n\t"
                 "lea 1f(%%rip), %%rdx\n\t"
                 "mov %%rdx, %c[rip](%[old])\n\t"
                 "mov %%rsp, %c[rsp](%[old])\n\t"
                 "mov %c[rsp](%[nxt]), %%rsp\n\t"
                 "mov %c[rbp](%[nxt]), %%rbp\n\t"
                 "jmp *%c[rip](%[nxt])\n"
                 "1:"
                 :
                 : [old] "a"(&_state), [nxt] "c"(&next->_state), [rsp] "i"(offsetof(thread_state, rsp)),
                   [rbp] "i"(offsetof(thread_state, rbp)), [rip] "i"(offsetof(thread_state, rip))
                 : "rbx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "memory", "cc");
}

}

// --- interrupts ---

// How many CPUs took the abort NMI (visible to a debugger).
std::atomic<unsigned> nmi_halted_cpus;

// Other CPUs land here when the aborting CPU sends NMI to all-but-self.
void nmi(exception_frame* f) {
    nmi_halted_cpus++;
    processor::halt_no_interrupts();
}

extern "C" void interrupt_dispatch(exception_frame* f) {
    u64 v = f->vector;
    if (v == 2) {
        nmi(f);
    } else if (v < 32) {
        abort("osvlike: unexpected exception %lu at rip 0x%lx, error 0x%lx, cr2 0x%lx\n", v, f->rip, f->error_code,
              processor::read_cr2());
    } else if (v == sched::timer_vector) {
        processor::apic->eoi();
        sched::cpu::current()->timer_tick();
    } else if (v == sched::wakeup_vector) {
        processor::apic->eoi();
        sched::cpu::current()->schedule();
    } else if (v != sched::spurious_vector) {
        kprintf("osvlike: unexpected interrupt %lu\n", v);
        processor::apic->eoi();
    }
}
