/**
 * `--pcap FILE`: every frame a NIC sends or receives, in the classic libpcap format with
 * nanosecond timestamps (magic 0xa1b23c4d, link type 1 = Ethernet), which tcpdump and Wireshark
 * read. Timestamps are the machine's virtual time, so the same run gives the same file.
 * Writes are queued (CaptureFile): the run loop never waits for the disk.
 */
import { CaptureFile } from './capture-file.js';

export const PCAP_MAGIC_NS = 0xa1b23c4d;
export const LINKTYPE_ETHERNET = 1;
const SNAPLEN = 262144;

export class PcapWriter {
  private readonly out: CaptureFile;
  frames = 0;

  /** Opens (truncates) the file now, so a bad path fails before the guest starts. */
  constructor(readonly path: string, log: (line: string) => void = () => {}) {
    this.out = new CaptureFile(path, 'pcap file', log);
    const h = Buffer.alloc(24);
    h.writeUInt32LE(PCAP_MAGIC_NS, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeInt32LE(0, 8);
    h.writeUInt32LE(0, 12);
    h.writeUInt32LE(SNAPLEN, 16);
    h.writeUInt32LE(LINKTYPE_ETHERNET, 20);
    this.out.write(h);
  }

  /** One frame seen at virtual time `ns`. */
  write(ns: number, frame: Uint8Array): void {
    const incl = Math.min(frame.length, SNAPLEN);
    const rec = Buffer.allocUnsafe(16 + incl);
    const sec = Math.floor(ns / 1e9);
    rec.writeUInt32LE(sec >>> 0, 0);
    rec.writeUInt32LE(Math.floor(ns - sec * 1e9), 4);
    rec.writeUInt32LE(incl, 8);
    rec.writeUInt32LE(frame.length, 12);
    rec.set(frame.subarray(0, incl), 16);
    this.out.write(rec);
    this.frames++;
  }

  close(): Promise<void> {
    return this.out.close();
  }
}

export interface PcapRecord {
  ns: number;
  frame: Uint8Array;
  origLen: number;
}

/** Reads a file PcapWriter wrote (or any little-endian Ethernet pcap): for tests and tools. */
export function readPcap(bytes: Uint8Array): { linkType: number; nanos: boolean; records: PcapRecord[] } {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 24) throw new Error('pcap: shorter than its header');
  const magic = b.readUInt32LE(0);
  if (magic !== PCAP_MAGIC_NS && magic !== 0xa1b2c3d4) throw new Error(`pcap: bad magic 0x${magic.toString(16)}`);
  const nanos = magic === PCAP_MAGIC_NS;
  const records: PcapRecord[] = [];
  let off = 24;
  while (off < b.length) {
    if (b.length - off < 16) throw new Error(`pcap: truncated record header at ${off}`);
    const sec = b.readUInt32LE(off), frac = b.readUInt32LE(off + 4), incl = b.readUInt32LE(off + 8), orig = b.readUInt32LE(off + 12);
    if (b.length - off - 16 < incl) throw new Error(`pcap: truncated record at ${off}`);
    records.push({ ns: sec * 1e9 + (nanos ? frac : frac * 1000), frame: new Uint8Array(b.subarray(off + 16, off + 16 + incl)), origLen: orig });
    off += 16 + incl;
  }
  return { linkType: b.readUInt32LE(20), nanos, records };
}
