/**
 * The modern virtio-pci interface (virtio 1.2 §4.1.4): vendor capabilities pointing into BAR4
 * and the registers behind them. Layout as QEMU: common config at 0x0000, ISR at 0x1000, device
 * config at 0x2000, notifications at 0x3000 with a multiplier of 4 (queue n at 0x3000 + 4n).
 * The PCI-configuration-access capability reaches the same registers through config space.
 */
import type { AccessSize } from '../bus.js';
import type { PciDevice } from '../pci-config.js';
import {
  PCI_CAP_COMMON_CFG, PCI_CAP_DEVICE_CFG, PCI_CAP_ISR_CFG, PCI_CAP_NOTIFY_CFG, PCI_CAP_PCI_CFG,
} from './constants.js';
import { vectorOrNone } from './pci-legacy.js';
import type { VirtioPciDevice } from './pci-transport.js';
import type { VirtioTransport } from './transport.js';

export const MODERN_BAR = 4;
export const MODERN_BAR_SIZE = 0x4000;
const COMMON = 0x0000, ISR = 0x1000, DEVICE = 0x2000, NOTIFY = 0x3000;
const REGION = 0x1000;
const NOTIFY_MULTIPLIER = 4;
const PCI_CAP_ID_VNDR = 0x09;

/** Common configuration register offsets (struct virtio_pci_common_cfg). */
const C = {
  deviceFeatureSelect: 0x00, deviceFeature: 0x04, driverFeatureSelect: 0x08, driverFeature: 0x0c,
  msixConfig: 0x10, numQueues: 0x12, deviceStatus: 0x14, configGeneration: 0x15,
  queueSelect: 0x16, queueSize: 0x18, queueMsixVector: 0x1a, queueEnable: 0x1c, queueNotifyOff: 0x1e,
  queueDesc: 0x20, queueDriver: 0x28, queueDevice: 0x30, end: 0x38,
} as const;
const WIDTH: Record<number, number> = {
  0x00: 4, 0x04: 4, 0x08: 4, 0x0c: 4, 0x10: 2, 0x12: 2, 0x14: 1, 0x15: 1, 0x16: 2, 0x18: 2, 0x1a: 2, 0x1c: 2,
  0x1e: 2, 0x20: 4, 0x24: 4, 0x28: 4, 0x2c: 4, 0x30: 4, 0x34: 4,
};

function lo32(x: number): number {
  return x % 2 ** 32;
}
function hi32(x: number): number {
  return Math.floor(x / 2 ** 32);
}

function commonRegister(t: VirtioTransport, reg: number): number {
  const q = t.queues[t.queueSelect];
  switch (reg) {
    case C.deviceFeatureSelect: return t.deviceFeatureSelect;
    case C.deviceFeature: return t.deviceFeatures(t.deviceFeatureSelect);
    case C.driverFeatureSelect: return t.driverFeatureSelect;
    case C.driverFeature: return t.driverFeatureSelect < 2 ? t.driverFeatures[t.driverFeatureSelect]! : 0;
    case C.msixConfig: return t.configVector;
    case C.numQueues: return t.queues.length;
    case C.deviceStatus: return t.status;
    case C.configGeneration: return t.configGeneration;
    case C.queueSelect: return t.queueSelect;
    case C.queueSize: return q === undefined ? 0 : q.size;
    case C.queueMsixVector: return q === undefined ? 0xffff : q.vector;
    case C.queueEnable: return q !== undefined && q.ready ? 1 : 0;
    case C.queueNotifyOff: return q === undefined ? 0 : q.index;
    case C.queueDesc: return q === undefined ? 0 : lo32(q.descAddr);
    case C.queueDesc + 4: return q === undefined ? 0 : hi32(q.descAddr);
    case C.queueDriver: return q === undefined ? 0 : lo32(q.availAddr);
    case C.queueDriver + 4: return q === undefined ? 0 : hi32(q.availAddr);
    case C.queueDevice: return q === undefined ? 0 : lo32(q.usedAddr);
    case C.queueDevice + 4: return q === undefined ? 0 : hi32(q.usedAddr);
    default: return 0;
  }
}

function readCommon(t: VirtioTransport, offset: number, size: AccessSize): number {
  let v = 0;
  for (let i = size - 1; i >= 0; i--) {
    const o = offset + i;
    let start = o;
    while (start > 0 && WIDTH[start] === undefined) start--;
    const byte = o >= C.end ? 0 : (commonRegister(t, start) >>> (8 * (o - start))) & 0xff;
    v = v * 256 + byte;
  }
  return v >>> 0;
}

function setHalf(addr: number, high: boolean, value: number): number {
  return high ? (value >>> 0) * 2 ** 32 + lo32(addr) : hi32(addr) * 2 ** 32 + (value >>> 0);
}

function writeCommon(dev: VirtioPciDevice, offset: number, value: number): void {
  const t = dev.transport;
  const q = t.queues[t.queueSelect];
  switch (offset) {
    case C.deviceFeatureSelect: t.deviceFeatureSelect = value >>> 0; break;
    case C.driverFeatureSelect: t.driverFeatureSelect = value >>> 0; break;
    case C.driverFeature: t.setDriverFeatures(t.driverFeatureSelect, value); break;
    case C.msixConfig: t.configVector = vectorOrNone(dev, value); break;
    case C.deviceStatus: t.setStatus(value); break;
    case C.queueSelect: t.queueSelect = value & 0xffff; break;
    default:
      if (q === undefined || q.ready) break; // queue fields are frozen while the queue is enabled
      switch (offset) {
        case C.queueSize: q.size = value & 0xffff; break;
        case C.queueMsixVector: q.vector = vectorOrNone(dev, value); break;
        case C.queueEnable: if ((value & 1) === 1) q.enable(); break;
        case C.queueDesc: case C.queueDesc + 4: q.descAddr = setHalf(q.descAddr, offset !== C.queueDesc, value); break;
        case C.queueDriver: case C.queueDriver + 4: q.availAddr = setHalf(q.availAddr, offset !== C.queueDriver, value); break;
        case C.queueDevice: case C.queueDevice + 4: q.usedAddr = setHalf(q.usedAddr, offset !== C.queueDevice, value); break;
        default: break;
      }
  }
  // The MSI-X vector of an enabled queue may still change.
  if (offset === C.queueMsixVector && q !== undefined && q.ready) q.vector = vectorOrNone(dev, value);
}

export function modernRead(t: VirtioTransport, offset: number, size: AccessSize): number {
  if (offset < COMMON + REGION) return readCommon(t, offset - COMMON, size);
  if (offset < ISR + REGION) return offset === ISR ? t.readIsr() : 0;
  if (offset < DEVICE + REGION) return t.readDeviceConfig(offset - DEVICE, size);
  return 0;
}

export function modernWrite(dev: VirtioPciDevice, offset: number, size: AccessSize, value: number): void {
  const t = dev.transport;
  if (offset < COMMON + REGION) writeCommon(dev, offset - COMMON, value);
  else if (offset >= DEVICE && offset < DEVICE + REGION) t.writeDeviceConfig(offset - DEVICE, size, value);
  else if (offset >= NOTIFY && offset < NOTIFY + REGION) t.notify((offset - NOTIFY) / NOTIFY_MULTIPLIER);
}

/** The PCI-configuration-access capability's data window (virtio_pci_cfg_cap). */
export interface PciCfgWindow {
  covers(offset: number): boolean;
  read(offset: number, size: 1 | 2 | 4): number;
  write(offset: number, size: 1 | 2 | 4, value: number): void;
}

function put32(c: Uint8Array, off: number, v: number): void {
  for (let i = 0; i < 4; i++) c[off + i] = (v >>> (8 * i)) & 0xff;
}
function get32(c: Uint8Array, off: number): number {
  return (c[off]! | (c[off + 1]! << 8) | (c[off + 2]! << 16) | (c[off + 3]! << 24)) >>> 0;
}

function vendorCap(dev: PciDevice, type: number, offset: number, length: number, extra = 0): number {
  const len = 16 + extra;
  const at = dev.addCapability(PCI_CAP_ID_VNDR, len);
  const c = dev.config;
  c[at + 2] = len;
  c[at + 3] = type;
  c[at + 4] = MODERN_BAR;
  put32(c, at + 8, offset);
  put32(c, at + 12, length);
  return at;
}

/** Adds the five vendor capabilities and returns the PCI-config access window. */
export function addModernCapabilities(dev: VirtioPciDevice): PciCfgWindow {
  vendorCap(dev, PCI_CAP_COMMON_CFG, COMMON, REGION);
  vendorCap(dev, PCI_CAP_ISR_CFG, ISR, REGION);
  vendorCap(dev, PCI_CAP_DEVICE_CFG, DEVICE, REGION);
  const notify = vendorCap(dev, PCI_CAP_NOTIFY_CFG, NOTIFY, REGION, 4);
  put32(dev.config, notify + 16, NOTIFY_MULTIPLIER);
  const cfg = vendorCap(dev, PCI_CAP_PCI_CFG, 0, 0, 4);
  dev.config[cfg + 4] = 0;
  for (let i = 4; i < 16; i++) if (i !== 5 && i !== 6 && i !== 7) dev.setWritableBits(cfg + i, 0xff);
  const data = cfg + 16;
  const access = (): { bar: number; offset: number; length: number } => ({
    bar: dev.config[cfg + 4]!, offset: get32(dev.config, cfg + 8), length: get32(dev.config, cfg + 12),
  });
  return {
    covers: (offset) => offset >= data && offset < data + 4,
    read: (offset, size) => {
      const a = access();
      if (a.bar !== MODERN_BAR || !(a.length === 1 || a.length === 2 || a.length === 4)) return 0;
      const v = dev.readBar(a.bar, a.offset, a.length);
      const shift = 8 * (offset - data);
      const w = v >>> shift;
      return size === 4 ? w >>> 0 : size === 2 ? w & 0xffff : w & 0xff;
    },
    write: (offset, _size, value) => {
      const a = access();
      if (a.bar !== MODERN_BAR || offset !== data || !(a.length === 1 || a.length === 2 || a.length === 4)) return;
      dev.writeBar(a.bar, a.offset, a.length, value);
    },
  };
}
