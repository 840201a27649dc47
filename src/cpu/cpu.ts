// Architectural state of one vCPU. Registers are 32-bit halves in typed arrays (no BigInt, no boxing);
// the instruction pointer is a JS number (exact for every canonical address).
import { FaultState } from './exceptions.js';
import { K_NONE, LF_ARITH, LF_OP, LF_REST, arithFlags, setArithFlags } from './flags.js';
import { Mmu } from './mmu.js';
import { PhysMem } from './physmem.js';
import { ARITH_FLAGS, CR0_PG, CR0_WP, CS, DS, EFER_LMA, EFER_NXE, ES, FS, GS, SS } from './regs.js';
import { X87 } from './x87/state.js';
import { CpuHooks, defaultHooks } from './system/hooks.js';
import { type CpuVendor, DEFAULT_VENDOR } from './vendor.js';
import { doubleFields, mutableFlags } from './shapes.js';
import { St } from './jit/wasm/arena.js';

export const TWO32 = 4294967296;

export class Cpu implements FaultState {
  /**
   * 16 GPRs: register n has its low half at [2n] and its high half at [2n+1]. With a wasm arena (PhysMem.arena)
   * this, lf and segBase are views of the vCPU's state slice, which compiled wasm blocks read and write too.
   */
  readonly r32: Int32Array;
  /** Byte view of r32: register n's low byte is r8[8n], AH..BH are r8[1], r8[9], r8[17], r8[25]. */
  readonly r8: Uint8Array;
  readonly r16: Uint16Array;
  /** Offset of the next instruction within CS (in 64-bit mode: the linear RIP). */
  rip = 0;
  /** Lazy flags and the non-arithmetic RFLAGS bits (see flags.ts). */
  readonly lf: Int32Array;

  /** XMM0..15: dword j of register n at [4n+j]. */
  readonly xmm: Int32Array;
  readonly xmmU8: Uint8Array;
  readonly xmmU16: Uint16Array;
  readonly xmmF32: Float32Array;
  readonly xmmF64: Float64Array;
  mxcsr = 0x1f80;
  readonly fpu = new X87();

  /** Code size of the current mode: 16, 32 or 64. */
  mode = 16;
  cpl = 0;
  readonly segSel = new Uint16Array(6);
  /** Segment bases as used for addressing: in 64-bit mode ES/CS/SS/DS read 0 here. */
  readonly segBase: Float64Array;
  /** Byte offset of this vCPU's state slice in the machine's wasm arena (PhysMem.arena), or -1 without one. */
  readonly stateBase: number;
  /** The wasm hub's words in the slice (arena.ts St.WORDS: space, running block, stop request, retired) and its RIP. */
  readonly hubWords: Int32Array;
  readonly hubRip: Float64Array;
  /** Descriptor-cache bases (what the segment would use outside 64-bit mode). */
  readonly segDescBase = new Float64Array(6);
  readonly segLimit = new Float64Array(6);
  /** Descriptor attribute bits 8..23 of the high dword (type, S, DPL, P, AVL, L, D/B, G). */
  readonly segAttr = new Int32Array(6);

  cr0 = 0x60000010;
  cr2 = 0;
  cr3 = 0;
  cr4 = 0;
  cr8 = 0;
  efer = 0;
  xcr0 = 1;
  gdtBase = 0; gdtLimit = 0xffff;
  idtBase = 0; idtLimit = 0xffff;
  ldtSel = 0; ldtBase = 0; ldtLimit = 0;
  trSel = 0; trBase = 0; trLimit = 0xffff;
  kernelGsBase = 0;
  star = 0; starHi = 0;
  lstar = 0; cstar = 0; fmask = 0;
  tscAux = 0;
  /** Debug registers DR0-DR7 (stored only). */
  readonly dr = new Float64Array(8);

  halted = false;
  /** Set by sti (and mov ss): interrupts are not taken before the next instruction completes. */
  intShadow = false;
  /** Retired instructions. */
  icount = 0;

  // FaultState: where a raised exception is recorded.
  excVector = 0;
  excError = -1;
  excAddr = 0;

  /** NMI delivered and not yet ended by iret: further NMIs wait. */
  nmiBlocked = false;
  /** Board services (port I/O, MSRs, TSC, randomness). */
  hooks: CpuHooks;
  /** Which vendor's processor this vCPU behaves like (CPUID and the vendor-dependent behaviours). */
  vendor: CpuVendor = DEFAULT_VENDOR;

  readonly mem: PhysMem;
  readonly mmu: Mmu;
  /** Index of this vCPU (APIC ID). */
  readonly index: number;

  constructor(mem: PhysMem, index = 0) {
    this.mem = mem;
    this.index = index;
    const home = mem.stateHome(index);
    const buf = home?.buffer ?? new ArrayBuffer(St.CORE_END), base = home?.base ?? 0;
    this.stateBase = home?.base ?? -1;
    this.hubWords = new Int32Array(buf, base + St.WORDS, 9);
    this.hubRip = new Float64Array(buf, base + St.CURRIP, 1);
    this.hubWords[(St.HOT - St.WORDS) / 4] = -1;
    this.r32 = new Int32Array(buf, base + St.R32, 32);
    this.r8 = new Uint8Array(buf, base + St.R32, 128);
    this.r16 = new Uint16Array(buf, base + St.R32, 64);
    this.lf = new Int32Array(buf, base + St.LF, 11);
    this.segBase = new Float64Array(buf, base + St.SEG, 6);
    this.xmm = new Int32Array(buf, base + St.XMM, 64);
    this.xmmU8 = new Uint8Array(buf, base + St.XMM, 256);
    this.xmmU16 = new Uint16Array(buf, base + St.XMM, 128);
    this.xmmF32 = new Float32Array(buf, base + St.XMM, 64);
    this.xmmF64 = new Float64Array(buf, base + St.XMM, 32);
    this.mmu = new Mmu(mem, this, home);
    this.hooks = defaultHooks(() => this.icount);
    this.lf[LF_REST] = 2;
    this.lf[LF_OP] = K_NONE;
    this.resetSegments();
    doubleFields(this, 'rip', 'cr0', 'cr2', 'cr3', 'cr4', 'efer', 'gdtBase', 'idtBase', 'ldtBase', 'trBase', 'kernelGsBase',
      'star', 'starHi', 'lstar', 'cstar', 'fmask', 'icount', 'excAddr');
    mutableFlags(this, 'halted', 'intShadow');
  }

  resetSegments(): void {
    for (let s = 0; s < 6; s++) {
      this.segSel[s] = 0;
      this.segBase[s] = 0;
      this.segDescBase[s] = 0;
      this.segLimit[s] = 0xffff;
      this.segAttr[s] = 0x93; // present, writable data (code: see CS below)
    }
    this.segAttr[CS] = 0x9b;
  }

  // ---- registers ------------------------------------------------------------------------
  /** 64-bit register value as a JS number (exact below 2^53; used for addresses). */
  reg64(n: number): number {
    return this.r32[2 * n + 1] * TWO32 + (this.r32[2 * n] >>> 0);
  }

  setReg64(n: number, v: number): void {
    this.r32[2 * n] = v | 0;
    this.r32[2 * n + 1] = Math.floor(v / TWO32) | 0;
  }

  // ---- flags ---------------------------------------------------------------------------
  getFlags(): number {
    return (this.lf[LF_REST] & ~ARITH_FLAGS) | arithFlags(this.lf) | 2;
  }

  /** Sets RFLAGS (all bits given; callers mask what the instruction may change). */
  setFlags(v: number): void {
    setArithFlags(this.lf, v);
    this.lf[LF_REST] = (v & ~ARITH_FLAGS) | 2;
  }

  /** The rest of RFLAGS (IF, DF, ...) without materialising the lazy arithmetic flags. */
  get flagsRest(): number {
    return this.lf[LF_REST];
  }

  set flagsRest(v: number) {
    this.lf[LF_REST] = (v & ~ARITH_FLAGS) | 2;
  }

  /** The architectural flags value last materialised (for debugging views). */
  get arith(): number {
    return this.lf[LF_OP] === K_NONE ? this.lf[LF_ARITH] : arithFlags(this.lf);
  }

  // ---- modes ---------------------------------------------------------------------------
  /** Recomputes the code mode, the effective segment bases and the MMU's view after CR0/EFER/CS/CPL changes. */
  updateMode(): void {
    const long = (this.efer & EFER_LMA) !== 0;
    const csL = (this.segAttr[CS] & 0x2000) !== 0;
    const csD = (this.segAttr[CS] & 0x4000) !== 0;
    const pe = (this.cr0 & 1) !== 0;
    this.mode = !pe ? 16 : long && csL ? 64 : csD ? 32 : 16;
    const flat = this.mode === 64;
    const b = this.segBase, d = this.segDescBase;
    b[ES] = flat ? 0 : d[ES]; b[CS] = flat ? 0 : d[CS]; b[SS] = flat ? 0 : d[SS]; b[DS] = flat ? 0 : d[DS];
    if (!flat) {
      this.segBase[FS] = this.segDescBase[FS];
      this.segBase[GS] = this.segDescBase[GS];
    }
    const m = this.mmu;
    const paging = (this.cr0 & CR0_PG) !== 0;
    const changed = m.paging !== paging || m.long !== long || m.user !== (this.cpl === 3) ||
      m.wp !== ((this.cr0 & CR0_WP) !== 0) || m.nxe !== ((this.efer & EFER_NXE) !== 0);
    m.paging = paging;
    m.long = long;
    m.user = this.cpl === 3;
    m.wp = (this.cr0 & CR0_WP) !== 0;
    m.nxe = (this.efer & EFER_NXE) !== 0;
    if (m.cr3 !== this.cr3) changedCr3(m, this.cr3);
    if (changed) m.flush();
    m.fetchPage = NaN;
  }

  /** FS/GS base writes (MSRs, wrfsbase) in 64-bit mode go straight to the effective base. */
  setFsBase(v: number): void { this.segDescBase[FS] = v; this.segBase[FS] = v; }
  setGsBase(v: number): void { this.segDescBase[GS] = v; this.segBase[GS] = v; }
}

function changedCr3(m: Mmu, cr3: number): void {
  m.cr3 = cr3;
  m.flush();
}

export { ES, CS, SS, DS, FS, GS };
