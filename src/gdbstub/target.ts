// The contract between the gdb stub and the machine behind it.
//
// The machine implements GdbTarget, which speaks in vCPUs (index 0..cpuCount-1). The stub speaks
// to gdb in threads, through a ThreadProvider; the default one (vcpu-threads.ts) makes thread
// id = vCPU index + 1, as QEMU does, so OSv's scripts/loader.py keeps working. A guest-aware
// provider (OSv threads) can replace it without any change to the stub or the machine.
//
// Everything here is cold code (called per gdb packet, never per guest instruction), so 64-bit
// addresses are bigint. Registers travel as little-endian bytes in the target-description order
// of tdesc.ts (REGISTERS / REG), which also covers 80-bit x87 and 128-bit SSE registers.
//
// Threading model: the machine runs in the same Node thread as the stub. resume() must return at
// once; the machine then runs in slices, yielding to the event loop (setImmediate) between them so
// socket data, such as Ctrl-C, reaches interrupt(). When it stops it calls the stop listener once.

/** A gdb thread id: a positive integer (the protocol reserves 0 = any, -1 = all). */
export type ThreadId = number;

export type BreakpointType = 'sw' | 'hw' | 'write' | 'read' | 'access';

/** Signal numbers in gdb's numbering that the stub and targets use. */
export const SIGNAL = { NONE: 0, INT: 2, ILL: 4, TRAP: 5, ABRT: 6, SEGV: 11, KILL: 9 } as const;

/** Why a vCPU stopped, beyond the signal. */
export type StopReason =
  | { type: 'swbreak' } // a Z0 breakpoint: rip is the breakpoint address, the instruction did not run
  | { type: 'hwbreak' } // a Z1 breakpoint, same semantics
  | { type: 'watch' | 'rwatch' | 'awatch'; addr: bigint } // after the accessing instruction completed
  /**
   * A single-step (or range step) finished. `interrupted`: an interrupt or fault was delivered
   * instead of the instruction completing (rip is the handler's first instruction).
   */
  | { type: 'step'; interrupted?: boolean }
  | { type: 'interrupt' } // interrupt() was honoured
  | { type: 'library' } // the guest's list of loaded objects changed (reported as `library:`)
  | { type: 'replaylog'; at: 'begin' | 'end' }; // reverse/replay execution reached an end of the recorded history

export type CpuStopEvent =
  | { kind: 'stopped'; cpu: number; signal: number; reason?: StopReason }
  | { kind: 'exited'; status: number } // the machine powered off / the guest exited
  | { kind: 'terminated'; signal: number }; // the machine died (e.g. triple fault), by signal

/** [start, end) of a range step (vCont;r): stepping goes on while rip stays inside. */
export interface StepRange {
  start: bigint;
  end: bigint;
}

export interface CpuAction {
  cpu: number;
  kind: 'continue' | 'step';
  /** Signal gdb asked to deliver (0 = none); bare metal has nowhere to deliver it, targets may ignore it. */
  signal: number;
  /** With kind 'step': keep stepping while rip is in this range. */
  range?: StepRange;
}

export interface ResumeOptions {
  /**
   * When false (the default, as QEMU), a single-step does not enter interrupt handlers: pending
   * interrupts stay pending (and timers do not advance) for the stepped instruction.
   */
  stepIntoInterrupts: boolean;
  /**
   * When true, vCPUs resumed with 'continue' keep running while another vCPU single-steps (each
   * step lets them run a round first); when false (the default, as QEMU) a step holds them.
   */
  othersRunWhileStepping?: boolean;
}

export type StopListener = (ev: CpuStopEvent) => void;

/**
 * What the machine implements. All vCPUs stop together (all-stop): a stop of one vCPU stops them
 * all before the listener is called.
 */
export interface GdbTarget {
  readonly cpuCount: number;

  /**
   * Reads register `reg` (an index into REGISTERS) of a stopped vCPU as little-endian bytes into
   * `out` (exactly REGISTERS[reg].bytes long). Returns false if the value is unavailable.
   */
  readRegister(cpu: number, reg: number, out: Uint8Array): boolean;
  /** Writes a register; `data` is REGISTERS[reg].bytes long. Returns false if not writable. */
  writeRegister(cpu: number, reg: number, data: Uint8Array): boolean;

  /**
   * Reads guest memory at a virtual address as translated by `cpu` (its paging mode and CR3;
   * physical when paging is off). May return fewer bytes than asked when the range runs into an
   * unmapped page; returns null when the first byte is unmapped. Never faults the guest.
   */
  readMemory(cpu: number, addr: bigint, length: number): Uint8Array | null;
  /** Writes guest memory (ignoring write protection, as a debugger does). False if any byte is unmapped. */
  writeMemory(cpu: number, addr: bigint, data: Uint8Array): boolean;

  /**
   * Breakpoints and watchpoints are kept by the machine and checked as it executes; nothing is
   * written to guest memory. sw/hw breakpoints match a virtual rip in any mode, on any page, on
   * every vCPU. Watchpoints cover [addr, addr+length) for any length. A breakpoint at the rip a vCPU
   * resumes from should not fire before that vCPU executed one instruction (x86 RF semantics).
   * Returns false when the type is not supported.
   */
  insertBreakpoint(type: BreakpointType, addr: bigint, length: number): boolean;
  removeBreakpoint(type: BreakpointType, addr: bigint, length: number): boolean;

  /** Starts the listed vCPUs; unlisted vCPUs stay stopped. Returns at once (see threading model). */
  resume(actions: readonly CpuAction[], options: ResumeOptions): void;
  /** Asks a running machine to stop; it then reports { reason: 'interrupt', signal: SIGNAL.INT }. */
  interrupt(): void;
  /** True between resume() and the stop notification. */
  isRunning(): boolean;
  /** The stub installs one listener per connection and removes it (null) when the client leaves. */
  setStopListener(listener: StopListener | null): void;

  /** Machine reset (`monitor system_reset`); the machine stays stopped if it was. */
  reset(): void;
  /** gdb's `kill`: what it means (exit the process, power off) is the machine's choice. */
  kill(): void;

  /** Optional extras for `monitor` and `info threads`. */
  instructionCount?(): bigint;
  cpuState?(cpu: number): string; // e.g. 'running', 'halted'
  /**
   * The stop to report before gdb has resumed anything (the `?` after attaching); default SIGTRAP on
   * the first thread. A machine loaded stopped in an abort reports SIGABRT on the aborting vCPU.
   */
  initialStop?(): Extract<CpuStopEvent, { kind: 'stopped' }> | null;
  /** True when reverse execution is available (the machine records); qSupported then offers it. */
  canReverse?(): boolean;
  /**
   * Reverse execution (gdb's bs / bc): step `cpu` back one instruction, or run back to the last
   * breakpoint or watchpoint hit. Returns at once; the stop comes through the listener as for resume().
   */
  reverse?(kind: 'step' | 'continue', cpu: number): void;
  /** Machine-specific monitor commands; return undefined when the command is unknown. */
  monitor?(command: string): string | undefined;
  /** Guest-physical memory (page-table walks); null when outside RAM. */
  readPhysical?(addr: bigint, length: number): Uint8Array | null;
}

export interface ThreadInfo {
  id: ThreadId;
  /** Short name (qXfer:threads), shown by `info threads`. */
  name?: string;
  /** Free text for qThreadExtraInfo. */
  extra?: string;
  /** vCPU the thread is running on, if any. */
  core?: number;
}

export interface ThreadAction {
  thread: ThreadId;
  kind: 'continue' | 'step';
  signal: number;
  /** With kind 'step': a range step (vCont;r). */
  range?: StepRange;
}

/** How a provider reports a stop: the thread, and optionally another signal or reason than the vCPU's. */
export interface ThreadStop {
  thread: ThreadId;
  signal?: number;
  reason?: StopReason;
}

/**
 * The stub's view of threads. The default provider maps vCPUs; an OS-aware provider (OSv) can
 * present the guest's threads, read a sleeping thread's registers from its saved context (reporting
 * the unsaved ones unavailable), and implement stepping a thread that is not on a vCPU by running
 * until it is. Thread lists are asked for after each stop, so a provider may cache until the next
 * resume.
 */
export interface ThreadProvider {
  /** All live threads. Order is gdb's `info threads` order. */
  threads(): readonly ThreadInfo[];
  readRegister(thread: ThreadId, reg: number, out: Uint8Array): boolean;
  writeRegister(thread: ThreadId, reg: number, data: Uint8Array): boolean;
  /** The vCPU whose address space memory accesses on behalf of `thread` use. */
  memoryCpu(thread: ThreadId): number;
  /**
   * Starts execution: `actions` lists the threads gdb wants to run or step; others stay stopped.
   * Implementations call GdbTarget.resume().
   */
  resume(actions: readonly ThreadAction[], options: ResumeOptions): void;
  /**
   * Maps a vCPU stop to the thread gdb is told about. Return null to swallow the stop (the
   * provider resumed the machine itself, e.g. an internal breakpoint used to step a sleeping
   * thread); the stub then keeps waiting for the next one.
   */
  stopThread(ev: Extract<CpuStopEvent, { kind: 'stopped' }>): ThreadId | ThreadStop | null;

  // Optional, guest-aware extras.
  /**
   * Describe the target with gdb's GNU/Linux feature (orig_rax), which gdb 13 needs before it uses
   * qGetTLSAddr and qXfer:libraries-svr4. Read once per connection.
   */
  readonly linuxAbi?: boolean;
  /** gdb inserted (or removed) a breakpoint; a provider with internal breakpoints tells them apart. */
  noteBreakpoint?(type: BreakpointType, addr: bigint, length: number, inserted: boolean): void;
  /** qGetTLSAddr: address of the thread-local variable at `offset` in load module `lm`, or an error text. */
  tlsAddress?(thread: ThreadId, offset: bigint, lm: bigint): bigint | string;
  /** qXfer:libraries-svr4:read: the document (`<library-list-svr4 ...>`), or null when unknown. */
  librariesSvr4?(): string | null;
  /** Provider monitor commands (undefined when unknown); `help` lines to add to `monitor help`. */
  monitor?(command: string, thread: ThreadId): string | undefined;
  readonly monitorHelp?: readonly string[];
  /** The client left: drop whatever the provider put into the target (internal breakpoints). */
  release?(): void;
}
