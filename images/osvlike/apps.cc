// Programs. OSv runs the command line's command as an ELF from its file system; osvlike looks
// the path up in its bootfs (bootfs.S) and runs the behaviour the file's content names. These
// are the test programs osvemu's test runner is checked with: one that passes, one that prints
// a failure, one that exits non-zero, one that aborts, one that hangs, one that triple-faults.
#include "apps.hh"
#include "sched.hh"
#include "console.hh"

extern "C" char bootfs_start[];

namespace {

struct bootfs_metadata {
    u64 size;
    u64 offset;
    char type;
    char name[111];
};

bool equal(const char* a, const char* b) {
    while (*a && *a == *b) a++, b++;
    return *a == *b;
}

bool content_is(const char* data, u64 size, const char* word) {
    u64 i = 0;
    for (; i < size && word[i]; i++) {
        if (data[i] != word[i]) return false;
    }
    return i == size && !word[i];
}

int hello() {
    kprintf("Hello from osvlike\n");
    return 0;
}

struct sum_arg {
    u64 from, to, sum;
};

void summer(void* a) {
    auto s = static_cast<sum_arg*>(a);
    for (u64 i = s->from; i <= s->to; i++) {
        s->sum += i;
        if (i % 100 == 0) sched::thread::yield();
    }
}

// Two threads add halves of 1..1000; the program checks the total.
int pass() {
    sum_arg halves[2] = {{1, 500, 0}, {501, 1000, 0}};
    sched::thread* t[2];
    for (unsigned i = 0; i < 2; i++) {
        sched::thread::attr a;
        a.name(i ? "summer1" : "summer0").pin(sched::cpus[i % sched::cpus.size()]);
        t[i] = new sched::thread(summer, &halves[i], a);
        t[i]->start();
    }
    for (auto th : t) th->join();
    u64 total = halves[0].sum + halves[1].sum;
    kprintf("tst-pass: sum of 1..1000 on 2 threads: %lu\n", total);
    if (total != 500500) {
        kprintf("FAIL: expected 500500\n");
        return 1;
    }
    kprintf("tst-pass: 1 check passed\n");
    return 0;
}

// What a Boost.Test program prints when a check fails.
int fail() {
    kprintf("tst-fail: checking 2 + 2\n");
    kprintf("tests/tst-fail.cc(7): error: check 2 + 2 == 5 has failed [4 != 5]\n");
    kprintf("\n*** 1 failure is detected in the test module \"tst-fail\"\n");
    return 1;
}

// Fails by its exit status only, printing nothing test.py would match.
int status() {
    kprintf("tst-status: exiting with status 3\n");
    return 3;
}

[[noreturn]] void do_abort() {
    kprintf("tst-abort: checking the answer\n");
    abort("Assertion failed: answer == 42 (tests/tst-abort.cc: main: 12)\n");
}

[[noreturn]] void hang() {
    kprintf("tst-hang: waiting for an event that never comes\n");
    for (;;) sched::thread::sleep(50000000);
}

// OSv's last-resort power-off on machines without ACPI: an empty IDT, then int3.
[[noreturn]] void triple() {
    kprintf("tst-triple: loading an empty IDT\n");
    struct __attribute__((packed)) {
        u16 limit;
        u64 base;
    } idt = {0, 0};
    asm volatile("lidt %0; int3" :: "m"(idt) : "memory");
    for (;;) processor::halt_no_interrupts();
}

}

int run_program(const char* path) {
    auto md = reinterpret_cast<const bootfs_metadata*>(bootfs_start);
    for (; md->name[0]; md++) {
        if (!equal(md->name, path)) continue;
        const char* data = bootfs_start + md->offset;
        if (content_is(data, md->size, "hello")) return hello();
        if (content_is(data, md->size, "pass")) return pass();
        if (content_is(data, md->size, "fail")) return fail();
        if (content_is(data, md->size, "status")) return status();
        if (content_is(data, md->size, "abort")) do_abort();
        if (content_is(data, md->size, "hang")) hang();
        if (content_is(data, md->size, "triple")) triple();
        break;
    }
    return program_not_found;
}
