// The network card of an OSv test machine. test.py's QEMU always has one (run.py: virtio-net on
// QEMU's user network), and OSv's boot waits for a DHCP lease on it, so tests such as tst-ifaddrs
// expect eth0 with an address. osvemu gives the card the isolated network (src/devices/net/isolated.ts):
// DHCP and a gateway inside osvemu, no host setup, deterministic.
import { IsolatedNetBackend } from '../devices/net/isolated.js';
import type { MachineOptions } from '../machine/machine.js';

/** `--net`: auto (a card when the kernel has OSv's virtio-net driver), isolated, none. */
export type TestNet = 'auto' | 'isolated' | 'none';

export const TEST_NETS: readonly TestNet[] = ['auto', 'isolated', 'none'];

/** OSv's virtio-net driver names its receive thread so; kernels without the driver need no card. */
const DRIVER_MARK = Buffer.from('virtio-net-rx', 'latin1');

export function kernelHasVirtioNet(kernel: Uint8Array): boolean {
  return Buffer.from(kernel.buffer, kernel.byteOffset, kernel.byteLength).indexOf(DRIVER_MARK) >= 0;
}

/** Whether the machines get a card: `auto` decides by the kernel. */
export function resolveTestNet(net: TestNet | undefined, kernel: Uint8Array): boolean {
  return net === 'isolated' || ((net ?? 'auto') === 'auto' && kernelHasVirtioNet(kernel));
}

/** Machine options for a test machine's card (made in the worker: a back end does not cross threads). */
export function netMachineOptions(withCard: boolean): Pick<MachineOptions, 'net'> {
  return withCard ? { net: [{ backend: new IsolatedNetBackend() }] } : {};
}
