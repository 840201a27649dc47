// The board: guest RAM, vCPUs interleaved deterministically in fixed instruction quanta, the PC
// platform devices, PVH boot of a kernel ELF, and virtual time derived from retired instructions.
import { totalmem } from 'node:os';
import { GuestProfiler } from './profiler.js';
import { CodeCache } from '../cpu/codecache.js';
import { Jit } from '../cpu/jit/jit.js';
import { WASM_REGIONS, WASM_START, WasmBlocks } from '../cpu/jit/wasm/block.js';
/** Runs of a trace before it becomes a wasm block (MachineOptions.wasm); OSVEMU_WASM_THRESHOLD sets it. */
const WASM_THRESHOLD = Number(process.env.OSVEMU_WASM_THRESHOLD ?? 200);
import { LoopSkipper } from '../cpu/loop-skip.js';
import { doubleFields } from '../cpu/shapes.js';
import { Cpu } from '../cpu/cpu.js';
import { Exec, STOP_BREAK, STOP_FAULT, STOP_NONE, STOP_REQUEST } from '../cpu/exec.js';
import { Unimplemented } from '../cpu/exceptions.js';
import { PhysMem } from '../cpu/physmem.js';
import { IF } from '../cpu/regs.js';
import { RandomStream } from '../cpu/system/hooks.js';
import { cpuidConfigs, readMsr, writeMsr } from '../cpu/system/msr.js';
import { DEFAULT_CPUID, type CpuidConfig } from '../cpu/system/cpuid.js';
import { type CpuVendorName, cpuVendor } from '../cpu/vendor.js';
import { deliverException, deliverInterrupt, deliverNmi, TripleFault } from '../cpu/system/interrupts.js';
import { unimplementedReport } from '../cpu/system/report.js';
import type { Clock, InterruptSink, MsrValue, PhysMemory } from '../devices/bus.js';
import { PcPlatform } from '../devices/platform.js';
import { HeapTimerQueue } from '../devices/timer-queue.js';
import { enterPvhEntry, startAp } from './cpu-reset.js';
import { preparePvhBoot, type PvhBoot } from './pvh.js';
import { MAX_RAM_SIZE, ramExtent } from './memmap.js';
import type { VirtioPciDevice, VirtioPciMode } from '../devices/virtio/pci-transport.js';
import { plugVirtio } from './virtio-board.js';
import { virtioModels, type VirtioMachineOptions } from './virtio-models.js';
import { HostInputs } from './host-input.js';
import { MachineNet, type NetMachineOptions } from './net.js';
import { DEFAULT_PAUSE_NS, DEFAULT_TSC_READ_NS, extraNs, waitCostError } from './wait-cost.js';

export type MachineState = 'running' | 'poweroff' | 'reset' | 'triple-fault' | 'halted' | 'debug-exit' | 'unimplemented' | 'stopped';

export interface MachineOptions extends VirtioMachineOptions, NetMachineOptions {
  /** Kernel ELF bytes (PVH: Xen note type 18). */
  kernel: Uint8Array;
  cmdline?: string;
  cpus?: number;
  /** Guest RAM in MiB (default 256), split around the PCI hole as on QEMU's pc machine (memmap.ts). */
  memMiB?: number;
  /** Advertise kvmclock (default) or leave the guest to find the HPET. */
  kvmclock?: boolean;
  x2apic?: boolean;
  /** Guest serial output. */
  serialOut?: (byte: number) => void;
  /** Port 0xE9 debug console output. */
  debugOut?: (byte: number) => void;
  /** Instructions a vCPU runs before the next one gets its turn (SMP interleaving). */
  quantum?: number;
  /** Seed of the rdrand/rdseed stream. */
  seed?: number;
  /** virtio-pci flavour (run.py --virtio): transitional (default, what QEMU gives OSv), legacy or modern. */
  virtioMode?: VirtioPciMode;
  /** Where virtio protocol errors (needs-reset) are reported, one line each (default: stderr). */
  virtioLog?: (line: string) => void;
  /** Sample every vCPU's stack every this many of its instructions (Machine.profiler). */
  profileInterval?: number;
  /** Guest time per instruction is 2^icountShift ns (QEMU's -icount shift=N); default 0: 1 ns. */
  icountShift?: number;
  /** Guest ns a PAUSE takes (wait-cost.ts; default DEFAULT_PAUSE_NS); 0: no more than any instruction. */
  pauseNs?: number;
  /** Guest ns a TSC read (rdtsc, rdtscp, rdmsr) takes (wait-cost.ts; default DEFAULT_TSC_READ_NS). */
  tscReadNs?: number;
  /** The processor vendor the vCPUs behave like and CPUID advertises (default intel). */
  cpuVendor?: CpuVendorName;
  /** Compile hot code to JavaScript (src/cpu/jit; default true). The same instructions retire either way. */
  jit?: boolean;
  /** Jump over provably idle loop iterations (src/cpu/loop-skip.ts; default true). The same state results either way. */
  loopSkip?: boolean;
  /**
   * Compile hot 64-bit integer code to WebAssembly (src/cpu/jit/wasm) from WASM_THRESHOLD runs, long before the JS
   * compiler's threshold (default true; OSVEMU_WASM=0 or --no-wasm: false). Needs RAM and the vCPUs' state in one
   * wasm32 memory (up to ~4 GiB of guest RAM); else ignored. The same instructions retire either way.
   */
  wasm?: boolean;
}

export interface RunLimits {
  /** Stop after this many instructions (all vCPUs together). */
  maxInsns?: number;
  /** Stop as soon as the console output matches. */
  until?: RegExp;
  /** Host wall-clock limit in ms (checked between slices; guest time is unaffected). */
  timeoutMs?: number;
}

export type StopCause = 'poweroff' | 'reset' | 'triple-fault' | 'halted' | 'debug-exit' | 'unimplemented' |
  'insn-limit' | 'timeout' | 'match' | 'stopped';

export interface RunResult {
  cause: StopCause;
  /** One line for the user. */
  message: string;
  instructions: number;
  virtualNs: number;
}

const MAX_MEM_MIB = MAX_RAM_SIZE / (1024 * 1024);
const DEFAULT_QUANTUM = 2000;
/** Longest quantum of a vCPU running while every other one halts (solo quanta, see woke()). */
const SOLO_QUANTUM = 1 << 20;
/** Timer deadlines a slice may jump to while no vCPU runs before it returns to its caller. */
const MAX_IDLE_JUMPS = 10_000;
/** Longest single wall-clock wait of an idle guest for host input (then timeouts and Ctrl-C are checked). */
const MAX_IDLE_WAIT_MS = 100;
/** Largest --icount-shift: 2^10 ns per instruction, as QEMU allows. */
export const MAX_ICOUNT_SHIFT = 10;

export class MachineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MachineError';
  }
}

/** isa-debug-exit's status is (value << 1) | 1 (QEMU's convention): say which value the guest wrote. */
function debugExitMessage(status: number): string {
  const v = status >>> 1;
  return `guest wrote ${v} (0x${v.toString(16)}) to the isa-debug-exit port 0xf4: exit status ${status} = (${v} << 1) | 1, as QEMU`;
}

/** Guest RAM laid out as QEMU's pc machine (memmap.ts); a host that cannot give the memory is a MachineError. */
function allocateRam(memMiB: number, stateSlices: number): PhysMem {
  const { top, hole } = ramExtent(memMiB * 1024 * 1024);
  try {
    return new PhysMem(top, hole, stateSlices);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    throw new MachineError(`cannot allocate ${memMiB} MiB of guest RAM: ${e.message} (host memory: ${Math.floor(totalmem() / 2 ** 20)} MiB)`);
  }
}

export class Machine implements Clock {
  readonly mem: PhysMem;
  readonly cache: CodeCache;
  /** The block compiler shared by the vCPUs (they share the code cache), or null with `jit: false`. */
  readonly jit: Jit | null;
  /** Fast-forwards idle loops (null: options.loopSkip false). */
  readonly loopSkip: LoopSkipper | null;
  readonly cpus: Cpu[] = [];
  readonly execs: Exec[] = [];
  // Replaced by reset(): read them through the machine, do not keep them.
  platform!: PcPlatform;
  timers!: HeapTimerQueue;
  boot!: PvhBoot;
  /** The rdrand/rdseed stream (its state is saved by snapshots). */
  random!: RandomStream;
  /** The virtio-pci functions, in slot order from 00:03.0. */
  virtioDevices!: VirtioPciDevice[];
  readonly options: MachineOptions;
  state: MachineState = 'running';
  stateMessage = '';
  exitStatus = 0;
  /** Console (serial) output so far, as text. */
  console = '';
  private consoleListeners: ((s: string) => void)[] = [];
  /** Virtual time at the start of the current quantum. */
  private baseNs = 0;
  private lastNs = 0;
  private current = 0;
  private startIcount = 0;
  private readonly quantum: number;
  /** Set when options.profileInterval is: the guest's stacks, sampled between quanta. */
  readonly profiler: GuestProfiler | null;
  /** Virtual nanoseconds per retired instruction (default 1: a 1 GHz, IPC-1 machine). */
  private readonly nsPerInsn: number;
  /** Guest ns the running vCPU spent in this quantum beyond its instructions' time (PAUSE, TSC reads: wait-cost.ts). */
  private stallNs = 0;
  /** The only runnable vCPU of a solo quantum (the others halt with nothing pending), or -1. */
  private soloCpu = -1;
  /** Solo quanta run so far, and how many of them ended by waking another vCPU (statistics, tests). */
  soloQuanta = 0;
  soloWakes = 0;
  /** Guest ns each vCPU may spend in this quantum (runQuantum turns what is left into an instruction budget). */
  private quantumNs = Infinity;
  /** What one PAUSE and one TSC read add to stallNs. */
  private readonly pauseExtra: number;
  private readonly tscExtra: number;
  /** Set while a vCPU runs in slice(): a timer armed now may cut its quantum. */
  private running = false;
  /**
   * The running vCPU was stopped early to recompute its instruction budget: time was charged beyond its
   * instructions (charge) or a timer armed during its run falls due within the quantum (timerArmed).
   */
  private rerun = false;
  private readonly waitingSipi: boolean[] = [];
  private readonly msrOut = new Int32Array(2);
  private readonly msrVal: MsrValue = { lo: 0, hi: 0 };
  private stopRequested = false;
  /** Per vCPU: held by a debugger; the quantum loop skips it. */
  readonly paused: boolean[] = [];
  /** Set when a vCPU in debug mode (Exec.debug) ended the last slice: breakpoint, watchpoint or step. */
  debugStop: { cpu: number; reason: number } | null = null;
  /** Host input sources (net back ends); kept across reset. */
  readonly hostInputs = new HostInputs();
  /** Network cards (ports, back ends, current virtio-net models). */
  readonly net: MachineNet;
  /** Set when a slice stopped because every vCPU idles and host input may come: the deadline it waits towards. */
  private idleDeadline: number | null = null;

  constructor(options: MachineOptions) {
    this.options = options;
    doubleFields(this, 'baseNs', 'lastNs', 'startIcount');
    const ncpu = options.cpus ?? 1;
    const memMiB = options.memMiB ?? 256;
    if (!Number.isInteger(ncpu) || ncpu < 1 || ncpu > 64) throw new MachineError(`bad vCPU count ${ncpu}: use 1 to 64`);
    if (options.cpuVendor !== undefined && options.cpuVendor !== 'intel' && options.cpuVendor !== 'amd') {
      throw new MachineError(`bad CPU vendor "${String(options.cpuVendor)}": use intel or amd`);
    }
    if (!Number.isInteger(memMiB) || memMiB < 16 || memMiB > MAX_MEM_MIB) {
      throw new MachineError(`bad memory size ${memMiB} MiB: use 16 to ${MAX_MEM_MIB} MiB`);
    }
    const shift = options.icountShift ?? 0;
    if (!Number.isInteger(shift) || shift < 0 || shift > MAX_ICOUNT_SHIFT) {
      throw new MachineError(`bad icount shift ${shift}: use 0 to ${MAX_ICOUNT_SHIFT}`);
    }
    this.nsPerInsn = 2 ** shift;
    const pauseNs = options.pauseNs ?? DEFAULT_PAUSE_NS, tscNs = options.tscReadNs ?? DEFAULT_TSC_READ_NS;
    const costBad = waitCostError('pause', pauseNs) ?? waitCostError('rdtsc', tscNs);
    if (costBad) throw new MachineError(costBad);
    this.pauseExtra = extraNs(pauseNs, this.nsPerInsn);
    this.tscExtra = extraNs(tscNs, this.nsPerInsn);
    const profiler = options.profileInterval === undefined ? null : new GuestProfiler(options.profileInterval, ncpu);
    this.profiler = profiler;
    // One vCPU still ends a quantum every 2^20 instructions, so a slice (runAsync, gdb) returns in bounded time.
    // It runs the same instructions whatever the quantum (timer deadlines cut quanta anyway), so a profile may
    // sample it more finely; with several vCPUs the quantum sets the interleaving and is left alone.
    this.quantum = ncpu > 1 ? options.quantum ?? DEFAULT_QUANTUM : Math.min(1 << 20, profiler?.interval ?? Infinity);
    const wasm = options.jit !== false && (options.wasm ?? process.env.OSVEMU_WASM !== '0');
    this.mem = allocateRam(memMiB, wasm ? ncpu : 0);
    this.cache = new CodeCache(this.mem);
    this.jit = options.jit === false ? null : new Jit(undefined, this.mem);
    if (this.jit !== null && this.mem.arena !== null) { this.jit.jsThreshold = this.jit.threshold; this.jit.threshold = WASM_THRESHOLD; }
    this.loopSkip = options.loopSkip === false ? null : new LoopSkipper();
    // Clock loops (loop-skip-clock.ts) need guest time as the board keeps it.
    if (this.loopSkip !== null) {
      this.loopSkip.clock = {
        nsPerInsn: this.nsPerInsn, tscExtraNs: this.tscExtra,
        leftNs: () => this.quantumNs - this.spentNs(this.current),
        resume: () => this.resumeBudget(this.current),
        stall: (ns) => { this.stallNs += ns; },
      };
    }
    this.net = new MachineNet(options, this.hostInputs);
    this.build();
  }

  /** Everything a reset renews: the PVH load, vCPUs, devices, timers. */
  private build(): void {
    const options = this.options;
    const ncpu = options.cpus ?? 1;
    this.timers = new HeapTimerQueue();
    this.timers.onSchedule = (deadline) => this.timerArmed(deadline);
    this.boot = preparePvhBoot({
      elfBytes: options.kernel, ram: this.mem.u8, ramSize: this.mem.ramSize, cmdline: options.cmdline ?? '',
      acpi: { cpus: ncpu },
    });

    const cpuidCfg: CpuidConfig = {
      ...DEFAULT_CPUID, cpus: ncpu, kvmclock: options.kvmclock ?? true, x2apic: options.x2apic ?? false,
    };
    const sinks: InterruptSink[] = [];
    this.random = new RandomStream(options.seed ?? 0x05e7e6);
    const random32 = this.random.next;
    for (let k = 0; k < ncpu; k++) {
      const cpu = new Cpu(this.mem, k);
      cpu.vendor = cpuVendor(options.cpuVendor ?? 'intel');
      const exec = new Exec(cpu, this.cache);
      exec.jit = this.jit;
      cpuidConfigs.set(cpu, cpuidCfg);
      this.cpus.push(cpu);
      this.execs.push(exec);
      sinks.push({ requestInterrupt: () => { exec.eventPending = true; this.woke(k); } });
      this.waitingSipi.push(k !== 0);
      this.paused.push(false);
    }
    const mem = this.mem;
    const physWriter: PhysMemory = {
      read32: (a) => (mem.isRam(a, 4) ? mem.read32(a) >>> 0 : 0xffffffff),
      write8: (a, v) => { if (mem.isRam(a, 1)) mem.write8(a, v); },
      write32: (a, v) => { if (mem.isRam(a, 4)) mem.write32(a, v); },
    };
    this.platform = new PcPlatform({
      clock: this, timers: this.timers, memory: physWriter, sinks, currentCpu: () => this.current,
      serial: { write: (b) => this.serialByte(b) },
      powerOff: () => this.finish('poweroff', 0, 'guest powered off'),
      reset: () => this.finish('reset', 7, 'guest requested a reset'),
      debugOut: options.debugOut ?? (() => {}),
      debugExit: (status) => this.finish('debug-exit', status, debugExitMessage(status)),
    });
    this.virtioDevices = plugVirtio(virtioModels(options, this.net.models(this)), {
      platform: this.platform, mem: this.mem, clock: this, timers: this.timers,
      ...(options.virtioMode ? { mode: options.virtioMode } : {}), ...(options.virtioLog ? { log: options.virtioLog } : {}),
    });
    this.platform.finishPci();
    const platform = this.platform;
    mem.mmio = {
      mmioRead: (a, size) => platform.mmio.read(a, size),
      mmioWrite: (a, size, v) => platform.mmio.write(a, size, v),
    };

    // The arena is new after a reset (PhysMem.clear): so are the wasm instances bound to it.
    if (this.jit !== null && this.mem.arena !== null) {
      const wasm = this.jit.wasm = new WasmBlocks(this.mem.arena, this.cpus[0]!, this.cache);
      wasm.startAt = WASM_START;
      // JavaScript regions (loops compiled as one JS function) cost more than they save once the blocks of a loop are
      // wasm and the hub chains them: each entry into a region and each exit to a wasm block crosses between the two.
      // CPU s alone, regions off / on: tst-clock 1.5 G 9.1 / 10.0, tst-fpu 1 G 5.8 / 7.0, tst-eventfd 600 M 8.9 /
      // 10.0, tst-rcu-hashtable 600 M 5.3 / 5.5; tst-yield 600 M 7.4 / 5.9 (one region there pays). OSVEMU_WASM_REGIONS=1
      // keeps them.
      if (!WASM_REGIONS) this.jit.regionsEnabled = false;
      if (this.jit.regionsEnabled) wasm.regionRuns = this.jit.jsThreshold * this.jit.regionFactor;
    }
    for (let k = 0; k < ncpu; k++) this.wireCpu(k, random32);
    enterPvhEntry(this.cpus[0], this.boot.entryState);
    for (let k = 1; k < ncpu; k++) this.cpus[k].halted = true;
  }

  /**
   * Power-on reset in place (gdb's `monitor system_reset`): RAM cleared and the kernel loaded again by
   * the PVH path, new vCPUs (Cpu/Exec objects) and devices, virtual time back to 0, state 'running'.
   * Kept: the options, the PhysMem object (with a fresh buffer), code cache object, console text and listeners. Debug hooks
   * (Exec.debug, Mmu.watch, paused) are not carried over: whoever set them sets them again.
   */
  reset(): void {
    this.cache.dropAll();
    this.mem.clear();
    this.mem.onCodePageAdded = () => {};
    this.cpus.length = 0;
    this.execs.length = 0;
    this.waitingSipi.length = 0;
    this.paused.length = 0;
    this.baseNs = this.lastNs = this.current = this.startIcount = this.stallNs = 0;
    this.state = 'running';
    this.stateMessage = '';
    this.exitStatus = 0;
    this.stopRequested = false;
    this.debugStop = null;
    this.build();
  }

  /** Closes host resources (network back ends, passt, pcap and log files); call once the run is over. */
  close(): Promise<void> {
    return this.net.close();
  }

  /** Ends the run for good (gdb's `kill`): the machine is left in state 'stopped'. */
  terminate(message: string): void {
    this.finish('stopped', 1, message);
  }

  private wireCpu(k: number, random32: () => number): void {
    const cpu = this.cpus[k], exec = this.execs[k];
    const platform = this.platform;
    const io = platform.io;
    cpu.hooks = {
      ioRead: (port, size) => io.read(port, size),
      ioWrite: (port, size, v) => io.write(port, size, v),
      rdmsr: (msr, out) => {
        const dev = platform.msrOwner(k, msr);
        if (!dev || !dev.readMsr(msr, this.msrVal)) return false;
        out[0] = this.msrVal.lo | 0;
        out[1] = this.msrVal.hi | 0;
        return true;
      },
      wrmsr: (msr, lo, hi) => {
        const dev = platform.msrOwner(k, msr);
        return dev ? dev.writeMsr(msr, lo >>> 0, hi >>> 0) : false;
      },
      tsc: () => {
        const t = this.nowNs();
        this.charge(k, this.tscExtra);
        return t;
      },
      random32,
      pause: () => this.charge(k, this.pauseExtra),
    };
    exec.onException = (c) => this.onException(k, c);
    exec.onEvent = (c) => this.onEvent(k, c);
  }

  // ---- Clock ---------------------------------------------------------------------------------
  /** Virtual ns: the quantum's start plus what the running vCPU retired and waited in it; never goes back. */
  nowNs(): number {
    const t = this.baseNs + this.spentNs(this.current);
    if (t > this.lastNs) this.lastNs = t;
    return this.lastNs;
  }

  /** Guest ns vCPU k has spent in the current quantum (it must be the running one). */
  private spentNs(k: number): number {
    return (this.cpus[k].icount - this.startIcount) * this.nsPerInsn + this.stallNs;
  }

  /**
   * A device armed a timer. One falling due before the running quantum ends shortens the quantum, so the
   * vCPU that armed it (and those after it) stop at the deadline rather than up to a quantum later.
   */
  private timerArmed(deadline: number): void {
    const end = deadline - this.baseNs;
    if (!(end < this.quantumNs)) return;
    this.quantumNs = Math.max(end, 0);
    this.requestRerun();
  }

  /**
   * Solo quanta: while every other vCPU halts with nothing pending, nothing but the running vCPU or a timer can
   * change the machine, so its quantum may run to the next timer deadline (up to SOLO_QUANTUM) instead of
   * 2,000 instructions: fewer quantum switches, and the loop fast-forward gets whole waits to jump over. The
   * quantum ends at the trace where it wakes another vCPU (an IPI, an interrupt routed there); the woken one
   * runs from the next quantum on, so where a long quantum is split (profile interval, slice budget) never
   * changes what the guest sees. Returns the vCPU, or -1 when none or several can run.
   */
  private soloRunnable(): number {
    if (this.cpus.length === 1) return -1;
    let solo = -1;
    for (let k = 0; k < this.cpus.length; k++) {
      // Under a debugger (gdb, --record's replays) quanta stay what its stepping and checkpoints were built on.
      if (this.execs[k].debug !== null) return -1;
      if (this.paused[k] || (this.cpus[k].halted && !this.execs[k].eventPending)) continue;
      if (solo >= 0) return -1;
      solo = k;
    }
    return solo;
  }

  /** Solo quanta may run this long (the profiler samples between quanta, as with one vCPU); a quantum the caller chose stays. */
  private get soloQuantum(): number {
    if (this.options.quantum !== undefined) return this.quantum;
    return Math.min(SOLO_QUANTUM, this.profiler?.interval ?? Infinity);
  }

  /** vCPU k got an interrupt request: one that halts outside a solo quantum's vCPU ends that quantum here. */
  private woke(k: number): void {
    if (this.soloCpu < 0 || k === this.soloCpu || !this.running) return;
    this.soloCpu = -1;
    this.soloWakes++;
    this.quantumNs = Math.min(this.quantumNs, this.spentNs(this.current));
    this.requestRerun();
  }

  /** Stops the running vCPU at the end of its trace so that runQuantum recomputes its budget. */
  private requestRerun(): void {
    const exec = this.execs[this.current];
    if (this.running && exec.stopReason === STOP_NONE) {
      exec.stopReason = STOP_REQUEST;
      this.rerun = true;
    }
  }

  /**
   * An instruction of vCPU k with a latency beyond its instruction time (PAUSE, TSC reads: wait-cost.ts). The
   * quantum is guest time, not instructions: the vCPU stops at the end of the trace and runs on with a budget
   * cut by the charge (runQuantum), so it ends its quantum, and timers fire, where they would without it.
   */
  private charge(k: number, ns: number): void {
    if (k !== this.current || ns === 0) return;
    this.stallNs += ns;
    this.requestRerun();
  }

  /** Instructions retired by all vCPUs. */
  get instructions(): number {
    let n = 0;
    for (const c of this.cpus) n += c.icount;
    return n;
  }

  onConsole(listener: (s: string) => void): void {
    this.consoleListeners.push(listener);
  }

  private serialByte(b: number): void {
    const s = String.fromCharCode(b);
    this.console += s;
    this.options.serialOut?.(b);
    for (const l of this.consoleListeners) l(s);
  }

  /** Sends bytes to the guest's serial port (host stdin). */
  serialInput(bytes: Uint8Array): void {
    for (const b of bytes) this.platform.uart.receive(b);
  }

  private finish(state: MachineState, status: number, message: string): void {
    if (this.state !== 'running') return;
    this.state = state;
    this.exitStatus = status;
    this.stateMessage = message;
    for (const e of this.execs) e.stopReason = STOP_REQUEST;
  }

  /** The vCPU the quantum loop is running (0 between quanta). */
  get currentCpu(): number {
    return this.current;
  }

  /** Asks a running `run` to return at the next trace boundary (debugger, Ctrl-C). */
  requestStop(): void {
    this.stopRequested = true;
    for (const e of this.execs) e.stopReason = STOP_REQUEST;
  }

  // ---- events -----------------------------------------------------------------------------------
  private onException(k: number, cpu: Cpu): void {
    try {
      deliverException(cpu);
    } catch (e) {
      if (e instanceof TripleFault) {
        this.finish('triple-fault', 4, `vCPU ${k}: ${e.message}`);
        this.execs[k].stopReason = STOP_FAULT;
        return;
      }
      throw e;
    }
  }

  private onEvent(k: number, cpu: Cpu): void {
    const exec = this.execs[k];
    const lapic = this.platform.lapics[k];
    exec.eventPending = false;
    if (lapic.takeInit()) {
      this.waitingSipi[k] = true;
      cpu.halted = true;
    }
    const sipi = lapic.takeSipi();
    if (sipi >= 0 && this.waitingSipi[k]) {
      this.waitingSipi[k] = false;
      startAp(cpu, sipi);
    }
    if (this.waitingSipi[k]) return;
    if (!cpu.nmiBlocked && lapic.takeNmi()) {
      deliverNmi(cpu);
      return;
    }
    const v = lapic.highestPendingVector();
    if (v < 0) return;
    if (cpu.flagsRest & IF) {
      lapic.acknowledge();
      deliverInterrupt(cpu, v);
      // A lower-priority vector may still wait for this handler's EOI; EOI requests a new look itself.
      return;
    }
    // Masked by IF: look again after every trace until sti/popf/iret opens the window (sti; hlt included).
    exec.eventPending = true;
  }

  // ---- running -----------------------------------------------------------------------------------
  /**
   * Runs until the guest stops, a limit is hit or the console matches. Synchronous: use runAsync when
   * the host must keep serving sockets or stdin.
   */
  run(limits: RunLimits = {}): RunResult {
    const deadline = limits.timeoutMs !== undefined ? Date.now() + limits.timeoutMs : Infinity;
    const maxInsns = limits.maxInsns ?? Infinity;
    let matchFrom = 0;
    for (;;) {
      const r = this.slice(Math.min(maxInsns - this.instructions, 50_000_000));
      if (r) return r;
      if (limits.until) {
        const tail = this.console.slice(Math.max(0, matchFrom - 200));
        matchFrom = this.console.length;
        if (limits.until.test(tail)) return this.result('match', 'console matched');
      }
      if (this.instructions >= maxInsns) return this.result('insn-limit', `instruction limit of ${maxInsns} reached`);
      if (Date.now() > deadline) return this.result('timeout', `timed out after ${limits.timeoutMs} ms`);
    }
  }

  /** Like run(), yielding to the event loop between slices. */
  async runAsync(limits: RunLimits = {}, sliceInsns = 2_000_000): Promise<RunResult> {
    const deadline = limits.timeoutMs !== undefined ? Date.now() + limits.timeoutMs : Infinity;
    const maxInsns = limits.maxInsns ?? Infinity;
    for (;;) {
      const r = this.slice(Math.min(maxInsns - this.instructions, sliceInsns), true);
      if (r) return r;
      if (this.idlePending) await this.waitIdle();
      if (limits.until && limits.until.test(this.console)) return this.result('match', 'console matched');
      if (this.instructions >= maxInsns) return this.result('insn-limit', `instruction limit of ${maxInsns} reached`);
      if (Date.now() > deadline) return this.result('timeout', `timed out after ${limits.timeoutMs} ms`);
      await new Promise((res) => setImmediate(res));
    }
  }

  private result(cause: StopCause, message: string): RunResult {
    // nowNs() counts the instructions of a quantum cut short by the stop (power-off, debug-exit, breakpoint).
    return { cause, message, instructions: this.instructions, virtualNs: this.nowNs() };
  }

  /**
   * Runs about `budget` instructions in quanta; returns a result when the machine stopped by itself.
   * Per quantum: each runnable vCPU in index order, then due timers; when all are halted, time jumps
   * to the next timer deadline.
   */
  slice(budget: number, waitForHost = false): RunResult | null {
    const end = this.instructions + budget;
    let idleJumps = 0;
    this.idleDeadline = null;
    while (this.state === 'running') {
      if (this.stopRequested) {
        this.stopRequested = false;
        return this.result('stopped', 'stopped on request');
      }
      if (this.instructions >= end) return null;
      // Quantum boundaries are the deterministic points where host input enters the guest.
      if (this.hostInputs.due(this.lastNs)) this.hostInputs.poll({ instructions: this.instructions, virtualNs: this.nowNs() });
      const next = this.timers.nextDeadline();
      // Wasm blocks queued for a batch that is not filling up (block.ts) compile now: a quantum's work is far longer.
      this.jit?.wasm?.flushStale(this.instructions);
      let q = this.quantum;
      const solo = this.soloCpu = this.soloRunnable();
      if (solo >= 0) { q = Math.max(q, this.soloQuantum); this.soloQuanta++; }
      if (next !== Infinity) q = Math.max(1, Math.min(q, Math.ceil((next - this.baseNs) / this.nsPerInsn)));
      this.quantumNs = q * this.nsPerInsn;
      let ranNs = 0;
      let anyRunnable = false;
      for (let k = 0; k < this.cpus.length && this.state === 'running'; k++) {
        const cpu = this.cpus[k], exec = this.execs[k];
        if (this.paused[k] || (cpu.halted && !exec.eventPending) || (solo >= 0 && k !== solo)) continue;
        this.current = k;
        this.startIcount = cpu.icount;
        this.stallNs = 0;
        try {
          this.runQuantum(k);
        } catch (e) {
          // Both can come out of any delivery path (exceptions, external interrupts, NMIs).
          if (e instanceof Unimplemented) {
            this.finish('unimplemented', 8, `vCPU ${k}: ${unimplementedReport(cpu, e)}`);
            break;
          }
          if (e instanceof TripleFault) {
            this.finish('triple-fault', 4, `vCPU ${k}: ${e.message}`);
            break;
          }
          throw e;
        }
        ranNs = Math.max(ranNs, this.spentNs(k));
        if (this.profiler) this.profiler.afterQuantum(k, cpu);
        // A halted vCPU whose pending interrupt is masked made no progress: it does not keep time running.
        if (!cpu.halted || cpu.icount !== this.startIcount) anyRunnable = true;
        if (exec.stopReason >= STOP_BREAK) {
          // All-stop: the other vCPUs wait for the debugger too.
          this.debugStop = { cpu: k, reason: exec.stopReason };
          this.stopRequested = true;
          break;
        }
      }
      if (this.state !== 'running') break;
      this.current = 0;
      this.startIcount = this.cpus[0].icount;
      this.stallNs = 0;
      if (anyRunnable) this.baseNs += Math.max(ranNs, this.nsPerInsn);
      else {
        if (this.cpus.every((c) => c.halted && !(c.flagsRest & IF))) {
          const cpu = this.cpus[0];
          this.finish('halted', 3, `all vCPUs halted with interrupts disabled (guest abort?) at rip=0x${cpu.rip.toString(16)}`);
          break;
        }
        if (waitForHost && this.hostInputs.live) {
          // Input from the host (a network peer) may wake the guest: the caller waits for it (waitIdle).
          this.idleDeadline = next;
          return null;
        }
        if (next === Infinity) {
          // Only a debugger's paused vCPUs could still make progress: hand control back, do not end the run.
          if (this.paused.includes(true)) return this.result('stopped', 'no vCPU the debugger let run can make progress');
          const cpu = this.cpus[0];
          const why = cpu.flagsRest & IF ? 'all vCPUs halted with no timer pending'
            : 'all vCPUs halted with interrupts disabled (guest abort?)';
          this.finish('halted', 3, `${why} at rip=0x${cpu.rip.toString(16)}`);
          break;
        }
        this.baseNs = Math.max(this.baseNs, next);
        // Idle time passes without instructions: hand back to the caller now and then (Ctrl-C, timeouts).
        if (++idleJumps >= MAX_IDLE_JUMPS) {
          if (this.baseNs > this.lastNs) this.lastNs = this.baseNs;
          this.timers.runDue(this.lastNs);
          return null;
        }
      }
      if (this.baseNs > this.lastNs) this.lastNs = this.baseNs;
      this.timers.runDue(this.lastNs);
    }
    return this.result(this.causeOf(), this.stateMessage);
  }

  /**
   * Runs vCPU k for what is left of the quantum in guest time: its instruction budget is recomputed whenever
   * time was charged beyond instructions or a timer armed meanwhile shortened the quantum.
   */
  private runQuantum(k: number): void {
    const exec = this.execs[k];
    this.running = true;
    try {
      let budget = Math.max(1, Math.ceil((this.quantumNs - this.spentNs(k)) / this.nsPerInsn));
      for (;;) {
        this.rerun = false;
        if (this.loopSkip !== null) this.loopSkip.run(exec, budget);
        else exec.run(budget);
        budget = this.resumeBudget(k);
        if (budget < 0) return;
      }
    } finally {
      this.running = false;
    }
  }

  /**
   * vCPU k stopped: when only to recompute its budget (a charge, a timer armed within the quantum), the budget for
   * the rest of its quantum (the request is consumed), else -1. The loop fast-forward asks too (clock loops).
   */
  private resumeBudget(k: number): number {
    const exec = this.execs[k];
    if (!this.rerun || exec.stopReason !== STOP_REQUEST || this.state !== 'running' || this.stopRequested) return -1;
    if (this.spentNs(k) >= this.quantumNs) return -1;
    this.rerun = false;
    return Math.max(1, Math.ceil((this.quantumNs - this.spentNs(k)) / this.nsPerInsn));
  }

  /** The last slice ended with every vCPU idle waiting for host input or a timer: call waitIdle(). */
  get idlePending(): boolean {
    return this.idleDeadline !== null;
  }

  /**
   * An idle guest waits for the host in wall-clock time, virtual time keeping pace, up to its next
   * timer deadline; input already known (replay) is jumped to. Input found is delivered by the next
   * slice's poll, at the virtual time reached here.
   */
  async waitIdle(): Promise<void> {
    const next = this.idleDeadline ?? Infinity;
    this.idleDeadline = null;
    const v0 = this.nowNs();
    const known = this.hostInputs.nextAt();
    let target: number;
    if (known !== Infinity && known <= next) target = known;
    else if (next - v0 < 1e6) target = next;
    else {
      const started = Date.now();
      await this.hostInputs.wait(Math.min(MAX_IDLE_WAIT_MS, (next - v0) / 1e6));
      target = Math.min(next, v0 + (Date.now() - started) * 1e6);
    }
    this.idleUntil(target);
  }

  /** Ends an idle wait at virtual time `target` (a replay repeats a recorded wait this way). */
  idleUntil(target: number): void {
    this.idleDeadline = null;
    if (target > this.baseNs) this.baseNs = target;
    if (this.baseNs > this.lastNs) this.lastNs = this.baseNs;
    this.timers.runDue(this.lastNs);
  }

  private causeOf(): StopCause {
    switch (this.state) {
      case 'poweroff': return 'poweroff';
      case 'reset': return 'reset';
      case 'triple-fault': return 'triple-fault';
      case 'halted': return 'halted';
      case 'debug-exit': return 'debug-exit';
      case 'unimplemented': return 'unimplemented';
      default: return 'stopped';
    }
  }

  /** Reads an MSR as the guest would see it (for debugger views). */
  readMsr(k: number, msr: number): number | null {
    if (!readMsr(this.cpus[k], msr, this.msrOut)) return null;
    return (this.msrOut[1] >>> 0) * 4294967296 + (this.msrOut[0] >>> 0);
  }

  writeMsr(k: number, msr: number, value: number): boolean {
    return writeMsr(this.cpus[k], msr, value | 0, Math.floor(value / 4294967296) | 0);
  }
}
