/**
 * The network input log: what a run received from the host and exactly when, so the run can be
 * replayed without the host (`--net-record FILE`, then `--net replay=FILE`).
 *
 * Layout (little-endian): the 16-byte magic "osvemu-netlog 1\n", then one record per input:
 *   f64 instructions (all vCPUs) · f64 virtual ns · u8 NIC index · u8 kind (0 frame, 1 link down,
 *   2 link up) · u32 length · frame bytes.
 */
import { readFileSync } from 'node:fs';
import type { InputPoint } from '../../machine/host-input.js';
import type { BackendEvents, FrameSink, NetBackend } from './backend.js';
import { CaptureFile } from './capture-file.js';

export const NETLOG_MAGIC = 'osvemu-netlog 1\n';

export interface NetLogEntry {
  instructions: number;
  virtualNs: number;
  nic: number;
  /** A frame, or a link state. */
  input: Uint8Array | boolean;
}

export class NetLogWriter {
  private readonly out: CaptureFile;
  entries = 0;

  constructor(readonly path: string, log: (line: string) => void = () => {}) {
    this.out = new CaptureFile(path, 'network log', log);
    this.out.write(Buffer.from(NETLOG_MAGIC, 'latin1'));
  }

  write(at: InputPoint, nic: number, input: Uint8Array | boolean): void {
    const len = typeof input === 'boolean' ? 0 : input.length;
    const rec = Buffer.allocUnsafe(22 + len);
    rec.writeDoubleLE(at.instructions, 0);
    rec.writeDoubleLE(at.virtualNs, 8);
    rec.writeUInt8(nic, 16);
    rec.writeUInt8(typeof input === 'boolean' ? (input ? 2 : 1) : 0, 17);
    rec.writeUInt32LE(len, 18);
    if (typeof input !== 'boolean') rec.set(input, 22);
    this.out.write(rec);
    this.entries++;
  }

  close(): Promise<void> {
    return this.out.close();
  }
}

export function readNetLog(path: string): NetLogEntry[] {
  let b: Buffer;
  try {
    b = readFileSync(path);
  } catch (e) {
    throw new Error(`cannot read network log ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (b.length < 16 || b.toString('latin1', 0, 16) !== NETLOG_MAGIC) throw new Error(`${path} is not an osvemu network log`);
  const out: NetLogEntry[] = [];
  let off = 16;
  while (off < b.length) {
    if (b.length - off < 22) throw new Error(`${path}: truncated record at byte ${off}`);
    const kind = b.readUInt8(off + 17), len = b.readUInt32LE(off + 18);
    if (kind > 2 || b.length - off - 22 < len) throw new Error(`${path}: bad record at byte ${off}`);
    out.push({
      instructions: b.readDoubleLE(off), virtualNs: b.readDoubleLE(off + 8), nic: b.readUInt8(off + 16),
      input: kind === 0 ? new Uint8Array(b.subarray(off + 22, off + 22 + len)) : kind === 2,
    });
    off += 22 + len;
  }
  return out;
}

/**
 * Plays one NIC's recorded input back at the recorded instruction counts: the machine polls it at
 * the same deterministic points as the recorded run. Frames the guest sends go nowhere (they are
 * what the recorded run sent, as long as the replay has not diverged).
 */
export class ReplayBackend implements NetBackend {
  readonly description: string;
  private receive: FrameSink | null = null;
  private events: BackendEvents = {};
  private next = 0;
  private warned = false;
  sent = 0;

  constructor(private readonly entries: NetLogEntry[], readonly nic: number, path = 'log') {
    this.entries = entries.filter((e) => e.nic === nic);
    this.description = `replay of ${path}`;
  }

  /** Replays wait for their recorded input like a live peer, so idle points match the recording. */
  get live(): boolean {
    return this.next < this.entries.length;
  }

  open(receive: FrameSink, events: BackendEvents = {}): void {
    this.receive = receive;
    this.events = events;
  }

  /** Virtual time of the next recorded input. */
  nextAt(): number {
    return this.next < this.entries.length ? this.entries[this.next]!.virtualNs : Infinity;
  }

  /**
   * Hands over every entry recorded at this point (called by the port's poll). Entries whose point
   * has passed (the run went another way) are handed over at once, with one warning.
   */
  due(at: InputPoint): void {
    while (this.next < this.entries.length) {
      const e = this.entries[this.next]!;
      const late = this.diverged(at);
      if (!late && (e.instructions !== at.instructions || e.virtualNs > at.virtualNs)) break;
      if (late && !this.warned) {
        this.warned = true;
        this.events.log?.(`${this.description}: input recorded at instruction ${e.instructions} was not reached at the same point; the replay has diverged`);
      }
      this.next++;
      if (typeof e.input === 'boolean') this.events.link?.(e.input);
      else this.receive?.(e.input);
    }
  }

  /**
   * The next recorded input can no longer come at its point: the run is past it in instructions or
   * in virtual time, or at its time with another instruction count (both grow every quantum).
   */
  diverged(at: InputPoint): boolean {
    const e = this.entries[this.next];
    if (e === undefined) return false;
    if (at.virtualNs === e.virtualNs && at.instructions === e.instructions) return false;
    return !(at.virtualNs < e.virtualNs && at.instructions <= e.instructions);
  }

  send(): void {
    this.sent++;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
