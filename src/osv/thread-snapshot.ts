// Who runs where at one stop, for OSv threads as gdb threads (threads.ts). A stepi round trip
// needs only the thread on each vCPU, so a stop reads as little as it can: the thread map's
// membership (ids, TCBs, stacks: fixed for a thread's life) is kept across stops while
// OsvKernel.threadMapVersion() is unchanged, and a thread's status, saved context and name are
// read only when someone asks for them. Everything read is guest state, so the results are those
// of reading every thread at every stop.

import type { ThreadInfo } from '../gdbstub/target.js';
import { LayoutError, type OsvKernel, type OsvThread, type ThreadIdentity } from './kernel.js';

/** gdb thread ids of vCPUs that run no thread of the thread map (early boot, a CPU coming up). */
export const VCPU_TID_BASE = 0x7fff0000;

/** The thread map's members, sorted by id. */
export class Roster {
  readonly byId = new Map<number, ThreadIdentity>();
  readonly byTcb = new Map<number, ThreadIdentity>();

  constructor(readonly version: string | null, readonly list: ThreadIdentity[]) {
    for (const t of list) {
      this.byId.set(t.id, t);
      this.byTcb.set(t.tcb, t);
    }
  }

  /** The current roster: `previous` when the map's version did not change, else read afresh. */
  static read(kernel: OsvKernel, previous: Roster | null): Roster {
    const version = kernel.threadMapVersion();
    if (version !== null && previous !== null && previous.version === version) return previous;
    const list = kernel.threadAddresses().map((a) => kernel.threadIdentity(a)).sort((a, b) => a.id - b.id);
    // OSv inserts a thread into the map before init_stack() gives it a stack: such a roster is not kept.
    const complete = list.every((t) => t.tcb !== 0 && t.stackSize !== 0);
    return new Roster(complete ? version : null, list);
  }
}

export interface SnapshotHost {
  readonly kernel: OsvKernel;
  readonly cpuCount: number;
  register(cpu: number, reg: 'rsp' | 'fs_base'): number;
  cpuState(cpu: number): string | undefined;
  /** qThreadExtraInfo text of an OSv thread (status, cpu, function). */
  extraText(t: OsvThread, cpu: number | undefined): string;
  /** The thread list before the scheduler exists: vCPUs. */
  vcpuThreads(): readonly ThreadInfo[];
}

export class Snapshot {
  /** Per vCPU: the gdb thread id running there. */
  readonly onCpu: number[] = [];
  /** gdb thread id -> vCPU it runs on. */
  readonly cpuOf = new Map<number, number>();
  private readonly states = new Map<number, OsvThread | null>();
  private infoList: ThreadInfo[] | null = null;

  /** `roster` null: no thread map yet (threads are vCPUs). */
  constructor(readonly host: SnapshotHost, readonly roster: Roster | null) {
    if (roster === null) return;
    for (let c = 0; c < host.cpuCount; c++) {
      const rsp = host.register(c, 'rsp');
      // Inside switch_to, after FS_BASE was set and before the stack changed, the old thread still runs.
      let owner: ThreadIdentity | undefined;
      for (const t of roster.list) {
        if (t.stackSize > 0 && rsp >= t.stackBegin && rsp < t.stackBegin + t.stackSize && this.status(t) !== 'terminated') {
          owner = t;
          break;
        }
      }
      owner ??= roster.byTcb.get(host.register(c, 'fs_base'));
      const id = owner !== undefined && !this.cpuOf.has(owner.id) ? owner.id : VCPU_TID_BASE + c;
      this.onCpu.push(id);
      this.cpuOf.set(id, c);
    }
  }

  get osv(): boolean {
    return this.roster !== null;
  }

  private status(t: ThreadIdentity): string | undefined {
    const s = this.states.get(t.id);
    if (s !== undefined) return s?.status;
    try {
      return this.host.kernel.threadStatus(t.addr);
    } catch (e) {
      if (!(e instanceof LayoutError)) throw e;
      return undefined;
    }
  }

  /** Thread `id`'s full record (status, saved context, name), read on first use at this stop. */
  state(id: number): OsvThread | undefined {
    let s = this.states.get(id);
    if (s === undefined) {
      const t = this.roster?.byId.get(id);
      s = null;
      if (t !== undefined) {
        try {
          s = this.host.kernel.thread(t.addr);
        } catch (e) {
          if (!(e instanceof LayoutError)) throw e;
        }
      }
      this.states.set(id, s);
    }
    return s ?? undefined;
  }

  /** Every thread's full record, by id (reads them all). */
  get threads(): OsvThread[] {
    const out: OsvThread[] = [];
    for (const t of this.roster?.list ?? []) {
      const s = this.state(t.id);
      if (s !== undefined) out.push(s);
    }
    return out;
  }

  get byId(): Map<number, OsvThread> {
    return new Map(this.threads.map((t) => [t.id, t]));
  }

  /** How many threads gdb sees (without reading them). */
  get count(): number {
    if (this.roster === null) return this.infos.length;
    return this.roster.list.length + this.onCpu.filter((id) => id >= VCPU_TID_BASE).length;
  }

  /** gdb's thread list; names and extra text are read when gdb asks for them (qXfer:threads, qThreadExtraInfo). */
  get infos(): ThreadInfo[] {
    if (this.infoList !== null) return this.infoList;
    if (this.roster === null) {
      this.infoList = this.host.vcpuThreads().slice();
      return this.infoList;
    }
    const list: ThreadInfo[] = [];
    for (const t of this.roster.list) list.push(new LazyThreadInfo(this, t.id, this.cpuOf.get(t.id)));
    for (let c = 0; c < this.onCpu.length; c++) {
      if (this.onCpu[c] >= VCPU_TID_BASE) list.push({ id: this.onCpu[c], name: `CPU#${c}`, extra: this.host.cpuState(c), core: c });
    }
    this.infoList = list;
    return list;
  }
}

/** An OSv thread in gdb's list: name and extra text read on first use (a vCont only needs the id). */
class LazyThreadInfo implements ThreadInfo {
  private extraText: string | undefined;

  constructor(private readonly snap: Snapshot, readonly id: number, readonly core: number | undefined) {}

  get name(): string | undefined {
    return this.snap.state(this.id)?.name;
  }

  get extra(): string {
    if (this.extraText === undefined) {
      const s = this.snap.state(this.id);
      this.extraText = s === undefined ? 'unreadable' : this.snap.host.extraText(s, this.core);
    }
    return this.extraText;
  }
}
