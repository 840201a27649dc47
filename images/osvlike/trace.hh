// Tracepoints and per-CPU trace buffers shaped (names and layout) like OSv's include/osv/trace.hh
// and core/trace.cc, so osvemu's trace reader and OSVT writer can be tested against them:
// tracepoint_base::tp_list (a boost::intrusive::list with a member hook), trace_record,
// trace_buf in PERCPU(trace_buf, percpu_trace_buffer), sched::cpu::percpu_base. No boost here:
// the few intrusive-list types are written out under boost's names.
#pragma once
#include <array>
#include <memory>
#include <tuple>
#include "arch.hh"
#include "sched.hh"

extern "C" void free(void*);
extern "C" void* memcpy(void*, const void*, size_t);

namespace boost {
namespace intrusive {
template <class VoidPointer> struct list_node {
    list_node* next_;
    list_node* prev_;
};
template <class VoidPointer> struct list_node_traits {};
namespace detail {
template <class NodeTraits> struct default_header_holder : list_node<void*> {};
}
template <class... Options> struct list_member_hook : list_node<void*> {};
template <class T, class Hook, Hook T::*PtrToMember> struct member_hook {};
template <bool Enabled> struct constant_time_size {};

template <class T, class MemberHook, class Size> class list;
template <class T, class Hook, Hook T::*P, class Size>
class list<T, member_hook<T, Hook, P>, Size> {
public:
    struct data_t {
        struct root_plus_size {
            detail::default_header_holder<list_node_traits<void*>> m_header;
        } root_plus_size_;
    } data_;
    // Zero-initialized static storage: the header links itself on first use, whatever the
    // constructor order of the translation units.
    void push_back(T& t) {
        list_node<void*>* h = &data_.root_plus_size_.m_header;
        if (!h->next_) h->next_ = h->prev_ = h;
        list_node<void*>* n = &(t.*P);
        n->next_ = h;
        n->prev_ = h->prev_;
        h->prev_->next_ = n;
        h->prev_ = n;
    }
    template <class F> void for_each(F f) {
        list_node<void*>* h = &data_.root_plus_size_.m_header;
        if (!h->next_) return;
        auto off = reinterpret_cast<size_t>(&(static_cast<T*>(nullptr)->*P));
        for (auto n = h->next_; n != h; n = n->next_) f(*reinterpret_cast<T*>(reinterpret_cast<char*>(n) - off));
    }
};
}
}

// PERCPU(type, var): the variable lives in .percpu; each cpu has a copy at percpu_base + &_var.
template <typename T> struct percpu {
    T _var;
    T* for_cpu(sched::cpu* c) { return reinterpret_cast<T*>(c->percpu_base + reinterpret_cast<size_t>(&_var)); }
    T* operator->() { return for_cpu(sched::cpu::current()); }
};
#define PERCPU(type, var) percpu<type> var __attribute__((section(".percpu")))

class tracepoint_base;

struct trace_record {
    tracepoint_base* tp;
    sched::thread* thread;
    std::array<char, 16> thread_name;
    u64 time;
    unsigned cpu;
    bool backtrace : 1;  // 10-element backtrace precedes parameters
    union {
        u8 buffer[0];
        long align[0];
    };
};

typedef std::tuple<const void*, unsigned long> tracepoint_id;

class tracepoint_base {
public:
    tracepoint_base(unsigned id, const char* name, const char* format, const char* sig);
    const tracepoint_id id;
    const char* name;
    const char* format;
    const char* sig;
    typedef boost::intrusive::list_member_hook<> tp_list_link_type;
    tp_list_link_type tp_list_link;
    static boost::intrusive::list<
        tracepoint_base,
        boost::intrusive::member_hook<tracepoint_base, tp_list_link_type, &tracepoint_base::tp_list_link>,
        boost::intrusive::constant_time_size<false>> tp_list;
    static const size_t backtrace_len = 10;
    bool _backtrace = false;
    bool _logging = false;
protected:
    trace_record* allocate_trace_record(size_t size);
    void log_backtrace(trace_record* tr, u8*& buffer);
};

template <typename T> struct signature_char;
template <> struct signature_char<char> { static const char sig = 'c'; };
template <> struct signature_char<s8> { static const char sig = 'b'; };
template <> struct signature_char<u8> { static const char sig = 'B'; };
template <> struct signature_char<short> { static const char sig = 'h'; };
template <> struct signature_char<u16> { static const char sig = 'H'; };
template <> struct signature_char<int> { static const char sig = 'i'; };
template <> struct signature_char<u32> { static const char sig = 'I'; };
template <> struct signature_char<s64> { static const char sig = 'q'; };
template <> struct signature_char<u64> { static const char sig = 'Q'; };
template <> struct signature_char<bool> { static const char sig = '?'; };
template <typename T> struct signature_char<T*> { static const char sig = 'P'; };
template <> struct signature_char<const char*> { static const char sig = 'p'; };  // "pascal string"

template <typename... Args> struct signature_helper {
    static constexpr const char sig[] = {signature_char<Args>::sig..., '\0'};
};
template <typename... Args> constexpr const char signature_helper<Args...>::sig[];

// object_serializer: natural alignment up to 8; strings as a 50-byte Pascal string.
template <typename T> struct object_serializer {
    static size_t alignment() { return sizeof(T) < sizeof(long) ? sizeof(T) : sizeof(long); }
    static size_t size() { return sizeof(T); }
    static void serialize(u8* p, T v) { memcpy(p, &v, sizeof(v)); }
};
template <> struct object_serializer<const char*> {
    static constexpr size_t max_len = 50;
    static size_t alignment() { return 1; }
    static size_t size() { return max_len; }
    static void serialize(u8* p, const char* v) {
        if (!v) v = "<null>";
        size_t len = 0;
        while (len < max_len - 1 && v[len]) {
            p[len + 1] = u8(v[len]);
            len++;
        }
        p[0] = u8(len);
    }
};

inline size_t trace_align_up(size_t v, size_t a) { return (v + a - 1) & ~(a - 1); }

template <unsigned _id, typename... Args>
class tracepoint : public tracepoint_base {
public:
    tracepoint(const char* name, const char* format)
        : tracepoint_base(_id, name, format, signature_helper<Args...>::sig) {}
    // Disabled, a tracepoint costs a load and a branch (OSv patches a jump instead).
    void operator()(Args... as) {
        if (__builtin_expect(_logging, false)) log(as...);
    }
    __attribute__((noinline)) void log(Args... as) {
        irq_save_lock_type irq;
        size_t size = 0;
        ((size = trace_align_up(size, object_serializer<Args>::alignment()) + object_serializer<Args>::size()), ...);
        auto tr = allocate_trace_record(size);
        u8* buffer = tr->buffer;
        log_backtrace(tr, buffer);
        size_t off = 0;
        ((off = trace_align_up(off, object_serializer<Args>::alignment()),
          object_serializer<Args>::serialize(buffer + off, as), off += object_serializer<Args>::size()), ...);
        asm volatile("" ::: "memory");
        tr->tp = this;  // last: the record is complete
    }
};

inline const char* trace_strip_prefix(const char* name) {
    return (name[0] == 't' && name[1] == 'r' && name[2] == 'a' && name[3] == 'c' && name[4] == 'e' && name[5] == '_')
        ? name + 6 : name;
}

#define TRACEPOINT(name, fmt, ...) \
    tracepoint<__COUNTER__, ##__VA_ARGS__> name(trace_strip_prefix(#name), fmt);

namespace trace {
// --trace=PATTERN (OSv's glob: * and ?), --trace-backtrace, and osvlike's --trace-pages=N
// (ring size per cpu; OSv sizes it from the cpu count, 1-4 MiB).
void set_options(const char* patterns, bool backtrace, unsigned pages);
// Allocates every cpu's buffer and enables the matching tracepoints: after the cpus exist.
void init();
}
