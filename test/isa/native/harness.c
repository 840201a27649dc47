/*
 * Native side of the ISA differential test: runs one guest instruction per case on the host CPU
 * (x86-64 Linux, CPL 3) and reports the architectural state the CPU left, in the same 4768-byte
 * "state blob" format the emulator produces (layout: test/isa/blob.ts).
 *
 * Protocol (stdin -> stdout, all little-endian):
 *   in:  u32 count, then per case: u8 len, u8 code[15], u8 blob[4768]
 *   out: per case: u8 blob[4768]
 *
 * A case always ends through a signal (int3 padding -> SIGTRAP, faults -> SIGSEGV/SIGBUS/SIGFPE/SIGILL,
 * a guest that never ends -> SIGALRM). The handler runs on a sigaltstack (the guest rsp points into
 * the data page, which must not be clobbered by a signal frame), copies the kernel's saved context
 * into the output blob and longjmps back to the case loop.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define BLOB_SIZE 4768
#define OFF_GPR 0
#define OFF_RFLAGS 128
#define OFF_RIP 136
#define OFF_VECTOR 144
#define OFF_ERR 148
#define OFF_FAULT 152
#define OFF_FX 160
#define OFF_MEM 672
#define CODE_MAX 15
#define REC_SIZE (1 + CODE_MAX + BLOB_SIZE)

#define DATA_ADDR 0x100000000UL
#define CODE_ADDR 0x200000000UL
#define PAGE 4096UL

/* User-writable RFLAGS bits we let a case load: CF PF AF ZF SF DF OF AC ID (+ IF, reserved bit 1).
 * TF is never loaded: it would trap after the first guest instruction. */
#define RFLAGS_LOADABLE 0x250ED5UL

static uint8_t *code_alias;          /* RW alias of the (read+exec only) CODE page */
static volatile int in_guest;
static sigjmp_buf case_jmp;
static uint8_t *out_cur;             /* output blob of the running case */
static uint8_t host_fx[512] __attribute__((aligned(64)));
static uint8_t guest_in[BLOB_SIZE] __attribute__((aligned(64)));
const uint64_t guest_entry = CODE_ADDR;

/* Loads the guest state from the blob in rdi and jumps to CODE. Never returns: the case ends by a signal.
 * rdi is loaded last; the jump goes through a memory operand so no register is needed for the target. */
void enter_guest(const uint8_t *blob) __attribute__((noreturn));
__asm__(
    ".text\n"
    ".globl enter_guest\n"
    "enter_guest:\n"
    "  fxrstor64 160(%rdi)\n"
    "  pushq 128(%rdi)\n"
    "  popfq\n"
    "  movq 0(%rdi),%rax\n"
    "  movq 8(%rdi),%rcx\n"
    "  movq 16(%rdi),%rdx\n"
    "  movq 24(%rdi),%rbx\n"
    "  movq 32(%rdi),%rsp\n"
    "  movq 40(%rdi),%rbp\n"
    "  movq 48(%rdi),%rsi\n"
    "  movq 64(%rdi),%r8\n"
    "  movq 72(%rdi),%r9\n"
    "  movq 80(%rdi),%r10\n"
    "  movq 88(%rdi),%r11\n"
    "  movq 96(%rdi),%r12\n"
    "  movq 104(%rdi),%r13\n"
    "  movq 112(%rdi),%r14\n"
    "  movq 120(%rdi),%r15\n"
    "  movq 56(%rdi),%rdi\n"
    "  jmp *guest_entry(%rip)\n");

static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

static void die(const char *msg) {
  fprintf(stderr, "isa-harness: %s (errno %d: %s)\n", msg, errno, strerror(errno));
  _exit(2);
}

/* Vectors whose exception pushes an error code; for the others the kernel's REG_ERR is meaningless. */
static int has_error_code(uint32_t v) { return v == 8 || (v >= 10 && v <= 14) || v == 17; }

void on_signal(int sig, siginfo_t *si, void *ctx);
void on_signal(int sig, siginfo_t *si, void *ctx) {
  (void)si;
  ucontext_t *uc = (ucontext_t *)ctx;
  if (!in_guest) {
    if (sig == SIGALRM) return; /* a late alarm from a case that already ended */
    char buf[160];
    int n = snprintf(buf, sizeof buf, "isa-harness: signal %d outside a guest case (rip=%#llx)\n", sig,
                     (unsigned long long)uc->uc_mcontext.gregs[REG_RIP]);
    (void)!write(2, buf, (size_t)n);
    _exit(3);
  }
  in_guest = 0;
  greg_t *g = uc->uc_mcontext.gregs;
  uint8_t *o = out_cur;
  static const int order[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
                                REG_R8,  REG_R9,  REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15};
  for (int i = 0; i < 16; i++) put64(o + OFF_GPR + 8 * i, (uint64_t)g[order[i]]);
  put64(o + OFF_RFLAGS, (uint64_t)g[REG_EFL]);
  put64(o + OFF_RIP, (uint64_t)g[REG_RIP]);
  uint32_t vec = sig == SIGALRM ? 0xFFFFFFFFu : (uint32_t)g[REG_TRAPNO];
  put32(o + OFF_VECTOR, vec);
  uint32_t err = has_error_code(vec) ? (uint32_t)g[REG_ERR] : 0;
  uint64_t cr2 = (uint64_t)g[REG_CR2];
  /* Linux reports user faults on addresses at/above TASK_SIZE_MAX (the kernel half) with the P bit forced
   * ("sanitized"). In the test's world nothing is mapped there, so report what such a CPU reports: P=0. */
  if (vec == 14 && cr2 >= 0x00007ffffffff000ULL) err &= ~1u;
  put32(o + OFF_ERR, err);
  put64(o + OFF_FAULT, vec == 14 ? cr2 : 0);
  uint8_t *fx = o + OFF_FX;
  if (uc->uc_mcontext.fpregs) memcpy(fx, uc->uc_mcontext.fpregs, 512);
  else memset(fx, 0, 512);
  /* FOP/FIP/FDP depend on where the host put the code; bytes 416..511 are reserved/"available"
   * (the kernel keeps its xsave magic there); the 6 padding bytes after each 80-bit ST register are
   * reserved. None of it is guest-visible architectural state. */
  memset(fx + 6, 0, 18);
  for (int i = 0; i < 8; i++) memset(fx + 32 + 16 * i + 10, 0, 6);
  memset(fx + 416, 0, 96);
  memcpy(o + OFF_MEM, (const void *)DATA_ADDR, PAGE);
  siglongjmp(case_jmp, 1);
}

static void map_pages(void) {
  /* The neighbours must stay unmapped so that accesses crossing a page end fault like in the emulator. */
  static const unsigned long neighbours[] = {DATA_ADDR - PAGE, DATA_ADDR + PAGE, CODE_ADDR - PAGE, CODE_ADDR + PAGE};
  for (unsigned i = 0; i < 4; i++) {
    void *p = mmap((void *)neighbours[i], PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p != (void *)neighbours[i]) die("a neighbour of the DATA/CODE pages is already mapped");
    munmap(p, PAGE);
  }
  void *d = mmap((void *)DATA_ADDR, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (d != (void *)DATA_ADDR) die("cannot map the DATA page at 0x100000000");
  /* CODE is read+exec for the guest (a guest store to it faults like on a real text page); the harness
   * writes it through a second, writable mapping of the same memfd page. */
  int fd = memfd_create("isa-code", 0);
  if (fd < 0) die("memfd_create");
  if (ftruncate(fd, PAGE) != 0) die("ftruncate");
  void *c = mmap((void *)CODE_ADDR, PAGE, PROT_READ | PROT_EXEC, MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
  if (c != (void *)CODE_ADDR) die("cannot map the CODE page at 0x200000000");
  code_alias = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (code_alias == MAP_FAILED) die("cannot map the CODE alias");
  close(fd);
}

/* The kernel clears DF and TF for a handler but not AC: with a guest's AC=1 any misaligned access in the
 * handler would raise #AC again. Clear it before any C code runs. */
void signal_entry(int, siginfo_t *, void *);
__asm__(
    ".text\n"
    ".globl signal_entry\n"
    "signal_entry:\n"
    "  pushfq\n"
    "  andq $~0x40000,(%rsp)\n"
    "  popfq\n"
    "  jmp on_signal\n");

static void install_handlers(void) {
  static uint8_t altstack[256 * 1024] __attribute__((aligned(64)));
  stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
  if (sigaltstack(&ss, NULL) != 0) die("sigaltstack");
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = signal_entry;
  /* SA_NODEFER: the handler leaves by siglongjmp without restoring a mask, so the signal must not stay blocked. */
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  static const int sigs[] = {SIGTRAP, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGALRM};
  for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    if (sigaction(sigs[i], &sa, NULL) != 0) die("sigaction");
}

static int read_full(uint8_t *p, size_t n) {
  while (n) {
    ssize_t r = read(0, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

static void write_full(const uint8_t *p, size_t n) {
  while (n) {
    ssize_t r = write(1, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) die("write to stdout");
    p += r;
    n -= (size_t)r;
  }
}

static void run_case(const uint8_t *rec, uint8_t *out) {
  uint8_t len = rec[0];
  if (len > CODE_MAX) len = CODE_MAX;
  memcpy(code_alias, rec + 1, len);
  memset(code_alias + len, 0xCC, PAGE - len);
  memcpy(guest_in, rec + 1 + CODE_MAX, BLOB_SIZE);
  memcpy((void *)DATA_ADDR, guest_in + OFF_MEM, PAGE);
  uint8_t *fx = guest_in + OFF_FX;
  memset(fx + 6, 0, 18);   /* FOP/FIP/FDP */
  memset(fx + 416, 0, 96); /* reserved */
  uint32_t mxcsr;
  memcpy(&mxcsr, fx + 24, 4);
  mxcsr &= 0xFFFF; /* reserved bits (and AMD's MM bit 17) would make fxrstor #GP in the harness */
  memcpy(fx + 24, &mxcsr, 4);
  uint64_t fl;
  memcpy(&fl, guest_in + OFF_RFLAGS, 8);
  fl = (fl & RFLAGS_LOADABLE) | 0x202;
  memcpy(guest_in + OFF_RFLAGS, &fl, 8);
  out_cur = out;
  if (sigsetjmp(case_jmp, 0) == 0) {
    alarm(2);
    in_guest = 1;
    enter_guest(guest_in);
  }
  alarm(0);
  /* The kernel enters handlers with a clean FPU; make it explicitly the one the harness started with. */
  __asm__ volatile("fxrstor64 %0" ::"m"(*(const uint8_t(*)[512])host_fx));
}

int main(void) {
  __asm__ volatile("fxsave64 %0" : "=m"(*(uint8_t(*)[512])host_fx));
  map_pages();
  install_handlers();
  uint32_t count;
  if (read_full((uint8_t *)&count, 4) != 0) die("missing case count on stdin");
  uint8_t *rec = malloc(REC_SIZE);
  const uint32_t chunk = 256;
  uint8_t *out = malloc((size_t)chunk * BLOB_SIZE);
  if (!rec || !out) die("out of memory");
  for (uint32_t i = 0; i < count;) {
    uint32_t n = count - i < chunk ? count - i : chunk;
    for (uint32_t k = 0; k < n; k++) {
      if (read_full(rec, REC_SIZE) != 0) die("truncated case on stdin");
      run_case(rec, out + (size_t)k * BLOB_SIZE);
    }
    write_full(out, (size_t)n * BLOB_SIZE);
    i += n;
  }
  return 0;
}
