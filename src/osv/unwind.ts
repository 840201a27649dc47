// The emulator's own stack unwinder for reports and core files: frame-pointer chains (OSv is built
// with -fno-omit-frame-pointer), read through the vCPU's page tables without touching the guest.
// A CFI unwinder (DWARF .eh_frame/.debug_frame) can take over by implementing Unwinder.
import type { Cpu } from '../cpu/cpu.js';
import { RBP, RSP } from '../cpu/regs.js';
import { readVirtual } from '../machine/debug-mem.js';
import { perKernel } from './per-kernel.js';
import { CallFrameInfo, REG_RBP, REG_RIP, REG_RSP, unwind as unwindCfi, type RegisterSet } from './dwarf/cfi.js';

export interface Frame {
  /** Frame 0: the instruction pointer; outer frames: the return address. */
  pc: number;
  /** Stack pointer / frame pointer of the frame, where known. */
  sp: number;
  fp: number;
}

export interface Unwinder {
  unwind(cpu: Cpu, start: { rip: number; rsp: number; rbp: number }, maxFrames?: number): Frame[];
}

/** A 64-bit little-endian value at virtual `lin` as a (signed, like cpu.reg64) number, or null. */
export function readU64(cpu: Cpu, lin: number): number | null {
  const b = readVirtual(cpu, lin, 8);
  if (b === null || b.length < 8) return null;
  const dv = new DataView(b.buffer, b.byteOffset, 8);
  return dv.getInt32(4, true) * 4294967296 + dv.getUint32(0, true);
}

export const framePointerUnwinder: Unwinder = {
  unwind(cpu, start, maxFrames = 64) {
    const frames: Frame[] = [{ pc: start.rip, sp: start.rsp, fp: start.rbp }];
    let fp = start.rbp;
    while (frames.length < maxFrames) {
      if (fp === 0 || fp % 8 !== 0) break;
      const next = readU64(cpu, fp);
      const ret = readU64(cpu, fp + 8);
      if (next === null || ret === null || ret === 0) break;
      frames.push({ pc: ret, sp: fp + 16, fp: next });
      // Frames grow towards higher addresses as we go out; anything else is the end of the chain.
      if (next <= fp) break;
      fp = next;
    }
    return frames;
  },
};

export function cpuStart(cpu: Cpu): { rip: number; rsp: number; rbp: number } {
  return { rip: cpu.segBase[1] + cpu.rip, rsp: cpu.reg64(RSP), rbp: cpu.reg64(RBP) };
}

/** DWARF CFI (.eh_frame / .debug_frame of the kernel ELF) where it covers a pc, frame pointers elsewhere. */
export function cfiUnwinder(cfi: CallFrameInfo): Unwinder {
  return {
    unwind(cpu, start, maxFrames = 64) {
      const regs: RegisterSet = new Array(17).fill(undefined);
      regs[REG_RIP] = start.rip;
      regs[REG_RSP] = start.rsp;
      regs[REG_RBP] = start.rbp;
      const read = (a: number, n: number) => readVirtual(cpu, a, n) ?? undefined;
      return unwindCfi(regs, read, cfi, { maxFrames }).map((f) => ({ pc: f.pc, sp: f.regs[REG_RSP] ?? f.cfa ?? 0, fp: f.regs[REG_RBP] ?? 0 }));
    },
  };
}

const cfiOf = perKernel((k) => {
  const cfi = CallFrameInfo.fromElf(k);
  return cfi.size > 0 ? cfiUnwinder(cfi) : null;
});

/** The best unwinder for a kernel ELF: CFI when it has any, else frame pointers. */
export function kernelUnwinder(kernel: Uint8Array): Unwinder {
  return cfiOf(kernel) ?? framePointerUnwinder;
}
