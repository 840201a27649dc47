// The console: a polled 16550 UART at COM1 (0x3f8), like OSv's isa-serial.
#pragma once
#include <stdarg.h>
#include "arch.hh"

namespace console {
void init();
void write(const char* s, size_t len);
}
// Formatted output, one lock per call so lines from different CPUs do not mix.
void kprintf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void vkprintf(const char* fmt, va_list ap);
// Without the lock: for the abort path, which may interrupt a printer.
void debug_early(const char* s);
void debug_early_u64(const char* prefix, u64 v, const char* suffix);
