/* An application object for osvlike's run-time loader (images/osvlike/elf.cc): position
 * independent, no imports and no relocations, so the guest's minimal loader only copies it.
 * The debugger tests set a breakpoint on hello_app before the guest has loaded it. */
__attribute__((noinline)) static int square(int x) {
    return x * x;
}

int hello_app(int n) {
    int sum = 0;
    for (int i = 1; i <= n; i++) sum += square(i);
    return sum;
}
