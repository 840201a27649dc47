// ACPI table parsing without ACPICA: just what osvlike needs.
#include "acpi.hh"
#include "console.hh"

extern "C" int memcmp(const void*, const void*, size_t);

namespace acpi {

namespace {

const u8* rsdp;
bool use_xsdt;
const u8* root;

bool checksum_ok(const u8* p, size_t n) {
    u8 s = 0;
    while (n--) s += *p++;
    return s == 0;
}

template <typename T>
T get(const u8* p, size_t off) {
    T v;
    __builtin_memcpy(&v, p + off, sizeof(T));
    return v;
}

const u8* scan(u64 from, u64 to) {
    for (u64 a = from; a + 20 <= to; a += 16) {
        auto p = static_cast<const u8*>(phys_to_virt(a));
        if (!memcmp(p, "RSD PTR ", 8) && checksum_ok(p, 20)) {
            return p;
        }
    }
    return nullptr;
}

}

bool init(u64 rsdp_paddr) {
    if (rsdp_paddr) {
        rsdp = static_cast<const u8*>(phys_to_virt(rsdp_paddr));
    } else {
        u64 ebda = u64(*static_cast<const u16*>(phys_to_virt(0x40e))) << 4;
        rsdp = ebda ? scan(ebda, ebda + 1024) : nullptr;
        if (!rsdp) rsdp = scan(0xe0000, 0x100000);
    }
    if (!rsdp || memcmp(rsdp, "RSD PTR ", 8)) {
        rsdp = nullptr;
        return false;
    }
    use_xsdt = rsdp[15] >= 2 && get<u64>(rsdp, 24);
    root = static_cast<const u8*>(phys_to_virt(use_xsdt ? get<u64>(rsdp, 24) : get<u32>(rsdp, 16)));
    return true;
}

bool available() { return root != nullptr; }

const u8* find_table(const char* sig) {
    if (!root) return nullptr;
    u32 len = get<u32>(root, 4);
    size_t esz = use_xsdt ? 8 : 4;
    for (size_t off = 36; off + esz <= len; off += esz) {
        u64 pa = use_xsdt ? get<u64>(root, off) : get<u32>(root, off);
        auto t = static_cast<const u8*>(phys_to_virt(pa));
        if (!memcmp(t, sig, 4)) return t;
    }
    return nullptr;
}

std::vector<madt_cpu> madt_cpus() {
    std::vector<madt_cpu> cpus;
    auto madt = find_table("APIC");
    if (!madt) return cpus;
    u32 len = get<u32>(madt, 4);
    for (u32 off = 44; off + 2 <= len;) {
        u8 type = madt[off], elen = madt[off + 1];
        if (elen < 2) break;
        if (type == 0 && (get<u32>(madt, off + 4) & 1)) {
            cpus.push_back({madt[off + 2], madt[off + 3]});
        } else if (type == 9 && (get<u32>(madt, off + 8) & 1)) {
            cpus.push_back({get<u32>(madt, off + 12), get<u32>(madt, off + 4)});
        }
        off += elen;
    }
    return cpus;
}

u64 hpet_address() {
    auto hpet = find_table("HPET");
    return hpet ? get<u64>(hpet, 44) : 0;
}

namespace {

// \_S5 in the DSDT: NameOp "_S5_" PackageOp PkgLength NumElements SLP_TYPa ...
bool find_s5(u8& slp_typ_a) {
    auto fadt = find_table("FACP");
    if (!fadt) return false;
    u32 flen = get<u32>(fadt, 4);
    u64 dsdt_pa = get<u32>(fadt, 40);
    if (flen >= 148 && get<u64>(fadt, 140)) dsdt_pa = get<u64>(fadt, 140);
    if (!dsdt_pa) return false;
    auto dsdt = static_cast<const u8*>(phys_to_virt(dsdt_pa));
    if (memcmp(dsdt, "DSDT", 4)) return false;
    u32 len = get<u32>(dsdt, 4);
    for (u32 i = 36; i + 8 < len; i++) {
        if (memcmp(dsdt + i, "_S5_", 4)) continue;
        if (dsdt[i - 1] != 0x08 && !(dsdt[i - 1] == '\\' && dsdt[i - 2] == 0x08)) continue;
        u32 p = i + 4;
        if (dsdt[p++] != 0x12) continue;          // PackageOp
        p += ((dsdt[p] >> 6) & 3) + 1;            // PkgLength
        p++;                                      // NumElements
        u8 op = dsdt[p];
        if (op == 0x0a) slp_typ_a = dsdt[p + 1];  // BytePrefix
        else if (op == 0x00) slp_typ_a = 0;       // ZeroOp
        else if (op == 0x01) slp_typ_a = 1;       // OneOp
        else slp_typ_a = op;
        return true;
    }
    return false;
}

}

void poweroff() {
    auto fadt = find_table("FACP");
    u8 slp_typ_a;
    if (!fadt || !find_s5(slp_typ_a)) {
        kprintf("osvlike: ACPI power off unavailable (no FADT or \\_S5)\n");
        return;
    }
    u32 pm1a_cnt = get<u32>(fadt, 64);
    kprintf("osvlike: ACPI S5: PM1a_CNT 0x%x SLP_TYPa %u\n", pm1a_cnt, slp_typ_a);
    processor::outw(u16((slp_typ_a << 10) | (1 << 13)), u16(pm1a_cnt));
}

}
