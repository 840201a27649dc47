// One WebAssembly.Memory for a machine's RAM and its vCPUs' hot state, so that blocks compiled to wasm
// (src/cpu/jit/wasm) reach guest memory, registers, lazy flags, segment bases and the data TLB with plain loads
// and stores. RAM starts at offset 0 (every typed-array view of it is unchanged); each vCPU's state lives in its own
// slice after RAM, and the interpreter's typed arrays (Cpu.r32, Cpu.lf, Mmu.rTag...) are views of that slice, so
// the interpreter and wasm code work on the same bytes. JS code is as fast on these views as on plain
// ArrayBuffers (bench/wasm-probe.ts). Wasm32 memory ends at 4 GiB: a larger guest keeps plain buffers.

/** Bytes of one vCPU's state slice (a multiple of the wasm page). */
export const SLICE = 131072;
export const WASM_PAGE = 65536;
/** Largest wasm32 memory V8 gives (65,536 pages). */
const MAX_BYTES = 4 * 1024 * 1024 * 1024;

/** Offsets within a slice. */
export const enum St {
  /** 16 GPRs as 32-bit halves (Cpu.r32): register n's 64 bits at R32 + 8n. */
  R32 = 0,
  /** Lazy flags (Cpu.lf, 11 int32 slots; flags.ts Lf). */
  LF = 128,
  /** Segment bases (Cpu.segBase, 6 doubles). */
  SEG = 192,
  /**
   * The hub's words (block.ts), as int32 (Cpu.hubWords: index (offset - WORDS) / 4): the vCPU's address space
   * (Mmu.space), the block running, a stop request from a runtime call, instructions retired by the chain's
   * earlier blocks; then (f64) the running block's RIP at entry; then EXTRA.
   */
  WORDS = 256,
  SPACE = 256,
  CUR = 260,
  STOP = 264,
  RETIRED = 268,
  CURRIP = 272,
  /** Instructions a looping block retired in its passes before its last (compile.ts loopTail). */
  EXTRA = 280,
  /** A block whose runs in the hub reached its record's AT (-1: none): the JS side counts it due for a region. */
  HOT = 284,
  /**
   * What wasm code may assume of the vCPU's control state, as the runtime last found it (block.ts assumptions): bit 0,
   * SSE instructions run (CR0.EM and TS clear, CR4.OSFXSR set); bit 1, MXCSR records an inexact result without a trap
   * and rounds to nearest (forms-sse.ts PE_OK); bit 2, cli and sti run (CPL <= IOPL).
   */
  ASSUME = 288,
  /** XMM0..15 (Cpu.xmm): dword j of register n at XMM + 16n + 4j. */
  XMM = 512,
  /** The bytes a vCPU's state needs without a TLB (a Cpu outside an arena). */
  CORE_END = 768,
  /** Data TLB (Mmu): read and write tags (f64, mmu.ts TLB_SIZE = 4096 each), then read and write page offsets (u32). */
  RTAG = 4096,
  WTAG = 4096 + 32768,
  ROFF = 4096 + 65536,
  WOFF = 4096 + 65536 + 16384,
}

/**
 * The machine's region (before the slices): the link generation word at its start, then a record per wasm block
 * (Link, by the block's table index): its two links (successor's linear address, table index, the link generation
 * and address space it was made in), the block's length, which the hub's chain loop reads, and its runs (bytes 44-47 unused).
 */
export const LINKS = 65536;
export const MAX_BLOCKS = 65536;
export const enum Link {
  SIZE = 56, LIN0 = 0, LIN1 = 8, TO0 = 16, TO1 = 20, GEN0 = 24, GEN1 = 28, SP0 = 32, SP1 = 36, N = 40,
  /** Runs the hub made of the block, and the count at which it hands the block to the JS compiler's region look. */
  COUNT = 48, AT = 52,
}
/**
 * After the link records: the hub's jump table, direct-mapped by linear address (JUMP_SLOTS slots of Jump.SIZE bytes):
 * the block (table index, 0: none) that runs at an address, valid in the link generation and address space it was
 * recorded in. The hub looks there when neither of a block's links names where it went (a return to a third call site,
 * an indirect jump through a table).
 */
export const enum Jump { SIZE = 24, LIN = 0, TO = 8, GEN = 12, SP = 16 }
export const JUMP_SLOTS = 16384;
export const JUMPS = LINKS + MAX_BLOCKS * Link.SIZE;
const MACHINE_REGION = JUMPS + JUMP_SLOTS * Jump.SIZE;

/** A machine's memory: RAM of `size` bytes, the machine's region, then `slices` vCPU state slices. */
export class Arena {
  readonly memory: WebAssembly.Memory;
  /** Offset of the machine's region (RAM rounded up to the wasm page). */
  readonly machineStart: number;
  /** Offset of the first slice. */
  readonly stateStart: number;
  /** The link generation (int32 at machineStart): wasm links hold only while it is what it was when they were made. */
  readonly lgen: Int32Array;

  private constructor(memory: WebAssembly.Memory, machineStart: number, readonly slices: number) {
    this.memory = memory;
    this.machineStart = machineStart;
    this.stateStart = machineStart + MACHINE_REGION;
    this.lgen = new Int32Array(memory.buffer, machineStart, 1);
  }

  /**
   * Ends every wasm link: the code cache dropped decoded code, or a TLB flush or invlpg may have moved what a
   * linear address runs (the JS links' conditions, chain.ts, made coarser).
   */
  bump(): void { this.lgen[0] = (this.lgen[0]! + 1) | 0; }

  /** An arena for `size` bytes of RAM and `slices` vCPUs, or null when it would not fit a wasm32 memory. */
  static make(size: number, slices: number): Arena | null {
    const start = Math.ceil(size / WASM_PAGE) * WASM_PAGE;
    const total = start + MACHINE_REGION + slices * SLICE;
    if (total > MAX_BYTES) return null;
    const pages = total / WASM_PAGE;
    try {
      return new Arena(new WebAssembly.Memory({ initial: pages, maximum: pages }), start, slices);
    } catch {
      return null;
    }
  }

  get buffer(): ArrayBuffer { return this.memory.buffer; }

  /** Byte offset of vCPU k's slice. */
  slice(k: number): number {
    if (!(k >= 0 && k < this.slices)) throw new RangeError(`no state slice for vCPU ${k} (arena has ${this.slices})`);
    return this.stateStart + k * SLICE;
  }

  /** A fresh memory of the same shape (RAM cleared: PhysMem.clear). */
  fresh(size: number): Arena {
    const a = Arena.make(size, this.slices);
    if (a === null) throw new RangeError('cannot allocate the guest memory again');
    return a;
  }
}
