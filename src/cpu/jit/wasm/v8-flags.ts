// The V8 flag wasm blocks need, set once per process before any module compiles. V8's code cache records the flags a
// script was compiled under and rejects the cache when they differ: the CLI's launcher (src/cli/launch.ts) sets the
// same flag before it reads its code cache, so that a cache written at the end of a run (flag set) holds at the next
// start.
import v8 from 'node:v8';

/**
 * V8 recompiles a wasm function with TurboFan once it has run a budget of code (1.8 M bytes' worth by default). At
 * that budget the test runner's short unit tests, two at a time, spent 29% of their CPU in TurboFan (16% without wasm
 * blocks) on the core the other job needs (twelve tests 12.9 s, against 10.7 s in Liftoff only), while
 * tst-rcu-hashtable's hot loops run 45% faster tiered up (1.5 G instructions: 12.6 s against 18.3 s). At 50 M only
 * code that keeps running is recompiled: twelve short tests 10.3-10.7 s, tst-rcu-hashtable 12.5 s.
 * OSVEMU_WASM_TIERING_BUDGET sets it.
 */
export const WASM_TIERING_BUDGET = Number(process.env.OSVEMU_WASM_TIERING_BUDGET ?? 50_000_000);

let applied = false;
export function applyWasmFlags(): void {
  if (applied) return;
  applied = true;
  v8.setFlagsFromString(`--wasm-tiering-budget=${WASM_TIERING_BUDGET}`);
}
