/**
 * A machine's network cards: one NetPort per `MachineOptions.net` entry (kept across resets, like
 * the back ends behind them), the shared pcap file and input log, and fresh virtio-net device
 * models for every board build.
 */
import type { Clock } from '../devices/bus.js';
import type { NetBackend } from '../devices/net/backend.js';
import { NetLogWriter } from '../devices/net/netlog.js';
import { PcapWriter } from '../devices/net/pcap.js';
import { NetPort } from '../devices/net/port.js';
import { defaultMac, parseMac } from '../devices/net/spec.js';
import { VirtioNet } from '../devices/net/virtio-net.js';
import type { HostInputs } from './host-input.js';

export interface NetAttachment {
  /** The host side: PasstBackend, StreamBackend, a NetHub port, CallbackBackend, ReplayBackend. */
  backend: NetBackend;
  /** Default: QEMU's 52:54:00:12:34:56, counting up for later cards. */
  mac?: Uint8Array | string;
  /** Cable plugged in at power-on (default true). */
  link?: boolean;
}

export interface NetMachineOptions {
  /** virtio-net cards, in slot order after the disks. */
  net?: NetAttachment[];
  /** Every frame of every card, with virtual-time stamps (tcpdump / Wireshark). */
  pcap?: string;
  /** Records the host input of every card for replay (src/devices/net/README.md). */
  netRecord?: string;
  /** One-line notices from the back ends (peer closed...). Default: stderr. */
  netLog?: (line: string) => void;
}

export class MachineNet {
  readonly ports: NetPort[];
  readonly macs: Uint8Array[];
  /** The current device models (replaced on reset), by card. */
  devices: VirtioNet[] = [];
  private readonly pcap: PcapWriter | null;
  private readonly record: NetLogWriter | null;

  constructor(options: NetMachineOptions, inputs: HostInputs) {
    const log = options.netLog ?? ((line: string) => process.stderr.write(`osvemu: ${line}\n`));
    const cards = options.net ?? [];
    this.macs = cards.map((c, i) => (c.mac === undefined ? defaultMac(i) : typeof c.mac === 'string' ? parseMac(c.mac) : c.mac.slice()));
    this.pcap = options.pcap !== undefined && cards.length > 0 ? new PcapWriter(options.pcap, log) : null;
    this.record = options.netRecord !== undefined && cards.length > 0 ? new NetLogWriter(options.netRecord, log) : null;
    this.ports = cards.map((c, index) => {
      const port = new NetPort(c.backend, { index, pcap: this.pcap, record: this.record, wake: inputs.wake, log });
      if (c.link === false) port.link = false;
      inputs.add(port);
      return port;
    });
  }

  /** Device models for a (re)built board, connected to the ports. */
  models(clock: Clock): VirtioNet[] {
    this.devices = this.ports.map((port, i) => {
      const dev = new VirtioNet({ mac: this.macs[i]!, port });
      port.attach(dev, clock);
      return dev;
    });
    return this.devices;
  }

  /** Closes the back ends and flushes the pcap file and the input log. */
  async close(): Promise<void> {
    await Promise.all(this.ports.map((p) => p.backend.close()));
    await this.pcap?.close();
    await this.record?.close();
  }
}
