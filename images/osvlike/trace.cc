// OSv's tracing (core/trace.cc) cut down: each cpu logs into its own ring of trace_page_size pages;
// _last only grows, a record never crosses a page (padding before the boundary has tp == 0) and a
// record being written has tp == -1 until it is complete.
#include "trace.hh"

namespace memory {
void* alloc(size_t size, size_t align);
}
extern "C" void free(void*) {}

constexpr size_t trace_page_size = 4096;  // need not match arch page size

struct trace_buf {
    std::unique_ptr<char[], decltype(&free)> _base;
    size_t _last;
    size_t _size;

    trace_buf() : _base(nullptr, free), _last(0), _size(0) {}

    trace_record* allocate_trace_record(size_t size) {
        size += sizeof(trace_record);
        size = trace_align_up(size, sizeof(long));
        size_t p = _last;
        size_t pn = p + size;
        if ((p & ~(trace_page_size - 1)) != ((pn - 1) & ~(trace_page_size - 1))) {
            pn = trace_align_up(p, trace_page_size) + size;  // crossed a page boundary
        }
        auto tr0 = reinterpret_cast<trace_record*>(&_base.get()[index(p)]);
        auto tr1 = reinterpret_cast<trace_record*>(&_base.get()[index(pn - size)]);
        tr1->tp = reinterpret_cast<tracepoint_base*>(-1);
        if (tr0 != tr1) tr0->tp = nullptr;
        asm volatile("" ::: "memory");
        _last = pn;
        return tr1;
    }
    size_t index(size_t s) const { return s & (_size - 1); }
};

PERCPU(trace_buf, percpu_trace_buffer);
// Keeps the type of tp_list's elements visible to the debugger, as OSv's gdb_trace_function_entry.
decltype(tracepoint_base::tp_list) tracepoint_base::tp_list;
tracepoint_base* gdb_trace_tp_list_head;

namespace {
const char* opt_patterns;
bool opt_backtrace;
unsigned opt_pages = 16;
bool initialized;

// OSv turns the glob into a regex ('*' -> '.*', '?' -> '.') and searches the name with it, so a
// pattern matches anywhere in the name. A pattern list is comma separated.
bool glob(const char* p, const char* end, const char* s) {
    if (p == end) return true;
    if (*p == '*') return glob(p + 1, end, s) || (*s && glob(p, end, s + 1));
    if (!*s) return false;
    return (*p == '?' || *p == *s) && glob(p + 1, end, s + 1);
}

bool matches(const char* name) {
    for (const char* p = opt_patterns; p && *p;) {
        const char* e = p;
        while (*e && *e != ',' && *e != ' ') e++;
        for (const char* s = name; *s; s++) {
            if (glob(p, e, s)) return true;
        }
        if (*e != ',') break;
        p = e + 1;
    }
    return false;
}

bool plausible_frame(u64 rbp) {
    return rbp >= OSV_KERNEL_VM_SHIFT && rbp < 2 * OSV_KERNEL_VM_SHIFT && !(rbp & 7);
}
}

tracepoint_base::tracepoint_base(unsigned id, const char* name, const char* format, const char* sig)
    : id{nullptr, id}, name(name), format(format), sig(sig) {
    tp_list.push_back(*this);
}

trace_record* tracepoint_base::allocate_trace_record(size_t size) {
    const bool bt = _backtrace;
    if (bt) size += backtrace_len * sizeof(void*);
    auto c = sched::cpu::current();
    auto tr = percpu_trace_buffer.for_cpu(c)->allocate_trace_record(size);
    tr->backtrace = bt;
    tr->thread = sched::thread::current();
    for (size_t i = 0; i < 16; i++) tr->thread_name[i] = tr->thread->_attr._name[i];
    tr->time = sched::uptime();
    tr->cpu = c->id;
    return tr;
}

void tracepoint_base::log_backtrace(trace_record* tr, u8*& buffer) {
    if (!tr->backtrace) return;
    auto bt = reinterpret_cast<u64*>(buffer);
    u64 rbp = u64(__builtin_frame_address(0));
    size_t n = 0;
    for (; n < backtrace_len && plausible_frame(rbp); n++) {
        bt[n] = reinterpret_cast<u64*>(rbp)[1];
        if (!bt[n]) break;
        rbp = reinterpret_cast<u64*>(rbp)[0];
    }
    for (; n < backtrace_len; n++) bt[n] = 0;
    buffer += backtrace_len * sizeof(void*);
}

namespace trace {

void set_options(const char* patterns, bool backtrace, unsigned pages) {
    if (patterns) opt_patterns = patterns;
    opt_backtrace = opt_backtrace || backtrace;
    if (pages) {
        unsigned p = 1;
        while (p < pages && p < 1024) p <<= 1;  // a power of two, as trace_buf asserts
        opt_pages = p;
    }
}

void init() {
    if (initialized || !opt_patterns) return;
    initialized = true;
    size_t size = trace_page_size * opt_pages;
    for (auto c : sched::cpus) {
        auto b = percpu_trace_buffer.for_cpu(c);
        b->_base.reset(static_cast<char*>(memory::alloc(size, sizeof(long))));
        b->_size = size;
        b->_last = 0;
    }
    tracepoint_base::tp_list.for_each([](tracepoint_base& tp) {
        if (matches(tp.name)) {
            tp._backtrace = opt_backtrace;
            tp._logging = true;
        }
    });
}

}
