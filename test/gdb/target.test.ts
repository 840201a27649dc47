// MachineGdbTarget on a tiny PVH kernel (test/gdb/tiny.ts), driven through the GdbTarget interface
// without gdb: breakpoints, resume semantics, stepping and interrupts, watchpoints, memory, reset.
import { describe, expect, it } from 'vitest';
import { SIGNAL, type CpuAction, type CpuStopEvent } from '../../src/gdbstub/target.js';
import { REG } from '../../src/gdbstub/tdesc.js';
import { MachineGdbTarget } from '../../src/machine/gdb-target.js';
import { Machine } from '../../src/machine/machine.js';
import { buildTiny } from './tiny.js';

const tiny = buildTiny();
const sym = tiny?.sym ?? {};

function setup(cpus = 1) {
  const machine = new Machine({ kernel: tiny!.elf, cpus, memMiB: 16 });
  const target = new MachineGdbTarget(machine);
  return { machine, target };
}

function go(target: MachineGdbTarget, kind: 'continue' | 'step' = 'continue', stepIntoInterrupts = false): Promise<CpuStopEvent> {
  return new Promise((resolve) => {
    target.setStopListener((ev) => resolve(ev));
    const actions: CpuAction[] = [];
    for (let cpu = 0; cpu < target.cpuCount; cpu++) actions.push({ cpu, kind: cpu === 0 ? kind : 'continue', signal: 0 });
    target.resume(actions, { stepIntoInterrupts });
  });
}

function reg(target: MachineGdbTarget, r: number): bigint {
  const b = new Uint8Array(8);
  expect(target.readRegister(0, r, b)).toBe(true);
  return new DataView(b.buffer).getBigUint64(0, true);
}

const u32 = (target: MachineGdbTarget, addr: number) => new DataView(target.readMemory(0, BigInt(addr), 4)!.buffer).getUint32(0, true);

describe.skipIf(!tiny)('MachineGdbTarget', () => {
  it('holds the vCPUs until resumed, stops at a breakpoint before the instruction, and does not re-hit it on resume', async () => {
    const { machine, target } = setup();
    await new Promise((r) => setTimeout(r, 20));
    expect(machine.instructions).toBe(0);
    expect(target.insertBreakpoint('sw', BigInt(sym.l1), 1)).toBe(true);
    let ev = await go(target);
    expect(ev).toEqual({ kind: 'stopped', cpu: 0, signal: SIGNAL.TRAP, reason: { type: 'swbreak' } });
    expect(reg(target, REG.rip)).toBe(BigInt(sym.l1));
    expect(u32(target, sym.counter)).toBe(0); // the instruction at the breakpoint has not run
    const n = machine.instructions;
    ev = await go(target);
    expect(reg(target, REG.rip)).toBe(BigInt(sym.l1));
    expect(machine.instructions - n).toBe(4); // one loop iteration, not an immediate re-hit
    expect(u32(target, sym.counter)).toBe(1);
    expect(target.removeBreakpoint('sw', BigInt(sym.l1), 1)).toBe(true);
    expect(target.removeBreakpoint('sw', BigInt(sym.l1), 1)).toBe(false);
    target.insertBreakpoint('hw', BigInt(sym.after_loop), 1);
    ev = await go(target);
    expect(ev).toMatchObject({ kind: 'stopped', reason: { type: 'hwbreak' } });
    expect(u32(target, sym.counter)).toBe(3);
    target.removeBreakpoint('hw', BigInt(sym.after_loop), 1);
    // Nothing left to check: the vCPUs are back on the plain run loop.
    expect(machine.execs[0].debug).toBeNull();
    expect(machine.cpus[0].mmu.watch).toBeNull();
    ev = await go(target);
    expect(ev).toEqual({ kind: 'exited', status: 1 }); // the debug-exit port
  });

  it('steps one instruction; pending interrupts wait unless stepping into them is asked for', async () => {
    const { machine, target } = setup();
    let ev = await go(target, 'step');
    expect(ev).toEqual({ kind: 'stopped', cpu: 0, signal: SIGNAL.TRAP, reason: { type: 'step' } });
    expect(reg(target, REG.rip)).toBe(BigInt(sym.pvh_entry + 5)); // past mov $stack_top, %esp
    expect(machine.instructions).toBe(1);
    // A fake interrupt controller: "delivering" jumps to `handler`.
    const exec = machine.execs[0], cpu = machine.cpus[0];
    let delivered = 0;
    exec.onEvent = () => { exec.eventPending = false; delivered++; cpu.rip = sym.handler; };
    exec.eventPending = true;
    ev = await go(target, 'step');
    expect(reg(target, REG.rip)).toBe(BigInt(sym.again)); // movl $0, counter ran
    expect(delivered).toBe(0);
    expect(exec.eventPending).toBe(true);
    ev = await go(target, 'step', true);
    expect(ev).toMatchObject({ reason: { type: 'step' } });
    expect(delivered).toBe(1);
    expect(reg(target, REG.rip)).toBe(BigInt(sym.handler)); // stopped on the handler's first instruction
    expect(machine.instructions).toBe(2);
  });

  it('reports write, read and access watchpoints after the accessing instruction', async () => {
    const { target } = setup();
    const counter = BigInt(sym.counter);
    expect(target.insertBreakpoint('write', counter, 4)).toBe(true);
    let ev = await go(target);
    // movl $0, counter (the first write) has completed.
    expect(ev).toEqual({ kind: 'stopped', cpu: 0, signal: SIGNAL.TRAP, reason: { type: 'watch', addr: counter } });
    expect(reg(target, REG.rip)).toBe(BigInt(sym.again));
    ev = await go(target);
    expect(reg(target, REG.rip)).toBe(BigInt(sym.l1 + 6)); // after incl counter
    target.removeBreakpoint('write', counter, 4);
    // A 1-byte read watch on the counter's second byte still sees 4-byte reads.
    target.insertBreakpoint('read', counter + 1n, 1);
    ev = await go(target);
    expect(ev).toMatchObject({ reason: { type: 'rwatch', addr: counter + 1n } });
    expect(reg(target, REG.rip)).toBe(BigInt(sym.l1 + 11)); // after the next read: mov counter, %eax
    target.removeBreakpoint('read', counter + 1n, 1);
    // rep stos fills in bulk; the watch still stops it.
    target.insertBreakpoint('access', BigInt(sym.buf + 63), 1);
    ev = await go(target);
    expect(ev).toMatchObject({ reason: { type: 'awatch' } });
    expect(reg(target, REG.rip)).toBe(BigInt(sym.after_stos));
    expect(target.removeBreakpoint('access', BigInt(sym.buf + 63), 1)).toBe(true);
    expect(target.insertBreakpoint('write', BigInt(sym.other), 8)).toBe(true); // never written
    expect(await go(target)).toEqual({ kind: 'exited', status: 1 });
  });

  it('reads and writes memory and registers; a code write drops the decoded instructions', async () => {
    const { machine, target } = setup();
    target.insertBreakpoint('sw', BigInt(sym.after_loop), 1);
    await go(target);
    expect(u32(target, sym.counter)).toBe(3);
    // Not RAM (the LAPIC page): unreadable rather than a device access.
    expect(target.readMemory(0, 0xfee00000n, 4)).toBeNull();
    expect(target.readMemory(0, BigInt(machine.mem.size - 2), 8)?.length).toBe(2);
    // mov $3, %ecx -> mov $5, %ecx, in code that already ran (so it is decoded).
    expect(target.writeMemory(0, BigInt(sym.again + 1), Uint8Array.of(5))).toBe(true);
    const rip = new Uint8Array(8);
    new DataView(rip.buffer).setBigUint64(0, BigInt(sym.again), true);
    expect(target.writeRegister(0, REG.rip, rip)).toBe(true);
    await go(target);
    expect(reg(target, REG.rip)).toBe(BigInt(sym.after_loop));
    expect(u32(target, sym.counter)).toBe(8);
    expect(reg(target, REG.rcx)).toBe(0n);
    expect(reg(target, REG.rax)).toBe(8n);
  });

  it('system_reset reloads the kernel and starts over, keeping the breakpoints', async () => {
    const { machine, target } = setup();
    target.insertBreakpoint('sw', BigInt(sym.after_loop), 1);
    await go(target);
    target.writeMemory(0, BigInt(sym.again + 1), Uint8Array.of(7));
    target.reset();
    expect(machine.instructions).toBe(0);
    expect(reg(target, REG.rip)).toBe(BigInt(sym.pvh_entry));
    expect(target.readMemory(0, BigInt(sym.again + 1), 1)?.[0]).toBe(3); // the kernel image again
    await new Promise((r) => setTimeout(r, 20));
    expect(machine.instructions).toBe(0); // still stopped
    const ev = await go(target);
    expect(ev).toMatchObject({ kind: 'stopped', reason: { type: 'swbreak' } });
    expect(u32(target, sym.counter)).toBe(3);
  });

  it('interrupt() stops a running machine with SIGINT; kill ends it', async () => {
    const { machine, target } = setup(2);
    // vCPU 1 waits for a SIPI forever and vCPU 0 loops at `handler` - 0: make vCPU 0 spin.
    target.writeMemory(0, BigInt(sym.after_stos), Uint8Array.of(0xeb, 0xfe)); // jmp .
    const stopped = go(target);
    await new Promise((r) => setTimeout(r, 50));
    expect(target.isRunning()).toBe(true);
    target.interrupt();
    const ev = await stopped;
    expect(ev).toEqual({ kind: 'stopped', cpu: 0, signal: SIGNAL.INT, reason: { type: 'interrupt' } });
    expect(reg(target, REG.rip)).toBe(BigInt(sym.after_stos));
    expect(target.cpuState(1)).toBe('halted');
    let finished = false;
    const t2 = new MachineGdbTarget(machine, { onFinish: () => { finished = true; } });
    t2.kill();
    expect(machine.state).toBe('stopped');
    expect(finished).toBe(true);
  });
});
