// A minimal run-time loader for position-independent objects kept in the kernel image
// (app.S): enough for a debugger to see an object appear in elf::program::s_objs.
#include "elf.hh"
#include "trace.hh"
#include "console.hh"
#include "sched.hh"

extern "C" void* memcpy(void*, const void*, size_t);
extern "C" char __kernel_image_start[], __kernel_image_end[];
[[noreturn]] void abort(const char* fmt, ...);
namespace memory {
void* alloc(size_t size, size_t align);
}

// libstdc++ keeps std::string's out-of-line members in the shared library; instantiate them here.
template class std::__cxx11::basic_string<char>;

namespace elf {

namespace {

struct Elf64_Ehdr {
    u8 e_ident[16];
    u16 e_type, e_machine;
    u32 e_version;
    u64 e_entry, e_phoff, e_shoff;
    u32 e_flags;
    u16 e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
};

struct Elf64_Phdr {
    u32 p_type, p_flags;
    u64 p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align;
};

struct Elf64_Rela {
    u64 r_offset, r_info;
    s64 r_addend;
};

struct Elf64_Sym {
    u32 st_name;
    u8 st_info, st_other;
    u16 st_shndx;
    u64 st_value, st_size;
};

constexpr u32 PT_LOAD = 1, PT_DYNAMIC = 2, PT_TLS = 7;
constexpr s64 DT_NULL = 0, DT_PLTRELSZ = 2, DT_STRTAB = 5, DT_SYMTAB = 6, DT_RELA = 7, DT_RELASZ = 8, DT_JMPREL = 23;
constexpr u32 R_X86_64_GLOB_DAT = 6, R_X86_64_JUMP_SLOT = 7, R_X86_64_RELATIVE = 8, R_X86_64_DTPMOD64 = 16,
    R_X86_64_DTPOFF64 = 17;

bool same(const char* a, const char* b) {
    while (*a && *a == *b) a++, b++;
    return *a == *b;
}

}

std::vector<object*> program::s_objs;

object::object(program& prog, const char* pathname)
    : _prog(prog), _pathname(pathname), _base(nullptr), _end(nullptr), _dynamic_table(nullptr), _entry(nullptr),
      _module_index(program::s_objs.size()), _tls_segment(nullptr), _tls_init_size(0), _tls_uninit_size(0) {}

program::program() {
    s_objs.reserve(16);
    _core = new object(*this, "libosv.so");
    _core->_base = __kernel_image_start;
    _core->_end = __kernel_image_end;
    s_objs.push_back(_core);
}

TRACEPOINT(trace_elf_load, "%s", const char *);

object* program::load_object(const char* pathname, const u8* image, size_t size) {
    auto eh = reinterpret_cast<const Elf64_Ehdr*>(image);
    trace_elf_load(pathname);
    if (size < sizeof(*eh) || eh->e_ident[0] != 0x7f || eh->e_ident[1] != 'E') abort("elf: %s is not ELF\n", pathname);
    auto ph = reinterpret_cast<const Elf64_Phdr*>(image + eh->e_phoff);
    u64 span = 0;
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type == PT_LOAD && ph[i].p_vaddr + ph[i].p_memsz > span) span = ph[i].p_vaddr + ph[i].p_memsz;
    }
    span = (span + 4095) & ~u64(4095);
    // Used through the linear map of physical memory, away from the kernel image's own sections,
    // as OSv maps applications away from the kernel.
    auto base = static_cast<u8*>(phys_to_virt(virt_to_phys(memory::alloc(span, 4096))));
    auto obj = new object(*this, pathname);
    obj->_base = base;
    obj->_end = base + span;
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type == PT_LOAD) memcpy(base + ph[i].p_vaddr, image + ph[i].p_offset, ph[i].p_filesz);
        if (ph[i].p_type == PT_DYNAMIC) obj->_dynamic_table = reinterpret_cast<Elf64_Dyn*>(base + ph[i].p_vaddr);
    }
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type != PT_TLS) continue;
        obj->_tls_segment = base + ph[i].p_vaddr;
        obj->_tls_init_size = ph[i].p_filesz;
        obj->_tls_uninit_size = ph[i].p_memsz - ph[i].p_filesz;
    }
    const Elf64_Rela* rela = nullptr;
    const Elf64_Rela* jmprel = nullptr;
    const Elf64_Sym* symtab = nullptr;
    const char* strtab = nullptr;
    u64 relasz = 0, jmprelsz = 0;
    for (auto d = obj->_dynamic_table; d && d->d_tag != DT_NULL; d++) {
        if (d->d_tag == DT_RELA) rela = reinterpret_cast<const Elf64_Rela*>(base + d->d_val);
        if (d->d_tag == DT_RELASZ) relasz = d->d_val;
        if (d->d_tag == DT_JMPREL) jmprel = reinterpret_cast<const Elf64_Rela*>(base + d->d_val);
        if (d->d_tag == DT_PLTRELSZ) jmprelsz = d->d_val;
        if (d->d_tag == DT_SYMTAB) symtab = reinterpret_cast<const Elf64_Sym*>(base + d->d_val);
        if (d->d_tag == DT_STRTAB) strtab = reinterpret_cast<const char*>(base + d->d_val);
    }
    // The only symbol resolved against the kernel; the object's own symbols are defined in it.
    auto relocate = [&](const Elf64_Rela& r) {
        auto where = reinterpret_cast<u64*>(base + r.r_offset);
        auto sym = symtab ? &symtab[r.r_info >> 32] : nullptr;
        switch (u32(r.r_info)) {
        case R_X86_64_RELATIVE:
            *where = u64(base) + r.r_addend;
            return;
        case R_X86_64_DTPMOD64:
            *where = obj->_module_index;
            return;
        case R_X86_64_DTPOFF64:
            *where = (sym ? sym->st_value : 0) + r.r_addend;
            return;
        case R_X86_64_GLOB_DAT:
        case R_X86_64_JUMP_SLOT:
            if (sym && strtab && same(strtab + sym->st_name, "__tls_get_addr")) {
                *where = u64(&__tls_get_addr);
                return;
            }
            break;
        }
        abort("elf: %s: unsupported relocation\n", pathname);
    };
    for (u64 i = 0; rela && i < relasz / sizeof(Elf64_Rela); i++) relocate(rela[i]);
    for (u64 i = 0; jmprel && i < jmprelsz / sizeof(Elf64_Rela); i++) relocate(jmprel[i]);
    obj->_entry = base + eh->e_entry;
    s_objs.push_back(obj);
    return obj;
}

// OSv's __tls_get_addr: the calling thread's block of the module, allocated on first use.
extern "C" void* __tls_get_addr(module_and_offset* mao) {
    auto t = sched::thread::current();
    auto tls = t->get_tls(mao->module);
    if (!tls) {
        auto obj = get_program()->tls_object(mao->module);
        tls = t->setup_tls(mao->module, obj->_tls_segment, obj->_tls_init_size, obj->_tls_uninit_size);
    }
    return tls + mao->offset;
}

program* s_program;

program* get_program() {
    if (!s_program) s_program = new program();
    return s_program;
}

}
