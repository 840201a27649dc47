// Machines made one after another in one thread (the test runner's workers, the warm-boot benchmark): the next
// one is made while the last is still reachable. V8 holds the hidden classes (maps) its optimised code and type
// feedback name only weakly; a garbage collection between two machines (making one allocates its RAM, which
// triggers a full collection) freed every map only the dead machine used, the next machine's objects got new
// maps, and the run loop, the MMU's page walk, the chaining code and ~40 more functions deoptimised on feedback
// that had been cleared: 176 deopts over ten trivial OSv tests, ~0.5 s of V8 recompiling (CPU) per test.
// Kept alive across the next construction, the maps carry over: 27 deopts.

/** Hands over from one machine to the next; holds the newest until the one after it is made. */
export class Relay<T> {
  private last: T | null = null;

  /** Makes the next machine while the last one is still reachable, then lets the last one go. */
  next(make: () => T): T {
    const m = make();
    this.last = m;
    return m;
  }

  /** Lets the newest machine go (nothing more will be made). */
  release(): void {
    this.last = null;
  }
}
