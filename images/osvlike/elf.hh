// Loaded objects, shaped like OSv's elf::program / elf::object so the debugger's library list
// (qXfer:libraries-svr4, `osv syms`) can be tested: elf::program::s_objs holds the kernel itself
// ("libosv.so", first) and every object loaded at run time, with _base, _end, _pathname and the
// dynamic section (_dynamic_table). An object with __thread variables has OSv's _module_index and
// TLS template (_tls_segment, _tls_init_size, _tls_uninit_size); a thread's block for it is
// allocated on first use by __tls_get_addr and kept in sched::thread::_tls[_module_index].
#pragma once
#include <string>
#include <vector>
#include "arch.hh"

namespace elf {

struct Elf64_Dyn {
    s64 d_tag;
    u64 d_val;
};

class program;

class object {
public:
    object(program& prog, const char* pathname);
    program& _prog;
    std::string _pathname;
    void* _base;
    void* _end;
    Elf64_Dyn* _dynamic_table;
    void* _entry;
    unsigned long _module_index;
    void* _tls_segment;
    unsigned long _tls_init_size;
    unsigned long _tls_uninit_size;
};

// The argument of __tls_get_addr: a GOT pair filled by R_X86_64_DTPMOD64 / R_X86_64_DTPOFF64.
struct module_and_offset {
    unsigned long module;
    unsigned long offset;
};

class program {
public:
    // The kernel's own object (OSv keeps it out of s_objs; osvlike lists it first there).
    object* _core;
    program();
    // Copies an ELF shared object's segments to fresh memory, applies its R_X86_64_RELATIVE
    // relocations and registers it in s_objs (the point a debugger notices a new object).
    object* load_object(const char* pathname, const u8* image, size_t size);
    // The object whose _module_index is `module` (OSv's program::tls_object).
    object* tls_object(unsigned long module) { return s_objs[module]; }
    static std::vector<object*> s_objs;
};

extern program* s_program;
program* get_program();

extern "C" void* __tls_get_addr(module_and_offset* mao);

}
