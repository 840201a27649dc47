// The relay keeps the last machine reachable while the next one is made, across a garbage collection, and lets it
// go afterwards (src/machine/relay.ts: V8's maps, and with them the optimised code, survive the hand-over).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { Relay } from '../../src/machine/relay.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
/** A new macrotask: WeakRef targets touched in this one stay alive until it ends. */
const tick = () => new Promise((r) => setImmediate(r));

class Big { readonly bytes = new Uint8Array(1 << 20); }

describe('machine relay', () => {
  it('holds the last machine while the next is made, then lets it go', async () => {
    const relay = new Relay<Big>();
    const first = new WeakRef(relay.next(() => new Big()));
    await tick();
    let aliveDuring = false;
    const second = new WeakRef(relay.next(() => {
      gc();
      aliveDuring = first.deref() !== undefined;
      return new Big();
    }));
    expect(aliveDuring).toBe(true);
    await tick();
    gc();
    expect(first.deref()).toBeUndefined();
    expect(second.deref()).toBeDefined();
    relay.release();
    await tick();
    gc();
    expect(second.deref()).toBeUndefined();
  });

  it('without it the last machine is gone before the next is made', async () => {
    // The control: the same hand-over done by plain assignment loses the machine to the collection.
    let current: Big | null = new Big();
    const first = new WeakRef(current);
    current = null;
    await tick();
    gc();
    expect(first.deref()).toBeUndefined();
  });
});
