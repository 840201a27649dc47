// One gdb connection: acks, the stopped/running state machine, packet dispatch and cleanup.
// Transport-agnostic (feed bytes in, get bytes out) so tests and the fuzzer need no sockets.
//
// All-stop model: while the target runs, gdb only sends Ctrl-C (0x03); any other packet that
// arrives is queued (bounded) and handled after the stop reply, so replies never interleave.

import { handleBreakpoint } from './breakpoints.js';
import { E_GENERIC, NO_REPLY, type Reply, type StubContext } from './context.js';
import { stringToHex } from './hex.js';
import { handleMemory } from './memory.js';
import { framePacket, PacketParser, type FrameEvent } from './packet.js';
import { handleQuery, handleSetThread, handleThreadAlive, parseClientFeatures, supportedReply } from './queries.js';
import { handleRegisters } from './registers.js';
import { handleLegacyResume, handleVCont } from './resume.js';
import { exitedReply, stoppedReply, terminatedReply } from './stop-reply.js';
import { SIGNAL, type BreakpointType, type CpuStopEvent, type GdbTarget, type ThreadAction, type ThreadId, type ThreadProvider } from './target.js';
import { VcpuThreadProvider } from './vcpu-threads.js';

export const DEFAULT_PACKET_SIZE = 0x4000;
/** Packets a misbehaving client may send while the target runs before we start dropping them. */
const MAX_QUEUED = 64;

export interface SessionOptions {
  target: GdbTarget;
  /** Defaults to one thread per vCPU. */
  threads?: ThreadProvider;
  send(data: Buffer): void;
  /** Ends the connection (after `k`). */
  close(): void;
  packetSize?: number;
  /** Diagnostics, one line each. */
  log?(message: string): void;
}

type State = 'stopped' | 'running' | 'exited' | 'detached' | 'killed';

export class GdbSession implements StubContext {
  readonly target: GdbTarget;
  readonly threads: ThreadProvider;
  readonly packetSize: number;
  clientFeatures: ReadonlySet<string> = new Set();
  gThread: ThreadId = 1;
  cThread: ThreadId = -1;
  stepIntoInterrupts = false;

  private state: State = 'stopped';
  private stopThreadId: ThreadId = 1;
  private lastStop = '';
  /** True when gdb is waiting for a stop reply (it resumed us); false for our own attach-time stop. */
  private replyOwed = false;
  /** Until the first '?', report the first thread (as QEMU) so gdb numbers threads like vCPUs. */
  private fresh = true;
  private ackMode = true;
  private lastSent: Buffer | null = null;
  private readonly queue: string[] = [];
  private pumping = false;
  private readonly breakpoints = new Map<string, { type: BreakpointType; addr: bigint; length: number }>();
  private readonly parser: PacketParser;
  private readonly opts: SessionOptions;

  constructor(opts: SessionOptions) {
    this.opts = opts;
    this.target = opts.target;
    this.threads = opts.threads ?? new VcpuThreadProvider(opts.target);
    this.packetSize = opts.packetSize ?? DEFAULT_PACKET_SIZE;
    this.parser = new PacketParser(this.packetSize + 64, (ev) => this.onFrame(ev));
  }

  /** Takes over the target: installs the stop listener and stops a running machine. */
  start(): void {
    this.target.setStopListener((ev) => this.onStop(ev));
    const first = this.initialStopThread();
    this.stopThreadId = this.gThread = first.thread;
    this.lastStop = stoppedReply(first.signal, first.thread, undefined, this.clientFeatures);
    if (this.target.isRunning()) {
      this.state = 'running';
      this.replyOwed = false;
      this.target.interrupt();
    }
  }

  /** Bytes from the client. */
  feed(data: Uint8Array): void {
    if (this.state === 'detached' || this.state === 'killed') return;
    this.parser.feed(data);
  }

  /** True once the client detached or killed: the session takes no more input. */
  get finished(): boolean {
    return this.state === 'detached' || this.state === 'killed';
  }

  get running(): boolean {
    return this.state === 'running';
  }

  get stopThread(): ThreadId {
    return this.stopThreadId;
  }

  /** The client went away (or the server shuts down): leave the machine running and clean. */
  dispose(): void {
    if (this.parser.inPacket) this.log('client disconnected in the middle of a packet');
    if (this.state === 'detached' || this.state === 'killed') return;
    const previous = this.state;
    this.state = 'detached';
    this.removeAllBreakpoints();
    this.threads.release?.();
    if (previous === 'exited') {
      this.target.setStopListener(null);
    } else if (previous === 'stopped') {
      this.target.setStopListener(null);
      this.resumeAll();
    } else {
      // Running: a step, a Ctrl-C or our attach-time interrupt may still land. With no debugger
      // left to see it, let the machine go on instead of leaving it stopped.
      this.target.setStopListener((ev) => {
        this.target.setStopListener(null);
        if (ev.kind === 'stopped') this.resumeAll();
      });
    }
  }

  resolveThread(id: ThreadId): ThreadId | null {
    const list = this.threads.threads();
    if (id === 0 || id === -1) {
      if (list.some((t) => t.id === this.stopThreadId)) return this.stopThreadId;
      return list.length > 0 ? list[0].id : null;
    }
    return list.some((t) => t.id === id) ? id : null;
  }

  resume(actions: ThreadAction[]): void {
    if (this.state === 'exited') {
      this.sendPacket(this.lastStop);
      return;
    }
    this.state = 'running';
    this.replyOwed = true;
    this.threads.resume(actions, { stepIntoInterrupts: this.stepIntoInterrupts });
  }

  output(text: string): void {
    // Chunk so each 'O' packet stays inside the packet size.
    const hex = stringToHex(text);
    const chunk = (this.packetSize - 8) & ~1;
    for (let i = 0; i < hex.length; i += chunk) this.sendPacket('O' + hex.slice(i, i + chunk));
  }

  noteBreakpoint(type: BreakpointType, addr: bigint, length: number, inserted: boolean): void {
    const key = `${type}:${addr}:${length}`;
    if (inserted) this.breakpoints.set(key, { type, addr, length });
    else this.breakpoints.delete(key);
    this.threads.noteBreakpoint?.(type, addr, length, inserted);
  }

  private log(message: string): void {
    this.opts.log?.(`gdbstub: ${message}`);
  }

  private sendRaw(data: Buffer): void {
    try {
      this.opts.send(data);
    } catch (e) {
      this.log(`send failed: ${(e as Error).message}`);
    }
  }

  private sendPacket(body: string): void {
    const frame = framePacket(body);
    this.lastSent = frame;
    this.sendRaw(frame);
  }

  private onFrame(ev: FrameEvent): void {
    switch (ev.type) {
      case 'packet':
        if (this.ackMode) this.sendRaw(Buffer.from('+'));
        if (this.queue.length >= MAX_QUEUED) {
          this.log('dropping a packet received while the target runs');
          return;
        }
        this.queue.push(ev.body);
        this.pump();
        return;
      case 'bad':
        if (this.ackMode) this.sendRaw(Buffer.from('-'));
        return;
      case 'nack':
        // gdb did not get our last packet intact: send it again.
        if (this.ackMode && this.lastSent !== null) this.sendRaw(this.lastSent);
        return;
      case 'ack':
        return;
      case 'interrupt':
        if (this.state === 'running') this.target.interrupt();
        return;
    }
  }

  /** Handles queued packets while the target is stopped; re-entrancy safe (a stop may arrive mid-dispatch). */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queue.length > 0 && this.state !== 'running' && this.state !== 'detached' && this.state !== 'killed') {
        const body = this.queue.shift()!;
        let reply: Reply;
        try {
          reply = this.dispatch(body);
        } catch (e) {
          this.log(`error handling '${body.slice(0, 40)}': ${(e as Error).message}`);
          reply = E_GENERIC;
        }
        if (reply !== NO_REPLY) this.sendPacket(reply);
      }
    } finally {
      this.pumping = false;
    }
  }

  private dispatch(body: string): Reply {
    switch (body[0]) {
      case '?':
        return this.questionMark();
      case 'g':
      case 'G':
      case 'p':
      case 'P':
        return handleRegisters(this, body);
      case 'm':
      case 'M':
      case 'X':
        return handleMemory(this, body);
      case 'Z':
      case 'z':
        return handleBreakpoint(this, body);
      case 'c':
      case 's':
      case 'C':
      case 'S':
        return handleLegacyResume(this, body);
      case 'H':
        return handleSetThread(this, body);
      case 'b':
        return this.reverse(body);
      case 'T':
        return handleThreadAlive(this, body);
      case 'D':
        return this.detach();
      case 'k':
        this.kill();
        return NO_REPLY;
      case 'q':
      case 'Q':
        if (body.startsWith('qSupported')) {
          this.clientFeatures = parseClientFeatures(body);
          return supportedReply(this);
        }
        if (body === 'QStartNoAckMode') {
          // The OK is still acknowledged by gdb; acks stop after it.
          this.sendPacket('OK');
          this.ackMode = false;
          return NO_REPLY;
        }
        return handleQuery(this, body);
      case 'v':
        if (body.startsWith('vCont')) return handleVCont(this, body);
        if (body.startsWith('vKill')) {
          this.sendPacket('OK');
          this.kill();
          return NO_REPLY;
        }
        return '';
    }
    return '';
  }

  /** bs / bc: reverse step (the Hc thread, else the last stop's) and reverse continue. */
  private reverse(body: string): Reply {
    if ((body !== 'bs' && body !== 'bc') || !this.target.reverse || !this.target.canReverse?.()) return '';
    if (this.state === 'exited') return this.lastStop;
    const thread = this.resolveThread(this.cThread) ?? this.stopThreadId;
    this.state = 'running';
    this.replyOwed = true;
    this.target.reverse(body === 'bs' ? 'step' : 'continue', this.threads.memoryCpu(thread));
    return NO_REPLY;
  }

  private questionMark(): string {
    if (this.fresh && this.state === 'stopped') {
      this.fresh = false;
      const first = this.initialStopThread();
      this.gThread = this.stopThreadId = first.thread;
      this.cThread = -1;
      return stoppedReply(first.signal, first.thread, undefined, this.clientFeatures);
    }
    return this.lastStop;
  }

  /** Thread and signal of the stop reported on attach: the target's own (an abort) or SIGTRAP on the first thread. */
  private initialStopThread(): { thread: ThreadId; signal: number } {
    const ev = this.target.initialStop?.() ?? null;
    const stop = ev !== null ? this.threads.stopThread(ev) : null;
    const thread = stop === null || typeof stop === 'number' ? stop : stop.thread;
    if (ev !== null && thread !== null) return { thread, signal: ev.signal };
    return { thread: this.threads.threads()[0]?.id ?? 1, signal: SIGNAL.TRAP };
  }

  private onStop(ev: CpuStopEvent): void {
    if (this.state !== 'running') return;
    if (ev.kind === 'stopped') {
      const stop = this.threads.stopThread(ev);
      if (stop === null) return; // the provider resumed the machine on its own
      const thread = typeof stop === 'number' ? stop : stop.thread;
      const signal = typeof stop === 'number' ? ev.signal : stop.signal ?? ev.signal;
      const reason = typeof stop === 'number' ? ev.reason : stop.reason ?? ev.reason;
      this.state = 'stopped';
      this.stopThreadId = this.gThread = thread;
      this.cThread = -1;
      this.lastStop = stoppedReply(signal, thread, reason, this.clientFeatures);
    } else {
      this.state = 'exited';
      this.lastStop = ev.kind === 'exited' ? exitedReply(ev.status) : terminatedReply(ev.signal);
    }
    if (this.replyOwed) {
      this.replyOwed = false;
      this.fresh = false;
      this.sendPacket(this.lastStop);
    }
    this.pump();
  }

  private detach(): Reply {
    this.sendPacket('OK');
    this.dispose();
    return NO_REPLY;
  }

  private kill(): void {
    this.state = 'killed';
    this.removeAllBreakpoints();
    this.threads.release?.();
    this.target.setStopListener(null);
    this.target.kill();
    this.opts.close();
  }

  private removeAllBreakpoints(): void {
    for (const b of this.breakpoints.values()) {
      try {
        this.target.removeBreakpoint(b.type, b.addr, b.length);
        this.threads.noteBreakpoint?.(b.type, b.addr, b.length, false);
      } catch (e) {
        this.log(`removing a breakpoint failed: ${(e as Error).message}`);
      }
    }
    this.breakpoints.clear();
  }

  private resumeAll(): void {
    const actions = this.threads.threads().map((t) => ({ thread: t.id, kind: 'continue' as const, signal: 0 }));
    try {
      if (actions.length > 0) this.threads.resume(actions, { stepIntoInterrupts: false });
    } catch (e) {
      this.log(`resuming the machine failed: ${(e as Error).message}`);
    }
  }
}
