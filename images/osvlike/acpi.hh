// ACPI tables, read directly: RSDP -> XSDT/RSDT -> MADT, FADT/DSDT, HPET.
#pragma once
#include <vector>
#include "arch.hh"

namespace acpi {

struct madt_cpu {
    u32 acpi_id;
    u32 apic_id;
};

// rsdp_paddr from hvm_start_info, or 0 to search the EBDA and 0xE0000-0xFFFFF.
bool init(u64 rsdp_paddr);
bool available();
const u8* find_table(const char* sig);
std::vector<madt_cpu> madt_cpus();
u64 hpet_address();
// Enters S5 through the FADT's PM1a control block and \_S5's SLP_TYPa; returns on failure.
void poweroff();

}
