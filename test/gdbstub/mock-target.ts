// A fake machine behind the gdb stub: N vCPUs running a fake program.
//
// Every "instruction" at rip (code bytes are all 0x90, so gdb disassembles nops):
//   reads  1 byte at READ_BASE  + (rip & 0xff)
//   writes 1 byte at WRITE_BASE + (rip & 0xff)  (value = low byte of the global instruction count + 1)
//   rax += 1, rip += 1 (wrapping inside the 4 KiB code page)
// so steps, breakpoints and read/write/access watchpoints are all observable. The run loop runs in
// slices and yields with setImmediate, as the real machine must.

import type { BreakpointType, CpuAction, CpuStopEvent, GdbTarget, ResumeOptions, StopListener, StopReason } from '../../src/gdbstub/target.js';
import { SIGNAL } from '../../src/gdbstub/target.js';
import { REG, REGISTERS, REGISTER_COUNT } from '../../src/gdbstub/tdesc.js';

export const CODE_BASE = 0x400000;
export const CODE_SIZE = 0x1000;
export const READ_BASE = 0x600000;
export const WRITE_BASE = 0x601000;
export const DATA_SIZE = 0x1000;
export const FS_BASE = 0x7f0000001000n;
export const CR3 = 0x1000n;
const SLICE = 2000;

interface Cpu {
  regs: Uint8Array[];
  running: boolean;
  stepping: boolean;
  /** RF-like: skip the breakpoint check for the first instruction after resume. */
  skipBreak: boolean;
}

export class MockTarget implements GdbTarget {
  readonly cpus: Cpu[] = [];
  readonly code = new Uint8Array(CODE_SIZE).fill(0x90);
  readonly readData = new Uint8Array(DATA_SIZE);
  readonly writeData = new Uint8Array(DATA_SIZE);
  readonly breakpoints = new Map<string, { type: BreakpointType; addr: bigint; length: number }>();
  /** Registers reported unavailable (per cpu) to exercise the 'xx' path. */
  readonly unavailable = new Set<string>();
  icount = 0n;
  resets = 0;
  kills = 0;
  lastResume: { actions: CpuAction[]; options: ResumeOptions } | null = null;
  private listener: StopListener | null = null;
  private runningFlag = false;
  private interruptRequested = false;
  private scheduled = false;
  private pendingExit: number | null = null;

  constructor(readonly cpuCount = 2) {
    for (let i = 0; i < cpuCount; i++) this.cpus.push({ regs: REGISTERS.map((r) => new Uint8Array(r.bytes)), running: false, stepping: false, skipBreak: false });
    this.reset();
    this.resets = 0;
  }

  // --- helpers used by tests ---
  getReg(cpu: number, reg: number): bigint {
    const b = this.cpus[cpu].regs[reg];
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    return v;
  }

  setReg(cpu: number, reg: number, value: bigint): void {
    const b = this.cpus[cpu].regs[reg];
    for (let i = 0; i < b.length; i++) {
      b[i] = Number(value & 0xffn);
      value >>= 8n;
    }
  }

  /** Makes the machine report an exit at the end of the current slice. */
  exit(status: number): void {
    this.pendingExit = status;
  }

  // --- GdbTarget ---
  reset(): void {
    this.resets++;
    this.icount = 0n;
    this.cpus.forEach((c, i) => {
      c.regs.forEach((r) => r.fill(0));
      this.setReg(i, REG.rip, BigInt(CODE_BASE + i * 0x800));
      this.setReg(i, REG.rsp, 0x700000n - BigInt(i) * 0x1000n);
      this.setReg(i, REG.eflags, 0x2n);
      this.setReg(i, REG.cs, 0x8n);
      this.setReg(i, REG.ss, 0x10n);
      this.setReg(i, REG.fs_base, FS_BASE + BigInt(i) * 0x1000n);
      this.setReg(i, REG.cr0, 0x80050033n);
      this.setReg(i, REG.cr3, CR3);
      this.setReg(i, REG.cr4, 0x6a0n);
      this.setReg(i, REG.efer, 0xd01n);
      this.setReg(i, REG.fctrl, 0x37fn);
      this.setReg(i, REG.mxcsr, 0x1f80n);
    });
  }

  readRegister(cpu: number, reg: number, out: Uint8Array): boolean {
    if (cpu < 0 || cpu >= this.cpuCount || reg < 0 || reg >= REGISTER_COUNT) return false;
    if (this.unavailable.has(`${cpu}:${reg}`)) return false;
    out.set(this.cpus[cpu].regs[reg]);
    return true;
  }

  writeRegister(cpu: number, reg: number, data: Uint8Array): boolean {
    if (cpu < 0 || cpu >= this.cpuCount || reg < 0 || reg >= REGISTER_COUNT) return false;
    this.cpus[cpu].regs[reg].set(data);
    return true;
  }

  private region(addr: bigint): { mem: Uint8Array; off: number } | null {
    for (const [base, mem] of [[CODE_BASE, this.code], [READ_BASE, this.readData], [WRITE_BASE, this.writeData]] as const) {
      if (addr >= BigInt(base) && addr < BigInt(base + mem.length)) return { mem, off: Number(addr - BigInt(base)) };
    }
    return null;
  }

  readMemory(_cpu: number, addr: bigint, length: number): Uint8Array | null {
    const r = this.region(addr);
    if (r === null) return null;
    return r.mem.slice(r.off, Math.min(r.mem.length, r.off + length));
  }

  writeMemory(_cpu: number, addr: bigint, data: Uint8Array): boolean {
    const r = this.region(addr);
    if (r === null || r.off + data.length > r.mem.length) return false;
    r.mem.set(data, r.off);
    return true;
  }

  insertBreakpoint(type: BreakpointType, addr: bigint, length: number): boolean {
    this.breakpoints.set(`${type}:${addr}:${length}`, { type, addr, length });
    return true;
  }

  removeBreakpoint(type: BreakpointType, addr: bigint, length: number): boolean {
    return this.breakpoints.delete(`${type}:${addr}:${length}`);
  }

  resume(actions: readonly CpuAction[], options: ResumeOptions): void {
    this.lastResume = { actions: [...actions], options };
    for (const a of actions) {
      const c = this.cpus[a.cpu];
      c.running = true;
      c.stepping = a.kind === 'step';
      c.skipBreak = true;
    }
    this.runningFlag = actions.length > 0;
    this.interruptRequested = false;
    this.schedule();
  }

  interrupt(): void {
    if (this.runningFlag) this.interruptRequested = true;
  }

  isRunning(): boolean {
    return this.runningFlag;
  }

  setStopListener(listener: StopListener | null): void {
    this.listener = listener;
  }

  kill(): void {
    this.kills++;
    this.stopAll();
  }

  instructionCount(): bigint {
    return this.icount;
  }

  cpuState(cpu: number): string {
    return this.cpus[cpu].running ? 'running' : 'halted';
  }

  monitor(command: string): string | undefined {
    return command === 'mock-hello' ? 'hello from the mock' : undefined;
  }

  // --- the fake CPU ---
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.slice();
    });
  }

  private stopAll(): void {
    for (const c of this.cpus) c.running = c.stepping = false;
    this.runningFlag = false;
  }

  private report(ev: CpuStopEvent): void {
    this.stopAll();
    this.listener?.(ev);
  }

  private slice(): void {
    if (!this.runningFlag) return;
    for (let n = 0; n < SLICE; n++) {
      if (this.interruptRequested) {
        this.interruptRequested = false;
        const cpu = Math.max(0, this.cpus.findIndex((c) => c.running));
        return this.report({ kind: 'stopped', cpu, signal: SIGNAL.INT, reason: { type: 'interrupt' } });
      }
      if (this.pendingExit !== null) {
        const status = this.pendingExit;
        this.pendingExit = null;
        return this.report({ kind: 'exited', status });
      }
      for (let i = 0; i < this.cpuCount; i++) {
        const c = this.cpus[i];
        if (!c.running) continue;
        const ev = this.execute(i);
        if (ev) return this.report(ev);
      }
    }
    this.schedule();
  }

  /** Low 32 bits of a 64-bit register (all the mock's addresses fit). */
  private lo(i: number, reg: number): number {
    const b = this.cpus[i].regs[reg];
    return (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
  }

  private setLo(i: number, reg: number, v: number): void {
    const b = this.cpus[i].regs[reg];
    b[0] = v & 0xff;
    b[1] = (v >>> 8) & 0xff;
    b[2] = (v >>> 16) & 0xff;
    b[3] = (v >>> 24) & 0xff;
  }

  private execute(i: number): CpuStopEvent | null {
    const c = this.cpus[i];
    const rip = this.lo(i, REG.rip);
    const highRip = this.cpus[i].regs[REG.rip].subarray(4).some((x) => x !== 0);
    const hasBreaks = this.breakpoints.size > 0;
    if (!c.skipBreak && hasBreaks) {
      const ripBig = this.getReg(i, REG.rip);
      for (const b of this.breakpoints.values()) {
        if ((b.type === 'sw' || b.type === 'hw') && b.addr === ripBig) {
          return { kind: 'stopped', cpu: i, signal: SIGNAL.TRAP, reason: { type: b.type === 'sw' ? 'swbreak' : 'hwbreak' } };
        }
      }
    }
    c.skipBreak = false;
    const off = rip & 0xff;
    const value = Number((this.icount + 1n) & 0xffn);
    this.readData[off]; // the read
    this.writeData[off] = value;
    this.icount++;
    const rax = this.lo(i, REG.rax);
    this.setLo(i, REG.rax, (rax + 1) >>> 0);
    if (rax === 0xffffffff) this.setReg(i, REG.rax, this.getReg(i, REG.rax) + (1n << 32n));
    // Outside the code page (gdb may set rip anywhere) execution falls back into it.
    const next = highRip || rip < CODE_BASE || rip >= CODE_BASE + CODE_SIZE ? CODE_BASE : CODE_BASE + ((rip - CODE_BASE + 1) & (CODE_SIZE - 1));
    if (highRip) this.setReg(i, REG.rip, BigInt(next));
    else this.setLo(i, REG.rip, next);
    if (!hasBreaks) return c.stepping ? { kind: 'stopped', cpu: i, signal: SIGNAL.TRAP, reason: { type: 'step' } } : null;
    const raddr = BigInt(READ_BASE + off);
    const waddr = BigInt(WRITE_BASE + off);
    let hit: StopReason | null = null;
    for (const b of this.breakpoints.values()) {
      const inRange = (a: bigint) => a >= b.addr && a < b.addr + BigInt(b.length);
      if (b.type === 'write' && inRange(waddr)) hit = { type: 'watch', addr: waddr };
      else if (b.type === 'read' && inRange(raddr)) hit = { type: 'rwatch', addr: raddr };
      else if (b.type === 'access' && (inRange(raddr) || inRange(waddr))) hit = { type: 'awatch', addr: inRange(waddr) ? waddr : raddr };
      if (hit) break;
    }
    if (hit) return { kind: 'stopped', cpu: i, signal: SIGNAL.TRAP, reason: hit };
    if (c.stepping) return { kind: 'stopped', cpu: i, signal: SIGNAL.TRAP, reason: { type: 'step' } };
    return null;
  }
}
