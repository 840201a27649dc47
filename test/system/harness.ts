// A minimal machine for the system-architecture tests: PhysMem + CodeCache + vCPUs, port 0xE9 output,
// port 0xF4 exit, the PVH boot of src/machine/pvh.ts, exception delivery through the IDT, and (for tiny
// inline guests) a ready-made long-mode state with GDT, IDT, TSS and page tables. A tiny xAPIC stand-in
// (ID, ICR with INIT/STARTUP) lets SMP guests start their APs.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CodeCache } from '../../src/cpu/codecache.js';
import { Cpu } from '../../src/cpu/cpu.js';
import { Exec, STOP_BUDGET, STOP_HALT, STOP_REQUEST } from '../../src/cpu/exec.js';
import { PhysMem } from '../../src/cpu/physmem.js';
import {
  CR0_MP, CR0_PE, CR0_PG, CR0_WP, CR4_OSFXSR, CR4_OSXMMEXCPT, CR4_PAE, CS, DS, ES, EFER_LMA, EFER_LME, EFER_NXE,
  EFER_SCE, IF, SS,
} from '../../src/cpu/regs.js';
import { deliverException, deliverInterrupt } from '../../src/cpu/system/interrupts.js';
import { stopReport, TripleFault } from '../../src/cpu/system/report.js';
import { enterPvhEntry, startAp } from '../../src/machine/cpu-reset.js';
import { preparePvhBoot } from '../../src/machine/pvh.js';
import { missingTool } from './tools.js';

export type StopKind = 'exit' | 'halt' | 'budget' | 'triple-fault' | 'error';

export interface RunResult {
  kind: StopKind;
  /** Value written to port 0xF4 (kind 'exit'). */
  exitCode: number;
  /** One-line report for 'triple-fault' and 'error'. */
  message: string;
  out: string;
}

const LAPIC_BASE = 0xfee00000;

export class Vm {
  readonly mem: PhysMem;
  readonly cache: CodeCache;
  readonly cpus: Cpu[] = [];
  readonly execs: Exec[] = [];
  out = '';
  exitCode = -1;
  /** Pending external interrupt vectors per vCPU (delivered when IF allows). */
  readonly irqs: number[][] = [];
  /** APs waiting for STARTUP (after INIT). */
  private readonly waitSipi: boolean[] = [];
  private readonly sipi: number[] = [];
  private current = 0;
  private icrHi = 0;

  constructor(ramMiB = 16, ncpu = 1) {
    this.mem = new PhysMem(ramMiB * 1024 * 1024);
    this.cache = new CodeCache(this.mem);
    for (let k = 0; k < ncpu; k++) {
      const cpu = new Cpu(this.mem, k);
      const exec = new Exec(cpu, this.cache);
      this.cpus.push(cpu);
      this.execs.push(exec);
      this.irqs.push([]);
      this.waitSipi.push(k > 0);
      this.sipi.push(-1);
      if (k > 0) cpu.halted = true;
      const rest = cpu.hooks;
      cpu.hooks = {
        ...rest,
        ioWrite: (port, _size, v) => {
          if (port === 0xe9) this.out += String.fromCharCode(v & 0xff);
          else if (port === 0xf4) {
            this.exitCode = v & 0xff;
            for (const e of this.execs) e.stopReason = STOP_REQUEST;
          }
        },
        ioRead: (port, size) => (port === 0x3fd ? 0x60 : size === 1 ? 0xff : size === 2 ? 0xffff : -1),
        rdmsr: (msr, o) => {
          if (msr !== 0x1b) return false;
          o[0] = LAPIC_BASE | (1 << 11) | (k === 0 ? 1 << 8 : 0);
          o[1] = 0;
          return true;
        },
        wrmsr: (msr) => msr === 0x1b,
      };
      exec.onException = deliverException;
      exec.onEvent = (c) => this.event(k, c);
    }
    this.mem.mmio = {
      mmioRead: (a) => this.lapicRead(a),
      mmioWrite: (a, _s, v) => this.lapicWrite(a, v),
    };
  }

  get cpu(): Cpu { return this.cpus[0]; }
  get exec(): Exec { return this.execs[0]; }

  /** Queues an external interrupt for vCPU k. */
  interrupt(vector: number, k = 0): void {
    this.irqs[k].push(vector);
    this.execs[k].eventPending = true;
  }

  /** A halted vCPU wakes for STARTUP or for an interrupt it may take. */
  private canWake(k: number): boolean {
    return this.sipi[k] >= 0 || (this.irqs[k].length > 0 && (this.cpus[k].flagsRest & IF) !== 0);
  }

  private event(k: number, cpu: Cpu): void {
    const exec = this.execs[k];
    if (this.sipi[k] >= 0) {
      startAp(cpu, this.sipi[k]);
      this.sipi[k] = -1;
    }
    const q = this.irqs[k];
    if (q.length && (cpu.flagsRest & IF)) deliverInterrupt(cpu, q.shift()!);
    exec.eventPending = q.length > 0;
  }

  private lapicRead(a: number): number {
    if (a < LAPIC_BASE || a >= LAPIC_BASE + 0x1000) return -1;
    const reg = a - LAPIC_BASE;
    if (reg === 0x20) return this.current << 24;
    if (reg === 0x30) return 0x50014;
    if (reg === 0x310) return this.icrHi;
    return 0;
  }

  private lapicWrite(a: number, v: number): void {
    if (a < LAPIC_BASE || a >= LAPIC_BASE + 0x1000) return;
    const reg = a - LAPIC_BASE;
    if (reg === 0x310) { this.icrHi = v; return; }
    if (reg !== 0x300) return;
    const dest = this.icrHi >>> 24, mode = (v >> 8) & 7, shorthand = (v >> 18) & 3;
    if (mode === 0) { // fixed: self, all, all but self, or one vCPU
      for (let k = 0; k < this.cpus.length; k++) {
        const self = k === this.current;
        if (shorthand === 1 ? self : shorthand === 2 ? true : shorthand === 3 ? !self : k === dest) this.interrupt(v & 0xff, k);
      }
      return;
    }
    if (dest >= this.cpus.length || dest === this.current) return;
    if (mode === 5) { this.waitSipi[dest] = true; this.cpus[dest].halted = true; }
    else if (mode === 6 && this.waitSipi[dest]) {
      this.waitSipi[dest] = false;
      this.sipi[dest] = v & 0xff;
      this.execs[dest].eventPending = true;
    }
  }

  /** Runs all vCPUs in turns of `quantum` instructions until exit, shutdown, all halted, or `limit`. */
  run(limit = 50_000_000, quantum = 20_000): RunResult {
    let total = 0;
    // Rounds bound the run even when no instruction retires (a vCPU re-faulting forever).
    for (let round = 1; ; round++) {
      let anyRan = false;
      for (let k = 0; k < this.cpus.length; k++) {
        const cpu = this.cpus[k], exec = this.execs[k];
        if (cpu.halted && !(exec.eventPending && this.canWake(k))) continue;
        anyRan = true;
        this.current = k;
        const before = cpu.icount;
        let why: number;
        try {
          why = exec.run(quantum);
        } catch (e) {
          const kind: StopKind = e instanceof TripleFault ? 'triple-fault' : 'error';
          return this.result(kind, `vCPU ${k}: ${stopReport(cpu, e)}`);
        }
        total += cpu.icount - before;
        if (why === STOP_REQUEST && this.exitCode >= 0) return this.result('exit', '');
        if (why !== STOP_BUDGET && why !== STOP_HALT && why !== STOP_REQUEST) {
          return this.result('error', `vCPU ${k}: stop reason ${why} at rip=0x${cpu.rip.toString(16)}`);
        }
      }
      if (!anyRan) return this.result('halt', `all vCPUs halted at rip=0x${this.cpu.rip.toString(16)}`);
      if (total >= limit || round > 4 * Math.ceil(limit / quantum) + 4) return this.result('budget', `instruction limit ${limit} reached at rip=0x${this.cpu.rip.toString(16)}`);
    }
  }

  private result(kind: StopKind, message: string): RunResult {
    return { kind, exitCode: this.exitCode, message, out: this.out };
  }

  // ---- PVH boot ----------------------------------------------------------------------------------
  /** Loads a PVH ELF and puts vCPU 0 at its 32-bit entry: protected mode, flat segments, EBX = start info. */
  bootPvh(elfBytes: Uint8Array, cmdline = ''): void {
    const boot = preparePvhBoot({ elfBytes, ram: this.mem.u8, ramSize: this.mem.size, cmdline, acpi: { cpus: this.cpus.length } });
    enterPvhEntry(this.cpu, boot.entryState);
  }
}

// ---- inline guests ---------------------------------------------------------------------------------
export function toolchainMissing(): string | null {
  return missingTool(['as', 'ld', 'objcopy', 'nm'], ' (binutils)');
}

export interface Guest {
  bytes: Uint8Array;
  org: number;
  sym: Record<string, number>;
}

const guestCache = new Map<string, Guest>();

/** Assembles GNU as source (AT&T syntax, `.code64` unless it says otherwise) linked at `org`. */
export function assembleGuest(src: string, org = CODE): Guest {
  const key = `${org}\n${src}`;
  const hit = guestCache.get(key);
  if (hit) return hit;
  const dir = mkdtempSync(join(tmpdir(), 'osvemu-sys-'));
  try {
    writeFileSync(join(dir, 'g.s'), `.text\n.code64\n${src}\n`);
    const run = (cmd: string, args: string[]): string => {
      const r = spawnSync(cmd, args, { encoding: 'utf8' });
      if (r.error) throw new Error(`cannot run ${cmd}: ${r.error.message}`);
      if (r.status !== 0) throw new Error(`${cmd} failed:\n${r.stderr}`);
      return r.stdout;
    };
    run('as', ['--64', '-o', join(dir, 'g.o'), join(dir, 'g.s')]);
    run('ld', ['-m', 'elf_x86_64', '-N', `-Ttext=0x${org.toString(16)}`, '-e', '0', '-o', join(dir, 'g.elf'), join(dir, 'g.o')]);
    run('objcopy', ['-O', 'binary', '-j', '.text', join(dir, 'g.elf'), join(dir, 'g.bin')]);
    const sym: Record<string, number> = {};
    for (const line of run('nm', [join(dir, 'g.elf')]).split('\n')) {
      const m = /^([0-9a-f]+) \w (\S+)$/.exec(line.trim());
      if (m) sym[m[2]!] = parseInt(m[1]!, 16);
    }
    const g = { bytes: new Uint8Array(readFileSync(join(dir, 'g.bin'))), org, sym };
    guestCache.set(key, g);
    return g;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A single-vCPU machine in its reset state (real mode, CS = 0), `g` at its origin and RIP at `start`: for
 * guests that set up their own mode (tests may still adjust the state before running).
 */
export function resetStateVm(g: Guest, ramMiB = 4): Vm {
  const vm = new Vm(ramMiB);
  vm.mem.writeBytes(g.org, g.bytes);
  vm.cpu.rip = g.sym.start!;
  return vm;
}

// Layout of the ready-made long-mode machine (all identity-mapped; the first 2 MiB by 4 KiB pages).
export const GDT = 0x1000, IDT = 0x2000, TSS = 0x3000;
export const PML4 = 0x10000, PDPT = 0x11000, PD = 0x12000, PT = 0x13000;
export const STACK_TOP = 0x80000, IST1_TOP = 0x90000, IST2_TOP = 0xa0000, RSP0_TOP = 0x70000;
export const CODE = 0x100000, DATA = 0x200000;
export const SEL_CODE64 = 0x08, SEL_DATA = 0x10, SEL_CODE32 = 0x18, SEL_UDATA = 0x23, SEL_UCODE = 0x2b, SEL_TSS = 0x30;
export const SEL_CODE16 = 0x40, SEL_DATA16 = 0x48;

/** The GDT: null, 64-bit code, data, 32-bit code, user data, user code (syscall layout), TSS, 16-bit code/data. */
export function writeGdt(mem: PhysMem, at = GDT): void {
  const dv = mem.dv;
  const q = (i: number, lo: number, hi: number) => { dv.setUint32(at + 8 * i, lo >>> 0, true); dv.setUint32(at + 8 * i + 4, hi >>> 0, true); };
  q(0, 0, 0);
  q(1, 0x0000ffff, 0x00af9b00);
  q(2, 0x0000ffff, 0x00cf9300);
  q(3, 0x0000ffff, 0x00cf9b00);
  q(4, 0x0000ffff, 0x00cff300);
  q(5, 0x0000ffff, 0x00affb00);
  // TSS: base TSS, limit 0x67, type 9 (available 64-bit TSS), present.
  q(6, ((TSS & 0xffff) << 16) | 0x67, ((TSS >>> 16) & 0xff) | 0x8900 | (TSS & 0xff000000));
  q(7, 0, 0);
  q(8, 0x0000ffff, 0x00009b00);
  q(9, 0x0000ffff, 0x00009300);
}

export interface GateOpts { ist?: number; type?: 0xe | 0xf; dpl?: number; present?: boolean; sel?: number; }

/** Writes a long-mode IDT gate. */
export function setGate(mem: PhysMem, vector: number, target: number, o: GateOpts = {}): void {
  const dv = mem.dv, a = IDT + 16 * vector;
  const attr = (o.present === false ? 0 : 0x80) | ((o.dpl ?? 0) << 5) | (o.type ?? 0xe);
  dv.setUint32(a, ((o.sel ?? SEL_CODE64) << 16) | (target & 0xffff), true);
  dv.setUint32(a + 4, ((target & 0xffff0000) | (attr << 8) | (o.ist ?? 0)) >>> 0, true);
  dv.setUint32(a + 8, Math.floor(target / 2 ** 32) >>> 0, true);
  dv.setUint32(a + 12, 0, true);
}

/** Identity page tables: 0-2 MiB by 4 KiB pages (PT), the rest of the first GiB by 2 MiB pages. */
export function writePageTables(mem: PhysMem, flags = 0x3): void {
  const dv = mem.dv;
  const e = (a: number, v: number, hi = 0) => { dv.setUint32(a, v >>> 0, true); dv.setUint32(a + 4, hi >>> 0, true); };
  e(PML4, PDPT | flags | 0x4);
  e(PDPT, PD | flags | 0x4);
  e(PD, PT | flags | 0x4);
  for (let k = 1; k < 512; k++) e(PD + 8 * k, (k * 0x200000) | 0x80 | flags);
  for (let k = 0; k < 512; k++) e(PT + 8 * k, (k * 0x1000) | flags);
}

/** PTE address of a linear address below 2 MiB / PDE address below 1 GiB. */
export const pteOf = (lin: number): number => PT + 8 * Math.floor(lin / 0x1000);
export const pdeOf = (lin: number): number => PD + 8 * Math.floor(lin / 0x200000);

/**
 * A single-vCPU machine in 64-bit mode at CPL 0 with the layout above, the guest's code at `g.org`,
 * RSP = STACK_TOP, TSS with RSP0 and IST1/IST2, and every IDT vector not present.
 */
export function longModeVm(g: Guest, ramMiB = 8, ncpu = 1): Vm {
  const vm = new Vm(ramMiB, ncpu);
  const mem = vm.mem, dv = mem.dv;
  writeGdt(mem);
  writePageTables(mem);
  dv.setUint32(TSS + 4, RSP0_TOP, true);
  dv.setUint32(TSS + 0x24, IST1_TOP, true);
  dv.setUint32(TSS + 0x2c, IST2_TOP, true);
  mem.writeBytes(g.org, g.bytes);
  vm.cpus.forEach((cpu, k) => longModeState(cpu, g, STACK_TOP - 0x4000 * k));
  return vm;
}

/** 64-bit CPL 0 state for the layout above; vCPUs other than 0 stay halted until the test starts them. */
function longModeState(cpu: Cpu, g: Guest, rsp: number): void {
  cpu.cr0 = (CR0_PE | CR0_MP | 0x30 | CR0_WP | CR0_PG) >>> 0; // 0x30: ET (hard-wired) and NE
  cpu.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
  cpu.efer = EFER_LME | EFER_LMA | EFER_NXE | EFER_SCE;
  cpu.cr3 = PML4;
  cpu.gdtBase = GDT; cpu.gdtLimit = 0x4f;
  cpu.idtBase = IDT; cpu.idtLimit = 0xfff;
  cpu.trSel = SEL_TSS; cpu.trBase = TSS; cpu.trLimit = 0x67;
  cpu.segSel[CS] = SEL_CODE64; cpu.segAttr[CS] = 0xa09b;
  for (const s of [SS, DS, ES]) { cpu.segSel[s] = SEL_DATA; cpu.segAttr[s] = 0xc093; }
  cpu.setReg64(4, rsp);
  cpu.rip = g.sym.start ?? g.org;
  cpu.updateMode();
}

export function read64(vm: Vm, a: number): bigint {
  return vm.mem.dv.getBigUint64(a, true);
}

export function reg(cpu: Cpu, n: number): bigint {
  return BigInt.asUintN(64, (BigInt(cpu.r32[2 * n + 1]) << 32n) | BigInt(cpu.r32[2 * n] >>> 0));
}
