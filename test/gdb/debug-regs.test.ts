// vCPU registers in the stub's target-description order.
import { describe, expect, it } from 'vitest';
import { Cpu } from '../../src/cpu/cpu.js';
import { PhysMem } from '../../src/cpu/physmem.js';
import { FS, RBX, RSP } from '../../src/cpu/regs.js';
import { REG, REGISTERS } from '../../src/gdbstub/tdesc.js';
import { readCpuRegister, writeCpuRegister } from '../../src/machine/debug-regs.js';

function read(cpu: Cpu, reg: number): bigint {
  const out = new Uint8Array(REGISTERS[reg].bytes);
  expect(readCpuRegister(cpu, reg, out)).toBe(true);
  let v = 0n;
  for (let i = out.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(out[i]);
  return v;
}

function write(cpu: Cpu, reg: number, v: bigint): void {
  const data = new Uint8Array(REGISTERS[reg].bytes);
  for (let i = 0; i < data.length; i++) { data[i] = Number(v & 0xffn); v >>= 8n; }
  expect(writeCpuRegister(cpu, reg, data)).toBe(true);
}

describe('debug registers', () => {
  it('maps gdb numbering onto the vCPU state', () => {
    const cpu = new Cpu(new PhysMem(1 << 20));
    cpu.setReg64(RBX, 0x1234_5678_9abc);
    cpu.r32[2 * RSP] = -16; cpu.r32[2 * RSP + 1] = -1;
    cpu.rip = -0x80000000 + 0x10; // 0xffffffff80000010
    cpu.setFsBase(0x7f00_1234_5000);
    cpu.fpu.push(0x3fff, 0x80000000, 0); // 1.0
    cpu.xmm[4 * 3 + 1] = 0x11223344;
    expect(read(cpu, REG.rbx)).toBe(0x1234_5678_9abcn);
    expect(read(cpu, REG.rsp)).toBe(0xffff_ffff_ffff_fff0n);
    expect(read(cpu, REG.rip)).toBe(0xffff_ffff_8000_0010n);
    expect(read(cpu, REG.fs_base)).toBe(0x7f00_1234_5000n);
    expect(read(cpu, REG.st0)).toBe((0x3fffn << 64n) | 0x8000_0000_0000_0000n);
    expect(read(cpu, REG.fstat) >> 11n & 7n).toBe(7n); // TOP after the push
    expect(read(cpu, REG.ftag)).toBe(0x3fffn); // physical register 7 valid, the rest empty
    expect(read(cpu, REG.fctrl)).toBe(0x37fn);
    expect(read(cpu, REG.xmm3)).toBe(0x11223344n << 32n);
    expect(read(cpu, REG.mxcsr)).toBe(0x1f80n);
    expect(read(cpu, REG.eflags)).toBe(2n);
    expect(read(cpu, REG.cs)).toBe(0n);
    expect(readCpuRegister(cpu, REG.rax, new Uint8Array(4))).toBe(false); // wrong size
  });

  it('writes round-trip, and control registers re-derive the mode', () => {
    const cpu = new Cpu(new PhysMem(1 << 20));
    const values: [number, bigint][] = [
      [REG.r15, 0xdead_beef_0000_0001n], [REG.rip, 0x1000n], [REG.eflags, 0x246n], [REG.ss, 0x18n],
      [REG.st7, 0x4000_c000_0000_0000_0000n], [REG.xmm15, (1n << 127n) | 5n], [REG.mxcsr, 0x1fa0n],
      [REG.gs_base, 0xffff_8000_0000_1000n], [REG.k_gs_base, 0x1234n], [REG.cr2, 0xffff_ffff_ffff_f000n],
      [REG.cr3, 0x5000n], [REG.cr8, 3n], [REG.fop, 0x123n],
    ];
    for (const [r, v] of values) write(cpu, r, v);
    for (const [r, v] of values) expect(read(cpu, r)).toBe(v);
    expect(cpu.mmu.cr3).toBe(0x5000);
    expect(cpu.segDescBase[FS]).toBe(0);
    write(cpu, REG.cr0, 0x11n);
    expect(cpu.mode).toBe(16); // CS is still a 16-bit segment
  });
});
