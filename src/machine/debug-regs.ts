// vCPU registers in gdb's target-description order (src/gdbstub/tdesc.ts), as little-endian bytes.
// Cold code (per gdb packet): BigInt is fine here.
import type { Cpu } from '../cpu/cpu.js';
import { CS, DS, ES, FS, GS, SS } from '../cpu/regs.js';
import { REG, REGISTERS } from '../gdbstub/tdesc.js';

/** gdb's rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp, r8.. -> the x86 register numbers of Cpu.r32. */
const GPR_INDEX = [0, 3, 1, 2, 6, 7, 5, 4, 8, 9, 10, 11, 12, 13, 14, 15];
const SEGMENTS = [CS, SS, DS, ES, FS, GS]; // gdb order: cs ss ds es fs gs

function put(out: Uint8Array, v: bigint): void {
  for (let i = 0; i < out.length; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

function get(data: Uint8Array): bigint {
  let v = 0n;
  for (let i = data.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(data[i]);
  return v;
}

/** A 64-bit quantity kept as a JS number (signed or unsigned) -> its two's-complement bits. */
function numBits(v: number): bigint {
  return BigInt.asUintN(64, BigInt(Math.trunc(v)));
}

/** 64-bit bits -> the signed number form the core uses for addresses. */
function signedNum(v: bigint): number {
  return Number(BigInt.asIntN(64, v));
}

export function readCpuRegister(cpu: Cpu, reg: number, out: Uint8Array): boolean {
  const desc = REGISTERS[reg];
  if (desc === undefined || out.length !== desc.bytes) return false;
  if (reg < 16) {
    const n = GPR_INDEX[reg];
    put(out, (BigInt(cpu.r32[2 * n + 1] >>> 0) << 32n) | BigInt(cpu.r32[2 * n] >>> 0));
    return true;
  }
  const fpu = cpu.fpu;
  if (reg >= REG.st0 && reg <= REG.st7) {
    const p = fpu.phys(reg - REG.st0);
    put(out, (BigInt(fpu.se[p]) << 64n) | (BigInt(fpu.hi[p] >>> 0) << 32n) | BigInt(fpu.lo[p] >>> 0));
    return true;
  }
  if (reg >= REG.xmm0 && reg <= REG.xmm15) {
    const n = reg - REG.xmm0;
    out.set(cpu.xmmU8.subarray(16 * n, 16 * n + 16));
    return true;
  }
  if (reg >= REG.cs && reg <= REG.gs) {
    put(out, BigInt(cpu.segSel[SEGMENTS[reg - REG.cs]]));
    return true;
  }
  const v = readOther(cpu, reg);
  if (v === null) return false;
  put(out, v);
  return true;
}

function readOther(cpu: Cpu, reg: number): bigint | null {
  const fpu = cpu.fpu;
  switch (reg) {
    case REG.rip: return numBits(cpu.rip);
    case REG.eflags: return BigInt(cpu.getFlags() >>> 0);
    case REG.fctrl: return BigInt(fpu.cw);
    case REG.fstat: return BigInt(fpu.fsw);
    case REG.ftag: return BigInt(fpu.tagWord());
    case REG.fiseg: return BigInt(fpu.fcs);
    case REG.fioff: return BigInt(fpu.fipLo >>> 0);
    case REG.foseg: return BigInt(fpu.fds);
    case REG.fooff: return BigInt(fpu.fdpLo >>> 0);
    case REG.fop: return BigInt(fpu.fop);
    case REG.mxcsr: return BigInt(cpu.mxcsr >>> 0);
    case REG.fs_base: return numBits(cpu.segDescBase[FS]);
    case REG.gs_base: return numBits(cpu.segDescBase[GS]);
    case REG.k_gs_base: return numBits(cpu.kernelGsBase);
    case REG.cr0: return BigInt(cpu.cr0 >>> 0);
    case REG.cr2: return numBits(cpu.cr2);
    case REG.cr3: return numBits(cpu.cr3);
    case REG.cr4: return BigInt(cpu.cr4 >>> 0);
    case REG.cr8: return BigInt(cpu.cr8 >>> 0);
    case REG.efer: return BigInt(cpu.efer >>> 0);
  }
  return null;
}

/**
 * Writes a register. Segment registers change the selector only (the descriptor cache is kept, as
 * after a debugger poke on hardware-assisted VMs); control registers and EFER re-derive the mode.
 */
export function writeCpuRegister(cpu: Cpu, reg: number, data: Uint8Array): boolean {
  const desc = REGISTERS[reg];
  if (desc === undefined || data.length !== desc.bytes) return false;
  if (reg >= REG.xmm0 && reg <= REG.xmm15) {
    cpu.xmmU8.set(data, 16 * (reg - REG.xmm0));
    return true;
  }
  const v = get(data);
  const lo = Number(v & 0xffffffffn) | 0;
  if (reg < 16) {
    const n = GPR_INDEX[reg];
    cpu.r32[2 * n] = lo;
    cpu.r32[2 * n + 1] = Number((v >> 32n) & 0xffffffffn) | 0;
    return true;
  }
  const fpu = cpu.fpu;
  if (reg >= REG.st0 && reg <= REG.st7) {
    const p = fpu.phys(reg - REG.st0);
    fpu.lo[p] = Number(v & 0xffffffffn);
    fpu.hi[p] = Number((v >> 32n) & 0xffffffffn);
    fpu.se[p] = Number((v >> 64n) & 0xffffn);
    return true;
  }
  if (reg >= REG.cs && reg <= REG.gs) {
    cpu.segSel[SEGMENTS[reg - REG.cs]] = lo & 0xffff;
    return true;
  }
  switch (reg) {
    case REG.rip: cpu.rip = cpu.mode === 64 ? signedNum(v) : lo >>> 0; return true;
    case REG.eflags: cpu.setFlags(lo); return true;
    case REG.fctrl: fpu.cw = lo & 0xffff; fpu.updateEs(); return true;
    case REG.fstat: fpu.fsw = lo & 0xffff; return true;
    case REG.ftag: fpu.loadTagWord(lo & 0xffff); return true;
    case REG.fiseg: fpu.fcs = lo & 0xffff; return true;
    case REG.fioff: fpu.fipLo = lo >>> 0; return true;
    case REG.foseg: fpu.fds = lo & 0xffff; return true;
    case REG.fooff: fpu.fdpLo = lo >>> 0; return true;
    case REG.fop: fpu.fop = lo & 0x7ff; return true;
    case REG.mxcsr: cpu.mxcsr = lo & 0xffff; return true;
    case REG.fs_base: cpu.setFsBase(signedNum(v)); return true;
    case REG.gs_base: cpu.setGsBase(signedNum(v)); return true;
    case REG.k_gs_base: cpu.kernelGsBase = signedNum(v); return true;
    case REG.cr2: cpu.cr2 = signedNum(v); return true;
    case REG.cr8: cpu.cr8 = lo & 15; return true;
    case REG.cr0: cpu.cr0 = lo; break;
    case REG.cr3: cpu.cr3 = Number(v); break;
    case REG.cr4: cpu.cr4 = lo; break;
    case REG.efer: cpu.efer = lo; break;
    default: return false;
  }
  cpu.updateMode();
  return true;
}
