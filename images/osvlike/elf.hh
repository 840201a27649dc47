// Loaded objects, shaped like OSv's elf::program / elf::object so the debugger's library list
// (qXfer:libraries-svr4, `osv syms`) can be tested: elf::program::s_objs holds the kernel itself
// ("libosv.so", first) and every object loaded at run time, with _base, _end, _pathname and the
// dynamic section (_dynamic_table).
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
};

class program {
public:
    program();
    // Copies an ELF shared object's segments to fresh memory, applies its R_X86_64_RELATIVE
    // relocations and registers it in s_objs (the point a debugger notices a new object).
    object* load_object(const char* pathname, const u8* image, size_t size);
    static std::vector<object*> s_objs;
private:
    object* _core;
};

program* get_program();

}
