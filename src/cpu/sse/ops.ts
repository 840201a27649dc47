// Placeholder: the owning module registers its opcodes here (see src/cpu/ops/README.md).
