// Per-thread stepping with OSv threads, driven through the stub without gdb (fast enough for
// thousands of steps): interrupts taken while a thread steps are run through, or stepped into with
// step-interrupts on; a thread that waits is stepped once it runs again.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REG } from '../../src/gdbstub/tdesc.js';
import { ElfFile } from '../../src/machine/elf.js';
import { MachineGdbTarget } from '../../src/machine/gdb-target.js';
import { Machine } from '../../src/machine/machine.js';
import { loadDebugInfoFile } from '../../src/osv/dwarf/dwarf-info.js';
import { OsvThreadProvider } from '../../src/osv/threads.js';
import { guestImage } from '../gdb/helpers.js';
import { TestClient } from '../gdbstub/client.js';

const ELF = guestImage('osvlike');

function le64(hex: string): number {
  const b = Buffer.from(hex, 'hex');
  return b.readUInt32LE(4) * 4294967296 + b.readUInt32LE(0);
}

async function atCheckpoint() {
  const kernel = readFileSync(ELF!);
  const elf = ElfFile.parse(kernel);
  const machine = new Machine({ kernel, cpus: 2, cmdline: '--demo' });
  const target = new MachineGdbTarget(machine);
  const provider = new OsvThreadProvider({ target, debug: loadDebugInfoFile(ELF!), kernelElf: elf });
  const c = new TestClient(target, { threads: provider });
  await c.request('qSupported:swbreak+;hwbreak+');
  const sym = (name: string) => elf.symbols('.symtab').find((s) => s.name === name)!;
  const checkpoint = sym('_ZN12_GLOBAL__N_115demo_checkpointEi').value.toString(16);
  await c.request(`Z1,${checkpoint},1`);
  const stop = await c.request('vCont;c', 20_000);
  await c.request(`z1,${checkpoint},1`);
  const tid = /thread:([0-9a-f]+);/.exec(stop)![1];
  return { machine, target, provider, c, tid, sym };
}

describe.skipIf(!ELF)('stepping an OSv thread (osvlike -c 2 --demo)', () => {
  it('runs interrupts through: thousands of stepi stay on the thread and its stack', async () => {
    const { provider, c, tid } = await atCheckpoint();
    await c.request(`Hg${tid}`);
    const stack = provider.snapshot().byId.get(parseInt(tid, 16))!;
    for (let i = 0; i < 3000; i++) {
      expect(await c.request(`vCont;s:${tid};c`, 20_000)).toMatch(new RegExp(`^T05thread:${tid};$`));
      const rsp = le64(await c.request(`p${REG.rsp.toString(16)}`));
      expect(rsp >= stack.stackBegin && rsp < stack.stackBegin + stack.stackSize, `step ${i}`).toBe(true);
    }
    expect(provider.stepStats.interrupts).toBeGreaterThan(0);
    expect(provider.stepStats.switches).toBeGreaterThan(0);
  }, 120_000);

  it('with step-interrupts on, a step can end in the interrupt handler', async () => {
    const { provider, c, tid, sym } = await atCheckpoint();
    c.send('qRcmd,' + Buffer.from('step-interrupts on').toString('hex'));
    await c.next();
    await c.next();
    const stubs = sym('interrupt_stubs').value;
    let inHandler = false;
    for (let i = 0; i < 4000 && !inHandler; i++) {
      await c.request(`vCont;s:${tid};c`, 20_000);
      const rip = le64(await c.request(`p${REG.rip.toString(16)}`));
      inHandler = rip >= stubs && rip < stubs + 256 * 16;
    }
    expect(inHandler).toBe(true);
    expect(provider.stepStats.interrupts).toBe(0);
  }, 120_000);

  it('scheduler-locking (vCont;s:T alone): the other vCPU stays frozen and interrupts are held for single steps', async () => {
    const { target, c, tid } = await atCheckpoint();
    const resumes: { steps: number[]; running: number[]; irqs: boolean }[] = [];
    const resume = target.resume.bind(target);
    target.resume = (actions, options) => {
      resumes.push({
        steps: actions.filter((a) => a.kind === 'step').map((a) => a.cpu),
        running: actions.map((a) => a.cpu), irqs: options.stepIntoInterrupts,
      });
      resume(actions, options);
    };
    const reg = (cpu: number, r: number) => {
      const b = new Uint8Array(8);
      target.readRegister(cpu, r, b);
      return Buffer.from(b).toString('hex');
    };
    const frozen = [reg(1, REG.rip), reg(1, REG.rsp)];
    for (let i = 0; i < 150; i++) expect(await c.request(`vCont;s:${tid}`, 20_000)).toBe(`T05thread:${tid};`);
    expect([reg(1, REG.rip), reg(1, REG.rsp)]).toEqual(frozen);
    const steps = resumes.filter((r) => r.steps.length > 0);
    expect(steps.length).toBeGreaterThanOrEqual(150);
    for (const r of steps) expect(r).toEqual({ steps: [0], running: [0], irqs: false });
    // Without locking, steps let interrupts in (and run them through).
    resumes.length = 0;
    await c.request(`vCont;s:${tid};c`, 20_000);
    expect(resumes.filter((r) => r.steps.length > 0).every((r) => r.irqs)).toBe(true);
  }, 60_000);

  it('range stepping (vCont;r) runs a whole function in one request and stops on the thread outside it', async () => {
    const { c, sym } = await atCheckpoint();
    const memcpy = sym('memcpy');
    await c.request(`Z1,${memcpy.value.toString(16)},1`);
    const stop = await c.request('vCont;c', 20_000);
    await c.request(`z1,${memcpy.value.toString(16)},1`);
    const tid = /thread:([0-9a-f]+);/.exec(stop)![1];
    const r = await c.request(`vCont;r${memcpy.value.toString(16)},${(memcpy.value + memcpy.size).toString(16)}:${tid};c`, 20_000);
    expect(r).toBe(`T05thread:${tid};`);
    await c.request(`Hg${tid}`);
    const rip = le64(await c.request(`p${REG.rip.toString(16)}`));
    expect(rip < memcpy.value || rip >= memcpy.value + memcpy.size).toBe(true);
  }, 60_000);
});
