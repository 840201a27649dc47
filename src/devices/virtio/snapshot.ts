/**
 * Snapshot state of a virtio-pci function: PCI config space and INTx level (PciDevice), the
 * transport (status, feature words and selectors, ISR, config vector and generation, needs-reset),
 * every queue (size, ring addresses, enable, MSI-X vector, negotiated ring features, last available
 * index seen, used index, EVENT_IDX suppression state), the MSI-X table and PBA, and the device
 * model's own state (in-flight requests, pending frames, back-end position). Ring views into guest
 * RAM are not saved: they are made again from the saved addresses.
 */
import { captureFields, restoreFields, SnapshotStateError, type DeviceState, type StateValue } from '../snapshottable.js';
import { DescriptorChain } from './chain.js';
import type { GuestMemory } from './device.js';
import type { VirtioTransport } from './transport.js';

export function saveTransport(t: VirtioTransport): DeviceState {
  return captureFields(t, { nested: ['queues'], skip: ['label'] });
}

export function loadTransport(t: VirtioTransport, s: DeviceState): void {
  restoreFields(t, s, { nested: ['queues'] }, t.label);
  try {
    for (const q of t.queues) q.restoreViews();
  } catch (e) {
    throw new SnapshotStateError(`${t.label}: ${(e as Error).message}`);
  }
}

/** A chain a device holds across a snapshot (taken from the ring, not yet returned): its buffers. */
export function saveChain(c: DescriptorChain): DeviceState {
  return {
    head: c.head, addrs: c.addrs.slice(), lens: c.views.map((v) => v.length), readable: c.readableCount,
  };
}

export function loadChain(mem: GuestMemory, s: StateValue): DescriptorChain {
  const o = s as { head: number; addrs: number[]; lens: number[]; readable: number };
  if (typeof o?.head !== 'number' || !Array.isArray(o.addrs) || !Array.isArray(o.lens) || o.addrs.length !== o.lens.length) {
    throw new SnapshotStateError('bad descriptor chain in the snapshot');
  }
  const c = new DescriptorChain(o.head, mem);
  o.addrs.forEach((addr, i) => {
    const len = o.lens[i]!;
    const v = mem.view(addr, len);
    if (v === null) throw new SnapshotStateError(`saved descriptor buffer 0x${addr.toString(16)}+${len} is outside RAM`);
    c.addrs.push(addr);
    c.views.push(v);
    if (i < o.readable) c.readableBytes += len;
    else c.writableBytes += len;
  });
  c.readableCount = o.readable;
  return c;
}

/** A number field of a model's saved state, checked. */
export function num(s: DeviceState, key: string, where: string): number {
  const v = s[key];
  if (typeof v !== 'number') throw new SnapshotStateError(`${where}: field ${key} missing from the snapshot`);
  return v;
}
