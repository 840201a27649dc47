/**
 * MSI-X for a PCI device model: the capability (ID 0x11), the vector table and the pending-bit
 * array (PBA) inside one of the device's memory BARs, and message delivery.
 *
 * The device model routes BAR accesses that fall in `[tableOffset, tableOffset + 16 * n)` or
 * the PBA range to `readTable`/`writeTable`/`readPba` (see `handlesBarAccess`), and calls
 * `notify(vector)` to signal. A message whose entry or the whole function is masked sets its
 * pending bit and is sent when unmasked, as the PCI spec requires. The message goes to
 * `send(addressLo, addressHi, data)` — on this machine `ApicBus.deliverMsi`.
 */
import type { AccessSize } from './bus.js';
import type { PciDevice } from './pci-config.js';

export const PCI_CAP_ID_MSIX = 0x11;
const CTRL_ENABLE = 0x8000;
const CTRL_FUNCTION_MASK = 0x4000;
const ENTRY_MASKED = 1;

export interface MsixOptions {
  vectors: number;
  /** BAR holding the table and PBA (must be a memory BAR of the device). */
  bar: number;
  tableOffset: number;
  pbaOffset: number;
  send: (addressLo: number, addressHi: number, data: number) => void;
}

export class MsixController {
  readonly capOffset: number;
  readonly vectors: number;
  readonly bar: number;
  readonly tableOffset: number;
  readonly pbaOffset: number;
  private readonly table: Uint32Array;
  private readonly pending: Uint32Array;
  private readonly send: MsixOptions['send'];

  constructor(
    private readonly device: PciDevice,
    opts: MsixOptions,
  ) {
    if (!Number.isInteger(opts.vectors) || opts.vectors < 1 || opts.vectors > 2048) {
      throw new Error(`MSI-X: ${opts.vectors} vectors (1-2048 allowed)`);
    }
    if ((opts.tableOffset | opts.pbaOffset) & 7) throw new Error('MSI-X: table and PBA offsets must be 8-byte aligned');
    this.vectors = opts.vectors;
    this.bar = opts.bar;
    this.tableOffset = opts.tableOffset;
    this.pbaOffset = opts.pbaOffset;
    this.send = opts.send;
    this.table = new Uint32Array(4 * opts.vectors);
    for (let i = 0; i < opts.vectors; i++) this.table[4 * i + 3] = ENTRY_MASKED; // masked at reset
    this.pending = new Uint32Array(Math.ceil(opts.vectors / 32));

    const off = device.addCapability(PCI_CAP_ID_MSIX, 12);
    this.capOffset = off;
    const c = device.config;
    const ctrl = opts.vectors - 1;
    c[off + 2] = ctrl & 0xff;
    c[off + 3] = (ctrl >> 8) & 0x07;
    device.setWritableBits(off + 3, 0xc0); // enable + function mask
    this.put32(off + 4, opts.tableOffset | opts.bar);
    this.put32(off + 8, opts.pbaOffset | opts.bar);
    device.addConfigListener((o, size) => {
      if (o <= off + 3 && o + size > off + 2) this.deliverPending();
    });
  }

  private get control(): number {
    const c = this.device.config;
    return c[this.capOffset + 2]! | (c[this.capOffset + 3]! << 8);
  }

  /** MSI-X enable bit: when clear the device must use INTx instead. */
  get enabled(): boolean {
    return (this.control & CTRL_ENABLE) !== 0;
  }

  get functionMasked(): boolean {
    return (this.control & CTRL_FUNCTION_MASK) !== 0;
  }

  /** True when a BAR access at `offset` belongs to the MSI-X table or PBA. */
  handlesBarAccess(bar: number, offset: number): boolean {
    if (bar !== this.bar) return false;
    return (
      (offset >= this.tableOffset && offset < this.tableOffset + 16 * this.vectors) ||
      (offset >= this.pbaOffset && offset < this.pbaOffset + 8 * Math.ceil(this.vectors / 64))
    );
  }

  readBar(offset: number, size: AccessSize): number {
    let v: number;
    let within: number;
    if (offset >= this.pbaOffset && offset < this.pbaOffset + 8 * Math.ceil(this.vectors / 64)) {
      within = offset - this.pbaOffset;
      v = this.pending[within >> 2] ?? 0;
    } else {
      within = offset - this.tableOffset;
      v = this.table[within >> 2]!;
    }
    v >>>= (within & 3) * 8;
    return size === 4 ? v >>> 0 : size === 2 ? v & 0xffff : v & 0xff;
  }

  writeBar(offset: number, size: AccessSize, value: number): void {
    if (offset < this.tableOffset || offset >= this.tableOffset + 16 * this.vectors) return; // PBA is read-only
    const within = offset - this.tableOffset;
    const word = within >> 2;
    const shift = (within & 3) * 8;
    const mask = size === 4 ? 0xffffffff : ((size === 2 ? 0xffff : 0xff) << shift) >>> 0;
    let v = ((this.table[word]! & ~mask) | ((value << shift) & mask)) >>> 0;
    if ((word & 3) === 3) v &= ENTRY_MASKED; // vector control: only the mask bit exists
    this.table[word] = v;
    if ((word & 3) === 3) this.deliverPending();
  }

  /**
   * Signals `vector`. Returns false when MSI-X is disabled (the caller falls back to INTx);
   * otherwise the message is sent now or left pending while masked.
   */
  notify(vector: number): boolean {
    if (!this.enabled) return false;
    if (vector < 0 || vector >= this.vectors) return true; // out of range: dropped, as hardware does
    if (this.functionMasked || this.table[4 * vector + 3]! & ENTRY_MASKED) {
      this.pending[vector >> 5]! |= 1 << (vector & 31);
      return true;
    }
    this.fire(vector);
    return true;
  }

  /** Whether `vector` waits in the PBA. */
  isPending(vector: number): boolean {
    return (this.pending[vector >> 5]! & (1 << (vector & 31))) !== 0;
  }

  private fire(vector: number): void {
    const t = this.table;
    this.send(t[4 * vector]!, t[4 * vector + 1]!, t[4 * vector + 2]!);
  }

  private deliverPending(): void {
    if (!this.enabled || this.functionMasked) return;
    for (let v = 0; v < this.vectors; v++) {
      if (this.isPending(v) && !(this.table[4 * v + 3]! & ENTRY_MASKED)) {
        this.pending[v >> 5]! &= ~(1 << (v & 31));
        this.fire(v);
      }
    }
  }

  private put32(off: number, v: number): void {
    const c = this.device.config;
    for (let i = 0; i < 4; i++) c[off + i] = (v >>> (8 * i)) & 0xff;
  }
}
