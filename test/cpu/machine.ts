// A small 64-bit CPL-0 machine for instruction unit tests: 4 MiB of RAM identity-mapped with 4 KiB pages
// (pages can be unmapped or pointed at MMIO), code placed at CODE, run until int3.
import { CodeCache } from '../../src/cpu/codecache.js';
import { Cpu } from '../../src/cpu/cpu.js';
import { Exec } from '../../src/cpu/exec.js';
import { PhysMem, type MmioHandler } from '../../src/cpu/physmem.js';
import { CR0_PE, CR0_PG, CR0_WP, CR4_PAE, CS, DS, EFER_LMA, EFER_LME, EFER_NXE, ES, SS } from '../../src/cpu/regs.js';

export const RAM = 4 << 20;
const PML4 = 0x1000, PDPT = 0x2000, PD = 0x3000, PT0 = 0x4000; // PT0, PT0+0x1000: 0..2 MiB, 2..4 MiB
export const CODE = 0x10000;
export const DATA = 0x100000;
export const MMIO_PHYS = 0xfee00000;

export const RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RBP = 5, RSI = 6, RDI = 7;

export class TestMachine {
  readonly mem = new PhysMem(RAM);
  readonly cache = new CodeCache(this.mem);
  readonly cpu = new Cpu(this.mem);
  readonly exec = new Exec(this.cpu, this.cache);
  readonly mmioLog: { addr: number; size: number; value: number; write: boolean }[] = [];

  constructor() {
    const dv = this.mem.dv;
    const e = (at: number, v: number) => { dv.setInt32(at, v | 3, true); dv.setInt32(at + 4, 0, true); };
    e(PML4, PDPT);
    e(PDPT, PD);
    e(PD, PT0);
    e(PD + 8, PT0 + 0x1000);
    for (let p = 0; p < RAM / 4096; p++) e(PT0 + 8 * p, p * 4096);
    const cpu = this.cpu;
    cpu.cr0 = CR0_PE | CR0_PG | CR0_WP;
    cpu.cr4 = CR4_PAE;
    cpu.efer = EFER_LME | EFER_LMA | EFER_NXE;
    cpu.cr3 = PML4;
    cpu.cpl = 0;
    cpu.segAttr[CS] = 0xa09b;
    for (const s of [SS, DS, ES]) cpu.segAttr[s] = 0xc093;
    cpu.updateMode();
    // A page that becomes code must lose its write shortcuts (Exec may wire this too; chaining is harmless).
    const prev = this.mem.onCodePageAdded;
    this.mem.onCodePageAdded = (ppn) => { prev(ppn); cpu.mmu.flushWrites(); };
    const log = this.mmioLog;
    const mmio: MmioHandler = {
      mmioRead: (addr, size) => { log.push({ addr, size, value: 0, write: false }); return addr & 0xff; },
      mmioWrite: (addr, size, value) => { log.push({ addr, size, value, write: true }); },
    };
    this.mem.mmio = mmio;
  }

  private pte(lin: number): number { return PT0 + 8 * (lin >>> 12); }
  unmap(lin: number): void { this.mem.dv.setInt32(this.pte(lin), 0, true); this.cpu.mmu.flush(); }
  map(lin: number, phys: number): void { this.mem.dv.setInt32(this.pte(lin), (phys | 3) | 0, true); this.cpu.mmu.flush(); }

  reg(n: number): bigint {
    return (BigInt(this.cpu.r32[2 * n + 1] >>> 0) << 32n) | BigInt(this.cpu.r32[2 * n] >>> 0);
  }
  setReg(n: number, v: bigint | number): void {
    const b = BigInt.asUintN(64, BigInt(v));
    this.cpu.r32[2 * n] = Number(b & 0xffffffffn) | 0;
    this.cpu.r32[2 * n + 1] = Number(b >> 32n) | 0;
  }

  /** Places `code` (followed by int3) at CODE and runs it; returns the vector that stopped it (3 = int3). */
  run(code: number[], budget = 1_000_000, at = CODE): number {
    this.mem.writeBytes(at, Uint8Array.from([...code, 0xcc]));
    this.cpu.rip = at;
    return this.resume(budget);
  }

  /** Continues from the current RIP. */
  resume(budget = 1_000_000): number {
    const cpu = this.cpu;
    cpu.excVector = -1;
    this.exec.run(budget);
    return cpu.excVector;
  }
}
