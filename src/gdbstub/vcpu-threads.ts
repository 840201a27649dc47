// The default ThreadProvider: one gdb thread per vCPU, numbered as QEMU does (cpu index + 1).

import type { CpuStopEvent, GdbTarget, ResumeOptions, ThreadAction, ThreadId, ThreadInfo, ThreadProvider } from './target.js';

export class VcpuThreadProvider implements ThreadProvider {
  constructor(private readonly target: GdbTarget) {}

  threads(): readonly ThreadInfo[] {
    const list: ThreadInfo[] = [];
    for (let cpu = 0; cpu < this.target.cpuCount; cpu++) {
      const state = this.target.cpuState?.(cpu);
      list.push({ id: cpu + 1, name: `CPU#${cpu}`, extra: state, core: cpu });
    }
    return list;
  }

  private cpu(thread: ThreadId): number {
    const cpu = thread - 1;
    return cpu >= 0 && cpu < this.target.cpuCount ? cpu : -1;
  }

  readRegister(thread: ThreadId, reg: number, out: Uint8Array): boolean {
    const cpu = this.cpu(thread);
    return cpu >= 0 && this.target.readRegister(cpu, reg, out);
  }

  writeRegister(thread: ThreadId, reg: number, data: Uint8Array): boolean {
    const cpu = this.cpu(thread);
    return cpu >= 0 && this.target.writeRegister(cpu, reg, data);
  }

  memoryCpu(thread: ThreadId): number {
    return Math.max(0, this.cpu(thread));
  }

  resume(actions: readonly ThreadAction[], options: ResumeOptions): void {
    const cpuActions = [];
    for (const a of actions) {
      const cpu = this.cpu(a.thread);
      if (cpu >= 0) cpuActions.push({ cpu, kind: a.kind, signal: a.signal, range: a.range });
    }
    this.target.resume(cpuActions, options);
  }

  stopThread(ev: Extract<CpuStopEvent, { kind: 'stopped' }>): ThreadId {
    return ev.cpu + 1;
  }
}
