// The run loop: find the trace at CS:RIP (through the fetch shortcut and the physical-address cache),
// run its handlers back to back, count retired instructions per trace, and turn thrown guest exceptions
// into delivery. Interrupts and other events are looked at only between traces.
import { CodeCache, MAX_TRACE, Trace } from './codecache.js';
import type { Cpu } from './cpu.js';
import { Decoder, INSN_TOO_LONG, NEED_MORE_BYTES } from './decoder.js';
import { CPU_FAULT, CPU_TRAP, raise, Unimplemented } from './exceptions.js';
import { Insn } from './insn.js';
import { opUD } from './ops/invalid.js';
import { CS, VEC_GP } from './regs.js';

export const STOP_NONE = 0;
/** The instruction budget ran out. */
export const STOP_BUDGET = 1;
/** The vCPU halted with nothing to wake it. */
export const STOP_HALT = 2;
/** An exception was handed to a stopping hook (test harness, triple fault). */
export const STOP_FAULT = 3;
/** Something outside asked the vCPU to stop (debugger, power-off, device). */
export const STOP_REQUEST = 4;

const decoder = new Decoder();
const crossBuf = new Uint8Array(32);

/** Per-vCPU execution context: the fetch shortcut and what to do on exceptions and events. */
export class Exec {
  readonly cpu: Cpu;
  readonly cache: CodeCache;
  private fetchTraces: (Trace | undefined)[] = [];
  private fetchGen = -1;
  private fetchMode = 0;
  private fetchIsRam = false;
  stopReason = STOP_NONE;
  /**
   * Called with the exception recorded in cpu.excVector/excError/excAddr and RIP at the faulting
   * instruction (or after a trap). Delivers it (system mode) or sets stopReason (tests).
   */
  onException: (cpu: Cpu) => void = () => { this.stopReason = STOP_FAULT; };
  /** Set by devices and IPIs; the loop calls onEvent between traces while it is true. */
  eventPending = false;
  onEvent: (cpu: Cpu) => void = () => { this.eventPending = false; };

  constructor(cpu: Cpu, cache: CodeCache) {
    this.cpu = cpu;
    this.cache = cache;
  }

  /** Runs up to about `budget` instructions (whole traces); returns the stop reason. */
  run(budget: number): number {
    const cpu = this.cpu;
    const end = cpu.icount + budget;
    this.stopReason = STOP_NONE;
    while (this.stopReason === STOP_NONE) {
      // After sti / mov ss one more instruction (trace) runs before interrupts are looked at: sti; hlt.
      if (cpu.intShadow) cpu.intShadow = false;
      else if (this.eventPending) {
        this.onEvent(cpu);
        if (this.stopReason !== STOP_NONE) break;
      }
      if (cpu.halted) { this.stopReason = STOP_HALT; break; }
      if (cpu.icount >= end) { this.stopReason = STOP_BUDGET; break; }
      let t: Trace;
      try {
        t = this.lookup();
      } catch (e) {
        if (e !== CPU_FAULT) throw e;
        this.onException(cpu);
        continue;
      }
      const ins = t.insns, n = t.n;
      let k = 0;
      try {
        for (; k < n; k++) {
          const i = ins[k];
          cpu.rip += i.len;
          i.h(cpu, i);
        }
        cpu.icount += n;
      } catch (e) {
        if (e === CPU_TRAP) {
          cpu.icount += k + 1;
        } else {
          cpu.rip -= ins[k].len;
          cpu.icount += k;
          if (e !== CPU_FAULT) throw e;
        }
        this.onException(cpu);
      }
    }
    return this.stopReason;
  }

  /** Runs exactly one instruction (debugger stepping); returns the stop reason. */
  step(): number {
    const cpu = this.cpu;
    this.stopReason = STOP_NONE;
    let t: Trace;
    try {
      t = this.lookup();
    } catch (e) {
      if (e !== CPU_FAULT) throw e;
      this.onException(cpu);
      return this.stopReason;
    }
    const i = t.insns[0];
    try {
      cpu.rip += i.len;
      i.h(cpu, i);
      cpu.icount++;
    } catch (e) {
      if (e === CPU_TRAP) cpu.icount++;
      else {
        cpu.rip -= i.len;
        if (e !== CPU_FAULT) throw e;
      }
      this.onException(cpu);
    }
    return this.stopReason;
  }

  /** Drops the fetch shortcut (after CR3/CR0/EFER/CS changes the MMU already does this). */
  invalidateFetch(): void {
    this.cpu.mmu.fetchPage = NaN;
  }

  private lookup(): Trace {
    const cpu = this.cpu;
    const mmu = cpu.mmu;
    const lin = cpu.segBase[CS] + cpu.rip;
    const off = lin & 0xfff;
    const page = lin - off;
    if (page !== mmu.fetchPage || this.fetchGen !== this.cache.gen || this.fetchMode !== cpu.mode) {
      const phys = mmu.translateExec(lin) - off;
      mmu.fetchPage = page;
      mmu.fetchPhys = phys;
      this.fetchGen = this.cache.gen;
      this.fetchMode = cpu.mode;
      this.fetchIsRam = phys + 4096 <= cpu.mem.size;
      this.fetchTraces = this.fetchIsRam ? this.cache.page(cpu.mode, phys / 4096) : [];
    }
    const t = this.fetchTraces[off];
    if (t !== undefined) return t;
    return this.build(lin, mmu.fetchPhys + off);
  }

  /** Decodes a trace starting at linear `lin` / physical `phys`. */
  private build(lin: number, phys: number): Trace {
    const cpu = this.cpu;
    if (!this.fetchIsRam) {
      throw new Unimplemented(`instruction fetch from non-RAM physical address 0x${phys.toString(16)}`);
    }
    const u8 = cpu.mem.u8;
    const pageEnd = phys - (phys & 0xfff) + 4096;
    const insns: Insn[] = [];
    let p = phys;
    let l = lin;
    while (insns.length < MAX_TRACE && p < pageEnd) {
      const i = new Insn(opUD);
      let len: number;
      if (pageEnd - p >= 16) {
        decoder.limit = Infinity;
        decoder.more = null;
        try {
          len = decoder.decode(u8, p, cpu.mode, i);
        } catch (e) {
          if (e === INSN_TOO_LONG) { i.h = opGP; i.len = 15; i.ends = true; len = 15; }
          else throw e;
        }
      } else {
        const r = this.decodeAtPageEnd(l, p, pageEnd, i, insns.length === 0);
        if (r < 0) break;
        len = r;
        if (p + len > pageEnd) {
          // Crosses into the next page: run it on its own, uncached (a write there would not drop it).
          if (insns.length > 0) break;
          return new Trace([i]);
        }
      }
      insns.push(i);
      p += len;
      l += len;
      if (i.ends) break;
    }
    const t = new Trace(insns);
    this.fetchTraces[phys & 0xfff] = t;
    return t;
  }

  /** Decodes an instruction that starts within 15 bytes of the page end; -1 ends the trace before it. */
  private decodeAtPageEnd(lin: number, phys: number, pageEnd: number, i: Insn, first: boolean): number {
    const cpu = this.cpu;
    const avail = pageEnd - phys;
    crossBuf.set(cpu.mem.u8.subarray(phys, pageEnd), 0);
    let limit = avail;
    const nextLin = lin + avail;
    try {
      const nextPhys = cpu.mmu.translateExec(nextLin);
      if (nextPhys + 16 <= cpu.mem.size) {
        crossBuf.set(cpu.mem.u8.subarray(nextPhys, nextPhys + 16), avail);
        limit = avail + 16;
      }
    } catch (e) {
      if (e !== CPU_FAULT) throw e;
    }
    decoder.limit = limit;
    decoder.more = null;
    try {
      return decoder.decode(crossBuf, 0, cpu.mode, i);
    } catch (e) {
      if (e === INSN_TOO_LONG) { i.h = opGP; i.len = 15; i.ends = true; return 15; }
      if (e !== NEED_MORE_BYTES) throw e;
      if (!first) return -1;
      cpu.mmu.translateExec(nextLin); // raises the fetch #PF (or #GP) for the missing bytes
      throw new Unimplemented(`instruction at 0x${lin.toString(16)} runs into non-RAM memory`);
    } finally {
      decoder.limit = Infinity;
    }
  }
}

function opGP(cpu: Cpu, _i: Insn): void {
  raise(cpu, VEC_GP, 0);
}
