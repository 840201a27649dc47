// The emulator side of the differential harness: one long-mode vCPU at CPL 3 with exactly the native
// harness's memory map (DATA page at 0x100000000, CODE page at 0x200000000, nothing else mapped).
import { CodeCache } from '../../src/cpu/codecache.js';
import { Cpu } from '../../src/cpu/cpu.js';
import { Exec } from '../../src/cpu/exec.js';
import { PhysMem } from '../../src/cpu/physmem.js';
import { Jit } from '../../src/cpu/jit/jit.js';
import { WasmBlocks } from '../../src/cpu/jit/wasm/block.js';
import { CS, SS, DS, ES, RF, CR0_PE, CR0_PG, CR0_WP, CR0_MP, CR4_PAE, CR4_OSFXSR, CR4_OSXMMEXCPT, CR4_OSXSAVE, EFER_LMA, EFER_LME, EFER_NXE, EFER_SCE } from '../../src/cpu/regs.js';
import { isFaultVector } from '../../src/cpu/system/interrupts.js';
import { type CpuVendorName, cpuVendor } from '../../src/cpu/vendor.js';
import { harnessVendor } from './host-vendor.js';
import { BLOB_SIZE, OFF_ERR, OFF_FAULT, OFF_FX, OFF_GPR, OFF_MEM, OFF_RFLAGS, OFF_RIP, OFF_VECTOR } from './blob.js';

const PML4 = 0x1000, PDPT = 0x2000, PD_DATA = 0x3000, PT_DATA = 0x4000, PD_CODE = 0x5000, PT_CODE = 0x6000;
const DATA_PHYS = 0x8000, CODE_PHYS = 0x9000;
const PTE = 7; // present, writable, user
const TWO32 = 4294967296;
// Linux runs user code with CR0 = PE|MP|ET|NE|WP|AM|PG and CR4.OSXSAVE set: the same here, so that xgetbv/xsetbv
// and the x87 error reporting see what the host's user code sees. (CR0.AM only matters with alignment checking,
// which osvemu does not implement: the [AC] forms are excluded in differential.test.ts.)
const CR0_ET = 1 << 4, CR0_NE = 1 << 5, CR0_AM = 1 << 18;

interface Fxstate {
  fxsaveInto?: (buf: Uint8Array, off: number) => void;
  fxrstorFrom?: (buf: Uint8Array, off: number) => void;
}

class UserMachine {
  readonly mem: PhysMem;
  readonly cache: CodeCache;
  readonly cpu: Cpu;
  readonly exec: Exec;
  private readonly codeBuf = new Uint8Array(4096);

  /** @param arena RAM and the vCPU's state in one wasm memory (what wasm blocks need). */
  constructor(vendor: CpuVendorName, arena = false) {
    this.mem = new PhysMem(0x10000, undefined, arena ? 1 : 0);
    this.cache = new CodeCache(this.mem);
    this.cpu = new Cpu(this.mem);
    this.exec = new Exec(this.cpu, this.cache);
    this.cpu.vendor = cpuVendor(vendor);
    const dv = this.mem.dv;
    const entry = (at: number, target: number) => { dv.setInt32(at, target | PTE, true); dv.setInt32(at + 4, 0, true); };
    entry(PML4 + 0 * 8, PDPT);
    entry(PDPT + 4 * 8, PD_DATA); // 0x1_0000_0000
    entry(PDPT + 8 * 8, PD_CODE); // 0x2_0000_0000
    entry(PD_DATA, PT_DATA);
    entry(PD_CODE, PT_CODE);
    entry(PT_DATA, DATA_PHYS);
    entry(PT_CODE, CODE_PHYS);
    const cpu = this.cpu;
    cpu.cr0 = (CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_AM | CR0_PG) >>> 0;
    cpu.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_OSXSAVE;
    cpu.efer = EFER_LME | EFER_LMA | EFER_NXE | EFER_SCE;
    cpu.cr3 = PML4;
    cpu.cpl = 3;
    cpu.segAttr[CS] = 0xa0fb; // present, DPL 3, code, L=1
    for (const s of [SS, DS, ES]) cpu.segAttr[s] = 0xc0f3;
    cpu.updateMode();
  }

  run(input: Uint8Array, code: Uint8Array): Uint8Array {
    if (input.length !== BLOB_SIZE) throw new Error(`input blob must be ${BLOB_SIZE} bytes`);
    const cpu = this.cpu, mem = this.mem;
    const inDv = new DataView(input.buffer, input.byteOffset, BLOB_SIZE);
    for (let r = 0; r < 16; r++) {
      cpu.r32[2 * r] = inDv.getInt32(OFF_GPR + 8 * r, true);
      cpu.r32[2 * r + 1] = inDv.getInt32(OFF_GPR + 8 * r + 4, true);
    }
    cpu.setFlags(inDv.getInt32(OFF_RFLAGS, true));
    cpu.rip = inDv.getInt32(OFF_RIP + 4, true) * TWO32 + inDv.getUint32(OFF_RIP, true);
    loadFx(cpu, input.subarray(OFF_FX, OFF_FX + 512));
    mem.writeBytes(DATA_PHYS, input.subarray(OFF_MEM, OFF_MEM + 4096));
    this.codeBuf.fill(0xcc);
    this.codeBuf.set(code.subarray(0, 15));
    mem.writeBytes(CODE_PHYS, this.codeBuf);
    cpu.mmu.flush();
    cpu.halted = false;
    cpu.excVector = 0xffffffff;
    cpu.excError = -1;
    cpu.excAddr = 0;
    this.exec.run(10_000);

    const out = new Uint8Array(BLOB_SIZE);
    const dv = new DataView(out.buffer);
    for (let r = 0; r < 16; r++) {
      dv.setInt32(OFF_GPR + 8 * r, cpu.r32[2 * r], true);
      dv.setInt32(OFF_GPR + 8 * r + 4, cpu.r32[2 * r + 1], true);
    }
    // The host reports the RFLAGS image of the exception frame: RF is set there for a fault.
    dv.setInt32(OFF_RFLAGS, cpu.getFlags() | (isFaultVector(cpu.excVector) ? RF : 0), true);
    dv.setInt32(OFF_RIP, cpu.rip | 0, true);
    dv.setInt32(OFF_RIP + 4, Math.floor(cpu.rip / TWO32) | 0, true);
    dv.setUint32(OFF_VECTOR, cpu.excVector >>> 0, true);
    dv.setUint32(OFF_ERR, cpu.excError < 0 ? 0 : cpu.excError, true);
    const fault = cpu.excVector === 14 ? cpu.excAddr : 0;
    dv.setInt32(OFF_FAULT, fault | 0, true);
    dv.setInt32(OFF_FAULT + 4, Math.floor(fault / TWO32) | 0, true);
    saveFx(cpu, out.subarray(OFF_FX, OFF_FX + 512));
    out.set(mem.u8.subarray(DATA_PHYS, DATA_PHYS + 4096), OFF_MEM);
    return out;
  }
}

function loadFx(cpu: Cpu, fx: Uint8Array): void {
  const f = cpu.fpu as unknown as Fxstate;
  if (f.fxrstorFrom) f.fxrstorFrom(fx, 0);
  const dv = new DataView(fx.buffer, fx.byteOffset, 512);
  cpu.mxcsr = dv.getUint32(24, true);
  for (let k = 0; k < 64; k++) cpu.xmm[k] = dv.getInt32(160 + 4 * k, true);
}

function saveFx(cpu: Cpu, fx: Uint8Array): void {
  const f = cpu.fpu as unknown as Fxstate;
  if (f.fxsaveInto) f.fxsaveInto(fx, 0);
  const dv = new DataView(fx.buffer, fx.byteOffset, 512);
  dv.setUint32(24, cpu.mxcsr, true);
  dv.setUint32(28, 0xffff, true);
  for (let k = 0; k < 64; k++) dv.setInt32(160 + 4 * k, cpu.xmm[k], true);
}

const machines = new Map<string, UserMachine>();

/** Runs one case on osvemu modelling `vendor` (default: the host's vendor, see host-vendor.ts). */
export function runEmulated(input: Uint8Array, code: Uint8Array, vendor: CpuVendorName = harnessVendor()): Uint8Array {
  let machine = machines.get(vendor);
  if (!machine) { machine = new UserMachine(vendor); machines.set(vendor, machine); }
  return machine.run(input, code);
}

/** runEmulated with the block compiler compiling every trace before its first run (jit.test.ts). */
export function runEmulatedJit(input: Uint8Array, code: Uint8Array, vendor: CpuVendorName = harnessVendor()): Uint8Array {
  let machine = machines.get(`jit:${vendor}`);
  if (!machine) { machine = new UserMachine(vendor); machine.exec.jit = new Jit(0); machines.set(`jit:${vendor}`, machine); }
  return machine.run(input, code);
}

/** runEmulatedJit with wasm blocks (src/cpu/jit/wasm): every trace planWasm takes is a wasm block at its first run. */
export function runEmulatedWasm(input: Uint8Array, code: Uint8Array, vendor: CpuVendorName = harnessVendor()): Uint8Array {
  let machine = machines.get(`wasm:${vendor}`);
  if (!machine) {
    machine = new UserMachine(vendor, true);
    const jit = new Jit(0);
    jit.wasm = new WasmBlocks(machine.mem.arena!, machine.cpu, machine.cache, 1);
    machine.exec.jit = jit;
    machines.set(`wasm:${vendor}`, machine);
  }
  return machine.run(input, code);
}
