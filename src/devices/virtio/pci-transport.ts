/**
 * virtio over PCI (virtio 1.2 §4.1), laid out as QEMU's virtio-*-pci devices:
 *
 *   BAR0  I/O, legacy register block (transitional and legacy devices)       -- what OSv drives
 *   BAR1  32-bit memory, 4 KiB: MSI-X table at 0, PBA at 0x800
 *   BAR4  64-bit prefetchable memory, 16 KiB, modern structures (transitional and modern devices):
 *         common config 0x0000, ISR 0x1000, device config 0x2000, notify 0x3000 (4 bytes per queue)
 *
 * with vendor capabilities (common, ISR, device, notify, PCI-config access) describing BAR4 and
 * an MSI-X capability with one vector per queue plus one for configuration changes. A
 * transitional device has a legacy ID (0x1000 + n, revision 0, subsystem ID = virtio type) so
 * OSv picks its legacy driver; a modern one has ID 0x1040 + type and revision 1.
 * Without MSI-X the device interrupts through INTA#.
 */
import type { AccessSize, TimerCallback } from '../bus.js';
import { captureFields, restoreFields, SnapshotStateError, type DeviceState } from '../snapshottable.js';
import { PciDevice } from '../pci-config.js';
import { MsixController } from '../pci-msix.js';
import { TRANSITIONAL_DEVICE_ID, VIRTIO_PCI_VENDOR } from './constants.js';
import type { VirtioDeviceModel } from './device.js';
import { legacyRead, legacyWrite, legacyRegionSize } from './pci-legacy.js';
import { addModernCapabilities, MODERN_BAR, MODERN_BAR_SIZE, modernRead, modernWrite, type PciCfgWindow } from './pci-modern.js';
import { loadTransport, saveTransport } from './snapshot.js';
import { VirtioTransport, type VirtioTransportOptions } from './transport.js';

export type VirtioPciMode = 'transitional' | 'legacy' | 'modern';

export interface VirtioPciOptions extends VirtioTransportOptions {
  /** As OSv's run.py --virtio: legacy, transitional (QEMU's default) or modern. */
  mode?: VirtioPciMode;
  /** MSI-X message sink (PcPlatform.sendMsi); without it the device has no MSI-X. */
  sendMsi?: (addressLo: number, addressHi: number, data: number) => void;
}

export const LEGACY_BAR = 0;
export const MSIX_BAR = 1;

export class VirtioPciDevice extends PciDevice {
  readonly transport: VirtioTransport;
  readonly msix: MsixController | null;
  readonly mode: VirtioPciMode;
  private readonly cfgWindow: PciCfgWindow | null;

  constructor(readonly model: VirtioDeviceModel, opts: VirtioPciOptions) {
    const mode = opts.mode ?? 'transitional';
    const modern = mode === 'modern';
    const legacyId = TRANSITIONAL_DEVICE_ID[model.deviceType];
    if (!modern && legacyId === undefined) throw new Error(`virtio type ${model.deviceType} has no transitional PCI ID`);
    super({
      vendorId: VIRTIO_PCI_VENDOR,
      deviceId: modern ? 0x1040 + model.deviceType : legacyId!,
      classCode: model.pciClass,
      revision: modern ? 1 : 0,
      subsystemVendorId: VIRTIO_PCI_VENDOR,
      subsystemId: modern ? 0x1100 : model.deviceType,
      interruptPin: 1,
    });
    this.mode = mode;
    this.transport = new VirtioTransport(model, opts);
    if (mode !== 'modern') this.defineBar(LEGACY_BAR, 'io', legacyRegionSize(model.config.length));
    if (opts.sendMsi) {
      this.defineBar(MSIX_BAR, 'mem32', 0x1000);
      this.msix = new MsixController(this, {
        vectors: model.queueSizes.length + 1, bar: MSIX_BAR, tableOffset: 0, pbaOffset: 0x800, send: opts.sendMsi,
      });
    } else this.msix = null;
    if (mode !== 'legacy') {
      this.defineBar(MODERN_BAR, 'mem64', MODERN_BAR_SIZE, true);
      this.cfgWindow = addModernCapabilities(this);
    } else this.cfgWindow = null;
    const msix = this.msix;
    this.transport.route = {
      msi: (vector) => msix !== null && msix.notify(vector),
      intx: (level) => this.setIntx(level),
    };
  }

  /** Names the device after its slot in messages ("virtio-blk 00:03.0"). */
  setSlot(slot: number, fn = 0): void {
    this.transport.label = `${this.model.name} 00:${slot.toString(16).padStart(2, '0')}.${fn}`;
  }

  get msixEnabled(): boolean {
    return this.msix !== null && this.msix.enabled;
  }

  override readBar(index: number, offset: number, size: AccessSize): number {
    if (this.msix?.handlesBarAccess(index, offset)) return this.msix.readBar(offset, size);
    if (index === LEGACY_BAR && this.mode !== 'modern') return legacyRead(this, offset, size);
    if (index === MODERN_BAR && this.mode !== 'legacy') return modernRead(this.transport, offset, size);
    return 0;
  }

  override writeBar(index: number, offset: number, size: AccessSize, value: number): void {
    if (this.msix?.handlesBarAccess(index, offset)) this.msix.writeBar(offset, size, value);
    else if (index === LEGACY_BAR && this.mode !== 'modern') legacyWrite(this, offset, size, value);
    else if (index === MODERN_BAR && this.mode !== 'legacy') modernWrite(this, offset, size, value);
  }

  /** Snapshots: see snapshot.ts. A model that saves nothing is refused once the guest started it. */
  override saveState(): DeviceState {
    const m = this.model;
    if (m.saveState === undefined && this.transport.status !== 0) {
      throw new SnapshotStateError(`${this.transport.label}: the guest started this device and its model cannot be snapshotted`);
    }
    return {
      pci: super.saveState(), transport: saveTransport(this.transport),
      msix: this.msix ? captureFields(this.msix) : null, model: m.saveState?.() ?? null,
    };
  }

  override loadState(s: DeviceState): void {
    const where = this.transport.label;
    // A version-1 snapshot: PCI state alone, of a device the guest had not started (reset state).
    if (s.pci === undefined && s.transport === undefined && s.config instanceof Uint8Array) {
      super.loadState(s);
      return;
    }
    if (typeof s.pci !== 'object' || typeof s.transport !== 'object' || s.pci === null || s.transport === null) {
      throw new SnapshotStateError(`${where}: virtio state missing from the snapshot`);
    }
    super.loadState(s.pci as DeviceState);
    loadTransport(this.transport, s.transport as DeviceState);
    if ((s.msix === null) !== (this.msix === null)) throw new SnapshotStateError(`${where}: MSI-X ${this.msix ? 'missing from' : 'unexpected in'} the snapshot`);
    if (this.msix) restoreFields(this.msix, s.msix as DeviceState, {}, `${where} MSI-X`);
    if (s.model !== null && s.model !== undefined) {
      if (!this.model.loadState) throw new SnapshotStateError(`${where}: this model has no saved state`);
      this.model.loadState(s.model as DeviceState);
    }
  }

  timerCallbacks(): Record<string, TimerCallback> {
    return this.model.timerCallbacks?.() ?? {};
  }

  override readConfig(offset: number, size: 1 | 2 | 4): number {
    if (this.cfgWindow?.covers(offset)) return this.cfgWindow.read(offset, size);
    return super.readConfig(offset, size);
  }

  override writeConfig(offset: number, size: 1 | 2 | 4, value: number): void {
    if (this.cfgWindow?.covers(offset)) this.cfgWindow.write(offset, size, value);
    else super.writeConfig(offset, size, value);
  }
}
