/**
 * A PCI function's 256-byte type-0 configuration space, as a base class for device models.
 *
 * Writes go through per-byte masks (as in QEMU): `wmask` says which bits the guest may change,
 * `w1cmask` which bits it clears by writing 1; everything else is read-only. BARs get their
 * masks from their size, so writing 0xFFFFFFFF reads back the size mask with the type bits.
 * Firmware work (BAR addresses, interrupt line) is done by the board through `setBarAddress`
 * and `setInterruptLine` before the guest runs; OSv does not assign BARs itself.
 *
 * `onMappingChange` fires whenever a BAR address or the I/O / memory decode enables change, so
 * the board can (un)map the BAR on its IoBus / MmioBus. During sizing the BAR transiently holds
 * the size mask; boards should only map BARs whose decode is enabled (`barMapping`).
 */
import { captureFields, restoreFields, type DeviceState } from './snapshottable.js';
import { allOnes, type AccessSize, type IrqLine } from './bus.js';

export type BarKind = 'io' | 'mem32' | 'mem64';

export interface BarDefinition {
  readonly kind: BarKind;
  /** Power of two: >= 4 for I/O, >= 16 for memory. */
  readonly size: number;
  readonly prefetchable: boolean;
}

export interface PciIds {
  vendorId: number;
  deviceId: number;
  /** 24-bit class code: class << 16 | subclass << 8 | prog-if. */
  classCode: number;
  revision?: number;
  subsystemVendorId?: number;
  subsystemId?: number;
  /** 0 = no INTx, 1–4 = INTA#–INTD#. */
  interruptPin?: number;
  multiFunction?: boolean;
}

export const PCI_COMMAND_IO = 1 << 0;
export const PCI_COMMAND_MEMORY = 1 << 1;
export const PCI_COMMAND_MASTER = 1 << 2;
export const PCI_COMMAND_INTX_DISABLE = 1 << 10;
export const PCI_STATUS_CAP_LIST = 1 << 4;
export const PCI_STATUS_INTERRUPT = 1 << 3;
export const PCI_CAPABILITY_LIST = 0x34;
export const PCI_INTERRUPT_LINE = 0x3c;

const TWO32 = 2 ** 32;

export class PciDevice {
  readonly config = new Uint8Array(256);
  protected readonly wmask = new Uint8Array(256);
  protected readonly w1cmask = new Uint8Array(256);
  readonly bars: (BarDefinition | undefined)[] = [undefined, undefined, undefined, undefined, undefined, undefined];
  private nextCapOffset = 0x40;
  private readonly configListeners: ((offset: number, size: number) => void)[] = [];
  private lastCap = -1;
  private mappingSignature = '';
  /** INTx wire into the interrupt controller, connected by the board. */
  intx: IrqLine | null = null;
  private intxAsserted = false;
  /** Called after a BAR address or decode enable changed. */
  onMappingChange: ((device: PciDevice) => void) | null = null;

  constructor(ids: PciIds) {
    this.set16(0x00, ids.vendorId);
    this.set16(0x02, ids.deviceId);
    this.config[0x08] = ids.revision ?? 0;
    this.config[0x09] = ids.classCode & 0xff;
    this.config[0x0a] = (ids.classCode >> 8) & 0xff;
    this.config[0x0b] = (ids.classCode >> 16) & 0xff;
    this.config[0x0e] = ids.multiFunction ? 0x80 : 0x00;
    this.set16(0x2c, ids.subsystemVendorId ?? 0);
    this.set16(0x2e, ids.subsystemId ?? 0);
    this.config[0x3d] = ids.interruptPin ?? 0;
    // Command: I/O, memory, bus master, parity, SERR, INTx disable.
    this.wmask[0x04] = 0x47;
    this.wmask[0x05] = 0x05;
    // Status error bits are write-1-to-clear.
    this.w1cmask[0x07] = 0xf9;
    this.wmask[0x0c] = 0xff; // cache line size
    this.wmask[0x0d] = 0xff; // latency timer
    this.wmask[PCI_INTERRUPT_LINE] = 0xff;
    this.mappingSignature = this.signature();
  }

  /**
   * Snapshot state: config space and the INTx level. A device model with more state (queues, back-end
   * positions) overrides both and calls these. The board re-syncs BAR mappings after loadState.
   */
  saveState(): DeviceState {
    return captureFields(this);
  }

  loadState(s: DeviceState): void {
    restoreFields(this, s);
  }

  get vendorId(): number {
    return this.get16(0x00);
  }
  get deviceId(): number {
    return this.get16(0x02);
  }
  get command(): number {
    return this.get16(0x04);
  }
  get ioEnabled(): boolean {
    return (this.command & PCI_COMMAND_IO) !== 0;
  }
  get memEnabled(): boolean {
    return (this.command & PCI_COMMAND_MEMORY) !== 0;
  }
  get busMaster(): boolean {
    return (this.command & PCI_COMMAND_MASTER) !== 0;
  }
  get interruptLine(): number {
    return this.config[PCI_INTERRUPT_LINE]!;
  }

  /** Firmware: the IRQ number written at 0x3C (ISA IRQ / GSI the board wired INTx to). */
  setInterruptLine(line: number): void {
    this.config[PCI_INTERRUPT_LINE] = line & 0xff;
  }

  /** Declares BAR `index` (a 64-bit BAR also uses index + 1). */
  defineBar(index: number, kind: BarKind, size: number, prefetchable = false): void {
    const min = kind === 'io' ? 4 : 16;
    if (index < 0 || index > 5 || (kind === 'mem64' && index > 4)) throw new Error(`PCI: bad BAR index ${index}`);
    if (!Number.isInteger(size) || size < min || !Number.isInteger(Math.log2(size)) || size > 2 ** 40) {
      throw new Error(`PCI: BAR ${index} size ${size} is not a power of two >= ${min}`);
    }
    if (kind === 'io' && size > 256) throw new Error(`PCI: I/O BAR ${index} larger than 256 bytes`);
    this.bars[index] = { kind, size, prefetchable };
    const off = 0x10 + index * 4;
    const typeBits = kind === 'io' ? 1 : (kind === 'mem64' ? 4 : 0) | (prefetchable ? 8 : 0);
    this.set32(off, typeBits);
    const lowMask = size >= TWO32 ? 0 : (~(size - 1) & (kind === 'io' ? ~3 : ~0xf)) >>> 0;
    this.setWmask32(off, lowMask);
    if (kind === 'mem64') {
      this.set32(off + 4, 0);
      const highMask = size > TWO32 ? (~(size / TWO32 - 1)) >>> 0 : 0xffffffff;
      this.setWmask32(off + 4, highMask);
    }
    this.mappingSignature = this.signature();
  }

  /** Firmware: programs BAR `index` with `address` (aligned to the BAR size). */
  setBarAddress(index: number, address: number): void {
    const bar = this.bars[index];
    if (bar === undefined) throw new Error(`PCI: BAR ${index} is not defined`);
    if (address % bar.size !== 0) throw new Error(`PCI: BAR ${index} address 0x${address.toString(16)} not aligned to ${bar.size}`);
    const off = 0x10 + index * 4;
    const typeBits = this.get32(off) & (bar.kind === 'io' ? 3 : 0xf);
    this.set32(off, ((address % TWO32) | typeBits) >>> 0);
    if (bar.kind === 'mem64') this.set32(off + 4, Math.floor(address / TWO32) >>> 0);
    this.checkMapping();
  }

  /** The address currently programmed in BAR `index` (type bits removed), or -1 if undefined. */
  barAddress(index: number): number {
    const bar = this.bars[index];
    if (bar === undefined) return -1;
    const off = 0x10 + index * 4;
    const lo = this.get32(off) & (bar.kind === 'io' ? ~3 : ~0xf);
    const hi = bar.kind === 'mem64' ? this.get32(off + 4) : 0;
    return hi * TWO32 + (lo >>> 0);
  }

  /** Where BAR `index` decodes now: its address if the matching decode is enabled, else -1. */
  barMapping(index: number): number {
    const bar = this.bars[index];
    if (bar === undefined) return -1;
    if (bar.kind === 'io' ? !this.ioEnabled : !this.memEnabled) return -1;
    return this.barAddress(index);
  }

  /**
   * Appends a capability of `length` bytes (including its 2-byte header) to the list and
   * returns its offset. The subclass sets the wmask of the fields the guest may write.
   */
  addCapability(id: number, length: number): number {
    const off = this.nextCapOffset;
    const size = (length + 3) & ~3;
    if (off + size > 0x100) throw new Error('PCI: configuration space full');
    this.config[off] = id & 0xff;
    this.config[off + 1] = 0;
    if (this.lastCap < 0) this.config[PCI_CAPABILITY_LIST] = off;
    else this.config[this.lastCap + 1] = off;
    this.config[0x06]! |= PCI_STATUS_CAP_LIST;
    this.lastCap = off;
    this.nextCapOffset = off + size;
    return off;
  }

  /** Reads `size` bytes at `offset` (little-endian); bytes beyond 0xFF read as 0xFF. */
  readConfig(offset: number, size: 1 | 2 | 4): number {
    let v = 0;
    for (let i = size - 1; i >= 0; i--) {
      const o = offset + i;
      v = v * 256 + (o < 256 ? this.config[o]! : 0xff);
    }
    return v >>> 0;
  }

  /** Writes `size` bytes at `offset` through the masks, then notifies `configWritten`. */
  writeConfig(offset: number, size: 1 | 2 | 4, value: number): void {
    for (let i = 0; i < size; i++) {
      const o = offset + i;
      if (o >= 256) break;
      const b = (value >>> (8 * i)) & 0xff;
      const wm = this.wmask[o]!;
      const w1c = this.w1cmask[o]!;
      this.config[o] = ((this.config[o]! & ~wm) | (b & wm)) & ~(b & w1c);
    }
    if (offset <= 0x05 && offset + size > 0x04) this.updateIntx();
    this.configWritten(offset, size);
    for (const l of this.configListeners) l(offset, size);
    this.checkMapping();
  }

  /** Observes guest config writes (used by capability helpers such as MSI-X). */
  addConfigListener(listener: (offset: number, size: number) => void): void {
    this.configListeners.push(listener);
  }

  /** Lets a capability helper make config bits guest-writable. */
  setWritableBits(offset: number, mask: number): void {
    this.wmask[offset] = mask & 0xff;
  }

  /** Guest read of BAR `index` at `offset` (I/O port or MMIO), routed here by `PciBarMapper`. */
  readBar(_index: number, _offset: number, size: AccessSize): number {
    return allOnes(size);
  }

  /** Guest write of BAR `index` at `offset`, routed here by `PciBarMapper`. */
  writeBar(_index: number, _offset: number, _size: AccessSize, _value: number): void {}

  /** Device hook after a guest config write (MSI-X enable, vendor capability fields...). */
  protected configWritten(_offset: number, _size: number): void {}

  /** Asserts or deasserts INTx (honours the INTx-disable command bit; sets status bit 3). */
  setIntx(asserted: boolean): void {
    this.intxAsserted = asserted;
    if (asserted) this.config[0x06]! |= PCI_STATUS_INTERRUPT;
    else this.config[0x06]! &= ~PCI_STATUS_INTERRUPT;
    this.updateIntx();
  }

  private intxLevel = false;
  private updateIntx(): void {
    const level = this.intxAsserted && !(this.command & PCI_COMMAND_INTX_DISABLE);
    if (level === this.intxLevel) return;
    this.intxLevel = level;
    if (level) this.intx?.raise();
    else this.intx?.lower();
  }

  protected get16(off: number): number {
    return this.config[off]! | (this.config[off + 1]! << 8);
  }
  protected get32(off: number): number {
    return (this.get16(off) | (this.get16(off + 2) << 16)) >>> 0;
  }
  protected set16(off: number, v: number): void {
    this.config[off] = v & 0xff;
    this.config[off + 1] = (v >> 8) & 0xff;
  }
  protected set32(off: number, v: number): void {
    this.set16(off, v & 0xffff);
    this.set16(off + 2, (v >>> 16) & 0xffff);
  }
  protected setWmask32(off: number, mask: number): void {
    for (let i = 0; i < 4; i++) this.wmask[off + i] = (mask >>> (8 * i)) & 0xff;
  }

  private signature(): string {
    let s = `${this.command & 3}`;
    for (let i = 0; i < 6; i++) if (this.bars[i] !== undefined) s += `,${this.barMapping(i)}`;
    return s;
  }

  private checkMapping(): void {
    const sig = this.signature();
    if (sig === this.mappingSignature) return;
    this.mappingSignature = sig;
    this.onMappingChange?.(this);
  }
}
