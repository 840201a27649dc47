// Freestanding runtime: string functions, a bump heap for operator new, and
// the few libstdc++ out-of-line pieces std::vector/unordered_map need.
#include <stddef.h>
#include <new>
#include <utility>
#include <unordered_map>
#include <atomic>
#include "arch.hh"
#include "console.hh"

[[noreturn]] void abort(const char* fmt, ...);

extern "C" {

// rep stosb/movsb: what OSv's memcpy variants use on ERMS machines.
void* memset(void* d, int c, size_t n) {
    void* p = d;
    asm volatile("cld; rep stosb" : "+D"(p), "+c"(n) : "a"(c) : "memory");
    return d;
}
void* memcpy(void* d, const void* s, size_t n) {
    void* p = d;
    asm volatile("cld; rep movsb" : "+D"(p), "+S"(s), "+c"(n) : : "memory");
    return d;
}
void* memmove(void* d, const void* s, size_t n) {
    auto p = static_cast<u8*>(d);
    auto q = static_cast<const u8*>(s);
    if (p < q) {
        while (n--) *p++ = *q++;
    } else {
        while (n--) p[n] = q[n];
    }
    return d;
}
int memcmp(const void* a, const void* b, size_t n) {
    auto p = static_cast<const u8*>(a);
    auto q = static_cast<const u8*>(b);
    for (; n; n--, p++, q++) {
        if (*p != *q) return *p - *q;
    }
    return 0;
}
void* memchr(const void* s, int c, size_t n) {
    auto p = static_cast<const u8*>(s);
    for (; n; n--, p++) {
        if (*p == u8(c)) return const_cast<u8*>(p);
    }
    return nullptr;
}
size_t strlen(const char* s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

void* __dso_handle;
int __cxa_atexit(void (*)(void*), void*, void*) { return 0; }
void __cxa_pure_virtual() { abort("pure virtual call\n"); }

}

namespace memory {

// Named like OSv's, for the debugger: RAM in the memory map, and what the heap has left.
size_t phys_mem_size;
std::atomic<size_t> free_memory;

// The heap lives in .bss: below .edata, so it is RAM by the loader contract.
alignas(4096) static char heap[8 << 20];
static size_t heap_used;
static spinlock heap_lock;

void* alloc(size_t size, size_t align) {
    lock_guard_irq<spinlock> guard(heap_lock);
    heap_used = (heap_used + align - 1) & ~(align - 1);
    if (heap_used + size > sizeof(heap)) {
        abort("out of memory\n");
    }
    void* p = heap + heap_used;
    heap_used += size;
    free_memory.store(sizeof(heap) - heap_used);
    memset(p, 0, size);
    return p;
}

}

void* operator new(size_t n) { return memory::alloc(n, 16); }
void* operator new[](size_t n) { return memory::alloc(n, 16); }
void operator delete(void*) noexcept {}
void operator delete(void*, size_t) noexcept {}
void operator delete[](void*) noexcept {}
void operator delete[](void*, size_t) noexcept {}

namespace std {
void __throw_bad_alloc() { abort("bad_alloc\n"); }
void __throw_length_error(const char* s) { abort("length_error: %s\n", s); }
void __throw_bad_array_new_length() { abort("bad_array_new_length\n"); }
void __throw_out_of_range_fmt(const char* s, ...) { abort("out_of_range: %s\n", s); }
void __throw_logic_error(const char* s) { abort("logic_error: %s\n", s); }
void __throw_out_of_range(const char* s) { abort("out_of_range: %s\n", s); }

namespace __detail {
// Bucket counts: any odd number works for the modulo hash; grow by doubling.
size_t _Prime_rehash_policy::_M_next_bkt(size_t n) const {
    size_t b = n < 11 ? 11 : (n | 1);
    _M_next_resize = b;
    return b;
}
std::pair<bool, size_t> _Prime_rehash_policy::_M_need_rehash(size_t n_bkt, size_t n_elt, size_t n_ins) const {
    if (n_elt + n_ins <= n_bkt) {
        return {false, 0};
    }
    size_t want = (n_elt + n_ins) * 2;
    return {true, _M_next_bkt(want > n_bkt * 2 ? want : n_bkt * 2)};
}
}
}

void* operator new(size_t n, std::align_val_t a) { return memory::alloc(n, size_t(a)); }
void operator delete(void*, std::align_val_t) noexcept {}
void operator delete(void*, size_t, std::align_val_t) noexcept {}
