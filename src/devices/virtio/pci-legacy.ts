/**
 * The legacy virtio-pci register block in I/O BAR0 (virtio 1.2 §4.1.4.8), the interface OSv's
 * virtio_legacy_pci_device drives. The MSI-X vector registers exist only while MSI-X is enabled,
 * which moves the device configuration from 0x14 to 0x18. Queues are placed by page frame
 * number with the used ring on the next 4 KiB boundary.
 */
import type { AccessSize } from '../bus.js';
import {
  LEGACY_CONFIG, LEGACY_CONFIG_MSIX, LEGACY_GUEST_FEATURES, LEGACY_HOST_FEATURES, LEGACY_ISR, LEGACY_MSI_CONFIG_VECTOR,
  LEGACY_MSI_QUEUE_VECTOR, LEGACY_QUEUE_ALIGN, LEGACY_QUEUE_NOTIFY, LEGACY_QUEUE_NUM, LEGACY_QUEUE_PFN, LEGACY_QUEUE_SEL,
  LEGACY_STATUS, NO_VECTOR,
} from './constants.js';
import type { VirtioPciDevice } from './pci-transport.js';

/** BAR0 size: the registers plus the device config, as a power of two (QEMU's rule). */
export function legacyRegionSize(configLen: number): number {
  let size = 32;
  while (size < LEGACY_CONFIG_MSIX + configLen) size *= 2;
  if (size > 256) throw new Error(`virtio: ${configLen}-byte device config does not fit a legacy I/O BAR`);
  return size;
}

function register(dev: VirtioPciDevice, reg: number): number {
  const t = dev.transport;
  const q = t.queues[dev.transport.queueSelect];
  switch (reg) {
    case LEGACY_HOST_FEATURES: return t.legacyFeatures();
    case LEGACY_GUEST_FEATURES: return t.driverFeatures[0]!;
    case LEGACY_QUEUE_PFN: return q === undefined || !q.ready ? 0 : Math.floor(q.descAddr / LEGACY_QUEUE_ALIGN) >>> 0;
    case LEGACY_QUEUE_NUM: return q === undefined ? 0 : q.maxSize;
    case LEGACY_QUEUE_SEL: return dev.transport.queueSelect;
    case LEGACY_STATUS: return t.status;
    case LEGACY_MSI_CONFIG_VECTOR: return t.configVector;
    case LEGACY_MSI_QUEUE_VECTOR: return q === undefined ? NO_VECTOR : q.vector;
    default: return 0;
  }
}

/** Register start offsets and widths, for accesses narrower than a register. */
const LAYOUT: readonly [number, number][] = [
  [LEGACY_HOST_FEATURES, 4], [LEGACY_GUEST_FEATURES, 4], [LEGACY_QUEUE_PFN, 4], [LEGACY_QUEUE_NUM, 2],
  [LEGACY_QUEUE_SEL, 2], [LEGACY_QUEUE_NOTIFY, 2], [LEGACY_STATUS, 1], [LEGACY_ISR, 1],
  [LEGACY_MSI_CONFIG_VECTOR, 2], [LEGACY_MSI_QUEUE_VECTOR, 2],
];

export function legacyRead(dev: VirtioPciDevice, offset: number, size: AccessSize): number {
  const base = dev.msixEnabled ? LEGACY_CONFIG_MSIX : LEGACY_CONFIG;
  if (offset >= base) return dev.transport.readDeviceConfig(offset - base, size);
  if (offset === LEGACY_ISR) return dev.transport.readIsr();
  let v = 0;
  for (let i = size - 1; i >= 0; i--) {
    const o = offset + i;
    const r = LAYOUT.find(([start, width]) => o >= start && o < start + width);
    const byte = r === undefined || o >= base || r[0] === LEGACY_ISR ? 0 : (register(dev, r[0]) >>> (8 * (o - r[0]))) & 0xff;
    v = v * 256 + byte;
  }
  return v >>> 0;
}

export function legacyWrite(dev: VirtioPciDevice, offset: number, size: AccessSize, value: number): void {
  const t = dev.transport;
  const base = dev.msixEnabled ? LEGACY_CONFIG_MSIX : LEGACY_CONFIG;
  if (offset >= base) {
    t.writeDeviceConfig(offset - base, size, value);
    return;
  }
  const q = t.queues[dev.transport.queueSelect];
  switch (offset) {
    case LEGACY_GUEST_FEATURES:
      t.setLegacyDriverFeatures(value);
      break;
    case LEGACY_QUEUE_PFN:
      if (q === undefined) break;
      if (value === 0) {
        q.disable();
        break;
      }
      q.size = q.maxSize;
      q.descAddr = (value >>> 0) * LEGACY_QUEUE_ALIGN;
      q.availAddr = q.descAddr + 16 * q.size;
      q.usedAddr = Math.ceil((q.availAddr + 6 + 2 * q.size) / LEGACY_QUEUE_ALIGN) * LEGACY_QUEUE_ALIGN;
      q.enable();
      break;
    case LEGACY_QUEUE_SEL:
      t.queueSelect = value & 0xffff;
      break;
    case LEGACY_QUEUE_NOTIFY:
      t.notify(value & 0xffff);
      break;
    case LEGACY_STATUS:
      t.setStatus(value);
      break;
    case LEGACY_MSI_CONFIG_VECTOR:
      t.configVector = vectorOrNone(dev, value);
      break;
    case LEGACY_MSI_QUEUE_VECTOR:
      if (q !== undefined) q.vector = vectorOrNone(dev, value);
      break;
    default:
      break; // read-only registers
  }
}

/** A vector the MSI-X table has, else NO_VECTOR (which the driver reads back as the refusal). */
export function vectorOrNone(dev: VirtioPciDevice, value: number): number {
  value &= 0xffff;
  return dev.msix !== null && value < dev.msix.vectors ? value : NO_VECTOR;
}
