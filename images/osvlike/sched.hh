// The scheduler, shaped (names and layout) like OSv's so the debugger's
// thread and CPU walkers can be tested against it: sched::cpus,
// sched::thread_map, sched::thread::_id/_attr._name/_detached_state/_state/_tcb.
#pragma once
#include <atomic>
#include <memory>
#include <unordered_map>
#include <vector>
#include "arch.hh"

namespace sched {

constexpr unsigned max_cpus = 64;
constexpr u8 timer_vector = 0xf0;
constexpr u8 wakeup_vector = 0xf1;
constexpr u8 spurious_vector = 0xff;
constexpr s64 tick_ns = 2000000;   // preemption tick: 2 ms of virtual time

class thread;

// Saved at a switch: only rsp, rbp and rip (switch_to saves no other registers).
struct thread_state {
    void* rsp;
    void* rbp;
    void* rip;
    void* exception_stack;   // top of the IST1 stack while this thread runs
    void* interrupt_stack;   // top of the IST2 stack while this thread runs
};

// What FS_BASE points at while a thread runs: the end of the thread's TLS block (x86-64 TLS
// variant II, as OSv: `__thread` variables sit just below it, at negative offsets from %fs).
struct thread_control_block {
    thread_control_block* self;
    thread* t;
};

struct tss64 {
    u32 reserved0;
    u64 rsp[3];
    u64 reserved1;
    u64 ist[7];
    u64 reserved2;
    u16 reserved3;
    u16 io_bitmap_base;
} __attribute__((packed));

struct arch_cpu {
    u32 apic_id;
    u32 acpi_id;
    // OSv's per-CPU GDT: null, 0x08 code64, 0x10 data, 0x18 code32, 0x20 TSS.
    u64 gdt[6];
    tss64 atss;
    alignas(16) char double_fault_stack[8192];
    // IST1/IST2 until a thread (the idle thread) brings its own stacks.
    alignas(16) char boot_exception_stack[8192];
    void init_on_cpu();
    void set_exception_stacks(const thread_state& s);
};

struct cpu {
    cpu* self;          // %gs:0
    unsigned id;
    arch_cpu arch;
    thread* idle_thread;
    spinlock rq_lock;
    thread* rq_head;    // every thread pinned here except the idle thread
    u64 ticks;
    u64 preemptions;
    std::atomic<bool> online;
    thread* migrating;  // switched out on its way to another cpu (handed over by finish_switch)
    char* percpu_base;  // this cpu's copy of .percpu is at percpu_base + &var (OSv's PERCPU)

    explicit cpu(unsigned id);
    static cpu* current() {
        cpu* c;
        asm volatile("mov %%gs:0, %0" : "=r"(c));
        return c;
    }
    static unsigned current_id() { return current()->id; }
    void enqueue(thread* t);
    void dequeue(thread* t);
    // Runs in whichever thread a switch resumed: completes what the outgoing thread could not.
    static void finish_switch();
    // Picks the next runnable thread and switches to it. Interrupts must be off.
    void schedule();
    void timer_tick();
    void start_timer();
    [[noreturn]] void idle();
private:
    thread* pick(thread* cur, s64 now);
};

extern std::vector<cpu*> cpus;

class thread {
public:
    enum class status {
        invalid, prestarted, unstarted, waiting, sending_lock, running, queued, waking, terminating, terminated
    };
    struct stack_info {
        void* begin;
        size_t size;
    };
    class attr {
    public:
        attr& name(const char* n);
        attr& pin(cpu* c) { _pinned_cpu = c; return *this; }
        stack_info _stack = {};
        cpu* _pinned_cpu = nullptr;
        char _name[16] = {};
    };
    struct detached_state {
        explicit detached_state(thread* t) : t(t), _cpu(nullptr), st(status::unstarted) {}
        thread* t;
        cpu* _cpu;
        std::atomic<status> st;
    };
    struct runtime {
        u64 _Rtt;        // OSv keeps a float run-time estimate here; we count ticks run
    };

    thread(void (*func)(void*), void* arg, const attr& a);
    void start();
    void join();
    unsigned id() const { return _id; }
    const char* name() const { return _attr._name; }

    static thread* current() {
        thread* t;
        asm volatile("mov %%fs:8, %0" : "=r"(t));
        return t;
    }
    static void sleep(s64 ns);
    static void yield();
    // Moves the current thread to cpu `target` (OSv's sched::thread::pin): it leaves this cpu's
    // run queue, switches out, and resumes on `target`.
    static void pin(cpu* target);
    [[noreturn]] static void exit();
    // Wraps the running boot context (its own stack) as a thread: the idle threads.
    static thread* attach_current(const char* name, void* stack_begin, size_t stack_size, cpu* c);

    void switch_to(thread* next);
    // The thread's TLS block of ELF module `module` (0: the kernel), null before its first use.
    char* get_tls(unsigned long module) { return module < _tls.size() ? _tls[module] : nullptr; }
    char* setup_tls(unsigned long module, const void* tls_template, size_t init_size, size_t uninit_size);

private:
    thread(const attr& a);
    void setup_tcb();
    void register_thread();
    static void main_trampoline();

public:
    // Field names mirror OSv's sched::thread.
    void (*_func)(void*);
    void* _arg;
    thread_state _state;
    attr _attr;
    unsigned _id;
    std::unique_ptr<detached_state> _detached_state;
    thread_control_block* _tcb;
    runtime _runtime;
    s64 _wake_time;
    thread* _rq_next;
    // The last id given to a thread (OSv's thread::_s_idgen).
    static std::atomic<unsigned> _s_idgen;
    // Per ELF module, this thread's TLS block (OSv's thread::_tls): [0] the kernel's.
    std::vector<char*> _tls;
    friend struct cpu;
};

extern std::unordered_map<unsigned, thread*> thread_map;
// Named after OSv's per-thread preemption counter (a `__thread` variable of the kernel).
extern __thread unsigned preempt_counter;

void init_idt();
s64 uptime();

}

namespace osv {
[[noreturn]] void halt();
}

[[noreturn]] void abort(const char* fmt, ...);
extern bool opt_power_off_on_abort;
