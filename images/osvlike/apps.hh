// The programs of osvlike's boot file system.
#pragma once

constexpr int program_not_found = -1;

// Runs the program at `path` (e.g. "/tests/tst-pass.so") and returns its exit status, or
// program_not_found when the file system has no such program.
int run_program(const char* path);
