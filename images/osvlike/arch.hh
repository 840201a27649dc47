// Processor access: ports, MSRs, CPUID, control registers, interrupt flag.
#pragma once
#include <stdint.h>
#include <stddef.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int64_t s64;
typedef int8_t s8;

// The kernel image runs at physical + 0x40000000; all of physical 0-4 GiB
// is mapped linearly at 0x400000000000 (boot.S).
constexpr u64 OSV_KERNEL_VM_SHIFT = 0x40000000;
constexpr u64 phys_mem = 0x400000000000;
inline void* phys_to_virt(u64 pa) {
    return reinterpret_cast<void*>(pa + phys_mem);
}
inline u64 virt_to_phys(const void* va) {
    u64 v = reinterpret_cast<u64>(va);
    return v >= phys_mem ? v - phys_mem : v - OSV_KERNEL_VM_SHIFT;
}

namespace processor {

inline void outb(u8 v, u16 port) { asm volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
inline void outw(u16 v, u16 port) { asm volatile("outw %0, %1" :: "a"(v), "Nd"(port)); }
inline u8 inb(u16 port) { u8 v; asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }

inline u64 rdmsr(u32 msr) {
    u32 lo, hi;
    asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (u64(hi) << 32) | lo;
}
inline void wrmsr(u32 msr, u64 v) {
    asm volatile("wrmsr" :: "c"(msr), "a"(u32(v)), "d"(u32(v >> 32)) : "memory");
}

struct cpuid_result { u32 a, b, c, d; };
inline cpuid_result cpuid(u32 leaf, u32 sub = 0) {
    cpuid_result r;
    asm volatile("cpuid" : "=a"(r.a), "=b"(r.b), "=c"(r.c), "=d"(r.d) : "a"(leaf), "c"(sub));
    return r;
}

inline u64 read_cr2() { u64 v; asm volatile("mov %%cr2, %0" : "=r"(v)); return v; }
inline u64 read_cr4() { u64 v; asm volatile("mov %%cr4, %0" : "=r"(v)); return v; }
inline void write_cr4(u64 v) { asm volatile("mov %0, %%cr4" :: "r"(v) : "memory"); }
inline u64 rdtsc() { u32 lo, hi; asm volatile("rdtsc" : "=a"(lo), "=d"(hi)); return (u64(hi) << 32) | lo; }

inline void cli() { asm volatile("cli" ::: "memory"); }
inline void sti() { asm volatile("sti" ::: "memory"); }
inline void sti_hlt() { asm volatile("sti; hlt" ::: "memory"); }
inline void pause() { asm volatile("pause" ::: "memory"); }
inline u64 read_flags() { u64 f; asm volatile("pushfq; pop %0" : "=r"(f) :: "memory"); return f; }
inline void write_flags(u64 f) { asm volatile("push %0; popfq" :: "r"(f) : "memory", "cc"); }
[[noreturn]] inline void halt_no_interrupts() { for (;;) asm volatile("cli; hlt" ::: "memory"); }

constexpr u32 msr_efer = 0xc0000080;
constexpr u32 msr_fs_base = 0xc0000100;
constexpr u32 msr_gs_base = 0xc0000101;
constexpr u32 msr_apic_base = 0x1b;

}

// What the interrupt stubs push (boot.S): saved GPRs, vector, error, CPU frame.
struct exception_frame {
    u64 r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    u64 vector, error_code, rip, cs, rflags, rsp, ss;
};

// Saves the interrupt flag, disables interrupts, restores on scope exit.
class irq_save_lock_type {
public:
    irq_save_lock_type() : _flags(processor::read_flags()) { processor::cli(); }
    ~irq_save_lock_type() { if (_flags & 0x200) processor::sti(); }
private:
    u64 _flags;
};

class spinlock {
public:
    void lock() { while (__atomic_exchange_n(&_v, 1, __ATOMIC_ACQUIRE)) processor::pause(); }
    void unlock() { __atomic_store_n(&_v, 0, __ATOMIC_RELEASE); }
private:
    int _v = 0;
};

template <typename L>
class lock_guard_irq {
public:
    explicit lock_guard_irq(L& l) : _l(l) { _l.lock(); }
    ~lock_guard_irq() { _l.unlock(); }
private:
    irq_save_lock_type _irq;
    L& _l;
};
