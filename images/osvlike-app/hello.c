/* An application object for osvlike's run-time loader (images/osvlike/elf.cc): position
 * independent; its only import is __tls_get_addr (the general-dynamic access to its __thread
 * variable, as an OSv application library has), its relocations the few that loader handles.
 * The debugger tests set a breakpoint on hello_app before the guest has loaded it and print
 * app_tls in the two threads that called it. */
__attribute__((noinline)) static int square(int x) {
    return x * x;
}

/* Each calling thread's own copy: the sum of its last call. */
__thread long app_tls = 5;

int hello_app(int n) {
    int sum = 0;
    for (int i = 1; i <= n; i++) sum += square(i);
    app_tls = sum;
    return sum;
}
